// user-report.ts: the pure parts of `npm run bench:user` — who runs, the medians, the ratios with
// their per-round spread, and the report.
import { median, optMedian } from "./summary.ts";

/** Contestant names one process of the user-mode run. */
export type Contestant =
  "HAProxy" | "nginx" | "nginx+log" | "engine" | "run" | "run+log" | "run-node" | "engine-node";

/**
 * CONTESTANTS in round order: the reference proxies as in the main bench, nginx with its access
 * log on, Portico's bare engine (bench/portico-engine.ts, the main bench's Portico) and `portico
 * run` with the access log off and on; run-node and engine-node (on request) are `portico run` and the bare engine on net.Sockets
 * (PORTICO_OWN_SOCKETS=off): the own socket layer's A/B.
 */
export const CONTESTANTS: readonly Contestant[] = [
  "HAProxy",
  "nginx",
  "nginx+log",
  "engine",
  "run",
  "run+log",
  "run-node",
  "engine-node",
];

/** RATIOS are the pairs the report compares, numerator first. */
export const RATIOS: readonly (readonly [Contestant, Contestant])[] = [
  ["run", "HAProxy"],
  ["run", "nginx"],
  ["run+log", "HAProxy"],
  ["run+log", "nginx+log"],
  ["engine", "HAProxy"],
  ["run", "engine"],
  ["run+log", "run"],
  ["run", "run-node"],
  ["engine", "engine-node"],
];

/** TARGET is issue 21 item 2's: `portico run` ≥ 0.9× HAProxy on HTTP/1.1 keep-alive. */
export const TARGET = 0.9;
/** MAX_SPREAD: a run whose rounds spread more than ±15% is repeated, not reported (item 2). */
export const MAX_SPREAD = 0.15;

/** UserSample is one load run of one contestant. */
export interface UserSample {
  caseId: string;
  who: Contestant;
  round: number;
  requestsPerSecond: number;
  p99Ms?: number;
  errors: number;
  /** cpuUs is the process's CPU time (all threads) per request (µs). */
  cpuUs?: number;
}

/** RatioRow is a ÷ b of the medians, each round's paired ratio, and their spread around the median. */
export interface RatioRow {
  caseId: string;
  a: Contestant;
  b: Contestant;
  ratio?: number;
  cpuRatio?: number;
  roundRatios: number[];
  /** spread is max(|r − median|) / median over the round ratios (0.1: ±10%). */
  spread?: number;
}

/** spreadOf is the largest distance of a value from the median, relative to it. */
export function spreadOf(xs: readonly number[]): number | undefined {
  if (xs.length === 0) return undefined;
  const m = median(xs);
  return Math.max(...xs.map((x) => Math.abs(x - m))) / m;
}

const of = (samples: readonly UserSample[], caseId: string, who: Contestant) =>
  samples.filter((s) => s.caseId === caseId && s.who === who).sort((x, y) => x.round - y.round);

/** ratioRows computes every RATIOS pair for each case. */
export function ratioRows(caseIds: readonly string[], samples: readonly UserSample[]): RatioRow[] {
  const rows: RatioRow[] = [];
  for (const caseId of caseIds)
    for (const [a, b] of RATIOS) {
      const as = of(samples, caseId, a);
      const bs = of(samples, caseId, b);
      if (as.length === 0 || bs.length === 0) continue;
      const roundRatios = as.flatMap((x) => {
        const y = bs.find((s) => s.round === x.round);
        return y && y.requestsPerSecond > 0 ? [x.requestsPerSecond / y.requestsPerSecond] : [];
      });
      const ca = optMedian(as.map((s) => s.cpuUs));
      const cb = optMedian(bs.map((s) => s.cpuUs));
      rows.push({
        caseId,
        a,
        b,
        ratio: median(as.map((s) => s.requestsPerSecond)) / median(bs.map((s) => s.requestsPerSecond)),
        cpuRatio: ca && cb ? ca / cb : undefined,
        roundRatios,
        spread: spreadOf(roundRatios),
      });
    }
  return rows;
}

/** verdict says whether a ratio row meets item 2 (run ≥ 0.9× HAProxy, no errors, spread ≤ ±15%). */
export function verdict(row: RatioRow, samples: readonly UserSample[]): string {
  if (row.ratio === undefined) return "—";
  const errors = [...of(samples, row.caseId, row.a), ...of(samples, row.caseId, row.b)].some(
    (s) => s.errors > 0,
  );
  if (errors) return "errors: not met";
  if ((row.spread ?? 0) > MAX_SPREAD) return `spread ±${pct(row.spread!)} > ±15%: repeat the run`;
  if (row.b !== "HAProxy" || !row.a.startsWith("run")) return "";
  return row.ratio >= TARGET ? `meets ≥ ${TARGET}×` : `below ${TARGET}×`;
}

const pct = (x: number): string => `${(x * 100).toFixed(0)}%`;
const num = (x: number | undefined, d = 0): string =>
  x === undefined ? "—" : x.toLocaleString("en-US", { maximumFractionDigits: d, minimumFractionDigits: d });

/** renderUserReport renders the markdown report. */
export function renderUserReport(o: {
  startedAt: string;
  settings: Record<string, string>;
  caseIds: readonly string[];
  samples: readonly UserSample[];
  commands: Record<string, string>;
  notes: string[];
}): string {
  const out = [`# Portico as users run it (\`npm run bench:user\`), ${o.startedAt}`, ""];
  for (const [k, v] of Object.entries(o.settings)) out.push(`- ${k}: ${v}`);
  for (const caseId of o.caseIds) {
    out.push("", `## ${caseId}`, "", `\`${o.commands[caseId] ?? ""}\``, "");
    out.push(
      "| who | median req/s | p99 ms | CPU µs/req | errors | rounds |",
      "| --- | ---: | ---: | ---: | ---: | --- |",
    );
    for (const who of CONTESTANTS) {
      const ss = of(o.samples, caseId, who);
      if (ss.length === 0) continue;
      const rates = ss.map((s) => s.requestsPerSecond);
      out.push(
        `| ${who} | ${num(median(rates))} | ${num(optMedian(ss.map((s) => s.p99Ms)), 2)} | ${num(optMedian(ss.map((s) => s.cpuUs)), 1)} | ${ss.reduce((n, s) => n + s.errors, 0)} | ${rates.map((r) => num(r)).join(", ")} |`,
      );
    }
    out.push(
      "",
      "| ratio | of medians | CPU/req | per round | spread | verdict |",
      "| --- | ---: | ---: | --- | ---: | --- |",
    );
    for (const r of ratioRows([caseId], o.samples))
      out.push(
        `| ${r.a} / ${r.b} | ${num(r.ratio, 2)}× | ${num(r.cpuRatio, 2)}× | ${r.roundRatios.map((x) => x.toFixed(2)).join(", ")} | ±${r.spread === undefined ? "—" : pct(r.spread)} | ${verdict(r, o.samples)} |`,
      );
  }
  if (o.notes.length) out.push("", "## Notes", "", ...o.notes.map((n) => `- ${n}`));
  return out.join("\n");
}
