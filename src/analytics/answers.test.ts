// answers.test.ts: the API's answers (/services, /series of every service, route and backend, /top)
// for every window, at three moments of a fixed synthetic history — two engines, a day and more of
// batches, late and refused batches, counters past 2^32, a part that comes and goes, a restart
// through persist.ts — hashed per query and compared with golden hashes recorded from the store as
// it was before its memory rework (commit 7509ff2). Any change of what the API answers fails here.
// UPDATE_GOLDEN=1 rewrites src/analytics/testdata/answers.golden.json (the reviewer reads the diff).
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import type { AnalyticsRow } from "../state/store.ts";
import { AnalyticsPersistence, type AnalyticsDb } from "./persist.ts";
import { WINDOWS } from "./resolutions.ts";
import { AnalyticsStore } from "./store.ts";
import { NO_CONTEXT, summarizeAll } from "./summary.ts";
import { syntheticBatch } from "./testing.ts";
import type { AnalyticsBatch } from "./types.ts";

const GOLDEN = join(import.meta.dirname, "testdata", "answers.golden.json");
const T0 = Date.UTC(2026, 11, 6, 7, 0, 0);
const SERVICES = 3;
const ROUTES = 2;

// memoryDb keeps saved rows like the state store does: by family and time, pruned by cutoff.
function memoryDb(): AnalyticsDb {
  const rows = new Map<string, AnalyticsRow>();
  return {
    loadAnalytics: () =>
      [...rows.values()].sort((a, b) => (a.family < b.family ? -1 : a.family > b.family ? 1 : a.t - b.t)),
    saveAnalytics: (add, cutoffs) => {
      for (const r of add) rows.set(`${r.family} ${r.t}`, r);
      for (const [k, r] of rows) if (r.t < (cutoffs[r.family] ?? -Infinity)) rows.delete(k);
    },
  };
}

// vary makes batch k differ from the templates: a part that comes and goes, big byte counters.
function vary(b: AnalyticsBatch, k: number): AnalyticsBatch {
  const services = { ...b.services };
  for (const [key, sb] of Object.entries(services)) {
    const latency = { ...sb.total.latency };
    if (k % 3 === 0) delete latency.connect;
    const bytesOut = k % 17 === 0 ? 2 ** 33 + k : sb.total.bytesOut;
    services[key] = { ...sb, total: { ...sb.total, latency, bytesOut, connOpen: 100 + (k % 9) } };
  }
  return { ...b, services };
}

function hash(v: unknown): string {
  return createHash("sha256").update(JSON.stringify(v)).digest("hex").slice(0, 16);
}

// answers hashes every query the API can make of the store now.
function answers(store: AnalyticsStore, tag: string, out: Record<string, string>): void {
  for (const w of WINDOWS) {
    out[`${tag} services ${w}`] = hash(summarizeAll(store, w, NO_CONTEXT));
    for (const vs of store.services().sort()) {
      out[`${tag} series ${vs} ${w}`] = hash(store.series(vs, w));
      out[`${tag} top ${vs} ${w}`] = hash(store.top(vs, w));
      const { routes, backends } = store.detailNames(vs);
      for (const r of routes.sort())
        out[`${tag} series ${vs} route ${r} ${w}`] = hash(store.series(vs, w, { route: r }));
      for (const b of backends.sort())
        out[`${tag} series ${vs} backend ${b} ${w}`] = hash(store.series(vs, w, { backend: b }));
    }
  }
}

test("the API answers what the store answered before its memory rework, for the same batches", () => {
  const clock = { t: T0 };
  let store = new AnalyticsStore({ now: () => clock.t });
  const db = memoryDb();
  let p = new AnalyticsPersistence(store, db);
  p.start();
  const out: Record<string, string> = {};
  let k = 0;
  const feed = (engine: string, at: number) =>
    store.ingest(vary(syntheticBatch(engine, at, k++, SERVICES, ROUTES), k));
  const until = (end: number, step: number, flush = true) => {
    for (let t = clock.t + step; t <= end; t += step) {
      clock.t = t;
      feed("e1", t);
      if (k % 4 === 0) feed("e2", t - 2_000); // a second engine, a little behind
      if (k % 29 === 0) feed("e2", t - 150_000); // late: its 5 s bucket long closed
      if (k % 97 === 0) feed("e3", t - 7_200_000); // two hours late: refused by the 5 s ring
      if (flush && t % 60_000 < step) p.flush();
    }
  };
  until(T0 + 26 * 3_600_000, 300_000); // a day and more, a batch every 5 minutes
  until(clock.t + 3_600_000, 5_000); // the last hour every 5 s
  answers(store, "first", out);
  // A restart: the buckets written, a new store loading them, batches going on.
  p.close();
  store = new AnalyticsStore({ now: () => clock.t });
  p = new AnalyticsPersistence(store, db);
  p.start();
  answers(store, "restarted", out);
  until(clock.t + 900_000, 5_000);
  until(clock.t + 2 * 3_600_000, 60_000);
  answers(store, "later", out);
  p.close();

  if (process.env.UPDATE_GOLDEN === "1") writeFileSync(GOLDEN, JSON.stringify(out, null, 2) + "\n");
  const golden = JSON.parse(readFileSync(GOLDEN, "utf8")) as Record<string, string>;
  const differ = Object.keys({ ...golden, ...out }).filter((q) => golden[q] !== out[q]);
  assert.deepEqual(
    differ,
    [],
    `answers differ from golden (UPDATE_GOLDEN=1 rewrites): ${differ.slice(0, 8).join("; ")}`,
  );
  assert.ok(Object.keys(out).length > 300, String(Object.keys(out).length));
});
