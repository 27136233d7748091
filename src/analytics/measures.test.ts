import assert from "node:assert/strict";
import { test } from "node:test";
import { Collector } from "./collector.ts";
import { capLogs, emptyMeasures, LiveMeasures, mergeBatches, mergeMeasures } from "./measures.ts";
import { Sketch } from "./sketch.ts";
import { httpEvent } from "./event-testing.ts";
import type { AnalyticsBatch, LogRecord } from "./types.ts";

// latencies is a deterministic spread over three decades (a linear congruential generator).
function latencies(n: number, seed: number): number[] {
  let x = seed;
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) % 2147483648;
    out.push(Math.pow(10, (x / 2147483648) * 3));
  }
  return out;
}

// roundSums rounds every sketch's sum to 9 significant digits (a copy).
function roundSums<T>(v: T): T {
  return JSON.parse(JSON.stringify(v), (k, x: unknown) =>
    k === "sum" && typeof x === "number" ? Number(x.toPrecision(9)) : x,
  ) as T;
}

test("LiveMeasures.toData and mergeMeasures: counters add, codes/tls/http add by key, sketches merge exactly", () => {
  const a = new LiveMeasures();
  const b = new LiveMeasures();
  a.requests = 2;
  a.code(200);
  a.code(503);
  a.http.set("HTTP/1.1", 2);
  a.tls.set("TLSv1.3", 1);
  a.bytesOut = 10;
  a.connOpen = 3;
  b.requests = 1;
  b.code(200);
  b.http.set("HTTP/2", 1);
  b.denied = 1;
  b.connOpen = 4;
  for (const v of [1, 2, 3]) a.time("total", v);
  for (const v of [100, 200]) b.time("total", v);
  b.time("ttfb", 7);
  const sum = mergeMeasures([a.toData(), b.toData()]);
  assert.equal(sum.requests, 3);
  assert.deepEqual(sum.codes, { "200": 2, "503": 1 });
  assert.deepEqual(sum.http, { "HTTP/1.1": 2, "HTTP/2": 1 });
  assert.deepEqual(sum.tls, { "TLSv1.3": 1 });
  assert.equal(sum.bytesOut, 10);
  assert.equal(sum.denied, 1);
  assert.equal(sum.connOpen, 7, "across processes the gauge sums");
  assert.equal(mergeMeasures([a.toData(), b.toData()], "latest").connOpen, 4, "over time it is the latest");
  const union = new Sketch();
  for (const v of [1, 2, 3, 100, 200]) union.add(v);
  assert.deepEqual(sum.latency.total, union.toData());
  assert.equal(sum.latency.ttfb?.count, 1);
  assert.deepEqual(mergeMeasures([]), emptyMeasures());
});

test("two engines' batches merge exactly: the same figures as one engine that saw every request (sketch union)", () => {
  const a = new Collector({ engine: "a", now: () => 1000 });
  const b = new Collector({ engine: "b", now: () => 1000 });
  const both = new Collector({ engine: "a", now: () => 1000 });
  const la = latencies(3000, 3);
  const lb = latencies(2000, 5).map((v) => v * 3);
  la.forEach((ms, i) => {
    const ev = httpEvent({ durationMs: ms, status: i % 100 === 0 ? 502 : 200, client: `127.0.0.${i % 7}` });
    a.onHttp(ev);
    both.onHttp(ev);
  });
  lb.forEach((ms, i) => {
    const ev = httpEvent({
      durationMs: ms,
      route: i % 2 ? "r2" : "r1",
      backend: `127.0.0.${3 + (i % 2)}:80`,
    });
    b.onHttp(ev);
    both.onHttp(ev);
  });
  const merged = mergeBatches([a.take(2000), b.take(2000)], { over: "engines", maxLogs: 10_000 })!;
  const one = both.take(2000);
  // Float sums differ in their last bits with the order of additions; everything else is exact but
  // the sampled top lists: `one` saw 5,000 requests of one service, past TOP_EXACT (topn.ts), so its
  // URL and client counts are a sample's, within a few standard deviations (√(count × (step − 1))).
  const sampled = ["urls", "clients"] as const;
  const vs = "L a.example";
  for (const kind of sampled)
    for (const [k, n] of Object.entries(merged.services[vs]!.top[kind]!)) {
      const got = one.services[vs]!.top[kind]![k] ?? 0;
      assert.ok(Math.abs(got - n) <= 5 * Math.sqrt(n), `${kind} ${k}: ${got} sampled, ${n} exact`);
    }
  const withoutSampled = (services: typeof one.services) =>
    Object.fromEntries(
      Object.entries(services).map(([k, s]) => [k, { ...s, top: { ...s.top, urls: {}, clients: {} } }]),
    );
  assert.deepEqual(roundSums(withoutSampled(merged.services)), roundSums(withoutSampled(one.services)));
  assert.equal(merged.logs.length, one.logs.length);
  // The merged p99 is the p99 of the union of samples within the sketch's accuracy.
  const all = [...la, ...lb].sort((x, y) => x - y);
  const p99 = all[Math.floor(0.99 * (all.length - 1))]!;
  const got = Sketch.fromData(merged.services["L a.example"]!.total.latency.total!).quantile(0.99);
  assert.ok(Math.abs(got - p99) <= p99 * 0.01 + 1e-9, `p99 ${got} vs exact ${p99}`);
  assert.equal(merged.services["L a.example"]!.total.requests, 5000);
  assert.equal(merged.engine, "a");
  assert.equal(merged.at, 2000);
  assert.equal(merged.intervalMs, 1000);
});

test("mergeBatches over time: intervals join, counters add, connOpen is the last batch's (0 when it lists no such service)", () => {
  const service = (connOpen: number, requests: number) => ({
    kind: "http" as const,
    listener: "L",
    total: { ...emptyMeasures(), connOpen, requests },
    routes: {},
    backends: {},
    top: { codes: { "200": requests } },
  });
  const b1: AnalyticsBatch = {
    engine: "e",
    at: 2000,
    intervalMs: 1000,
    services: { L: service(5, 10), M: service(2, 1) },
    logs: [],
    dropped: 1,
  };
  const b2: AnalyticsBatch = {
    engine: "e",
    at: 3000,
    intervalMs: 1000,
    services: { L: service(3, 4) },
    logs: [],
    dropped: 2,
  };
  const m = mergeBatches([b1, b2], { over: "time" })!;
  assert.equal(m.at, 3000);
  assert.equal(m.intervalMs, 2000);
  assert.equal(m.services.L!.total.requests, 14);
  assert.equal(m.services.L!.total.connOpen, 3);
  assert.equal(m.services.M!.total.connOpen, 0);
  assert.deepEqual(m.services.L!.top, { codes: { "200": 14 } });
  assert.equal(m.dropped, 3);
  assert.equal(mergeBatches([], { over: "time" }), undefined);
});

test("capLogs keeps significant records before full-log ones, in time order, and counts the rest", () => {
  const rec = (at: number, full: boolean) => ({ at, reasons: full ? ["full"] : ["5xx"] }) as LogRecord;
  const { logs, dropped } = capLogs(
    [rec(5, true), rec(4, false), rec(3, true), rec(2, false), rec(1, true)],
    3,
  );
  assert.deepEqual(
    logs.map((r) => [r.at, r.reasons[0]]),
    [
      [1, "full"],
      [2, "5xx"],
      [4, "5xx"],
    ],
  );
  assert.equal(dropped, 2);
});
