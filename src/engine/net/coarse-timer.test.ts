import { test } from "node:test";
import assert from "node:assert/strict";
import { SWEEP_MS, unwatch, watch, watchedCount, type Watcher } from "./coarse-timer.ts";

test("a watcher is checked every sweep until unwatched, and may unwatch itself while checked", async () => {
  const seen: number[] = [];
  const done = Promise.withResolvers<void>();
  const w: Watcher = {
    check(now) {
      seen.push(now);
      if (seen.length === 3) {
        unwatch(w);
        done.resolve();
      }
    },
  };
  const before = watchedCount();
  watch(w);
  watch(w); // watching twice is one watcher
  assert.equal(watchedCount(), before + 1);
  await done.promise;
  assert.equal(watchedCount(), before);
  // Sweeps are SWEEP_MS apart (timers never fire early; allow a loaded machine some lateness).
  for (let i = 1; i < seen.length; i++) assert.ok(seen[i]! - seen[i - 1]! >= SWEEP_MS - 2, `${seen}`);
});
