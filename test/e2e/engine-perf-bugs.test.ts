// engine-perf-bugs.test.ts: regression tests for the bugs the benchmark found (issue 6), each
// named after its bug, through a real Engine on 127.0.0.x sockets.
import assert from "node:assert/strict";
import { once } from "node:events";
import http from "node:http";
import { connect, type Socket } from "node:net";
import { after, before, test } from "node:test";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { Engine } from "../../src/engine/engine.ts";
import type { EngineSnapshot, HttpListener, Route } from "../../src/model/ir.ts";
import { endpoint, freePort, pool, readUntil } from "./l4-helpers.ts";

const VIP = "127.0.0.51";
const BACKEND = "127.0.0.52";
let backend: http.Server;
let backendPort = 0;
const seenHosts: (string | undefined)[] = [];
let hold: (() => void)[] = [];

before(async () => {
  backend = http.createServer((req, res) => {
    seenHosts.push(req.headers.host);
    if (req.url === "/hold") hold.push(() => res.end("held"));
    else res.end(`backend ${req.url}`);
  });
  backend.keepAliveTimeout = 30_000;
  backend.listen(0, BACKEND);
  await once(backend, "listening");
  backendPort = (backend.address() as { port: number }).port;
});

after(() => {
  backend.closeAllConnections();
  backend.close();
});

function direct(body: string): Route {
  return {
    name: `direct-${body}`,
    match: { path: { type: "Prefix", value: "/direct" } },
    action: { type: "DirectResponse", status: 200, body },
  };
}

function forward(): Route {
  return {
    name: "fwd",
    match: { path: { type: "Prefix", value: "/" } },
    action: { type: "Forward", backends: [{ pool: "web", weight: 1 }] },
  };
}

function snap(version: number, port: number, routes: Route[]): EngineSnapshot {
  const listener: HttpListener = {
    name: "web:80",
    address: VIP,
    port,
    virtualHosts: [{ hostname: "*", routes }],
    requestTimeoutMs: 5000,
    idleTimeoutMs: 10_000,
  };
  return {
    version,
    l4: [],
    http: [listener],
    pools: { web: pool("web", [endpoint(BACKEND, backendPort)]) },
    certificates: {},
  };
}

async function engineOn(routes: Route[]): Promise<{ engine: Engine; port: number }> {
  const port = await freePort(VIP);
  const engine = new Engine();
  assert.deepEqual(engine.apply(snap(1, port, routes)), { ok: true });
  await engine.settled();
  return { engine, port };
}

// request sends one keep-alive request on s and resolves with the full response text.
function request(s: Socket, path: string): Promise<string> {
  const r = readUntil(s, (d) => /\r\n\r\n/.test(d) && bodyDone(d));
  s.write(`GET ${path} HTTP/1.1\r\nHost: h\r\n\r\n`);
  return r;
}

function bodyDone(d: string): boolean {
  const m = /content-length: (\d+)\r\n/i.exec(d);
  if (m === null) return false;
  return d.length - (d.indexOf("\r\n\r\n") + 4) >= Number(m[1]);
}

test("bug: HTTP/1.0 without Host went upstream as HTTP/1.1 without Host (backend 400)", async () => {
  const { engine, port } = await engineOn([forward()]);
  try {
    const s = connect({ host: VIP, port });
    await once(s, "connect");
    const text = readUntil(s, (d) => d.endsWith("backend /x"));
    s.write("GET /x HTTP/1.0\r\n\r\n");
    assert.match(await text, /^HTTP\/1\.1 200 /);
    assert.equal(seenHosts.at(-1), `${VIP}:${port}`, "the listener's authority stands in for Host");
    s.destroy();
  } finally {
    await engine.close();
  }
});

test("bug: RSS grew over a run — closed connections must not stay reachable (parsers are closed with them)", async () => {
  setFlagsFromString("--expose-gc");
  const gc = runInNewContext("gc") as () => void;
  const { engine, port } = await engineOn([forward()]);
  try {
    const round = async (n: number) => {
      for (let i = 0; i < n; i += 50) {
        await Promise.all(
          Array.from({ length: 50 }, async () => {
            const s = connect({ host: VIP, port });
            await once(s, "connect");
            // As wrk -H "Connection: close" does: the proxy closes after its answer.
            const closed = once(s, "close");
            s.resume();
            s.write("GET /leak HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n");
            await closed;
          }),
        );
      }
    };
    await round(300); // warm-up: code, pools and caches settle
    gc();
    const before = process.memoryUsage().heapUsed;
    await round(1500);
    // Server sockets close asynchronously after the clients: wait until they all did.
    await new Promise((r) => setTimeout(r, 50));
    gc();
    const grown = process.memoryUsage().heapUsed - before;
    // Leaking, each connection kept several KiB (socket, parser, connection state): > 3 MiB here.
    assert.ok(grown < 1.5 * 1024 * 1024, `heap grew ${(grown / 1024).toFixed(0)} KiB over 1500 connections`);
  } finally {
    await engine.close();
  }
});

test("bug: after 300 keep-alive connections the engine still answers new connections", async () => {
  const { engine, port } = await engineOn([forward()]);
  try {
    const socks = await Promise.all(
      Array.from({ length: 300 }, async () => {
        const s = connect({ host: VIP, port });
        await once(s, "connect");
        return s;
      }),
    );
    for (let k = 0; k < 3; k++) {
      const replies = await Promise.all(socks.map((s) => request(s, `/k${k}`)));
      for (const r of replies) assert.match(r, /^HTTP\/1\.1 200 /);
    }
    for (const s of socks) s.destroy();
    const s = connect({ host: VIP, port });
    await once(s, "connect");
    const text = readUntil(s, (d) => d.endsWith("backend /after"));
    s.write("GET /after HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n");
    assert.match(await text, /^HTTP\/1\.1 200 /);
    s.destroy();
  } finally {
    await engine.close();
  }
});

test("bug: keep-alive connections kept their first snapshot's routes forever", async () => {
  const { engine, port } = await engineOn([direct("v1"), forward()]);
  try {
    const s = connect({ host: VIP, port });
    await once(s, "connect");
    assert.match(await request(s, "/direct"), /\r\n\r\nv1\n$/);
    // A request in flight when the swap happens finishes on its own snapshot.
    hold = [];
    const busy = connect({ host: VIP, port });
    await once(busy, "connect");
    const held = request(busy, "/hold");
    const deadline = Date.now() + 5000;
    while (hold.length === 0 && Date.now() < deadline) await new Promise((r) => setImmediate(r));
    assert.equal(hold.length, 1, "the held request reached the backend");
    assert.deepEqual(engine.apply(snap(2, port, [direct("v2")])), { ok: true });
    // The same keep-alive connection now routes with v2, without reconnecting.
    assert.match(await request(s, "/direct"), /\r\n\r\nv2\n$/);
    hold[0]!();
    const heldReply = await held;
    assert.match(heldReply, /\r\n\r\nheld$/, "in-flight request finished on v1's route");
    assert.doesNotMatch(heldReply, /Connection: close/i, "no connection close needed");
    // Its next request is routed with v2 too (v2 has no /hold route: 404).
    const next = readUntil(busy, (d) => /\r\n\r\n/.test(d) && bodyDone(d));
    busy.write("GET /hold HTTP/1.1\r\nHost: h\r\n\r\n");
    assert.match(await next, /^HTTP\/1\.1 404 /);
    s.destroy();
    busy.destroy();
  } finally {
    await engine.close();
  }
});
