// analytics-accuracy.test.ts: what the analytics API says equals what was sent (issue 15,
// "Verified by: accuracy"). `portico run` serves on 127.0.136.1 two Ingresses — `acc` with three
// hosts on HTTP, each its own virtual service with one route, and `acc-tls` with h2.test on HTTPS
// (its certificate covers warm.test too, which acc's rule serves there as well) — in
// front of two backend processes that answer after a known delay (fast: 20 ms ± 2 ms; slow: 50 ms
// ± 2 ms, and 503 for the requests that ask for it). The load generator (test/peers/loadgen, Go,
// run by test/support/goload.ts) sends known traffic on a paced open-loop schedule — HTTP/1.1
// keep-alive to fast.test and slow.test interleaved, then HTTP/2 over TLS to h2.test — after one
// warm-up request per connection to warm.test (a virtual service of its own on each listener), and
// keeps its own record, timed at the kernel's edge. The API is polled until its counts reach the
// sent ones and must equal them exactly — per virtual service, per route, per status class — while
// p50/p90/p99 of the total time lie within 2% of the generator's own (analytics-helpers.ts:
// compareQuantile) — one-sided only on a measurably loaded machine: the tails when loaded, every
// quantile when heavily loaded (loadedMachine, heldOutside), with the reason printed — and, on
// every machine, within the sketch's 1% of Portico's own record of the same requests (its access
// log, joined request by request: analytics-own.ts); HTTP/2 over TLS's median
// the same as HTTP/1.1's, its tails upper bound only (the engine's major GC falls in its run), and
// PORTICO_H2_CODEC=node's front, whose clock starts later, upper bound only.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { loadavg } from "node:os";
import { join } from "node:path";
import { removeDir, startPortico, tempDir, writeManifest, type Portico } from "./harness.ts";
import { backendService, ingressClass, pool, tlsSecret } from "./fixtures.ts";
import { selfSigned } from "../support/certs.ts";
import { countBy, exactQuantiles, statusClass } from "../support/loadgen.ts";
import { asRequestRecords, byAuthority, runGoload, statusCounts, type GoRecord } from "../support/goload.ts";
import { startDelayBackend, type DelayBackend } from "../support/delay-backend.ts";
import {
  assertComparisons,
  compareQuantiles,
  formatComparisons,
  series,
  settledServices,
  describeLoad,
  heldOutside,
  loadedMachine,
  totals,
  type Comparison,
  type Loaded,
} from "./analytics-helpers.ts";
import { joinAccessLog } from "./analytics-join.ts";
import { ownRecord, type Own } from "./analytics-own.ts";

const VIP = "127.0.136.1";
const PORT = 18360;
const TLS_PORT = 18361;
/** VS: each virtual service ("HOST:PORT") and its one route. */
const VS = {
  [`fast.test:${PORT}`]: "Ingress/default/acc#0.0",
  [`slow.test:${PORT}`]: "Ingress/default/acc#1.0",
  [`warm.test:${PORT}`]: "Ingress/default/acc#2.0",
  [`h2.test:${TLS_PORT}`]: "Ingress/default/acc-tls#0.0",
  // acc's rule for warm.test serves it on HTTPS too (acc-tls lists it in its tls hosts).
  [`warm.test:${TLS_PORT}`]: "Ingress/default/acc#2.0",
};
/** Every virtual service whose latency is judged (warm.test's few first requests are counted only). */
const TIMED = [`fast.test:${PORT}`, `slow.test:${PORT}`, `h2.test:${TLS_PORT}`];
/**
 * HTTP/1.1: 1,200 requests at 200/s on 16 connections, fast.test and slow.test in turn (600 each;
 * one slow path in five asks for a 503); HTTP/2 over TLS: 1,200 at 200/s on 8 connections. The
 * connections outnumber the requests in flight (~8 and ~4.4) so no request waits for one.
 *
 * Each run lasts 6 s, so a major GC of the engine's heap counts among many requests, as it does
 * in a service's steady traffic (one every several seconds). Its final pause (1.5–6.5 ms measured,
 * docs/analytics.md "The tail events") holds the requests that arrive meanwhile in the kernel,
 * where no clock of Portico's can see them, and its concurrent marking takes a core from the
 * generator: 2–7 requests gain 2–11 ms. The engine's heap reaches V8's trigger as the HTTP/2 run
 * begins (its TLS handshakes, the codec's first use); among the 400 requests it had before, those
 * were p99's four, and p99 read up to −14.5% on a quiet machine; among 1,200 they lie above p99.
 */
const H1 = { requests: 1200, rate: 200, connections: 16 };
const H1_CYCLE = ["/s0", "/s1?status=503", "/s2", "/s3", "/s4"].flatMap((path) => [
  { authority: "fast.test", path: "/f" },
  { authority: "slow.test", path },
]);
const H2 = { requests: 1200, rate: 200, connections: 8 };
const WARM = { authority: "warm.test", path: "/w" };

let dir: string;
let logDir: string;
let accessLog: string;
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
      tlsSecret("acc-tls", selfSigned(["h2.test", "warm.test"])),
      ingress("acc", rule("fast.test", "fast") + rule("slow.test", "slow") + rule("warm.test", "fast")),
      ingress(
        "acc-tls",
        rule("h2.test", "fast"),
        "  tls: [{ hosts: [h2.test, warm.test], secretName: acc-tls }]\n",
      ),
    ].join("---\n"),
  );
  // Portico's access log is Portico's own record of each request (analytics-own.ts), in a directory
  // of its own (the manifest directory is watched). PORTICO_TEST_ACCESS_LOG=FILE keeps it, and
  // prints the client-side time per virtual service (analytics-join.ts);
  // PORTICO_TEST_LOADGEN_LOG=PREFIX keeps the generator's records too, and
  // PORTICO_TEST_LOOP_TRACE=FILE traces the engine's loop and GCs, to say what held the late ones.
  logDir = tempDir();
  accessLog = process.env.PORTICO_TEST_ACCESS_LOG ?? join(logDir, "access.log");
  p = await startPortico(
    [dir],
    ["--http-port", String(PORT), "--https-port", String(TLS_PORT), "--access-log", accessLog],
  );
});

after(async () => {
  await p?.stop();
  for (const b of backends) await b.close();
  removeDir(dir);
  removeDir(logDir);
});

test("analytics counts equal the generator's exactly; p50/p90/p99 within 2% of its own", async () => {
  const h1 = await runGoload("http1", {
    address: `${VIP}:${PORT}`,
    ...H1,
    targets: H1_CYCLE,
    warm: WARM,
  });
  // Judged as each run ends: the load average of its last minute, not of the wait that follows.
  const loaded: Record<number, Loaded> = { [PORT]: loadedMachine(h1.lateness) };
  const h2 = await runGoload("http2", {
    address: `${VIP}:${TLS_PORT}`,
    tls: true,
    serverName: "h2.test",
    http2: true,
    ...H2,
    targets: [{ authority: "h2.test", path: "/h" }],
    warm: WARM,
  });
  // node:http2's front (PORTICO_H2_CODEC=node, the fallback kept for one release) starts its clock
  // at its `stream` event, after TLS, nghttp2's parse and the stream's making: held to the upper
  // bound only. The own codec's clock starts at the read that brought the stream's first byte.
  // The own codec's tails are held to the upper bound too: the engine's one major GC of the test
  // falls in the HTTP/2 run (its TLS handshakes cross V8's trigger), and the requests that wait
  // out its pause in the socket buffer are late by 2–10 ms outside Portico's span — on a quiet
  // machine one run in two read p99 below −2% (−6.97%, −14.49%): docs/analytics.md, "The tail
  // events". Its median is judged two-sided on a quiet machine.
  const h2Loaded = loadedMachine(h2.lateness);
  const node = "PORTICO_H2_CODEC=node: node:http2's clock starts at its stream event";
  const gc = "HTTP/2 run: the engine's major GC pause, outside Portico's span, reaches its tails";
  loaded[TLS_PORT] =
    process.env.PORTICO_H2_CODEC === "node"
      ? {
          tails: [h2Loaded.tails, node].filter(Boolean).join("; "),
          median: [h2Loaded.median, node].filter(Boolean).join("; "),
        }
      : { ...h2Loaded, tails: [h2Loaded.tails, gc].filter(Boolean).join("; ") };
  // The generator's own expectations first: nothing broke, the 503s are the ones it asked for.
  const sent = new Map<string, GoRecord[]>();
  for (const [port, run] of [
    [PORT, h1],
    [TLS_PORT, h2],
  ] as const) {
    for (const [host, rs] of byAuthority([...run.warm, ...run.load])) sent.set(`${host}:${port}`, rs);
  }
  const half = H1.requests / 2;
  const expected: Record<string, Record<string, number>> = {
    [`fast.test:${PORT}`]: { "200": half },
    [`slow.test:${PORT}`]: { "200": half * 0.8, "503": half * 0.2 },
    [`warm.test:${PORT}`]: { "200": H1.connections },
    [`h2.test:${TLS_PORT}`]: { "200": H2.requests },
    [`warm.test:${TLS_PORT}`]: { "200": H2.connections },
  };
  for (const [key, want] of Object.entries(expected))
    assert.deepEqual(statusCounts(sent.get(key) ?? []), want, `generator: ${key}`);

  // Portico's own record: of each run (its client-side time joins the judgement: heldOutside), and
  // of each timed virtual service.
  const protocol = { [PORT]: "HTTP/1.1", [TLS_PORT]: "HTTP/2" } as const;
  for (const [port, run] of [
    [PORT, h1],
    [TLS_PORT, h2],
  ] as const)
    loaded[port] = heldOutside(loaded[port]!, await ownRecord([accessLog], protocol[port], run.load));
  const own = new Map<string, Own>();
  for (const key of TIMED) {
    const port = Number(key.slice(key.lastIndexOf(":") + 1)) as keyof typeof protocol;
    own.set(key, await ownRecord([accessLog], protocol[port], sent.get(key)!));
  }

  const got = await settledServices(
    p.adminUrl,
    Object.fromEntries([...sent].map(([k, rs]) => [k, rs.length])),
  );
  const figures: Comparison[] = [];
  for (const [key, route] of Object.entries(VS)) {
    const records = asRequestRecords(sent.get(key)!);
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
    if (!TIMED.includes(key)) continue;
    const port = Number(key.slice(key.lastIndexOf(":") + 1));
    figures.push(
      ...compareQuantiles(
        key,
        s.latency.total,
        exactQuantiles(records.map((r) => r.ms)),
        own.get(key)!,
        loaded[port]!,
      ),
    );
  }
  const late = (l: typeof h1.lateness) => `${l.p50.toFixed(2)}/${l.p99.toFixed(2)}`;
  const why = Object.entries(loaded)
    .map(([port, l]) => `port ${port}: ${describeLoad(l)}`)
    .join("; ");
  console.log(
    `accuracy (test/peers/loadgen, open loop; HTTP/1.1: ${H1.requests} requests at ${H1.rate}/s on ${H1.connections} connections, ${h1.elapsedMs} ms; HTTP/2 over TLS: ${H2.requests} at ${H2.rate}/s on ${H2.connections}, ${h2.elapsedMs} ms; requests left late p50/p99 ${late(h1.lateness)}, ${late(h2.lateness)} ms; load average ${loadavg()
      .map((x) => x.toFixed(2))
      .join(" ")}):\n${why}\n${formatComparisons(figures)}`,
  );
  if (process.env.PORTICO_TEST_ACCESS_LOG) {
    console.log(
      joinAccessLog(
        accessLog,
        [
          { protocol: "HTTP/1.1", records: [...h1.warm, ...h1.load] },
          { protocol: "HTTP/2", records: [...h2.warm, ...h2.load] },
        ],
        process.env.PORTICO_TEST_LOOP_TRACE,
      ),
    );
  }
  assertComparisons(figures);
});
