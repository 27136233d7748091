// read.ts: reads one manifest file whole. A file is read only once it is stable — its size and
// mtime unchanged for a hold-off — and the read counts only if the file did not change under it
// (same inode, size and mtime before and after, and every byte the size promised). Files above the
// size limit are refused by their size, before a byte is read, so a huge file costs no memory.
import { open, stat } from "node:fs/promises";
import { errnoCode, hashBytes } from "./scan.ts";

/** Observed is what a stat said about a file; equal observations mean "not touched since". */
export interface Observed {
  ino: number;
  size: number;
  mtimeMs: number;
  ctimeMs: number;
}

/** ReadResult is one attempt: the bytes, "not yet" (retry after retryMs), gone, too big, or an error. */
export type ReadResult =
  | { kind: "read"; bytes: Buffer; hash: string; seen: Observed }
  | { kind: "unchanged"; seen: Observed }
  | { kind: "unstable"; retryMs: number }
  | { kind: "gone" }
  | { kind: "tooBig"; size: number }
  | { kind: "error"; message: string };

/** ReadOptions: settleMs is the hold-off, maxBytes the size limit; prev skips a re-read when given. */
export interface ReadOptions {
  settleMs: number;
  maxBytes: number;
  now: number;
  /** prev, when set, is the last observation: an identical stat answers "unchanged" without reading. */
  prev?: Observed;
}

const observe = (s: { ino: number; size: number; mtimeMs: number; ctimeMs: number }): Observed => ({
  ino: s.ino,
  size: s.size,
  mtimeMs: s.mtimeMs,
  ctimeMs: s.ctimeMs,
});

/** sameObserved compares two observations field by field. */
export function sameObserved(a: Observed | undefined, b: Observed): boolean {
  return !!a && a.ino === b.ino && a.size === b.size && a.mtimeMs === b.mtimeMs && a.ctimeMs === b.ctimeMs;
}

/** readStable reads path whole if it is stable; see the file comment. */
export async function readStable(path: string, opts: ReadOptions): Promise<ReadResult> {
  let fh;
  try {
    // Stat through the path first: a refused file is never opened, and an unchanged one never read.
    const before = observe(await stat(path));
    if (before.size > opts.maxBytes) return { kind: "tooBig", size: before.size };
    if (sameObserved(opts.prev, before)) return { kind: "unchanged", seen: before };
    // A writer may still be at work: wait until the last write is settleMs old. An mtime in the
    // future (clock skew, touch -d) cannot be waited out; the before/after check below still holds.
    // Up to 1 ms ahead is not the future: mtimes have sub-millisecond precision and `now` is a
    // whole millisecond (Date.now()), so a file written in the current millisecond looks ahead.
    const age = opts.now - before.mtimeMs;
    if (age > -1 && age < opts.settleMs)
      return { kind: "unstable", retryMs: opts.settleMs - Math.max(0, age) };
    fh = await open(path, "r");
    const opened = observe(await fh.stat());
    const bytes = await fh.readFile();
    const after = observe(await fh.stat());
    const still = await stat(path).catch(() => undefined);
    if (
      !sameObserved(before, opened) ||
      !sameObserved(opened, after) ||
      bytes.length !== after.size ||
      !still ||
      !sameObserved(after, observe(still))
    )
      return { kind: "unstable", retryMs: opts.settleMs };
    // Bytes, not text: a rescan that finds the same hash never decodes a large file into the heap.
    return { kind: "read", bytes, hash: hashBytes(bytes), seen: after };
  } catch (e) {
    if (errnoCode(e) === "ENOENT") return { kind: "gone" };
    return { kind: "error", message: `cannot read file: ${(e as Error).message}` };
  } finally {
    await fh?.close();
  }
}
