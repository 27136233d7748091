// analytics-join.ts: sets each request of the accuracy test's generator record beside its line in
// Portico's access log (PORTICO_TEST_ACCESS_LOG), request by request — the generator adds "n=I" to
// every path, so the two meet on protocol, authority and path exactly, with no pairing by time — and
// prints, per virtual host and protocol, the client-side time: the generator's latency less
// Portico's durationMs, the time the client counts and Portico cannot see (the kernel's loopback,
// the wake-ups on either side, a process waiting for a CPU). That is the figure a gap between the
// API's quantiles and the generator's is made of (docs/analytics.md, "Request by request").
import { readFileSync } from "node:fs";
import { quantileOf } from "../support/loadgen.ts";
import type { GoRecord } from "../support/goload.ts";

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

/** joinAccessLog reads the access log at file and renders the client-side time per host. */
export function joinAccessLog(file: string, runs: readonly Sent[]): string {
  const lines = new Map<string, Line>();
  for (const l of readFileSync(file, "utf8").split("\n")) {
    if (!l.startsWith("{")) continue;
    const x = JSON.parse(l) as Line;
    lines.set(`${x.protocol} ${x.authority} ${x.path}`, x);
  }
  const gaps = new Map<string, number[]>();
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
      list.push(r.ns / 1e6 - line.durationMs);
      gaps.set(key, list);
    }
  }
  const us = (ms: number) => (ms * 1000).toFixed(0);
  const rows = [...gaps].map(([key, g]) => {
    const s = g.sort((a, b) => a - b);
    const q = (x: number) => us(quantileOf(s, x));
    const negative = s.filter((x) => x < 0).length;
    return `${key}: ${s.length} requests; generator − Portico µs p5 ${q(0.05)}, p50 ${q(0.5)}, p90 ${q(0.9)}, p99 ${q(0.99)}, max ${us(s[s.length - 1]!)}; Portico longer: ${negative}`;
  });
  return `client-side time, request by request (access log joined on path; ${missing} not found):\n${rows.join("\n")}`;
}
