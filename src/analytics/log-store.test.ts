import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openStateStore } from "../state/store.ts";
import { LogStore, LOG_RETENTION_MS } from "./log-store.ts";
import { PATH_MAX_BYTES, USER_AGENT_MAX_BYTES } from "./log-record.ts";
import { openLogDatabase, SQLITE_BOUNDS } from "./log-sqlite.ts";
import { logRecord } from "./log-testing.ts";
import type { AnalyticsBatch } from "./types.ts";

const T0 = Date.UTC(2026, 11, 7, 6, 0, 0);
const VS = "IngressClass/portico:443 shop.example.com";

function batch(engine: string, logs: AnalyticsBatch["logs"], dropped = 0): AnalyticsBatch {
  return { engine, at: T0, intervalMs: 5000, services: {}, logs, dropped };
}

/** stateDir opens a real state database in a temporary directory. */
function stateDir(t: { after(fn: () => void): void }) {
  const dir = mkdtempSync(join(tmpdir(), "portico-logstore-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** openLogs opens a real state database and a log connection to it, closed after the test. */
function openLogs(t: { after(fn: () => void): void }) {
  const state = openStateStore(stateDir(t));
  const db = openLogDatabase(state.file);
  t.after(() => {
    if (db.isOpen) db.close();
    state.close();
  });
  return { state, db };
}

test("ingest names the browser and OS, fills the engine, and truncates path and user agent by bytes", () => {
  const store = new LogStore({ clock: () => T0 });
  const long = "/é".repeat(600); // 3 bytes a pair: 1800 bytes
  const ua =
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.2903.86 " +
    "€".repeat(100);
  store.ingest(batch("edge-1", [logRecord(T0, VS, { engine: "", path: long, userAgent: ua })], 3));
  const [r] = store.query({ limit: 10 });
  assert.ok(r);
  assert.equal(r.engine, "edge-1");
  assert.equal(r.browser, "Edge");
  assert.equal(r.os, "Windows");
  assert.ok(Buffer.byteLength(r.path) <= PATH_MAX_BYTES && Buffer.byteLength(r.path) > PATH_MAX_BYTES - 3);
  assert.ok(long.startsWith(r.path), "cut at a character boundary");
  assert.ok(Buffer.byteLength(r.userAgent) <= USER_AGENT_MAX_BYTES);
  assert.ok(!r.userAgent.includes("\uFFFD"));
  assert.deepEqual(store.stats().dropped, 3);
});

test("retention by age with a fake clock: old records leave, on query as on ingest", () => {
  let now = T0;
  const store = new LogStore({ clock: () => now, retentionMs: 60 * 60_000 });
  store.add([logRecord(T0 - 2 * 3_600_000, VS)], "e"); // already past the retention: not taken
  store.add([logRecord(T0, VS, { path: "/a" }), logRecord(T0 + 30 * 60_000, VS, { path: "/b" })], "e");
  assert.deepEqual(
    store.query({ limit: 10 }).map((r) => r.path),
    ["/b", "/a"],
  );
  now = T0 + 61 * 60_000;
  assert.deepEqual(
    store.query({ limit: 10 }).map((r) => r.path),
    ["/b"],
    "/a is older than an hour",
  );
  assert.equal(store.stats().records, 1, "and is gone from the store, not only hidden");
  now = T0 + 200 * 60_000;
  assert.deepEqual(store.query({ limit: 10 }), []);
  assert.equal(LOG_RETENTION_MS, 7 * 24 * 3_600_000);
});

test("persistence: records survive closing and reopening the state database", (t) => {
  const dir = stateDir(t);
  let state = openStateStore(dir);
  let db = openLogDatabase(state.file);
  let store = new LogStore({ db, clock: () => T0 });
  store.ingest(
    batch("e1", [
      logRecord(T0, VS, { path: "/x", status: 502 }),
      logRecord(T0 + 1, VS, { path: "/y", reasons: ["slow"], status: 200 }),
    ]),
  );
  const before = store.query({ limit: 10 });
  store.close();
  db.close();
  state.close();

  state = openStateStore(dir);
  db = openLogDatabase(state.file);
  store = new LogStore({ db, clock: () => T0 });
  t.after(() => {
    store.close();
    db.close();
    state.close();
  });
  assert.deepEqual(store.query({ limit: 10 }), before);
  assert.deepEqual(
    store.query({ limit: 10, reasons: ["slow"] }).map((r) => r.path),
    ["/y"],
  );
  assert.equal(store.stats().records, 2);
  assert.equal(store.stats().persistent, true);
});

test("one transaction per ingest: 2,000 records write a handful of WAL frames, not one commit each", (t) => {
  const { db } = openLogs(t);
  db.exec("PRAGMA wal_autocheckpoint = 0");
  db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
  const store = new LogStore({ db, clock: () => T0 });
  const records = Array.from({ length: 2_000 }, (_, i) => logRecord(T0 + i, VS, { path: `/p/${i}` }));
  store.ingest(batch("e", records));
  const { log } = db.prepare("PRAGMA wal_checkpoint(PASSIVE)").get() as { log: number };
  // Each commit writes at least one frame (4 KiB page); 2,000 commits would write 2,000+.
  assert.ok(log > 0 && log < 400, `WAL frames for one ingest of 2,000 records: ${log}`);
  assert.equal(store.stats().records, 2_000);
});

test("a failed write is counted and reported; the store goes on", (t) => {
  const { db } = openLogs(t);
  const errors: unknown[] = [];
  const store = new LogStore({ db, clock: () => T0, onError: (e) => errors.push(e) });
  store.query({ limit: 1 }); // the age check has run
  db.close(); // every write now fails
  assert.equal(store.add([logRecord(T0, VS)], "e"), 0);
  assert.equal(store.stats().writeErrors, 1);
  assert.equal(errors.length, 1);
});

test("the documented disk bound: a realistic record costs under 1 KiB of database, so 50,000 stay under 50 MiB", (t) => {
  const { state, db } = openLogs(t);
  const store = new LogStore({ db, clock: () => T0 + 10_000_000, bounds: { perVs: 1_000, total: 20_000 } });
  const ua =
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";
  // 24,000 records over 20 services: the bounds keep 20,000 (1,000 each); the deleted rows' pages are reused.
  for (let b = 0; b < 12; b++)
    store.add(
      Array.from({ length: 2_000 }, (_, i) =>
        logRecord(T0 + b * 2_000 + i, `IngressClass/portico:443 host-${i % 20}.example.com`, {
          path: `/api/v1/orders/${b * 2_000 + i}?page=2&sort=desc`,
          userAgent: ua,
          client: `198.51.100.${i % 250}`,
          timings: { total: 812.4, request: 0.3, connect: 1.2, ttfb: 800.1, transfer: 10.8 },
        }),
      ),
      "edge-1",
    );
  assert.deepEqual([store.stats().records, store.stats().services], [20_000, 20]);
  db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
  const bytes = statSync(state.file).size;
  const perRecord = bytes / 20_000;
  t.diagnostic(
    `20,000 records: ${(bytes / 2 ** 20).toFixed(1)} MiB, ${Math.round(perRecord)} bytes a record`,
  );
  assert.ok(perRecord < 1_024, `${Math.round(perRecord)} bytes a record`);
  assert.ok(perRecord * SQLITE_BOUNDS.total < 50 * 2 ** 20);
});
