import { test } from "node:test";
import assert from "node:assert/strict";
import type { EngineLoad } from "../../link/protocol.ts";
import { HISTORY_MS, LoadHistory, RAW_MS, ROLL_MS, roll } from "./load-history.ts";

const load = (at: number, requestsPerSecond: number, connectionsOpen = 1): EngineLoad => ({
  at,
  intervalMs: 2000,
  cpuCores: requestsPerSecond / 1000,
  eventLoopUtilization: 0.1,
  lagP99Ms: 1,
  connectionsOpen,
  connectionsPerSecond: 1,
  requestsPerSecond,
  tlsHandshakesPerSecond: 0,
  bytesInPerSecond: 0,
  bytesOutPerSecond: 0,
  rssBytes: 1,
});

test("three hours of reports every 2 s keep an hour, in about 200 entries, oldest first", () => {
  const h = new LoadHistory();
  const start = 1_800_000_000_000;
  let most = 0;
  for (let t = 0; t <= 3 * 3600_000; t += 2000) {
    h.add(load(start + t, 100 + (t % 60_000 === 0 ? 900 : 0)));
    most = Math.max(most, h.size);
  }
  const entries = h.entries();
  const last = start + 3 * 3600_000;
  assert.ok(most <= HISTORY_MS / ROLL_MS + RAW_MS / 2000 + 2, `at most ${most} entries held`);
  assert.ok(entries[0]!.at >= last - HISTORY_MS - ROLL_MS, "nothing older than an hour (and a minute)");
  assert.equal(entries.at(-1)!.at, last);
  for (let i = 1; i < entries.length; i++) assert.ok(entries[i]!.at > entries[i - 1]!.at, "oldest first");
  const recent = entries.filter((e) => e.at > last - RAW_MS);
  assert.ok(
    recent.every((e) => e.intervalMs === 2000),
    "the last five minutes as reported",
  );
  const rolled = entries.filter((e) => e.intervalMs > 2000);
  assert.ok(rolled.length >= 50, `${rolled.length} rolled minutes`);
  // A minute holds 30 reports, one of which had 1000 req/s: the mean keeps the work (130 req/s).
  assert.ok(rolled.every((e) => e.intervalMs === ROLL_MS && Math.abs(e.requestsPerSecond - 130) < 1e-9));
});

test("roll weights rates by interval and keeps the worst connections, lag and memory", () => {
  const a = { ...load(0, 100, 5), intervalMs: 1000, lagP99Ms: 2 };
  const b = { ...load(1000, 400, 9), intervalMs: 3000, lagP99Ms: 7 };
  const r = roll([a, b]);
  assert.equal(r.at, 0);
  assert.equal(r.intervalMs, 4000);
  assert.equal(r.requestsPerSecond, (100 * 1000 + 400 * 3000) / 4000);
  assert.equal(r.connectionsOpen, 9);
  assert.equal(r.lagP99Ms, 7);
});
