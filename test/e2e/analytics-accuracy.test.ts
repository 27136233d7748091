// analytics-accuracy.test.ts: what the analytics API says equals what was sent (issue 15,
// "Verified by: accuracy"). `portico run` serves on 127.0.136.1 two Ingresses — `acc` with two
// hosts on HTTP, each its own virtual service with one route, and `acc-tls` with one host on
// HTTPS — in front of two backend processes that answer after a known delay (fast: 20 ms ± 2 ms;
// slow: 50 ms ± 2 ms, and 503 for every tenth request the generator marks). The load generator
// (test/support/loadgen.ts) sends known traffic — HTTP/1.1 keep-alive to the two HTTP hosts, then
// HTTP/2 over TLS to the HTTPS one — and keeps its own record; the API is polled until its counts
// reach the sent ones, and must equal them exactly — per virtual service, per route, per status
// class — while p50/p90/p99 of the total time must lie within 2% (plus the client-side slack, see
// analytics-helpers.ts) of the generator's own.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { removeDir, startPortico, tempDir, writeManifest, type Portico } from "./harness.ts";
import { backendService, ingressClass, pool, tlsSecret } from "./fixtures.ts";
import { selfSigned } from "../support/certs.ts";
import { countBy, exactQuantiles, statusClass, type LoadResult } from "../support/loadgen.ts";
import { h2loadAvailable, runH2load } from "../support/h2load.ts";
import { startDelayBackend, type DelayBackend } from "../support/delay-backend.ts";
import {
  assertComparisons,
  compareQuantiles,
  formatComparisons,
  series,
  settledServices,
  totals,
  type Comparison,
} from "./analytics-helpers.ts";

const VIP = "127.0.136.1";
const PORT = 18360;
const TLS_PORT = 18361;
/** VS: each virtual service ("HOST:PORT") and its one route. */
const VS = {
  [`fast.test:${PORT}`]: "Ingress/default/acc#0.0",
  [`slow.test:${PORT}`]: "Ingress/default/acc#1.0",
  [`h2.test:${TLS_PORT}`]: "Ingress/default/acc-tls#0.0",
};
/** HOST_REQUESTS go to each HTTP host; SLOW_PATHS are slow.test's (one in five asks for a 503). */
const HOST_REQUESTS = 600;
const SLOW_PATHS = ["/s0", "/s1?status=503", "/s2", "/s3", "/s4"];
const H2_REQUESTS = 400;

let dir: string;
let p: Portico;
const backends: DelayBackend[] = [];

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
  const ingress = (name: string, rules: string, tls = "") => `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: { name: ${name}, namespace: default }
spec:
${tls}  rules:
${rules}`;
  const rule = (host: string, svc: string) =>
    `    - host: ${host}
      http: { paths: [{ path: /, pathType: Prefix, backend: { service: { name: ${svc}, port: { number: 80 } } } }] }
`;
  dir = tempDir();
  writeManifest(
    dir,
    "acc.yaml",
    [
      pool("acc", [`${VIP}/32`]),
      ingressClass,
      backendService("default", "fast", fast.port),
      backendService("default", "slow", slow.port),
      tlsSecret("acc-tls", selfSigned(["h2.test"])),
      ingress("acc", rule("fast.test", "fast") + rule("slow.test", "slow")),
      ingress("acc-tls", rule("h2.test", "fast"), "  tls: [{ hosts: [h2.test], secretName: acc-tls }]\n"),
    ].join("---\n"),
  );
  // PORTICO_TEST_ACCESS_LOG=FILE keeps Portico's access log: each request's parts, to set beside
  // the generator's record when a figure needs explaining (docs/analytics.md, "Request by request";
  // PORTICO_TEST_H2LOAD_LOG=PREFIX keeps h2load's per-request logs too: test/support/h2load.ts).
  const log = process.env.PORTICO_TEST_ACCESS_LOG;
  const diag = log ? ["--access-log", log] : [];
  p = await startPortico([dir], ["--http-port", String(PORT), "--https-port", String(TLS_PORT), ...diag]);
});

after(async () => {
  await p?.stop();
  for (const b of backends) await b.close();
  removeDir(dir);
});

test("analytics counts equal the generator's exactly; p50/p90/p99 within 2% of its own", async () => {
  assert.ok(await h2loadAvailable(), "h2load is not installed: run scripts/peers.sh (Debian nghttp2-client)");
  // HTTP/1.1 keep-alive to both hosts at once (two h2load processes of 4 connections each), then
  // HTTP/2 over TLS: each h2load keeps its own per-request record.
  const [fast, slow] = await Promise.all([
    runH2load({
      host: VIP,
      port: PORT,
      authority: "fast.test",
      paths: ["/f"],
      connections: 4,
      requests: HOST_REQUESTS,
    }),
    runH2load({
      host: VIP,
      port: PORT,
      authority: "slow.test",
      paths: SLOW_PATHS,
      connections: 4,
      requests: HOST_REQUESTS,
    }),
  ]);
  // The generator's own expectations first: nothing broke, the 503s are the ones it asked for.
  assert.deepEqual(fast.byStatus, { "200": HOST_REQUESTS }, JSON.stringify(fast.byStatus));
  assert.deepEqual(
    slow.byStatus,
    { "200": HOST_REQUESTS * 0.8, "503": HOST_REQUESTS * 0.2 },
    JSON.stringify(slow.byStatus),
  );
  const h2 = await runH2load({
    host: VIP,
    port: TLS_PORT,
    authority: "h2.test",
    paths: ["/h"],
    connections: 4,
    requests: H2_REQUESTS,
    tls: true,
  });
  assert.deepEqual(h2.byStatus, { "200": H2_REQUESTS }, JSON.stringify(h2.byStatus));

  const runs: Record<string, LoadResult> = {
    [`fast.test:${PORT}`]: fast,
    [`slow.test:${PORT}`]: slow,
    [`h2.test:${TLS_PORT}`]: h2,
  };
  const got = await settledServices(
    p.adminUrl,
    Object.fromEntries(Object.entries(runs).map(([k, r]) => [k, r.records.length])),
  );
  const figures: Comparison[] = [];
  for (const [key, route] of Object.entries(VS)) {
    const run = runs[key]!;
    const records = run.records;
    const s = got.get(key)!;
    assert.equal(s.requests, records.length, `${key}: requests`);
    assert.deepEqual(s.engines, ["local"], `${key}: engines`);
    const fiveXx = records.filter((r) => r.status >= 500).length;
    assert.ok(
      Math.abs(s.errorRate * s.requests - fiveXx) < 1e-6,
      `${key}: errorRate ${s.errorRate} × ${s.requests} should be ${fiveXx}`,
    );
    // Per status class, for the virtual service and for its route (the series' buckets summed).
    const classes = countBy(records, (r) => statusClass(r.status));
    const vsTotals = totals(await series(p.adminUrl, s.vs));
    assert.equal(vsTotals.requests, records.length, `${key}: series requests`);
    assert.deepEqual(vsTotals.classes, classes, `${key}: series classes`);
    const routeTotals = totals(await series(p.adminUrl, s.vs, { route }));
    assert.equal(routeTotals.requests, records.length, `${key}: route ${route} requests`);
    assert.deepEqual(routeTotals.classes, classes, `${key}: route classes`);
    figures.push(
      ...compareQuantiles(
        key,
        s.latency.total,
        exactQuantiles(records.map((r) => r.ms)),
        run.loopDelay,
        run.floor,
      ),
    );
  }
  const late = (r: LoadResult) => `${r.loopDelay.p50.toFixed(2)}/${r.loopDelay.p99.toFixed(2)}`;
  console.log(
    `accuracy (h2load; HTTP/1.1: 2 × ${HOST_REQUESTS} requests, 2 × 4 connections, ${fast.elapsedMs.toFixed(0)} ms; HTTP/2 over TLS: ${H2_REQUESTS}, 4 connections, ${h2.elapsedMs.toFixed(0)} ms; machine lateness p50/p99 ${late(fast)}, ${late(h2)} ms):\n${formatComparisons(figures)}`,
  );
  assertComparisons(figures);
});
