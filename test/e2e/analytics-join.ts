// analytics-join.ts: sets each request of the accuracy test's generator record beside its line in
// Portico's access log (PORTICO_TEST_ACCESS_LOG), request by request — the generator adds "n=I" to
// every path, so the two meet on protocol, authority and path exactly, with no pairing by time — and
// prints, per virtual host and protocol, the client-side time: the generator's latency less
// Portico's durationMs, the time the client counts and Portico cannot see (the kernel's loopback,
// the wake-ups on either side, a process waiting for a CPU). That is the figure a gap between the
// API's quantiles and the generator's is made of (docs/analytics.md, "Request by request"). Given
// the engine's loop trace (test/support/loop-trace.ts), it also says what the engine's thread was
// doing while each request with more than LATE_MS of it was under way.
import { readFileSync } from "node:fs";
import { quantileOf } from "../support/loadgen.ts";
import type { GoRecord } from "../support/goload.ts";
import type { LoopEvent } from "../support/loop-trace.ts";

/** Sent is one generator run and the protocol its requests carry in the access log. */
export interface Sent {
  protocol: "HTTP/1.1" | "HTTP/2";
  records: readonly GoRecord[];
}

interface Line {
  protocol: string;
  authority: string;
  path: string;
  durationMs: number;
  timings?: Record<string, number>;
}

/** LATE_MS: client-side time above this (~10× the median's) is a request some event held. */
const LATE_MS = 1.5;
/** BUSY: a gap of the engine's loop is its own work when its thread ran this much of it. */
const BUSY = 0.7;

/**
 * joinAccessLog reads the access log at file and renders the client-side time per host; with the
 * engine's loop trace (PORTICO_TEST_LOOP_TRACE), what held the late requests.
 */
export function joinAccessLog(file: string, runs: readonly Sent[], loopTrace?: string): string {
  const lines = new Map<string, Line>();
  for (const l of readFileSync(file, "utf8").split("\n")) {
    if (!l.startsWith("{")) continue;
    const x = JSON.parse(l) as Line;
    lines.set(`${x.protocol} ${x.authority} ${x.path}`, x);
  }
  const gaps = new Map<string, number[]>();
  const late: { key: string; r: GoRecord }[] = [];
  let missing = 0;
  for (const run of runs) {
    for (const r of run.records) {
      const line = lines.get(`${run.protocol} ${r.authority} ${r.path}`);
      if (line === undefined) {
        missing++;
        continue;
      }
      const key = `${r.authority} ${run.protocol}${r.phase === "warm" ? " (warm-up)" : ""}`;
      const list = gaps.get(key) ?? [];
      const gap = r.ns / 1e6 - line.durationMs;
      list.push(gap);
      gaps.set(key, list);
      if (gap > LATE_MS && r.phase === "load") late.push({ key, r });
    }
  }
  const us = (ms: number) => (ms * 1000).toFixed(0);
  const rows = [...gaps].map(([key, g]) => {
    const s = g.sort((a, b) => a - b);
    const q = (x: number) => us(quantileOf(s, x));
    const negative = s.filter((x) => x < 0).length;
    return `${key}: ${s.length} requests; generator − Portico µs p5 ${q(0.05)}, p50 ${q(0.5)}, p90 ${q(0.9)}, p99 ${q(0.99)}, max ${us(s[s.length - 1]!)}; Portico longer: ${negative}`;
  });
  const held = loopTrace === undefined ? "" : `\n${heldBy(late, loopTrace)}`;
  return `client-side time, request by request (access log joined on path; ${missing} not found):\n${rows.join("\n")}${held}`;
}

/**
 * heldBy counts, per host, the scheduled requests with more than LATE_MS of client-side time by
 * what the engine's thread did during them (the first that applies): a GC of its heap, a gap in
 * its loop with the thread busy (its own work), a gap with it idle (waiting for a CPU), or nothing
 * the trace saw (the client's side, the kernel, the backend's process).
 */
function heldBy(late: readonly { key: string; r: GoRecord }[], loopTrace: string): string {
  const events = readFileSync(loopTrace, "utf8")
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as LoopEvent);
  const during = (r: GoRecord, test: (e: LoopEvent) => boolean) =>
    events.some((e) => test(e) && e.startUs < r.endUs && e.startUs + e.ms * 1000 > r.startUs);
  const causes = [
    ["a GC of the engine's heap", (e: LoopEvent) => e.kind === "gc"],
    ["the engine's thread busy", (e: LoopEvent) => e.kind === "gap" && e.cpuMs >= BUSY * e.ms],
    ["the engine waiting for a CPU", (e: LoopEvent) => e.kind === "gap"],
  ] as const;
  const byKey = new Map<string, number[]>();
  for (const { key, r } of late) {
    const n = byKey.get(key) ?? new Array<number>(causes.length + 1).fill(0);
    const i = causes.findIndex(([, test]) => during(r, test));
    n[i < 0 ? causes.length : i]!++;
    byKey.set(key, n);
  }
  const rows = [...byKey].map(([key, n]) => {
    const parts = causes.map(([what], i) => `${what} ${n[i]}`);
    return `${key}: ${n.reduce((a, b) => a + b)} requests; during ${parts.join(", ")}; none of these ${n[causes.length]}`;
  });
  return `requests with more than ${LATE_MS} ms of client-side time, by what the engine did meanwhile (loop trace ${events.length} events):\n${rows.join("\n") || "none"}`;
}
