// loop-trace.ts: a diagnostic loaded into `portico run` by the e2e harness when
// PORTICO_TEST_LOOP_TRACE=FILE is set (node --import): on the engine's thread (the main one) it
// writes to FILE, one JSON line each, every GC (kind, wall-clock start, duration) and every gap of
// more than GAP_MS between two ticks of a 1 ms timer with the thread's CPU time in it — a gap with
// the thread busy is Portico's own work (or a GC); one with the thread idle is the process waiting
// for a CPU. analytics-join.ts sets each request the generator saw late beside them
// (docs/analytics.md, "The tail events"). The timer costs a wake-up a millisecond: a diagnostic,
// never on in CI.
import { appendFileSync } from "node:fs";
import { performance, PerformanceObserver } from "node:perf_hooks";
import { isMainThread } from "node:worker_threads";

/** LoopEvent is one line of the trace; times are µs since the epoch (the generator's clock). */
export type LoopEvent =
  | { kind: "gc"; startUs: number; ms: number; gc: number }
  | { kind: "gap"; startUs: number; ms: number; cpuMs: number };

/** GAP_MS: a tick this late is a gap; the 1 ms timer itself fires up to ~1.5 ms apart. */
const GAP_MS = 2.5;

const file = process.env.PORTICO_TEST_LOOP_TRACE;
// Only the engine's thread of `portico run`: not the controller's worker, nor other Node tools.
if (file && isMainThread && process.argv.includes("run")) trace(file);

function trace(to: string): void {
  const wallUs = (t: number) => Math.round((performance.timeOrigin + t) * 1000);
  const lines: string[] = [];
  const out = (e: LoopEvent) => lines.push(JSON.stringify(e) + "\n");
  const flush = () => {
    if (lines.length > 0) appendFileSync(to, lines.splice(0).join(""));
  };
  let last = performance.now();
  let lastCpu = process.threadCpuUsage();
  setInterval(() => {
    const now = performance.now();
    const cpu = process.threadCpuUsage();
    if (now - last > GAP_MS) {
      const cpuUs = cpu.user + cpu.system - lastCpu.user - lastCpu.system;
      out({ kind: "gap", startUs: wallUs(last), ms: round(now - last), cpuMs: round(cpuUs / 1000) });
    }
    last = now;
    lastCpu = cpu;
  }, 1).unref();
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      const gc = (e as { detail?: { kind?: number } }).detail?.kind ?? 0;
      out({ kind: "gc", startUs: wallUs(e.startTime), ms: round(e.duration), gc });
    }
  }).observe({ entryTypes: ["gc"] });
  setInterval(flush, 500).unref();
  process.on("exit", flush);
}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}
