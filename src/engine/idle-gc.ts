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
// Here a sweep every CHECK_MS looks at two cheap figures, the process's CPU time and V8's
// committed heap; when the process was idle over the last period (under IDLE_CPU of a core)
// and the heap grew more than SLACK_BYTES since the last compaction, it runs one memory-reducing
// full collection (V8's "last resort" flavour: it also shrinks the young generation and releases
// the freed pages). A quiet engine pays it once per load, a busy one never: nothing here runs on
// a request's path.
import { getHeapStatistics, setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

/** CHECK_MS is the period of the idle check. */
export const CHECK_MS = 5000;
/** IDLE_CPU is the share of one core under which a period counts as idle. */
export const IDLE_CPU = 0.03;
/** SLACK_BYTES is how far the committed heap may grow over its compacted size before a compaction. */
export const SLACK_BYTES = 16 * 1024 * 1024;

type GcOptions = { type: "major"; execution: "sync"; flavor: "last-resort" };
let collect: ((o: GcOptions) => void) | undefined;
let timer: NodeJS.Timeout | undefined;
let lastCpu = process.cpuUsage();
let lastAt = performance.now();
// base is the committed heap after the last compaction (or when the watch started).
let base = 0;
let compactions = 0;

/**
 * watchIdleHeap starts the idle check for this process (again is a no-op); it never keeps the
 * process alive. Every Engine calls it, as it calls tuneV8.
 */
export function watchIdleHeap(): void {
  if (timer !== undefined) return;
  base = getHeapStatistics().total_heap_size;
  lastCpu = process.cpuUsage();
  lastAt = performance.now();
  timer = setInterval(check, CHECK_MS).unref();
}

/** compactionCount says how many idle compactions ran (tests and the memory probe). */
export function compactionCount(): number {
  return compactions;
}

function check(): void {
  const now = performance.now();
  const cpu = process.cpuUsage(lastCpu);
  const busy = (cpu.user + cpu.system) / 1000 / (now - lastAt);
  lastCpu = process.cpuUsage();
  lastAt = now;
  const heap = getHeapStatistics().total_heap_size;
  if (heap < base) base = heap;
  if (busy >= IDLE_CPU || heap - base <= SLACK_BYTES) return;
  compactIdleHeap();
}

/** compactIdleHeap runs the memory-reducing collection now (the check's action; tests call it). */
export function compactIdleHeap(): void {
  gc()({ type: "major", execution: "sync", flavor: "last-resort" });
  compactions++;
  base = getHeapStatistics().total_heap_size;
  // The collection's own CPU must not make the next period look busy.
  lastCpu = process.cpuUsage();
  lastAt = performance.now();
}

// gc returns V8's collection function. Node exposes it only with --expose-gc, which a flag set at
// run time applies to contexts made afterwards: the first compaction makes one to take it from.
function gc(): (o: GcOptions) => void {
  if (collect === undefined) {
    setFlagsFromString("--expose-gc");
    collect = runInNewContext("gc") as (o: GcOptions) => void;
  }
  return collect;
}
