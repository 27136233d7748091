// machine.ts: how busy the machine running the tests is, for the few tests that measure a wall-clock
// product target (docs/cli.md: "a change is served within a second"). A wall-clock target measures
// the machine as much as Portico once more is runnable than there are cores: at load average ~25
// on 2 cores here, a new route was served after 1,230–1,512 ms in three runs of six (quiet: well
// under the second), every part of the path — the file's settle, the translation, the engine's
// swap, the test's own curl — waiting its turn for a CPU. With L runnable on C cores each gets C/L
// of a core, so the target is stretched by L/C (never shrunk): still a bound that fails when a
// change is slow for a reason of Portico's own, and the product target itself on a quiet machine.
import assert from "node:assert/strict";
import { availableParallelism, loadavg } from "node:os";

/** busyMachine: the last minute's load average reached the number of cores. */
export function busyMachine(): boolean {
  return loadavg()[0]! >= availableParallelism();
}

/** stretch: by how much a loaded machine slows a CPU-bound path (the last minute's load over the cores, ≥ 1). */
export function stretch(): number {
  return Math.max(1, loadavg()[0]! / availableParallelism());
}

/**
 * withinTarget asserts a measured time against a product target, stretched by the machine's load
 * (stretch), and answers the line it asserted (printed too, so a run shows its margin).
 */
export function withinTarget(what: string, ms: number, targetMs: number): string {
  const s = stretch();
  const bound = Math.round(targetMs * s);
  const line = `${what}: ${Math.round(ms)} ms (target ${targetMs} ms${s > 1 ? `, ${bound} ms at load average ${loadavg()[0]!.toFixed(2)} on ${availableParallelism()} cores` : ""})`;
  console.log(line);
  assert.ok(ms < bound, line);
  return line;
}
