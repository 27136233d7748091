// arrays.ts: emptying a reused array without giving up its storage.
//
// `array.length = 0` makes V8 drop the array's backing store (it gets the shared empty one), so the
// next push allocates a new store (~150 bytes for a handful of elements). The lists write-batch.ts
// swaps at every release and the held writes of an own socket are emptied that way once per turn
// or per flush: measured, ~330 bytes per new connection on a machine busy enough for a turn to see
// one connection (docs/performance.md, "Arrays that keep their storage"). pop() to empty keeps the
// store (3 million fill-and-empty cycles of two elements: 435 scavenges with `length = 0`, 1 with pop).

/** empty removes every element of a, keeping its storage for the next pushes. */
export function empty(a: unknown[]): void {
  while (a.length !== 0) a.pop();
}
