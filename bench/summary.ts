// summary.ts: turns the raw samples of a run into medians and ratios. Pure.
import type { BenchCase } from "./cases.ts";
import type { LoadResult } from "./parse.ts";
import type { ProxyName } from "./topology.ts";

/** Sample is one load-generator run against one proxy in one round. */
export interface Sample {
  proxy: ProxyName;
  caseId: string;
  round: number;
  result: LoadResult;
  /** rssKiB is the proxy's peak RSS (all its processes) during the run. */
  rssKiB: number;
  /** cpuUs is the proxy's CPU time (user + system, all its processes) per request, req/s tests only. */
  cpuUs?: number;
}

/** ProxyStats are the medians of one proxy over the rounds of one test. */
export interface ProxyStats {
  value: number;
  p50Ms?: number;
  p99Ms?: number;
  meanMs?: number;
  rssMiB: number;
  /** cpuUs is the median CPU time per request (µs), where measured. */
  cpuUs?: number;
  errors: number;
  values: number[];
}

/** CaseSummary holds every proxy's medians for one test and Portico's ratios. */
export interface CaseSummary {
  test: BenchCase;
  stats: Partial<Record<ProxyName, ProxyStats>>;
  /** ratios are throughput ratios (Portico/HAProxy, Portico/nginx, nginx/HAProxy). */
  ratios: { porticoHaproxy?: number; porticoNginx?: number; nginxHaproxy?: number };
  /** p99Ratio is Portico's p99 over HAProxy's. */
  p99Ratio?: number;
  /** met says whether Portico met the targets; undefined when not applicable. */
  met?: boolean;
}

/** median returns the middle value (mean of the two middle ones for even counts). */
export function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** optMedian is median over the defined values, or undefined when there are none. */
export function optMedian(xs: (number | undefined)[]): number | undefined {
  const d = xs.filter((x): x is number => x !== undefined && Number.isFinite(x));
  return d.length ? median(d) : undefined;
}

/** proxyStats summarises the samples of one proxy. */
export function proxyStats(samples: readonly Sample[]): ProxyStats | undefined {
  if (samples.length === 0) return undefined;
  const values = samples.map((s) => s.result.value);
  return {
    value: median(values),
    p50Ms: optMedian(samples.map((s) => s.result.p50Ms)),
    p99Ms: optMedian(samples.map((s) => s.result.p99Ms)),
    meanMs: optMedian(samples.map((s) => s.result.meanMs)),
    rssMiB: Math.max(...samples.map((s) => s.rssKiB)) / 1024,
    cpuUs: optMedian(samples.map((s) => s.cpuUs)),
    errors: samples.reduce((n, s) => n + s.result.errors, 0),
    values,
  };
}

const ratio = (a?: number, b?: number): number | undefined => (a !== undefined && b ? a / b : undefined);

/** summarise groups samples by test and proxy and computes the ratios and target verdicts. */
export function summarise(cases: readonly BenchCase[], samples: readonly Sample[]): CaseSummary[] {
  return cases.map((test) => {
    const stats: Partial<Record<ProxyName, ProxyStats>> = {};
    for (const proxy of ["HAProxy", "nginx", "Portico"] as const) {
      const s = proxyStats(samples.filter((x) => x.caseId === test.id && x.proxy === proxy));
      if (s) stats[proxy] = s;
    }
    const ratios = {
      porticoHaproxy: ratio(stats.Portico?.value, stats.HAProxy?.value),
      porticoNginx: ratio(stats.Portico?.value, stats.nginx?.value),
      nginxHaproxy: ratio(stats.nginx?.value, stats.HAProxy?.value),
    };
    const p99Ratio = ratio(stats.Portico?.p99Ms, stats.HAProxy?.p99Ms);
    let met: boolean | undefined;
    if (test.target !== undefined && ratios.porticoHaproxy !== undefined) {
      met = ratios.porticoHaproxy >= test.target;
      if (test.p99Target !== undefined && p99Ratio !== undefined) met &&= p99Ratio <= test.p99Target;
      // Fast wrong answers are not a pass: any error in Portico's runs fails the target.
      if ((stats.Portico?.errors ?? 0) > 0) met = false;
    }
    return { test, stats, ratios, p99Ratio, met };
  });
}
