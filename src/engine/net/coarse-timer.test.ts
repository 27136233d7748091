import { test } from "node:test";
import assert from "node:assert/strict";
import { SWEEP_MS, unwatch, watch, watchedCount, type Watcher } from "./coarse-timer.ts";

/** watcher makes a Watcher whose check runs onCheck (links null, as the module expects). */
function watcher(onCheck: (now: number) => void): Watcher {
  return { check: onCheck, prevWatched: null, nextWatched: null };
}

test("a watcher is checked every sweep until unwatched, and may unwatch itself while checked", async () => {
  const seen: number[] = [];
  const done = Promise.withResolvers<void>();
  const w = watcher((now) => {
    seen.push(now);
    if (seen.length === 3) {
      unwatch(w);
      done.resolve();
    }
  });
  const before = watchedCount();
  watch(w);
  watch(w); // watching twice is one watcher
  assert.equal(watchedCount(), before + 1);
  await done.promise;
  assert.equal(watchedCount(), before);
  unwatch(w); // unwatching twice is harmless
  assert.equal(watchedCount(), before);
  // One check per sweep: the checks are a sweep apart, not two in one sweep. The sweep timer keeps
  // its schedule, so a sweep that ran late (a loaded machine) is followed by one less than SWEEP_MS
  // after it (seen: 244 ms at load 10); half a sweep still tells two sweeps from one.
  for (let i = 1; i < seen.length; i++) assert.ok(seen[i]! - seen[i - 1]! >= SWEEP_MS / 2, `${seen}`);
});

test("a check that unwatches the next watcher, or watches a new one, leaves the sweep whole", async () => {
  const checked: string[] = [];
  const done = Promise.withResolvers<void>();
  const before = watchedCount();
  // a unwatches b (next in line) and watches d; c must still be checked in the same sweep.
  const d = watcher(() => checked.push("d"));
  const b = watcher(() => checked.push("b"));
  const a = watcher(() => {
    checked.push("a");
    unwatch(b);
    watch(d);
  });
  const c = watcher(() => {
    checked.push("c");
    for (const w of [a, c, d]) unwatch(w);
    done.resolve();
  });
  for (const w of [a, b, c]) watch(w);
  assert.equal(watchedCount(), before + 3);
  await done.promise;
  assert.deepEqual(checked, ["a", "c"]);
  assert.equal(watchedCount(), before);
  for (const w of [a, b, c, d]) assert.equal(w.prevWatched, null, "an unwatched watcher holds no links");
});

test("a check that re-watches itself every time is checked once per sweep", async () => {
  let n = 0;
  const done = Promise.withResolvers<void>();
  const w = watcher(() => {
    n++;
    unwatch(w);
    watch(w); // moves to the end of the list: the sweep must not come back to it
  });
  const stop = watcher(() => done.resolve());
  watch(w);
  watch(stop);
  await done.promise;
  unwatch(w);
  unwatch(stop);
  assert.equal(n, 1);
});
