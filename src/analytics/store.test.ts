// store.test.ts: the analytics store with synthetic batches and a fake clock — two engines merged
// into one bucket, roll-up across resolutions, wrap-around and retention, caps, gauges, top lists.
import assert from "node:assert/strict";
import { test } from "node:test";
import { MAX_BIN, Sketch } from "./sketch.ts";
import { AnalyticsStore, OVERFLOW } from "./store.ts";
import { summarize, NO_CONTEXT } from "./summary.ts";
import { batch, measures, service, VS } from "./testing.ts";
import { validateBatch } from "./validate-batch.ts";

const T0 = Date.UTC(2026, 11, 7, 6, 0, 0); // an hour boundary

/** seeded is a deterministic pseudo-random sequence (so failures reproduce). */
function seeded(seed: number): () => number {
  return () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
}

test("two engines in one bucket: counters add exactly, quantiles are those of the union within 1%", () => {
  const clock = { t: T0 + 4_000 };
  const store = new AnalyticsStore({ now: () => clock.t });
  const rnd = seeded(7);
  const a = Array.from({ length: 2000 }, () => 5 + rnd() * 20);
  const b = Array.from({ length: 500 }, () => 100 + rnd() * 400);
  store.ingest(
    batch("e1", T0 + 3_000, { [VS]: service(measures({ "200": 1990, "503": 10 }, { total: a })) }),
  );
  store.ingest(batch("e2", T0 + 4_000, { [VS]: service(measures({ "200": 495, "0": 5 }, { total: b })) }));
  const s = store.series(VS, "5m")!;
  assert.equal(s.resolutionMs, 5_000);
  const p = s.points.at(-1)!;
  assert.equal(p.t, T0);
  assert.equal(p.requests, 2500);
  assert.deepEqual(p.classes, { "2xx": 2485, "5xx": 10, none: 5 });
  assert.equal(p.bytesIn, 250_000);
  const union = [...a, ...b].sort((x, y) => x - y);
  for (const [q, key] of [
    [0.5, "p50"],
    [0.9, "p90"],
    [0.99, "p99"],
  ] as const) {
    const exact = union[Math.floor(q * (union.length - 1))]!;
    const got = p.latency.total![key];
    assert.ok(Math.abs(got - exact) / exact <= 0.011, `${key} ${got} vs exact ${exact}`);
  }
  assert.equal(p.latency.total!.max, Math.max(...union));
  const row = summarize(store, VS, "5m", NO_CONTEXT)!;
  assert.deepEqual(row.engines, ["e1", "e2"]);
  assert.equal(row.errorRate, 15 / 2500);
  assert.equal(row.requests, 2500);
  // Apdex against 500 ms: every sample ≤ 500 is satisfied (500 itself within the sketch's 1%).
  assert.ok(row.apdex > 0.99 && row.apdex <= 1, String(row.apdex));
});

test("a 5 s batch lands in its 1 min and 1 h buckets, and the windows read them", () => {
  const clock = { t: T0 + 2 * 3_600_000 };
  const store = new AnalyticsStore({ now: () => clock.t });
  const at = T0 + 3_600_000 + 125_000; // 07:02:05 → 5 s bucket 07:02:00, 1 min 07:02, 1 h 07:00
  store.ingest(batch("e1", at + 1, { [VS]: service(measures({ "200": 7 }, { total: [10, 20] })) }));
  clock.t = at + 10_000;
  const m = store.series(VS, "24h")!;
  assert.equal(m.resolutionMs, 60_000);
  assert.deepEqual(
    m.points.filter((p) => p.requests > 0).map((p) => [p.t, p.requests]),
    [[T0 + 3_600_000 + 120_000, 7]],
  );
  const h = store.series(VS, "7d")!;
  assert.equal(h.resolutionMs, 3_600_000);
  assert.deepEqual(
    h.points.filter((p) => p.requests > 0).map((p) => [p.t, p.requests]),
    [[T0 + 3_600_000, 7]],
  );
  const s = store.series(VS, "5m")!;
  assert.deepEqual(
    s.points.filter((p) => p.requests > 0).map((p) => p.t),
    [T0 + 3_600_000 + 125_000],
  );
  assert.equal(s.points.length, 60);
  assert.equal(store.series(VS, "1h")!.points.length, 720);
  assert.equal(m.points.length, 1440);
  assert.equal(store.series(VS, "30d")!.points.length, 720);
  for (const w of ["5m", "1h", "6h", "24h", "7d", "30d"] as const)
    assert.equal(summarize(store, VS, w, NO_CONTEXT)!.requests, 7, w);
  // Latency of the 1 min and 1 h buckets: from the cells while filling, kept in the rings once closed.
  const lat = (w: "24h" | "7d") => store.series(VS, w)!.points.find((p) => p.requests > 0)!.latency.total;
  assert.equal(lat("24h")?.max, 20);
  assert.equal(lat("7d")?.max, 20);
  clock.t = T0 + 5 * 3_600_000;
  store.ingest(batch("e1", clock.t, { [VS]: service(measures({ "200": 1 }, { total: [1] })) }));
  assert.ok(Math.abs(lat("24h")!.max - 20) < 0.05, JSON.stringify(lat("24h")));
  assert.ok(Math.abs(lat("7d")!.max - 20) < 0.05, JSON.stringify(lat("7d")));
});

test("rings wrap: a bucket older than its ring's span is gone, newer ones stay", () => {
  const clock = { t: T0 };
  const store = new AnalyticsStore({ now: () => clock.t });
  // One batch every 5 s for 70 minutes: the 5 s ring keeps the last hour only.
  for (let k = 0; k < 840; k++) {
    clock.t = T0 + k * 5_000 + 1_000;
    store.ingest(batch("e1", clock.t, { [VS]: service(measures({ "200": 1 }, { total: [k + 1] })) }));
  }
  const hour = store.series(VS, "1h")!;
  assert.equal(hour.points.filter((p) => p.requests > 0).length, 720);
  assert.equal(hour.points[0]!.t, T0 + 120 * 5_000);
  assert.equal(summarize(store, VS, "1h", NO_CONTEXT)!.requests, 720);
  assert.equal(summarize(store, VS, "24h", NO_CONTEXT)!.requests, 840);
  // 31 days later the 1 h ring has moved past everything; a new batch clears its slot only.
  clock.t = T0 + 31 * 86_400_000;
  store.ingest(batch("e1", clock.t, { [VS]: service(measures({ "200": 2 })) }));
  assert.equal(summarize(store, VS, "30d", NO_CONTEXT)!.requests, 2);
  assert.equal(summarize(store, VS, "5m", NO_CONTEXT)!.requests, 2);
  // A batch from before the ring's span (an engine clock far behind) is dropped, not wrapped over new data.
  store.ingest(batch("e1", T0 + 1_000, { [VS]: service(measures({ "200": 5 })) }));
  assert.equal(summarize(store, VS, "30d", NO_CONTEXT)!.requests, 2);
});

test("open connections: summed across engines in a bucket, the last report of each engine, never over time", () => {
  const clock = { t: T0 + 59_000 };
  const store = new AnalyticsStore({ now: () => clock.t });
  const conn = (n: number) => service(measures({}, {}, { connOpen: n }));
  store.ingest(batch("e1", T0 + 11_000, { [VS]: conn(10) }));
  store.ingest(batch("e1", T0 + 12_000, { [VS]: conn(12) })); // same 5 s bucket: replaces e1's 10
  store.ingest(batch("e2", T0 + 13_000, { [VS]: conn(5) }));
  store.ingest(batch("e1", T0 + 31_000, { [VS]: conn(8) }));
  const pts = store.series(VS, "5m")!.points;
  assert.equal(pts.find((p) => p.t === T0 + 10_000)!.connOpen, 17);
  assert.equal(pts.find((p) => p.t === T0 + 30_000)!.connOpen, 8);
  // The 1 min bucket holds each engine's last report in the minute: e1 8 + e2 5.
  assert.equal(store.series(VS, "6h")!.points.at(-1)!.connOpen, 13);
  assert.equal(summarize(store, VS, "5m", NO_CONTEXT)!.connOpen, 8);
});

test("routes and backends: their own series; caps send new ones to the overflow series", () => {
  const clock = { t: T0 + 30_000 };
  const store = new AnalyticsStore({ now: () => clock.t, limits: { services: 2, routes: 2, backends: 1 } });
  const routes = {
    r1: measures({ "200": 1 }, { total: [5] }),
    r2: measures({ "200": 2 }),
    r3: measures({ "404": 3 }),
  };
  const backends = { "p 10.0.0.1:80": measures({ "200": 4 }), "p 10.0.0.2:80": measures({ "500": 5 }) };
  store.ingest(batch("e1", T0 + 20_000, { [VS]: service(measures({ "200": 6 }), routes, backends) }));
  assert.deepEqual(store.detailNames(VS), {
    routes: ["r1", "r2", OVERFLOW],
    backends: ["p 10.0.0.1:80", OVERFLOW],
  });
  const r1 = store.series(VS, "1h", { route: "r1" })!;
  assert.equal(r1.resolutionMs, 60_000);
  assert.equal(r1.points.length, 60);
  assert.equal(r1.points.at(-1)!.requests, 1);
  assert.equal(r1.points.at(-1)!.latency.total!.max, 5);
  assert.equal(store.series(VS, "1h", { route: OVERFLOW })!.points.at(-1)!.classes["4xx"], 3);
  assert.equal(store.series(VS, "1h", { backend: OVERFLOW })!.points.at(-1)!.classes["5xx"], 5);
  assert.equal(store.series(VS, "1h", { route: "nope" }), undefined);
  // Two services fit; the third goes to the overflow service.
  const other = (l: string) => ({ ...service(measures({ "200": 1 })), listener: l, vhost: "x" });
  store.ingest(batch("e1", T0 + 20_000, { b: other("b"), c: other("c") }));
  assert.deepEqual(store.services().sort(), [VS, OVERFLOW, "b"].sort());
  assert.equal(summarize(store, OVERFLOW, "5m", NO_CONTEXT)!.listener, OVERFLOW);
});

test("top lists: summed over the window's cells, ten per kind, the busiest first", () => {
  const clock = { t: T0 + 3 * 60_000 };
  const store = new AnalyticsStore({ now: () => clock.t });
  const urls = (base: number) =>
    Object.fromEntries(Array.from({ length: 15 }, (_, i) => [`/u${i}`, base + i]));
  store.ingest(
    batch("e1", T0 + 30_000, { [VS]: service(measures({ "200": 1 }), {}, {}, { urls: urls(0) }) }),
  );
  store.ingest(
    batch("e2", T0 + 90_000, { [VS]: service(measures({ "200": 1 }), {}, {}, { urls: { "/u0": 100 } }) }),
  );
  const top = store.top(VS, "5m")!;
  assert.equal(Object.keys(top.urls!).length, 10);
  assert.equal(top.urls!["/u0"], 100);
  assert.equal(top.urls!["/u14"], 14);
  assert.equal(top.urls!["/u4"], undefined);
  assert.equal(store.top("nope", "5m"), undefined);
});

test("apdex counts satisfied and tolerating samples against the target", () => {
  const clock = { t: T0 + 4_000 };
  const store = new AnalyticsStore({ now: () => clock.t });
  // 6 satisfied (≤ 100), 2 tolerating (≤ 400), 2 frustrated.
  const samples = [10, 20, 30, 40, 50, 60, 200, 300, 900, 1500];
  store.ingest(batch("e1", T0 + 3_000, { [VS]: service(measures({ "200": 10 }, { total: samples })) }));
  const ctx = { ...NO_CONTEXT, targetMs: () => 100 };
  const row = summarize(store, VS, "5m", ctx)!;
  assert.equal(row.targetMs, 100);
  assert.equal(row.apdex, (6 + 2 / 2) / 10);
  const s = new Sketch();
  assert.equal(s.count, 0);
});

test("a batch with bins far apart is refused at ingest; later batches and queries go on", () => {
  const clock = { t: T0 + 4_000 };
  const store = new AnalyticsStore({ now: () => clock.t });
  const bad = batch("e1", T0 + 1_000, { [VS]: service(measures({ "200": 2 }, { total: [1, 2] })) });
  // Bins 2^40 apart: kept, the cell's dense array could never be allocated (at close, at a query).
  bad.services[VS]!.total.latency.total = {
    count: 2,
    sum: 1,
    min: 0.001,
    max: 1e9,
    zero: 0,
    bins: [-5000, 1, 2 ** 40, 1],
  };
  assert.throws(() => store.ingest(bad), /bin index -5000 is outside/);
  const past = structuredClone(bad);
  past.services[VS]!.total.latency.total!.bins = [100, 1, MAX_BIN + 1, 1];
  assert.throws(() => store.ingest(past), /outside/);
  // Good batches across several 5 s and 1 min buckets close the cells the bad batch would have poisoned.
  for (let k = 0; k < 4; k++) {
    clock.t = T0 + 4_000 + k * 60_000;
    store.ingest(batch("e1", clock.t, { [VS]: service(measures({ "200": 2 }, { total: [10, 20] })) }));
  }
  clock.t += 60_000;
  const s = store.series(VS, "1h")!;
  assert.equal(
    s.points.reduce((n, p) => n + p.requests, 0),
    8,
  );
  const w = store.window(VS, "1h")!;
  assert.equal(w.latency.total!.count, 8);
  assert.equal(w.latency.total!.max, 20);
});

test("top lists: keys named like Object's members (toString, __proto__, constructor, hasOwnProperty) count as any other", () => {
  const clock = { t: T0 + 3 * 60_000 };
  const store = new AnalyticsStore({ now: () => clock.t });
  const keys = ["toString", "__proto__", "constructor", "hasOwnProperty", "curl"];
  // As the link carries a batch: JSON text, parsed and checked (a parsed "__proto__" is an own key).
  const sent = (engine: string, at: number, n: number) => {
    const b = batch(engine, at, { [VS]: service(measures({ "200": 1 })) });
    const json = JSON.stringify(b).replace(
      '"top":{}',
      `"top":{"userAgents":{${keys.map((k) => `"${k}":${n}`).join(",")}}}`,
    );
    const check = validateBatch(JSON.parse(json));
    assert.ok(check.ok, check.ok ? "" : check.error);
    return check.batch;
  };
  // Two engines in one minute and a third in the next: sums within a cell and across cells.
  store.ingest(sent("e1", T0 + 30_000, 1));
  store.ingest(sent("e2", T0 + 31_000, 2));
  store.ingest(sent("e1", T0 + 90_000, 4));
  const top = JSON.parse(JSON.stringify(store.top(VS, "5m"))) as { userAgents: Record<string, number> };
  assert.deepEqual(Object.keys(top.userAgents).sort(), [...keys].sort());
  for (const k of keys) assert.equal(top.userAgents[k], 7, k);
});

test("a batch minutes late (an engine's queue after an outage) still counts in its minute's quantiles, up to 9 minutes late", () => {
  const clock = { t: T0 };
  const store = new AnalyticsStore({ now: () => clock.t });
  const feed = (at: number, ms: number, engine = "e1") => {
    clock.t = Math.max(clock.t, at);
    store.ingest(batch(engine, at, { [VS]: service(measures({ "200": 3 }, { total: [ms, ms, ms] })) }));
  };
  for (let m = 0; m <= 12; m++) feed(T0 + m * 60_000 + 5_000, 10);
  // e2 comes back at 00:12:10 with batches of minutes 3 (9 late), 5 (7 late) and 10 (2 late).
  for (const m of [3, 5, 10]) feed(T0 + m * 60_000 + 30_000, 400, "e2");
  feed(T0 + 13 * 60_000 + 5_000, 10); // minute 13: the late minutes' cells close again
  const points = store.series(VS, "6h")!.points;
  for (const m of [3, 5, 10]) {
    const p = points.find((pt) => pt.t === T0 + m * 60_000)!;
    assert.equal(p.requests, 6, `requests of minute ${m}`);
    assert.ok(Math.abs(p.latency.total!.max - 400) <= 4, `max of minute ${m}: ${p.latency.total!.max}`);
  }
  // Ten minutes late is past the 1 min cells: counted, but its quantiles are the minute's own.
  feed(T0 + 3 * 60_000 + 40_000, 1_000, "e3");
  feed(T0 + 14 * 60_000 + 5_000, 10);
  const p3 = store.series(VS, "6h")!.points.find((pt) => pt.t === T0 + 3 * 60_000)!;
  assert.equal(p3.requests, 9);
  assert.ok(Math.abs(p3.latency.total!.max - 400) <= 4, `max of minute 3: ${p3.latency.total!.max}`);
});
