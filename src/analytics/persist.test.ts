// persist.test.ts: the analytics history survives a close and reopen of a real SQLite state file,
// and rows past each family's span are deleted.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { openStateStore } from "../state/store.ts";
import { AnalyticsPersistence } from "./persist.ts";
import { AnalyticsStore } from "./store.ts";
import { NO_CONTEXT, summarize } from "./summary.ts";
import { batch, measures, service, VS } from "./testing.ts";

const root = mkdtempSync(join(tmpdir(), "portico-analytics-"));
after(() => rmSync(root, { recursive: true, force: true }));

const T0 = Date.UTC(2026, 11, 7, 6, 0, 0);

test("round trip: every window answers the same after the state file is closed and reopened", () => {
  const dir = join(root, "roundtrip");
  const clock = { t: T0 };
  const store = new AnalyticsStore({ now: () => clock.t });
  let db = openStateStore(dir);
  let p = new AnalyticsPersistence(store, db);
  assert.equal(p.start(), 0);
  // Two hours of batches every 5 s from two engines; a flush every minute as the timer would.
  for (let k = 1; k <= 1440; k++) {
    clock.t = T0 + k * 5_000;
    const routes = { r1: measures({ "200": 2 }, { total: [k % 50, 30] }), r2: measures({ "503": 1 }) };
    const backends = { "default/web:80 10.0.0.1:8080": measures({ "200": 2, "503": 1 }) };
    const top = { urls: { [`/p${k % 7}`]: 3 }, clients: { "127.0.0.1": 3 } };
    store.ingest(
      batch("e1", clock.t, {
        [VS]: service(
          measures({ "200": 2, "503": 1 }, { total: [k % 50, 30, 400], ttfb: [5] }, { connOpen: 4 }),
          routes,
          backends,
          top,
        ),
      }),
    );
    store.ingest(
      batch("e2", clock.t, { [VS]: service(measures({ "200": 1 }, { total: [12] }, { connOpen: 1 })) }),
    );
    if (k % 12 === 0) p.flush();
  }
  clock.t += 2_000;
  const windows = ["5m", "1h", "6h", "24h", "7d", "30d"] as const;
  // Latency quantiles of the buckets still filling are not saved: compare closed buckets only.
  const closed = (s: ReturnType<AnalyticsStore["series"]>) => s!.points.slice(0, -1);
  const before = windows.map((w) => ({
    row: summarize(store, VS, w, NO_CONTEXT)!,
    series: closed(store.series(VS, w)),
    route: closed(store.series(VS, w, { route: "r1" })),
    backend: store.series(VS, w, { backend: "default/web:80 10.0.0.1:8080" })!.points,
    top: store.top(VS, w),
  }));
  p.close();
  db.close();

  db = openStateStore(dir);
  const again = new AnalyticsStore({ now: () => clock.t });
  p = new AnalyticsPersistence(again, db);
  assert.ok(p.start() > 0);
  windows.forEach((w, i) => {
    const row = summarize(again, VS, w, NO_CONTEXT)!;
    // The engines list fills again as engines report; everything else is as before.
    assert.deepEqual({ ...row, engines: [] }, { ...before[i]!.row, engines: [] }, w);
    assert.deepEqual(closed(again.series(VS, w)), before[i]!.series, w);
    assert.deepEqual(closed(again.series(VS, w, { route: "r1" })), before[i]!.route, w);
    assert.deepEqual(
      again.series(VS, w, { backend: "default/web:80 10.0.0.1:8080" })!.points,
      before[i]!.backend,
      w,
    );
    assert.deepEqual(again.top(VS, w), before[i]!.top, w);
  });
  assert.equal(summarize(again, VS, "24h", NO_CONTEXT)!.requests, 1440 * 4);
  p.close();
  db.close();
});

test("retention: rows older than their family's span are deleted at the next flush", () => {
  const dir = join(root, "retention");
  const clock = { t: T0 };
  const store = new AnalyticsStore({ now: () => clock.t });
  const db = openStateStore(dir);
  const p = new AnalyticsPersistence(store, db);
  p.start();
  clock.t = T0 + 1_000;
  store.ingest(batch("e1", T0 + 1_000, { [VS]: service(measures({ "200": 1 })) }));
  clock.t = T0 + 120_000;
  p.flush();
  const families = () => [...new Set(db.loadAnalytics().map((r) => r.family))].sort();
  // The hour and the day are still filling: only their closed 5 s and 1 min buckets are written.
  assert.deepEqual(families(), ["cells/1m", "vs/1m", "vs/5s"]);
  // Two hours later the 5 s and the routes' 1 min rows are past their hour; 1 min VS rows stay 24 h.
  clock.t = T0 + 2 * 3_600_000;
  store.ingest(batch("e1", clock.t, { [VS]: service(measures({ "200": 1 })) }));
  p.flush();
  assert.ok(!db.loadAnalytics().some((r) => r.t === T0 && (r.family === "vs/5s" || r.family === "cells/1m")));
  assert.ok(db.loadAnalytics().some((r) => r.t === T0 && r.family === "vs/1m"));
  clock.t = T0 + 2 * 86_400_000;
  p.flush();
  assert.ok(!db.loadAnalytics().some((r) => r.t === T0 && r.family === "vs/1m"));
  assert.ok(db.loadAnalytics().some((r) => r.t === T0 && r.family === "vs/1h"));
  p.close();
  db.close();
});

test("after a restart, the bucket still filling answers its latency when a batch lacks a part the saved cell holds", () => {
  const dir = join(root, "reopened");
  const clock = { t: T0 + 10_000 };
  const store = new AnalyticsStore({ now: () => clock.t });
  let db = openStateStore(dir);
  let p = new AnalyticsPersistence(store, db);
  p.start();
  // Saved while its minute and hour fill: total and ttfb, written by close() as the bucket stood.
  store.ingest(
    batch("e1", clock.t, { [VS]: service(measures({ "200": 3 }, { total: [10, 20, 30], ttfb: [4, 5, 6] })) }),
  );
  p.close();
  db.close();

  db = openStateStore(dir);
  clock.t = T0 + 20_000;
  const again = new AnalyticsStore({ now: () => clock.t });
  p = new AnalyticsPersistence(again, db);
  assert.ok(p.start() > 0);
  // The same minute and hour go on with a batch of total only: the saved cells reopen, ttfb untouched.
  again.ingest(batch("e1", clock.t, { [VS]: service(measures({ "200": 1 }, { total: [40] })) }));
  for (const w of ["24h", "7d"] as const) {
    // The API's /series: the newest point is the 1 min (24h) or 1 h (7d) bucket still filling.
    const now = again.series(VS, w)!.points.at(-1)!;
    assert.equal(now.requests, 4, w);
    assert.equal(now.latency.total!.max, 40, w);
    assert.ok(Math.abs(now.latency.ttfb!.max - 6) < 0.1, `${w}: ttfb max ${now.latency.ttfb?.max}`);
  }
  p.close();
  db.close();
});
