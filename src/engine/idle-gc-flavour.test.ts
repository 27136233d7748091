// idle-gc-flavour.test.ts: which collection the idle check asks V8 for. Its own process: the
// check's gc function is a recorder installed as the global gc before idle-gc.ts first takes it.
import { test } from "node:test";
import assert from "node:assert/strict";
import { getHeapStatistics } from "node:v8";

const asked: string[] = [];
(globalThis as { gc?: unknown }).gc = (o: { flavor: string }) => void asked.push(o.flavor);
const {
  CHECK_MS,
  IDLE_PERIODS,
  LAST_RESORT_MAX_BYTES,
  MAX_LIVE_BYTES,
  MIN_GAP_MS,
  idleCheck,
  watchIdleHeap,
} = await import("./idle-gc.ts");

test("the idle compaction is the last resort on a small live heap, a regular one (half the pause) on a large one", () => {
  let begun = 0;
  watchIdleHeap(() => ({ begun, inFlight: false }));
  let now = performance.now();
  const burstThenIdle = (live: number) => {
    begun += 100;
    const heap = { total_heap_size: getHeapStatistics().total_heap_size, used_heap_size: live };
    for (let i = 0; i <= IDLE_PERIODS; i++) idleCheck((now += CHECK_MS), heap);
    now += MIN_GAP_MS;
  };
  burstThenIdle(20 * 1024 * 1024);
  burstThenIdle(LAST_RESORT_MAX_BYTES + 1);
  burstThenIdle(MAX_LIVE_BYTES);
  assert.deepEqual(asked, ["last-resort", "regular", "regular"]);
});
