// idle-gc.ts: gives the memory a load left behind back to the system once the engine is idle.
//
// V8 collects the old generation when it reaches a limit that grows with the live size (up to
// ~4× after a fast collection), not when the program goes quiet. A load leaves the old generation
// full of dead objects promoted during it (HTTP/2 sessions and streams, connection objects of
// short-lived connections) below that limit, and with no allocation after the load nothing ever
// collects them: measured on one engine, 64 HTTP/2 connections × 10 streams for 200,000 requests
// took RSS from 81 to 201 MiB, still 201 MiB a minute later (heap 60 MiB used of 94 committed).
// V8's memory reducer, which should do this, did not run in that minute.
//
// Here a sweep every CHECK_MS asks every engine of the process what it did (activity probes:
// requests begun, requests and L4 sessions in flight). Only when no engine began a request and
// none had one in flight for IDLE_PERIODS checks in a row, requests began since the last
// compaction (once per burst) or the committed heap grew more than SLACK_BYTES since it (a burst
// of L4 sessions, or of connections that sent no request: no request count sees those), the live heap is under MAX_LIVE_BYTES (the full collection blocks
// the thread for a time that grows with it: measured 175 ms at 200 MiB live) and the last
// compaction is MIN_GAP_MS ago, it runs one full collection. CPU time is no measure of idleness:
// an engine serving hundreds of requests a second uses a few percent of a core. Nothing here runs
// on a request's path.
//
// Why every burst and not only when the committed heap grew by some margin (the first version:
// 16 MiB over its size after the last compaction): a burst of connections that stay open (10,000
// keep-alive clients connecting at once) leaves ~15 MiB committed but free beside ~21 MiB live,
// under any such margin, and whether V8's memory reducer then gives it back depended on timing —
// the same engine read 84 or 96 MiB RSS 15 s after the burst (docs/performance.md, "Idle
// connections: one compaction per burst"). The garbage of a burst cannot be seen before a full
// collection (the heap's "used" size counts it), and one full collection after ten quiet seconds
// costs tens of milliseconds of a thread that has nothing else to do.
import { getHeapStatistics, setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

/** CHECK_MS is the period of the idle check. */
export const CHECK_MS = 5000;
/** IDLE_PERIODS is how many checks in a row must see no request before a compaction. */
export const IDLE_PERIODS = 2;
/**
 * SLACK_BYTES is how far the committed heap may grow over its size after the last compaction
 * before a compaction without a request since (L4-only engines count no requests).
 */
export const SLACK_BYTES = 16 * 1024 * 1024;
/** MAX_LIVE_BYTES is the live heap above which no compaction runs (its pause would be long). */
export const MAX_LIVE_BYTES = 128 * 1024 * 1024;
/**
 * LAST_RESORT_MAX_BYTES is the live heap up to which the compaction takes V8's "last resort"
 * flavour; above it, the regular one. The last resort runs at least two full collections (twice
 * the pause: 51-61 ms against 21-25 ms at 47 MiB live, ~360 ms at 219 MiB, on a loaded 2-core
 * machine): with it up to MAX_LIVE_BYTES the longest pause would pass the bound that ceiling was
 * set for (a regular collection at 128 MiB).
 */
export const LAST_RESORT_MAX_BYTES = MAX_LIVE_BYTES / 2;
/** MIN_GAP_MS is the least time between two idle compactions. */
export const MIN_GAP_MS = 5 * 60_000;

/** ActivityProbe reports an engine's activity: requests begun so far, and whether any is in flight. */
export type ActivityProbe = () => { begun: number; inFlight: boolean };

type GcOptions = { type: "major"; execution: "sync"; flavor: "regular" | "last-resort" };
let collect: ((o: GcOptions) => void) | undefined;
let timer: NodeJS.Timeout | undefined;
const probes = new Set<ActivityProbe>();
// lastBegun is the probes' summed begun count at the last check; quiet counts idle checks in a row.
let lastBegun = -1;
let quiet = 0;
// compactedAt is the probes' summed begun count at the last compaction (0: none, nothing served).
let compactedAt = 0;
// base is the committed heap after the last compaction (or when the watch started).
let base = 0;
let lastCompaction = -Infinity;
let compactions = 0;

/**
 * watchIdleHeap adds an engine's activity probe to the idle check, starting the check the first
 * time; it never keeps the process alive. Every Engine calls it, as it calls tuneV8.
 */
export function watchIdleHeap(probe: ActivityProbe): void {
  probes.add(probe);
  if (timer !== undefined) return;
  gc(); // taken now, so --expose-gc is on only for that moment
  base = getHeapStatistics().total_heap_size;
  timer = setInterval(idleCheck, CHECK_MS).unref();
}

/** unwatchIdleHeap removes a closed engine's probe. */
export function unwatchIdleHeap(probe: ActivityProbe): void {
  probes.delete(probe);
}

/** compactionCount says how many idle compactions ran (tests and the memory probe). */
export function compactionCount(): number {
  return compactions;
}

/**
 * idleCheck is one period's check (the timer's call; tests call it with their own time and heap
 * figures): it compacts when every condition in the header holds.
 */
export function idleCheck(
  now = performance.now(),
  heap: { total_heap_size: number; used_heap_size: number } = getHeapStatistics(),
): void {
  let begun = 0;
  let inFlight = false;
  for (const p of probes) {
    const a = p();
    begun += a.begun;
    inFlight ||= a.inFlight;
  }
  quiet = begun === lastBegun && !inFlight ? quiet + 1 : 0;
  lastBegun = begun;
  if (quiet < IDLE_PERIODS || now - lastCompaction < MIN_GAP_MS) return;
  if (begun === compactedAt && heap.total_heap_size - base <= SLACK_BYTES) return;
  if (heap.used_heap_size > MAX_LIVE_BYTES) return;
  lastCompaction = now;
  compactedAt = begun;
  compactIdleHeap(heap.used_heap_size <= LAST_RESORT_MAX_BYTES ? "last-resort" : "regular");
}

/**
 * compactIdleHeap runs the full collection now (the check's action; tests call it). The "last
 * resort" flavour is V8's collection that reduces the footprint, as its memory reducer's: it
 * compacts fragmented pages and shrinks the young generation. A regular one after a connect burst
 * left the committed heap where it was or larger (19.9 → 20.9 MiB with 17.4 live, --trace-gc);
 * it repeats while a pass frees anything, at idle, once per burst. Above LAST_RESORT_MAX_BYTES live
 * the check asks for the regular flavour (the pause).
 */
export function compactIdleHeap(flavor: GcOptions["flavor"] = "last-resort"): void {
  gc()({ type: "major", execution: "sync", flavor });
  compactions++;
  base = getHeapStatistics().total_heap_size;
}

// gc returns V8's collection function. Node exposes it only with --expose-gc, which a flag set at
// run time applies to contexts made afterwards: one context made at that moment gives it, and the
// flag goes off again so that later contexts and worker threads do not see a `gc` global.
function gc(): (o: GcOptions) => void {
  if (collect === undefined) {
    const own = (globalThis as { gc?: (o: GcOptions) => void }).gc;
    if (own !== undefined) return (collect = own); // the process was started with --expose-gc
    setFlagsFromString("--expose-gc");
    try {
      collect = runInNewContext("gc") as (o: GcOptions) => void;
    } finally {
      setFlagsFromString("--no-expose-gc");
    }
  }
  return collect;
}
