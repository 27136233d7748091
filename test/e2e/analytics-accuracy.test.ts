// analytics-accuracy.test.ts: what the analytics API says equals what was sent (issue 15,
// "Verified by: accuracy"). `portico run` serves one Ingress with two hosts on 127.0.136.1 — each
// host its own virtual service with one route — to two backend processes that answer after a known
// delay (fast: 20 ms ± 2 ms; slow: 50 ms ± 2 ms, and 503 for every tenth request the generator
// marks). The load generator (test/support/loadgen.ts) sends known traffic over keep-alive
// connections and keeps its own record; then the API is polled until its counts reach the sent
// ones, and must equal them exactly — per virtual service, per route, per status class — while
// p50/p90/p99 of the total time must lie within 2% (plus the client-side slack, see
// analytics-helpers.ts) of the generator's own.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { removeDir, startPortico, tempDir, writeManifest, type Portico } from "./harness.ts";
import { backendService, ingressClass, pool } from "./fixtures.ts";
import { countBy, exactQuantiles, runLoad, statusClass, type LoadResult } from "../support/loadgen.ts";
import { startDelayBackend, type DelayBackend } from "../support/delay-backend.ts";
import {
  compareQuantiles,
  formatComparisons,
  series,
  settledServices,
  totals,
  type Comparison,
} from "./analytics-helpers.ts";

const VIP = "127.0.136.1";
const PORT = 18360;
const ROUTES = { "fast.test": "Ingress/default/acc#0.0", "slow.test": "Ingress/default/acc#1.0" } as const;
type Host = keyof typeof ROUTES;
const REQUESTS = 1200;

let dir: string;
let p: Portico;
const backends: DelayBackend[] = [];

/** request i: even ones to fast.test, odd ones to slow.test, every tenth (i % 10 = 1) asks for a 503. */
const request = (i: number) =>
  i % 2 === 0
    ? { authority: "fast.test", path: `/r${i}` }
    : { authority: "slow.test", path: i % 10 === 1 ? `/r${i}?status=503` : `/r${i}` };
const hostOf = (i: number): Host => request(i).authority as Host;

before(async () => {
  const fast = await startDelayBackend({
    address: "127.0.0.1",
    delayMs: 20,
    jitterMs: 2,
    seed: 1,
    name: "fast",
  });
  const slow = await startDelayBackend({
    address: "127.0.0.1",
    delayMs: 50,
    jitterMs: 2,
    seed: 2,
    name: "slow",
  });
  backends.push(fast, slow);
  dir = tempDir();
  writeManifest(
    dir,
    "acc.yaml",
    [
      pool("acc", [`${VIP}/32`]),
      ingressClass,
      backendService("default", "fast", fast.port),
      backendService("default", "slow", slow.port),
      `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: { name: acc, namespace: default }
spec:
  rules:
    - host: fast.test
      http: { paths: [{ path: /, pathType: Prefix, backend: { service: { name: fast, port: { number: 80 } } } }] }
    - host: slow.test
      http: { paths: [{ path: /, pathType: Prefix, backend: { service: { name: slow, port: { number: 80 } } } }] }
`,
    ].join("---\n"),
  );
  p = await startPortico([dir], ["--http-port", String(PORT)]);
});

after(async () => {
  await p?.stop();
  for (const b of backends) await b.close();
  removeDir(dir);
});

test("analytics counts equal the generator's exactly; p50/p90/p99 within 2% of its own", async () => {
  const gen: LoadResult = await runLoad({
    host: VIP,
    port: PORT,
    connections: 8,
    requests: REQUESTS,
    request,
  });
  const sent = (h: Host) => gen.records.filter((r) => hostOf(r.i) === h);
  // The generator's own expectations first: nothing broke, the 503s are the ones it asked for.
  assert.deepEqual(gen.byStatus, { "200": 1080, "503": 120 }, JSON.stringify(gen.byStatus));

  const expected = { "fast.test": sent("fast.test").length, "slow.test": sent("slow.test").length };
  const got = await settledServices(p.adminUrl, expected);
  const figures: Comparison[] = [];
  for (const host of Object.keys(ROUTES) as Host[]) {
    const records = sent(host);
    const s = got.get(host)!;
    assert.equal(s.requests, records.length, `${host}: requests`);
    assert.deepEqual(s.engines, ["local"], `${host}: engines`);
    const fiveXx = records.filter((r) => r.status >= 500).length;
    assert.ok(
      Math.abs(s.errorRate * s.requests - fiveXx) < 1e-6,
      `${host}: errorRate ${s.errorRate} × ${s.requests} should be ${fiveXx}`,
    );
    // Per status class, for the virtual service and for its route (the series' buckets summed).
    const classes = countBy(records, (r) => statusClass(r.status));
    const vsTotals = totals(await series(p.adminUrl, s.vs));
    assert.equal(vsTotals.requests, records.length, `${host}: series requests`);
    assert.deepEqual(vsTotals.classes, classes, `${host}: series classes`);
    const routeTotals = totals(await series(p.adminUrl, s.vs, { route: ROUTES[host] }));
    assert.equal(routeTotals.requests, records.length, `${host}: route ${ROUTES[host]} requests`);
    assert.deepEqual(routeTotals.classes, classes, `${host}: route classes`);
    figures.push(...compareQuantiles(host, s.latency.total, exactQuantiles(records.map((r) => r.ms))));
  }
  console.log(
    `accuracy (${REQUESTS} requests, 8 connections, ${gen.elapsedMs.toFixed(0)} ms):\n${formatComparisons(figures)}`,
  );
});
