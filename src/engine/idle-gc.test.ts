import { test } from "node:test";
import assert from "node:assert/strict";
import { getHeapStatistics } from "node:v8";
import { CHECK_MS, SLACK_BYTES, compactIdleHeap, compactionCount, watchIdleHeap } from "./idle-gc.ts";

// garbage leaves about bytes of dead objects that survived young collections (promoted), as a
// load does; they stay committed until a full collection.
function garbage(bytes: number): void {
  let keep: object[] = [];
  for (let i = 0; i < bytes / 64; i++) {
    keep.push({ a: i, b: i + 1, c: [i] });
    if (keep.length > 200_000) keep = [];
  }
}

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

test("an idle process whose heap grew past the slack is compacted by the watch, once", async () => {
  watchIdleHeap();
  watchIdleHeap(); // a second Engine in the process: one watch
  const before = compactionCount();
  garbage(SLACK_BYTES * 3);
  // Idle from here: the check compacts within a period or two (bounded poll, generous for a
  // loaded machine where one period may still count as busy).
  const deadline = performance.now() + CHECK_MS * 12;
  while (compactionCount() === before && performance.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.ok(compactionCount() > before, "no compaction while idle");
  // Nothing grew since: further idle periods do not compact again.
  const once = compactionCount();
  await new Promise((r) => setTimeout(r, CHECK_MS * 2 + 500));
  assert.equal(compactionCount(), once);
});
