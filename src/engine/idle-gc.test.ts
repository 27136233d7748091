import { test } from "node:test";
import assert from "node:assert/strict";
import { getHeapStatistics } from "node:v8";
import { runInNewContext } from "node:vm";
import {
  CHECK_MS,
  IDLE_PERIODS,
  MAX_LIVE_BYTES,
  MIN_GAP_MS,
  SLACK_BYTES,
  compactIdleHeap,
  compactionCount,
  idleCheck,
  watchIdleHeap,
} from "./idle-gc.ts";

test("compactIdleHeap releases the old generation a burst left behind", () => {
  let hold: object[] | null = Array.from({ length: 400_000 }, (_, i) => ({ i, s: [i, i] }));
  const grown = getHeapStatistics().total_heap_size;
  hold = null;
  compactIdleHeap();
  const after = getHeapStatistics().total_heap_size;
  assert.equal(hold, null);
  // 400k small objects are ~30 MiB; most of it must be handed back, not just marked free.
  assert.ok(after < grown - 10 * 1024 * 1024, `heap ${grown} -> ${after}`);
});

test("the check compacts once per burst: after periods without requests, under the live ceiling, once per gap", () => {
  // Driven by hand with the heap figures of a load's aftermath: V8's own memory reducer may shrink
  // a small test process's heap at any time, the engine's did not (see the header).
  let begun = 0;
  let serving = true;
  let inFlight = false;
  watchIdleHeap(() => ({ begun: serving ? ++begun : begun, inFlight }));
  // The committed heap as it is: only requests begun since the last compaction call for one here.
  const heap = (live = 50 * 1024 * 1024) => ({
    total_heap_size: getHeapStatistics().total_heap_size,
    used_heap_size: live,
  });
  let now = performance.now();
  const checks = (n: number, live?: number) => {
    for (let i = 0; i < n; i++) idleCheck((now += CHECK_MS), heap(live));
  };
  const before = compactionCount();
  // An engine serving requests at little CPU (the case a CPU measure took for idle) is busy.
  checks(IDLE_PERIODS * 3);
  assert.equal(compactionCount(), before, "compacted while requests were served");
  // Quiet, but a request (an upload, a WebSocket) in flight: still busy.
  serving = false;
  inFlight = true;
  checks(IDLE_PERIODS * 3);
  assert.equal(compactionCount(), before, "compacted with a request in flight");
  inFlight = false;
  checks(IDLE_PERIODS - 1);
  assert.equal(compactionCount(), before, "compacted after one quiet period");
  // Idle, but a live heap whose full collection would pause long: left alone.
  checks(2, MAX_LIVE_BYTES + 1);
  assert.equal(compactionCount(), before, "compacted above the live ceiling");
  checks(1);
  assert.equal(compactionCount(), before + 1, "no compaction while idle after a burst");
  const last = now;
  // A new burst within MIN_GAP_MS of the last compaction: not yet; once the gap passed, once more.
  serving = true;
  checks(1);
  serving = false;
  checks(IDLE_PERIODS + 1);
  assert.equal(compactionCount(), before + 1, "compacted within MIN_GAP_MS of the last compaction");
  now = last + MIN_GAP_MS;
  checks(1);
  assert.equal(compactionCount(), before + 2, "no compaction after the second burst");
  // Still idle, no request since: never again, however long it stays idle.
  now += MIN_GAP_MS;
  checks(IDLE_PERIODS * 3);
  assert.equal(compactionCount(), before + 2, "compacted again without a request since the last");
});

test("an engine that serves no requests (L4 only) still compacts once its committed heap grew", () => {
  // A burst of L4 sessions (or of connections that never send a request) counts no request: the
  // committed heap's growth since the last compaction is then what calls for one.
  watchIdleHeap(() => ({ begun: 0, inFlight: false }));
  let now = performance.now() + 100 * MIN_GAP_MS; // past any earlier test's compaction
  const checks = (n: number, grownBy: number) => {
    for (let i = 0; i < n; i++) {
      const total = getHeapStatistics().total_heap_size + grownBy;
      idleCheck((now += CHECK_MS), { total_heap_size: total, used_heap_size: 20 * 1024 * 1024 });
    }
  };
  const before = compactionCount();
  checks(IDLE_PERIODS + 1, SLACK_BYTES * 4);
  assert.equal(compactionCount(), before + 1, "no compaction after an L4 burst grew the heap");
  // Compacted (the committed size is the new base); a gap later, no growth and no request: none.
  now += MIN_GAP_MS;
  checks(IDLE_PERIODS * 3, 0);
  assert.equal(compactionCount(), before + 1, "compacted again with neither growth nor requests");
});

test("gc is taken once: contexts made afterwards do not see it", () => {
  watchIdleHeap(() => ({ begun: 0, inFlight: false }));
  compactIdleHeap();
  assert.equal(runInNewContext("typeof gc"), "undefined");
});
