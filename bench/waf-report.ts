// waf-report.ts: the medians, ratios and added latency of `npm run bench:waf`, as markdown. Pure.
import type { LoadResult } from "./parse.ts";

/** WafSample is one wrk run against one server in one round. */
export interface WafSample {
  server: string;
  caseId: string;
  round: number;
  result: LoadResult;
}

/** Stat is one server's medians in one case. */
interface Stat {
  rps: number;
  p50?: number;
  p99?: number;
  errors: number;
}

/** ReportOptions: run parameters and notes for the report; median is bench/summary.ts's. */
export interface ReportOptions {
  rounds: number;
  seconds: number;
  notes: string[];
  median: (xs: number[]) => number;
}

/** TARGETS are issue 16's: throughput loss ≤ 30% and ≤ 1 ms added p50 on the GET. */
export const TARGETS = { minRatio: 0.7, maxAddedP50Ms: 1 };

const fmt = (x: number | undefined, digits = 3): string =>
  x === undefined || Number.isNaN(x) ? "–" : x.toFixed(digits);

/** stats takes the medians per case and server. */
export function stats(
  samples: readonly WafSample[],
  median: (xs: number[]) => number,
): Map<string, Map<string, Stat>> {
  const out = new Map<string, Map<string, Stat>>();
  const groups = new Map<string, WafSample[]>();
  for (const s of samples) {
    const k = `${s.caseId}\u0000${s.server}`;
    groups.set(k, [...(groups.get(k) ?? []), s]);
  }
  for (const [k, ss] of groups) {
    const [caseId, server] = k.split("\u0000") as [string, string];
    const opt = (f: (r: LoadResult) => number | undefined): number | undefined => {
      const xs = ss.map((s) => f(s.result)).filter((x): x is number => x !== undefined);
      return xs.length ? median(xs) : undefined;
    };
    const m = out.get(caseId) ?? new Map<string, Stat>();
    m.set(server, {
      rps: median(ss.map((s) => s.result.value)),
      p50: opt((r) => r.p50Ms),
      p99: opt((r) => r.p99Ms),
      errors: ss.reduce((a, s) => a + s.result.errors, 0),
    });
    out.set(caseId, m);
  }
  return out;
}

/** wafReport renders the run: a table per case, then the WAF's cost against each baseline. */
export function wafReport(samples: readonly WafSample[], o: ReportOptions): string {
  const all = stats(samples, o.median);
  const lines = [
    "# WAF benchmark (npm run bench:waf)",
    "",
    `${o.rounds} interleaved round(s) of ${o.seconds} s wrk runs; medians. GET \`/products/view?id=1234&lang=en\`; POST 4 KiB urlencoded form. Servers on CPU 1, wrk and the backend on CPU 0.`,
    "",
    "| case | server | req/s | p50 ms | p99 ms | errors |",
    "|---|---|---:|---:|---:|---:|",
  ];
  for (const [caseId, m] of all)
    for (const [server, s] of m)
      lines.push(
        `| ${caseId} | ${server} | ${s.rps.toFixed(0)} | ${fmt(s.p50)} | ${fmt(s.p99)} | ${s.errors} |`,
      );
  lines.push(
    "",
    "| case | WAF vs baseline | throughput ratio | added p50 ms (1 connection) | target |",
    "|---|---|---:|---:|---|",
  );
  for (const [with_, without] of [
    ["Portico+CRS", "Portico"],
    ["nginx+ModSecurity", "nginx"],
    ["Portico+CRS", "nginx+ModSecurity"],
  ] as const) {
    for (const req of ["get", "post4k"]) {
      const tput = all.get(`${req}-c16`);
      const lat = all.get(`${req}-c1`);
      const a = tput?.get(with_);
      const b = tput?.get(without);
      if (!a || !b) continue;
      const ratio = a.rps / b.rps;
      const la = lat?.get(with_)?.p50;
      const lb = lat?.get(without)?.p50;
      const added = la !== undefined && lb !== undefined ? la - lb : undefined;
      let target = "";
      if (with_ === "Portico+CRS" && without === "Portico") {
        const okRatio = ratio >= TARGETS.minRatio;
        const okLat = req !== "get" || (added !== undefined && added <= TARGETS.maxAddedP50Ms);
        target = `${okRatio && okLat ? "met" : "NOT met"} (≥ ${TARGETS.minRatio}${req === "get" ? `, ≤ ${TARGETS.maxAddedP50Ms} ms` : ""})`;
      }
      lines.push(`| ${req} | ${with_} / ${without} | ${ratio.toFixed(2)} | ${fmt(added)} | ${target} |`);
    }
  }
  if (o.notes.length) lines.push("", ...o.notes.map((n) => `- ${n}`));
  return lines.join("\n") + "\n";
}
