// soak-report.ts: the pure parts of `npm run bench:soak` (issue 21, item 5) — the growth verdict
// over the cycles of a compressed day, the HTTP/2 return-to-baseline check, and the report.
import { median } from "./summary.ts";

/** SoakSample is what was read at the end of one cycle's idle period. */
export interface SoakSample {
  cycle: number;
  /** values per metric (see METRICS). */
  values: Record<MetricId, number>;
}

export type MetricId =
  | "rssMiB"
  | "heapMiB"
  | "heapTotalMiB"
  | "externalMiB"
  | "arrayBuffersMiB"
  | "handles"
  | "fds"
  | "backendConns";

/**
 * Metric is one series the soak watches, with the tolerance under which a change is not growth:
 * max(abs, rel × the first half's median). RSS moves by a few MiB between identical cycles (glibc
 * keeps freed memory, V8 pools pages), the heap after a full collection by far less; handles and
 * descriptors other than backend connections should not move. The backend connections the upstream
 * pool keeps idle for 60 s swing with the last load of a cycle, so only a rise by more than a
 * wrk's worth of connections (64) is growth there.
 */
export interface Metric {
  id: MetricId;
  title: string;
  abs: number;
  rel: number;
  digits: number;
}

export const METRICS: readonly Metric[] = [
  { id: "rssMiB", title: "RSS (MiB)", abs: 2, rel: 0.05, digits: 1 },
  { id: "heapMiB", title: "V8 heap used after a full GC (MiB)", abs: 1, rel: 0.05, digits: 1 },
  // What V8 keeps committed after that collection: it follows the busiest load so far (a high-water
  // mark, which the rule reads as flat once reached), and tells RSS steps of V8 from malloc's.
  { id: "heapTotalMiB", title: "V8 heap committed (MiB)", abs: 4, rel: 0.1, digits: 1 },
  { id: "externalMiB", title: "external (MiB)", abs: 1, rel: 0.1, digits: 2 },
  { id: "arrayBuffersMiB", title: "ArrayBuffers (MiB)", abs: 1, rel: 0.1, digits: 2 },
  { id: "handles", title: "active handles (keeping the loop alive)", abs: 4, rel: 0.1, digits: 0 },
  { id: "fds", title: "descriptors other than backend connections", abs: 4, rel: 0.1, digits: 0 },
  { id: "backendConns", title: "pooled backend connections", abs: 64, rel: 0.25, digits: 0 },
];

/** slope is the least-squares slope of ys over xs (units of y per unit of x); 0 for fewer than 2 points. */
export function slope(xs: readonly number[], ys: readonly number[]): number {
  const n = xs.length;
  if (n < 2) return 0;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    num += (xs[i]! - mx) * (ys[i]! - my);
    den += (xs[i]! - mx) ** 2;
  }
  return den === 0 ? 0 : num / den;
}

/** MIN_HALF is the fewest cycles per half for a verdict. */
export const MIN_HALF = 3;

/** Growth is one metric's verdict over the cycles after warm-up. */
export interface Growth {
  metric: Metric;
  firstMedian: number;
  secondMedian: number;
  /** slopes per cycle over each half. */
  firstSlope: number;
  secondSlope: number;
  /** rise is the second half's fitted rise across its span (slope × (cycles − 1)). */
  rise: number;
  tolerance: number;
  verdict: "flat" | "grows" | "too short";
}

/**
 * growth judges one metric. The cycles after warm-up are split into halves. The rule: the metric
 * grows when BOTH the second half's median exceeds the first's by more than the tolerance AND the
 * second half still rises by more than the tolerance across its span (least-squares fit). A leak
 * does both: each cycle leaves a little more, so the later half sits higher and keeps climbing.
 * Warm-up that ends inside the first half (JIT code, caches and pools filling to their caps) lifts
 * the first half only and leaves the second flat; one outlier tilts a fit but hardly a median; a
 * slow drift down is no growth. Tolerances are per metric (METRICS); fewer than MIN_HALF cycles in
 * a half gives no verdict.
 */
export function growth(metric: Metric, samples: readonly SoakSample[]): Growth {
  const sorted = [...samples].sort((a, b) => a.cycle - b.cycle);
  const half = Math.floor(sorted.length / 2);
  // With an odd count the middle cycle goes to neither half, so both are the same length.
  const first = sorted.slice(0, half);
  const second = sorted.slice(sorted.length - half);
  const ys = (s: SoakSample[]) => s.map((x) => x.values[metric.id]);
  const xs = (s: SoakSample[]) => s.map((x) => x.cycle);
  const firstMedian = half ? median(ys(first)) : NaN;
  const secondMedian = half ? median(ys(second)) : NaN;
  const firstSlope = slope(xs(first), ys(first));
  const secondSlope = slope(xs(second), ys(second));
  const span = second.length ? second[second.length - 1]!.cycle - second[0]!.cycle : 0;
  const rise = secondSlope * span;
  const tolerance = Math.max(metric.abs, metric.rel * Math.abs(firstMedian));
  const verdict =
    half < MIN_HALF
      ? "too short"
      : secondMedian - firstMedian > tolerance && rise > tolerance
        ? "grows"
        : "flat";
  return { metric, firstMedian, secondMedian, firstSlope, secondSlope, rise, tolerance, verdict };
}

/** soakVerdict is the run's verdict: no growth only when every metric is flat. */
export function soakVerdict(gs: readonly Growth[]): string {
  if (gs.some((g) => g.verdict === "too short"))
    return `too short: fewer than ${MIN_HALF} cycles per half after warm-up; run longer (--duration)`;
  const grows = gs.filter((g) => g.verdict === "grows").map((g) => g.metric.title);
  return grows.length ? `grows: ${grows.join(", ")}` : "no growth";
}

/** H2Return is RSS around one HTTP/2 load: before, right after, and after the idle settle. */
export interface H2Return {
  beforeMiB: number;
  afterMiB: number;
  settledMiB: number;
  settleSeconds: number;
  requests: number;
}

/** H2_BUDGET is item 5's: RSS after an HTTP/2 load returns to within 10% of its level before it. */
export const H2_BUDGET = 0.1;

/** h2Verdict says whether the settled RSS is within H2_BUDGET of the level before the load. */
export function h2Verdict(r: H2Return): string {
  const over = r.settledMiB / r.beforeMiB - 1;
  const pct = `${over >= 0 ? "+" : ""}${(over * 100).toFixed(1)}%`;
  return over <= H2_BUDGET ? `meets (${pct}, ≤ +10%)` : `not met (${pct}, > +10%)`;
}

const fix = (x: number, d: number): string => (Number.isFinite(x) ? x.toFixed(d) : "—");

/** renderSoakReport renders the markdown report: settings, the HTTP/2 figure, growth, every cycle. */
export function renderSoakReport(o: {
  startedAt: string;
  settings: Record<string, string>;
  h2?: H2Return;
  warmup: readonly SoakSample[];
  samples: readonly SoakSample[];
  notes: readonly string[];
}): string {
  const out = [`# Soak (\`npm run bench:soak\`), ${o.startedAt}`, ""];
  for (const [k, v] of Object.entries(o.settings)) out.push(`- ${k}: ${v}`);
  if (o.h2) {
    const h = o.h2;
    out.push(
      "",
      "## RSS around an HTTP/2 load",
      "",
      `| before | right after (${h.requests.toLocaleString("en-US")} requests) | ${h.settleSeconds} s idle later | verdict |`,
      "| ---: | ---: | ---: | --- |",
      `| ${fix(h.beforeMiB, 1)} MiB | ${fix(h.afterMiB, 1)} MiB | ${fix(h.settledMiB, 1)} MiB | ${h2Verdict(h)} |`,
    );
  }
  const gs = METRICS.map((m) => growth(m, o.samples));
  out.push(
    "",
    `## Growth over ${o.samples.length} cycles after ${o.warmup.length} warm-up cycle(s): **${soakVerdict(gs)}**`,
    "",
    "| metric | first half median | second half median | slope/cycle 1st half | slope/cycle 2nd half | 2nd half rise | tolerance | verdict |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ...gs.map((g) => {
      const d = g.metric.digits;
      return `| ${g.metric.title} | ${fix(g.firstMedian, d)} | ${fix(g.secondMedian, d)} | ${fix(g.firstSlope, d + 2)} | ${fix(g.secondSlope, d + 2)} | ${fix(g.rise, d)} | ${fix(g.tolerance, d)} | ${g.verdict} |`;
    }),
    "",
    "## Every cycle (end of its idle period)",
    "",
    `| cycle | ${METRICS.map((m) => m.title).join(" | ")} |`,
    `| ---: | ${METRICS.map(() => "---:").join(" | ")} |`,
    ...[...o.warmup, ...o.samples].map(
      (s) =>
        `| ${s.cycle}${o.warmup.includes(s) ? " (warm-up)" : ""} | ${METRICS.map((m) => fix(s.values[m.id], m.digits)).join(" | ")} |`,
    ),
  );
  if (o.notes.length) out.push("", "## Notes", "", ...o.notes.map((n) => `- ${n}`));
  return out.join("\n");
}
