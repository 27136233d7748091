// engine-load.test.ts: an engine's load report (engine/load.ts) from real traffic — N requests over
// HTTP and HTTPS through a real engine show up as N requests, their body bytes, the handshakes
// and CPU time; with --workers 2 the workers' pushes add up to the same totals.
import assert from "node:assert/strict";
import http from "node:http";
import https from "node:https";
import { after, test } from "node:test";
import type { EngineSnapshot, HttpListener } from "../../src/model/ir.ts";
import type { EngineLoad } from "../../src/link/protocol.ts";
import { createEnginePort } from "../../src/controller/engine-port.ts";
import type { EnginePort } from "../../src/controller/standalone.ts";
import { freePort, until } from "./l4-helpers.ts";

const VIP = "127.0.0.63";
const BODY = "x".repeat(1000);
const ports: EnginePort[] = [];
after(async () => {
  for (const p of ports) await p.close();
});

function listener(name: string, port: number, tls: boolean): HttpListener {
  return {
    name,
    address: VIP,
    port,
    // No certificate: the engine answers with the one it generates at start.
    ...(tls ? { tls: { sni: [] } } : {}),
    virtualHosts: [
      {
        hostname: "*",
        routes: [
          {
            name: "load/r",
            match: { path: { type: "Prefix", value: "/" } },
            action: { type: "DirectResponse", status: 200, body: BODY },
          },
        ],
      },
    ],
    requestTimeoutMs: 5000,
    idleTimeoutMs: 10_000,
  };
}

async function start(workers: number): Promise<{ port: EnginePort; http: number; https: number }> {
  const p = await createEnginePort(() => {}, { workers });
  ports.push(p);
  const h = await freePort(VIP);
  const s = await freePort(VIP);
  const snap: EngineSnapshot = {
    version: 1,
    l4: [],
    http: [listener("load:http", h, false), listener("load:https", s, true)],
    pools: {},
    certificates: {},
  };
  assert.deepEqual(await p.apply(snap), { ok: true });
  return { port: p, http: h, https: s };
}

/** get sends one request on a new connection (agent: false) and reads the whole body. */
function get(scheme: "http" | "https", port: number): Promise<number> {
  const mod = scheme === "http" ? http : https;
  return new Promise((resolve, reject) => {
    const req = mod.get(
      { host: VIP, port, path: "/", agent: false, rejectUnauthorized: false, servername: "load.test" },
      (res) => {
        let n = 0;
        res.on("data", (d: Buffer) => (n += d.length));
        res.on("end", () => resolve(n));
      },
    );
    req.on("error", reject);
  });
}

/** Totals are what a series of load reports add up to (rate × interval). */
interface Totals {
  requests: number;
  tlsRequests: number;
  handshakes: number;
  connections: number;
  bytesOut: number;
  cpuMs: number;
}

function add(t: Totals, l: EngineLoad): void {
  const over = (rate: number) => (rate * l.intervalMs) / 1000;
  t.requests += over(l.requestsPerSecond);
  t.tlsRequests += over(l.tlsRequestsPerSecond ?? 0);
  t.handshakes += over(l.tlsHandshakesPerSecond);
  t.connections += over(l.connectionsPerSecond);
  t.bytesOut += over(l.bytesOutPerSecond);
  t.cpuMs += l.cpuCores * l.intervalMs;
}

/** traffic sends n requests to each listener and returns the body bytes received. */
/** requestsIn sums portico_http_requests_total over the listeners of an exposition. */
function requestsIn(text: string): number {
  return [...text.matchAll(/^portico_http_requests_total\{[^}]*\} (\d+)$/gm)].reduce(
    (t, m) => t + Number(m[1]),
    0,
  );
}

async function traffic(ports: { http: number; https: number }, n: number): Promise<number> {
  let bytes = 0;
  for (let i = 0; i < n; i++) bytes += (await get("http", ports.http)) + (await get("https", ports.https));
  assert.ok(bytes >= 2 * n * BODY.length);
  return bytes;
}

test("in-process engine: requests, body bytes, connections, handshakes and CPU show in the next sample", async () => {
  const e = await start(1);
  e.port.load!(); // start a fresh interval
  const n = 40;
  const bytes = await traffic(e, n);
  const l = e.port.load!()!;
  const t: Totals = { requests: 0, tlsRequests: 0, handshakes: 0, connections: 0, bytesOut: 0, cpuMs: 0 };
  add(t, l);
  assert.equal(Math.round(t.requests), 2 * n);
  assert.equal(Math.round(t.handshakes), n);
  assert.equal(Math.round(t.tlsRequests), n);
  assert.equal(Math.round(t.connections), 2 * n);
  // bytesOut counts what the engine wrote for each response (head and body); the client read bodies.
  assert.ok(
    t.bytesOut >= bytes && t.bytesOut < bytes + 2 * n * 500,
    `bytes out ${t.bytesOut}, bodies ${bytes}`,
  );
  assert.ok(l.cpuCores > 0, `cpu ${l.cpuCores}`);
  assert.ok(l.eventLoopUtilization > 0 && l.eventLoopUtilization <= 1, `elu ${l.eventLoopUtilization}`);
  assert.ok(l.lagP99Ms >= 0 && Number.isFinite(l.lagP99Ms));
  assert.ok(l.rssBytes > 10 * 1024 * 1024);
  // The next interval saw nothing: rates start from zero again.
  const quiet = e.port.load!()!;
  assert.equal(quiet.requestsPerSecond, 0);
  assert.equal(quiet.tlsHandshakesPerSecond, 0);
});

test("two worker processes: the group's load adds up the workers' pushes", async () => {
  const e = await start(2);
  e.port.load!();
  const n = 30;
  const bytes = await traffic(e, n);
  // Workers push metrics and load together once a second: once the summed request counters show
  // every request, each worker's pushes since the load() above cover all of them.
  await until(
    () => requestsIn(String(e.port.metrics())) === 2 * n,
    "the workers pushed every request",
    15_000,
  );
  const t: Totals = { requests: 0, tlsRequests: 0, handshakes: 0, connections: 0, bytesOut: 0, cpuMs: 0 };
  add(t, e.port.load!()!);
  assert.equal(Math.round(t.requests), 2 * n);
  assert.equal(Math.round(t.handshakes), n);
  assert.equal(Math.round(t.tlsRequests), n);
  // bytesOut counts what the engine wrote for each response (head and body); the client read bodies.
  assert.ok(
    t.bytesOut >= bytes && t.bytesOut < bytes + 2 * n * 500,
    `bytes out ${t.bytesOut}, bodies ${bytes}`,
  );
  assert.ok(t.cpuMs > 0, `cpu ${t.cpuMs} ms`);
});
