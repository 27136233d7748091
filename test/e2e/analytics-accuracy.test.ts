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
import { countBy, exactQuantiles, runLoad, statusClass, type RequestRecord } from "../support/loadgen.ts";
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
const HTTP_REQUESTS = 1200;
const H2_REQUESTS = 400;

let dir: string;
let p: Portico;
const backends: DelayBackend[] = [];

/** request i over HTTP/1.1: even ones to fast.test, odd ones to slow.test, i % 10 = 1 asks for a 503. */
const request = (i: number) =>
  i % 2 === 0
    ? { authority: "fast.test", path: `/r${i}` }
    : { authority: "slow.test", path: i % 10 === 1 ? `/r${i}?status=503` : `/r${i}` };

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
  p = await startPortico([dir], ["--http-port", String(PORT), "--https-port", String(TLS_PORT)]);
});

after(async () => {
  await p?.stop();
  for (const b of backends) await b.close();
  removeDir(dir);
});

test("analytics counts equal the generator's exactly; p50/p90/p99 within 2% of its own", async () => {
  const h1 = await runLoad({ host: VIP, port: PORT, connections: 8, requests: HTTP_REQUESTS, request });
  // The generator's own expectations first: nothing broke, the 503s are the ones it asked for.
  assert.deepEqual(h1.byStatus, { "200": 1080, "503": 120 }, JSON.stringify(h1.byStatus));
  const h2 = await runLoad({
    host: VIP,
    port: TLS_PORT,
    connections: 4,
    requests: H2_REQUESTS,
    http2: true,
    tls: { servername: "h2.test" },
    request: (i) => ({ authority: "h2.test", path: `/h${i}` }),
  });
  assert.deepEqual(h2.byStatus, { "200": H2_REQUESTS }, JSON.stringify(h2.byStatus));

  const sent: Record<string, RequestRecord[]> = {
    [`fast.test:${PORT}`]: h1.records.filter((r) => r.i % 2 === 0),
    [`slow.test:${PORT}`]: h1.records.filter((r) => r.i % 2 === 1),
    [`h2.test:${TLS_PORT}`]: h2.records,
  };
  const got = await settledServices(
    p.adminUrl,
    Object.fromEntries(Object.entries(sent).map(([k, r]) => [k, r.length])),
  );
  const figures: Comparison[] = [];
  for (const [key, route] of Object.entries(VS)) {
    const records = sent[key]!;
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
    const run = key.startsWith("h2.") ? h2 : h1;
    figures.push(
      ...compareQuantiles(key, s.latency.total, exactQuantiles(records.map((r) => r.ms)), run.loopDelay),
    );
  }
  console.log(
    `accuracy (HTTP/1.1: ${HTTP_REQUESTS} requests, 8 connections, ${h1.elapsedMs.toFixed(0)} ms; HTTP/2 over TLS: ${H2_REQUESTS}, 4 connections, ${h2.elapsedMs.toFixed(0)} ms; generator loop lateness p50/p99 ${h1.loopDelay.p50.toFixed(2)}/${h1.loopDelay.p99.toFixed(2)} ms):\n${formatComparisons(figures)}`,
  );
  assertComparisons(figures);
});
