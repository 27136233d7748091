// grpc-report.ts: the pure parts of `npm run bench:grpc` — reading ghz's summary, the medians per
// contestant, Portico ÷ HAProxy with its per-round spread, and the report.
import { durationMs, parseH2load } from "./parse.ts";
import { median, optMedian } from "./summary.ts";
import { MAX_SPREAD, spreadOf } from "./user-report.ts";

/** GrpcWho: the proxies, and "direct" (ghz straight to the backend: the load generator's ceiling). */
export type GrpcWho = "HAProxy" | "Portico" | "direct";
export const GRPC_WHO: readonly GrpcWho[] = ["HAProxy", "Portico", "direct"];

/** GhzResult is what one ghz run measured. */
export interface GhzResult {
  rps: number;
  count: number;
  p50Ms?: number;
  p99Ms?: number;
  /** meanMs is h2load's mean time per request (it reports no percentiles). */
  meanMs?: number;
  /** errors counts calls whose status was not OK (ghz's status code distribution), less cancelled. */
  errors: number;
  /** cancelled counts calls ghz itself cut when its duration ended (see STOP_ARTIFACT). */
  cancelled: number;
}

/**
 * STOP_ARTIFACT matches the errors of calls still in flight when ghz's -z duration ends: ghz
 * closes its own connections under them. They say nothing about the proxy (ghz straight to the
 * backend shows them too); a proxy that drops a connection shows EOF or a reset instead.
 */
const STOP_ARTIFACT = /use of closed network connection|client connection is closing|context canceled/;

/**
 * parseGhz reads ghz's summary (its default output): Requests/sec, the latency distribution, the
 * status code distribution and the error distribution. A run without OK calls counts as an error,
 * whatever else it says.
 */
export function parseGhz(out: string): GhzResult {
  const rate = /Requests\/sec:\s+([\d.]+)/.exec(out);
  const count = /Count:\s+(\d+)/.exec(out);
  if (!rate || !count) throw new Error(`ghz printed no summary:\n${out.slice(-2000)}`);
  const pct = (p: number): number | undefined => {
    const m = new RegExp(`^\\s*${p} % in ([\\d.]+) ?(ns|µs|μs|us|ms|s)\\b`, "m").exec(out);
    return m ? durationMs(`${m[1]}${m[2]!.replace(/[µμ]s/, "us")}`) : undefined;
  };
  let ok = 0;
  let errors = 0;
  for (const m of out.matchAll(/^\s*\[([A-Za-z]+)\]\s+(\d+) responses/gm))
    if (m[1] === "OK") ok += Number(m[2]);
    else errors += Number(m[2]);
  let cancelled = 0;
  for (const m of out.matchAll(/^\s*\[(\d+)\]\s+(.*)$/gm))
    if (STOP_ARTIFACT.test(m[2]!)) cancelled += Number(m[1]);
  errors = Math.max(0, errors - cancelled);
  if (ok === 0) errors += 1;
  return { rps: Number(rate[1]), count: Number(count[1]), p50Ms: pct(50), p99Ms: pct(99), errors, cancelled };
}

/**
 * parseH2loadGrpc reads an h2load run of gRPC calls. h2load sees HTTP statuses only, and a proxy's
 * own gRPC error is HTTP 200 too, so answeredOk (the calls the backend answered OK during the run,
 * grpc-echo's /stats) bounds the successes: any 2xx beyond it was not the backend's answer.
 */
export function parseH2loadGrpc(out: string, answeredOk: number): GhzResult {
  const r = parseH2load(out);
  const req = /requests: \d+ total, \d+ started, \d+ done, (\d+) succeeded/.exec(out);
  const succeeded = req ? Number(req[1]) : 0;
  const notBackend = Math.max(0, succeeded - answeredOk);
  return {
    rps: r.value,
    count: succeeded,
    meanMs: r.meanMs,
    errors: r.errors + notBackend,
    cancelled: 0,
  };
}

/** GrpcSample is one ghz run of one contestant in one round. */
export interface GrpcSample extends GhzResult {
  caseId: string;
  who: GrpcWho;
  round: number;
  /** cpuUs is the proxy's CPU time (all threads and processes) per call; none for "direct". */
  cpuUs?: number;
}

const of = (s: readonly GrpcSample[], caseId: string, who: GrpcWho) =>
  s.filter((x) => x.caseId === caseId && x.who === who).sort((a, b) => a.round - b.round);

/** GrpcRatio is Portico ÷ HAProxy for one case: medians, per round, spread, CPU and p99 ratios. */
export interface GrpcRatio {
  ratio: number;
  roundRatios: number[];
  spread: number;
  cpuRatio?: number;
  p99Ratio?: number;
  verdict: string;
}

/**
 * grpcRatio compares Portico with HAProxy on caseId. Item 1 sets no target for gRPC (measured and
 * reported beside HAProxy), so the verdict says only whether the figure can be reported: no call
 * failed, and the rounds spread at most ±15% (item 2's rule, kept for every bench of issue 21).
 */
export function grpcRatio(samples: readonly GrpcSample[], caseId: string): GrpcRatio | undefined {
  const p = of(samples, caseId, "Portico");
  const h = of(samples, caseId, "HAProxy");
  if (p.length === 0 || h.length === 0) return undefined;
  const roundRatios = p.flatMap((x) => {
    const y = h.find((s) => s.round === x.round);
    return y && y.rps > 0 ? [x.rps / y.rps] : [];
  });
  const spread = spreadOf(roundRatios) ?? 0;
  const ratioOf = (f: (s: GrpcSample) => number | undefined) => {
    const a = optMedian(p.map(f));
    const b = optMedian(h.map(f));
    return a !== undefined && b ? a / b : undefined;
  };
  const errors = [...p, ...h].some((s) => s.errors > 0);
  return {
    ratio: median(p.map((s) => s.rps)) / median(h.map((s) => s.rps)),
    roundRatios,
    spread,
    cpuRatio: ratioOf((s) => s.cpuUs),
    p99Ratio: ratioOf((s) => s.p99Ms),
    verdict: errors
      ? "calls failed: not reportable"
      : spread > MAX_SPREAD
        ? `spread ±${(spread * 100).toFixed(0)}% > ±15%: repeat the run`
        : "reportable",
  };
}

const num = (x: number | undefined, d = 0): string =>
  x === undefined ? "—" : x.toLocaleString("en-US", { maximumFractionDigits: d, minimumFractionDigits: d });

/** renderGrpcReport renders the markdown report. */
export function renderGrpcReport(o: {
  startedAt: string;
  settings: Record<string, string>;
  cases: readonly { id: string; title: string }[];
  samples: readonly GrpcSample[];
  commands: Record<string, string>;
  notes: readonly string[];
}): string {
  const out = [`# gRPC unary through a GRPCRoute (\`npm run bench:grpc\`), ${o.startedAt}`, ""];
  for (const [k, v] of Object.entries(o.settings)) out.push(`- ${k}: ${v}`);
  for (const c of o.cases) {
    out.push("", `## ${c.title} (${c.id})`, "", `\`${o.commands[c.id] ?? ""}\``, "");
    out.push(
      "| who | median calls/s | p50 ms | p99 ms | mean ms | CPU µs/call | failed calls | rounds |",
      "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    );
    for (const who of GRPC_WHO) {
      const ss = of(o.samples, c.id, who);
      if (ss.length === 0) continue;
      const rates = ss.map((s) => s.rps);
      out.push(
        `| ${who} | ${num(median(rates))} | ${num(optMedian(ss.map((s) => s.p50Ms)), 2)} | ${num(optMedian(ss.map((s) => s.p99Ms)), 2)} | ${num(optMedian(ss.map((s) => s.meanMs)), 2)} | ${num(optMedian(ss.map((s) => s.cpuUs)), 1)} | ${ss.reduce((n, s) => n + s.errors, 0)} | ${rates.map((r) => num(r)).join(", ")} |`,
      );
    }
    const r = grpcRatio(o.samples, c.id);
    if (r)
      out.push(
        "",
        `Portico ÷ HAProxy: **${r.ratio.toFixed(2)}×** calls/s (per round ${r.roundRatios.map((x) => x.toFixed(2)).join(", ")}, spread ±${(r.spread * 100).toFixed(0)}%), CPU per call ${num(r.cpuRatio, 2)}×, p99 ${num(r.p99Ratio, 2)}× — ${r.verdict}`,
      );
  }
  if (o.notes.length) out.push("", "## Notes", "", ...o.notes.map((n) => `- ${n}`));
  return out.join("\n");
}
