// analytics-pipe.test.ts: the analytics pipe across real engine worker processes. A WorkerGroup of
// two workers serves one VIP:port (SO_REUSEPORT) in front of a real HTTP backend; real requests —
// quick ones, 5xx, slow ones — go through it; each worker's collector ships its batch with its 1 s
// push and the group merges them. The merged batches must count every request exactly once, keep
// every significant one, and carry nothing at all when analytics are off.
import assert from "node:assert/strict";
import { once } from "node:events";
import { createServer, request, type Server } from "node:http";
import { after, before, test } from "node:test";
import { mergeBatches } from "../../src/analytics/measures.ts";
import { Sketch } from "../../src/analytics/sketch.ts";
import { ANALYTICS_ENV, SLOW_FACTOR, type AnalyticsBatch } from "../../src/analytics/types.ts";
import { WorkerGroup } from "../../src/engine/workers/group.ts";
import type { EngineSnapshot } from "../../src/model/ir.ts";
import { endpoint, freePort, pool, until } from "./l4-helpers.ts";

const VIP = "127.0.0.151";
const BACKEND = "127.0.0.152";
const LISTENER = "Service/default/web:80";
const VS = `${LISTENER} shop.example`;
const TARGET_MS = 25;
let backend: Server;
let backendPort = 0;

before(async () => {
  // /slow answers after 150 ms, /fail with a 500, anything else at once.
  backend = createServer((req, res) => {
    if (req.url === "/fail") {
      res.writeHead(500).end("boom");
      return;
    }
    const delay = req.url === "/slow" ? 150 : 0;
    setTimeout(() => res.end("ok"), delay);
  });
  backend.listen(0, BACKEND);
  await once(backend, "listening");
  backendPort = (backend.address() as { port: number }).port;
});

after(async () => {
  backend.closeAllConnections();
  await new Promise((r) => backend.close(r));
});

function snap(port: number): EngineSnapshot {
  return {
    version: 1,
    l4: [],
    http: [
      {
        name: LISTENER,
        address: VIP,
        port,
        virtualHosts: [
          {
            hostname: "shop.example",
            routes: [
              {
                name: "Ingress/default/shop#0",
                match: { path: { type: "Prefix", value: "/" } },
                action: { type: "Forward", backends: [{ pool: "default/shop:80", weight: 1 }] },
              },
            ],
          },
        ],
        requestTimeoutMs: 5000,
        idleTimeoutMs: 10_000,
      },
    ],
    pools: { "default/shop:80": pool("default/shop:80", [endpoint(BACKEND, backendPort)]) },
    certificates: {},
    // A 25 ms target: a request over 100 ms (SLOW_FACTOR × 25) is significant ("slow").
    analytics: { targetsMs: { [VS]: TARGET_MS } },
  };
}

// get sends one request on a new connection (so the kernel spreads them over both workers).
function get(host: string, port: number, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host,
        port,
        path,
        agent: false,
        headers: { host: "shop.example", "user-agent": "analytics-test/1" },
      },
      (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode ?? 0));
      },
    );
    req.on("error", reject);
    req.end();
  });
}

// served is the requests one worker's latest metrics push counted.
function served(group: WorkerGroup, worker: number): number {
  return Number(/portico_http_requests_total\{[^}]*\} (\d+)/.exec(group.metricsOf(worker))?.[1] ?? 0);
}

// collect reads the group's merged batches until pred holds on their sum over time.
async function collect(group: WorkerGroup, pred: (b: AnalyticsBatch) => boolean): Promise<AnalyticsBatch> {
  let sum: AnalyticsBatch | undefined;
  await until(
    () => {
      const b = group.analytics();
      if (b !== undefined) sum = mergeBatches(sum ? [sum, b] : [b], { over: "time" });
      return sum !== undefined && pred(sum);
    },
    "the workers' batches",
    15_000,
  );
  return sum!;
}

test("two worker processes: every request counted once, significant ones kept, latency from the real exchange", async (t) => {
  const port = await freePort(VIP);
  const group = await WorkerGroup.start({ workers: 2, log: () => {} });
  t.after(() => group.close());
  assert.deepEqual(await group.apply(snap(port)), { ok: true });
  const statuses: number[] = [];
  for (let i = 0; i < 40; i++) statuses.push(await get(VIP, port, `/item/${i % 4}?session=${i}`));
  for (let i = 0; i < 3; i++) statuses.push(await get(VIP, port, "/fail"));
  for (let i = 0; i < 2; i++) statuses.push(await get(VIP, port, "/slow"));
  assert.deepEqual(
    statuses.filter((s) => s !== 200),
    [500, 500, 500],
  );
  const b = await collect(group, (s) => (s.services[VS]?.total.requests ?? 0) >= 45 && s.logs.length >= 5);
  // Cut at the wall clock's 5 s boundaries, so each batch falls in one of the store's buckets.
  assert.equal(b.at % 5000, 0, `batch end ${b.at}`);
  const vs = b.services[VS]!;
  assert.equal(vs.kind, "http");
  assert.equal(vs.vhost, "shop.example");
  assert.equal(vs.total.requests, 45);
  assert.deepEqual(vs.total.codes, { "200": 42, "500": 3 });
  assert.deepEqual(vs.total.http, { "HTTP/1.1": 45 });
  assert.equal(vs.routes["Ingress/default/shop#0"]!.requests, 45);
  assert.equal(vs.backends[`default/shop:80 ${BACKEND}:${backendPort}`]!.requests, 45);
  assert.deepEqual(vs.top.urls, {
    "/item/0": 10,
    "/item/1": 10,
    "/item/2": 10,
    "/item/3": 10,
    "/fail": 3,
    "/slow": 2,
  });
  assert.deepEqual(vs.top.userAgents, { "analytics-test/1": 45 });
  // The two slow exchanges took at least the backend's 150 ms; the sketch's max is one of them.
  const total = Sketch.fromData(vs.total.latency.total!);
  assert.equal(total.count, 45);
  assert.ok(total.max >= 150, `max ${total.max}`);
  // Connections count at the listener's own service: one per request, all closed by now.
  const listener = b.services[LISTENER]!;
  assert.equal(listener.total.connNew, 45);
  // Kept: the three 5xx and the two slow ones. On a loaded machine a quick request can take more
  // than 100 ms inside the engine too (seen with analytics-merge and busy loops beside it, load ~19)
  // and is rightly kept as slow: every record's reasons are judged by its own status and total (a
  // quick 2xx kept would have none), and the five are among them.
  const slowMs = SLOW_FACTOR * TARGET_MS;
  for (const r of b.logs) {
    const want = [...(r.status === 500 ? ["5xx"] : []), ...(r.timings.total! > slowMs ? ["slow"] : [])];
    assert.deepEqual(r.reasons, want, `${r.path}: ${r.status} in ${r.timings.total} ms`);
  }
  const kept = (path: string) => b.logs.filter((r) => r.path === path).map((r) => [r.status, r.reasons[0]]);
  assert.deepEqual(kept("/fail"), Array(3).fill([500, "5xx"]));
  assert.deepEqual(kept("/slow"), Array(2).fill([200, "slow"]));
  assert.equal(b.logs[0]!.vs, VS);
  assert.equal(b.logs[0]!.backend, `default/shop:80 ${BACKEND}:${backendPort}`);
  assert.equal(b.logs[0]!.userAgent, "analytics-test/1");
  assert.equal(b.dropped, 0);
  // Both processes served (and so both shipped batches that merged): the kernel spread 45 connections.
  const perWorker = [0, 1].map((w) => served(group, w));
  assert.ok(
    perWorker.every((n) => n > 0),
    `per worker: ${perWorker}`,
  );
});

test("a draining worker ships its last interval before it exits: nothing it counted is lost", async (t) => {
  const port = await freePort(VIP);
  const group = await WorkerGroup.start({ workers: 1, log: () => {} });
  t.after(() => group.close());
  assert.deepEqual(await group.apply(snap(port)), { ok: true });
  group.analytics();
  for (let i = 0; i < 3; i++) assert.equal(await get(VIP, port, "/last"), 200);
  // At once, before the next 5 s cut: the drain must ship what the worker counted.
  assert.equal(await group.drain(5_000), true);
  // Every interval the group holds, not only the oldest: on a loaded machine the requests can
  // straddle a 5 s boundary (one interval with the connections or the first request, the next with
  // the rest), and analytics() hands one interval per call.
  const held: AnalyticsBatch[] = [];
  for (let b = group.analytics(); b !== undefined; b = group.analytics()) held.push(b);
  assert.equal(mergeBatches(held, { over: "time" })?.services[VS]?.total.requests, 3);
});

test("PORTICO_ANALYTICS=off: the workers collect nothing and ship no batch", async (t) => {
  const [onPort, offPort] = [await freePort(VIP), await freePort(BACKEND)];
  const saved = process.env[ANALYTICS_ENV];
  process.env[ANALYTICS_ENV] = "off";
  const off = await WorkerGroup.start({ workers: 2, log: () => {} });
  if (saved === undefined) delete process.env[ANALYTICS_ENV];
  else process.env[ANALYTICS_ENV] = saved;
  t.after(() => off.close());
  const on = await WorkerGroup.start({ workers: 2, log: () => {} });
  t.after(() => on.close());
  const offSnap = snap(offPort);
  offSnap.http[0]!.address = BACKEND;
  assert.deepEqual(await off.apply(offSnap), { ok: true });
  assert.deepEqual(await on.apply(snap(onPort)), { ok: true });
  for (let i = 0; i < 10; i++) {
    assert.equal(await get(VIP, onPort, "/fail"), 500);
    assert.equal(await get(BACKEND, offPort, "/fail"), 500);
  }
  // The group with analytics on shipped its batch: a cut boundary has passed since the requests.
  await collect(on, (s) => s.services[VS]?.total.requests === 10);
  // Requests after it reach both workers of the other group; once each worker's metrics push
  // shows them, that push came after the cut and would have carried a batch of the first ten.
  const base = [served(off, 0), served(off, 1)];
  for (let sent = 1; sent <= 200 && ![0, 1].every((w) => served(off, w) > base[w]!); sent++) {
    assert.equal(await get(BACKEND, offPort, "/fail"), 500);
    await until(() => served(off, 0) + served(off, 1) === base[0]! + base[1]! + sent, "the workers' pushes");
  }
  assert.ok(
    [0, 1].every((w) => served(off, w) > base[w]!),
    "both workers pushed after the cut",
  );
  assert.equal(off.analytics(), undefined);
});
