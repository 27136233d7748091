// engine-workers.test.ts: the multi-core data plane — a WorkerGroup of engine processes sharing
// one VIP:port (SO_REUSEPORT), every snapshot ACKed by all, hitless swaps on kept connections,
// NACKs, a killed worker restarted with the current snapshot, and metrics summed across workers.
import assert from "node:assert/strict";
import { once } from "node:events";
import { connect, type Socket } from "node:net";
import { after, before, test } from "node:test";
import type { EngineSnapshot, Route } from "../../src/model/ir.ts";
import { WorkerGroup } from "../../src/engine/workers/group.ts";
import { freePort, readUntil, until } from "./l4-helpers.ts";

const VIP = "127.0.0.61";
let group: WorkerGroup;
let port = 0;
const logs: string[] = [];

function snap(version: number, body: string, extra: Partial<EngineSnapshot> = {}): EngineSnapshot {
  const route: Route = {
    name: `r-${body}`,
    match: { path: { type: "Prefix", value: "/" } },
    action: { type: "DirectResponse", status: 200, body },
  };
  return {
    version,
    l4: [],
    http: [
      {
        name: "web:80",
        address: VIP,
        port,
        virtualHosts: [{ hostname: "*", routes: [route] }],
        requestTimeoutMs: 5000,
        idleTimeoutMs: 10_000,
      },
    ],
    pools: {},
    certificates: {},
    ...extra,
  };
}

async function open(): Promise<Socket> {
  const s = connect({ host: VIP, port });
  await once(s, "connect");
  return s;
}

function get(s: Socket): Promise<string> {
  const r = readUntil(s, (d) => /\r\n\r\n[^\n]*\n$/.test(d));
  s.write("GET / HTTP/1.1\r\nHost: h\r\n\r\n");
  return r;
}

// requests counts a worker's HTTP requests from its pushed exposition.
function requests(text: string): number {
  const m = /portico_http_requests_total\{listener="web:80"\} (\d+)/.exec(text);
  return m === null ? 0 : Number(m[1]);
}

before(async () => {
  port = await freePort(VIP);
  group = await WorkerGroup.start({ workers: 2, log: (l, m) => logs.push(`${l} ${m}`), restartDelayMs: 20 });
});

after(async () => {
  await group.close();
});

test("every worker ACKs; connections spread over both processes; metrics are summed", async () => {
  assert.deepEqual(await group.apply(snap(1, "v1")), { ok: true });
  assert.ok(group.workers().every((w) => w.live && w.current));
  const socks = await Promise.all(Array.from({ length: 40 }, open));
  for (const s of socks) assert.match(await get(s), /\r\n\r\nv1\n$/);
  for (const s of socks) s.destroy();
  // The kernel spreads 40 connections over both listeners (each gets some with near certainty).
  await until(
    () => requests(group.metricsOf(0)) + requests(group.metricsOf(1)) === 40,
    "both workers pushed their metrics",
  );
  assert.ok(requests(group.metricsOf(0)) > 0 && requests(group.metricsOf(1)) > 0, "both workers served");
  assert.equal(requests(group.metrics()), 40, "/metrics sums the workers");
});

test("a swap reaches every worker; a kept keep-alive connection sees it; NACKs keep the last good", async () => {
  const socks = await Promise.all(Array.from({ length: 10 }, open));
  for (const s of socks) assert.match(await get(s), /v1\n$/);
  assert.deepEqual(await group.apply(snap(2, "v2")), { ok: true });
  for (const s of socks) assert.match(await get(s), /\r\n\r\nv2\n$/, "same connection, new routes");
  const bad = await group.apply({ ...snap(3, "v3"), http: [{ ...snap(3, "v3").http[0]!, port: -1 }] });
  assert.equal(bad.ok, false);
  // A certificate OpenSSL rejects passes validation but every worker NACKs its compile.
  const tlsBad = snap(4, "v4");
  tlsBad.http[0]!.tls = { sni: [], defaultCertificate: "c" };
  const pem = (kind: string) => `-----BEGIN ${kind}-----\nAAAA\n-----END ${kind}-----\n`;
  tlsBad.certificates = { c: { certPem: pem("CERTIFICATE"), keyPem: pem("PRIVATE KEY") } };
  const nack = await group.apply(tlsBad);
  assert.equal(nack.ok, false);
  assert.match(nack.ok ? "" : nack.error, /^worker \d: /);
  for (const s of socks) assert.match(await get(s), /\r\n\r\nv2\n$/, "still v2 everywhere");
  for (const s of socks) s.destroy();
});

test("a killed worker is restarted with the current snapshot; the other serves meanwhile", async () => {
  const before = group.workers()[0]!.pid!;
  process.kill(before, "SIGKILL");
  // Connections the kernel queued on the dead worker's listener are reset with it (SO_REUSEPORT);
  // once it is gone, every new connection lands on worker 1.
  await until(() => !group.workers()[0]!.live, "worker 0 seen dead");
  const s = await open();
  assert.match(await get(s), /v2\n$/);
  s.destroy();
  await until(() => {
    const w = group.workers()[0]!;
    return w.pid !== before && w.live && w.current;
  }, "worker 0 restarted and serving v2");
  assert.ok(logs.some((l) => l.startsWith("error engine worker exited")));
  const socks = await Promise.all(Array.from({ length: 20 }, open));
  for (const c of socks) assert.match(await get(c), /\r\n\r\nv2\n$/);
  for (const c of socks) c.destroy();
  assert.deepEqual(await group.apply(snap(5, "v5")), { ok: true });
  const c = await open();
  assert.match(await get(c), /\r\n\r\nv5\n$/);
  c.destroy();
});
