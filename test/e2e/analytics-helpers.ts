// analytics-helpers.ts: reading the admin analytics API (/api/v1/analytics/services and /series)
// and judging its figures against the load generator's own record, for the accuracy and merge
// end-to-end tests.
import assert from "node:assert/strict";
import { availableParallelism, loadavg } from "node:os";
import type { Quantiles, Series, ServiceSummary } from "../../src/analytics/types.ts";
import { ANALYTICS_RELATIVE_ACCURACY } from "../../src/analytics/types.ts";
import type { ExactQuantiles } from "../support/loadgen.ts";
import { waitFor } from "./harness.ts";
import type { Own } from "./analytics-own.ts";
import { busyMachine } from "../support/machine.ts";

/**
 * QUIET_LATE_MS: a run whose load generator sent its requests less than this late against their
 * schedule at p99 ran on a quiet machine (test/peers/loadgen paces an open loop, and every request's
 * lateness is a free probe of how long a ready process waits for a CPU). On a loaded one (the
 * shared 2-core CI machine) the tails hold time neither side attributes — a request's bytes waiting
 * in a socket buffer while Portico's process, or the generator's, waits for a CPU — so there p90 and
 * p99 are held to the upper bound only (never above the generator's) and printed with the reason.
 */
export const QUIET_LATE_MS = 1;

/**
 * Loaded says why a run's figures are held to the upper bound only (undefined: two-sided).
 * tails: p90 and p99 (the machine was loaded: the generator's requests left QUIET_LATE_MS or more
 * late at p99, or busyMachine). median: p50 too (the machine was loaded past the median request:
 * they left QUIET_LATE_MS late at p50, or the load average reached twice the cores — measured at 10
 * on 2 cores, HTTP/1.1's median client-side time was 0.28–0.40 ms, 1.3–1.9% of a 21 ms request,
 * which with the sketch's ±1% no longer fits in 2%).
 */
export interface Loaded {
  tails?: string;
  median?: string;
}

/** loadedMachine judges a run by the generator's lateness (GoRun.lateness) and the load average. */
export function loadedMachine(lateness: ExactQuantiles): Loaded {
  const la = loadavg()[0]!;
  const cores = availableParallelism();
  const tails: string[] = [];
  const median: string[] = [];
  const late99 = `the generator's requests left ${lateness.p99.toFixed(2)} ms late at p99 (quiet: < ${QUIET_LATE_MS} ms)`;
  if (lateness.p99 >= QUIET_LATE_MS) tails.push(late99);
  // busyMachine: the generator's own lateness cannot see every stall — a process descheduled while
  // it waits for a response is late for nothing it measures as lateness — so a machine running
  // more than it has cores holds the tails to the upper bound only, whatever the schedule says.
  if (busyMachine()) tails.push(`load average ${la.toFixed(2)} ≥ ${cores} cores`);
  if (lateness.p50 >= QUIET_LATE_MS)
    median.push(`the generator's requests left ${lateness.p50.toFixed(2)} ms late at p50`);
  // Stalls the generator sees at p99 reach the median too: a CI run whose requests left 3 ms late
  // at p99 (load average under the cores) read the merged p50 −2.49% — the sketch's ±1% plus
  // client-side time it did not attribute. Two-sided judgement is for a quiet machine.
  else if (lateness.p99 >= QUIET_LATE_MS) median.push(late99);
  // More runnable than cores: the engine waits for a CPU while requests sit in its socket buffer,
  // where no clock of Portico's can see them — the late requests of loaded runs coincided with the
  // engine waiting for a CPU (docs/analytics.md, "The tail events"); a run at load 3.5 on 2 cores
  // read p50 −3.4%. The median is then held to the upper bound too.
  if (la >= cores) median.push(`load average ${la.toFixed(2)} ≥ ${cores} cores`);
  return {
    ...(tails.length || median.length ? { tails: [...new Set([...tails, ...median])].join("; ") } : {}),
    ...(median.length ? { median: median.join("; ") } : {}),
  };
}

/**
 * heldOutside adds to a run's judgement what Portico's own record of its requests (analytics-own.ts)
 * measured: stalls neither the generator's lateness nor the load average sees — the engine waiting
 * for a CPU while the generator did not, between two samples of a one-minute average — hold
 * requests outside Portico's span, and show as client-side time. One request in a hundred held
 * QUIET_LATE_MS or more is loadedMachine's p99 rule, measured on both processes at once, and
 * judged as it is (every quantile one-sided). Only while the typical request's client-side time
 * stays under QUIET_LATE_MS: a Portico clock that missed a fixed part of every request would move
 * its median too, and is not excused.
 */
export function heldOutside(loaded: Loaded, own: Own): Loaded {
  const cs = own.clientSide;
  if (cs.p99 < QUIET_LATE_MS || cs.p50 >= QUIET_LATE_MS) return loaded;
  const why = `Portico's own record: client-side time ${cs.p99.toFixed(2)} ms at p99, ${cs.p50.toFixed(2)} ms at p50 (quiet: < ${QUIET_LATE_MS} ms at p99)`;
  const add = (x: string | undefined) => (x === undefined ? why : `${x}; ${why}`);
  return { tails: add(loaded.tails), median: add(loaded.median) };
}

/** describeLoad renders a Loaded for the test's output. */
export function describeLoad(l: Loaded): string {
  if (l.median !== undefined) return `heavily loaded, every quantile one-sided: ${l.median}`;
  if (l.tails !== undefined) return `loaded, p90/p99 one-sided: ${l.tails}`;
  return "quiet, every quantile two-sided";
}

/** ACCURACY is issue 15's bound: API quantiles within 2% of the generator's own. */
export const ACCURACY = 0.02;

/** services reads GET /api/v1/analytics/services?window=W (an array, or {services: [...]}). */
export async function services(adminUrl: string, window = "5m"): Promise<ServiceSummary[]> {
  const r = await fetch(`${adminUrl}/api/v1/analytics/services?window=${window}`);
  if (!r.ok) throw new Error(`GET /api/v1/analytics/services: HTTP ${r.status} ${await r.text()}`);
  const j = (await r.json()) as ServiceSummary[] | { services: ServiceSummary[] };
  return Array.isArray(j) ? j : j.services;
}

/** series reads GET /api/v1/analytics/series for a virtual service, or one of its routes. */
export async function series(
  adminUrl: string,
  vs: string,
  o: { route?: string; window?: string } = {},
): Promise<Series> {
  const q = new URLSearchParams({ vs, window: o.window ?? "5m" });
  if (o.route !== undefined) q.set("route", o.route);
  const r = await fetch(`${adminUrl}/api/v1/analytics/series?${q}`);
  if (!r.ok) throw new Error(`GET /api/v1/analytics/series?${q}: HTTP ${r.status} ${await r.text()}`);
  return (await r.json()) as Series;
}

/** SeriesTotals are a series' counters summed over its points. */
export interface SeriesTotals {
  requests: number;
  classes: Record<string, number>;
}

/** totals sums a series' requests and classes over every point. */
export function totals(s: Series): SeriesTotals {
  const out: SeriesTotals = { requests: 0, classes: {} };
  for (const p of s.points) {
    out.requests += p.requests;
    for (const [k, v] of Object.entries(p.classes)) if (v) out.classes[k] = (out.classes[k] ?? 0) + v;
  }
  return out;
}

/**
 * settledServices polls the services answer until every virtual host ("HOST:PORT") has at least its
 * expected request count (batches arrive every interval), then reads once more so a late batch
 * that would overshoot is seen too. Bounded: fails with what it last saw.
 */
export async function settledServices(
  adminUrl: string,
  expected: Record<string, number>,
  ms = 60_000,
): Promise<Map<string, ServiceSummary>> {
  let last = "";
  await waitFor(
    `analytics counts to reach ${JSON.stringify(expected)}`,
    async () => {
      const byHost = byVhost(await services(adminUrl));
      last = JSON.stringify([...byHost].map(([h, s]) => [h, s.requests]));
      return Object.entries(expected).every(([h, n]) => (byHost.get(h)?.requests ?? 0) >= n);
    },
    ms,
  ).catch((e: Error) => {
    throw new Error(`${e.message}; last seen ${last}`);
  });
  return byVhost(await services(adminUrl));
}

/** byVhost indexes HTTP virtual services by "HOST:PORT" (the listener's port: HTTP and HTTPS apart). */
export function byVhost(list: ServiceSummary[]): Map<string, ServiceSummary> {
  return new Map(
    list
      .filter((s) => s.vhost !== undefined)
      .map((s) => [`${s.vhost}:${s.listener.slice(s.listener.lastIndexOf(":") + 1)}`, s]),
  );
}

/** Comparison is one quantile of Portico's against the generator's, with its allowed range. */
export interface Comparison {
  what: string;
  generator: number;
  portico: number;
  /** own: the exact quantile of Portico's own record of the same requests (its access log). */
  own: number;
  /** error is (portico − generator) / generator. */
  error: number;
  lo: number;
  hi: number;
  ok: boolean;
  /** oneSided: only the upper bound was held (a tail on a loaded machine: loadedMachine). */
  oneSided: boolean;
}

/**
 * compareQuantile judges Portico's quantile against the generator's: within ACCURACY (2%, issue
 * 15's bound, the sketch's own 1% included) below it, and not above it by more than the sketch's
 * error (Portico's span lies inside the client's: it starts after the request's bytes reached the
 * kernel and stops before the response's leave). oneSided holds the upper bound only (a tail on a
 * loaded machine: loadedMachine). On every machine, loaded or not, the API's answer is also held
 * to the exact quantile of Portico's own record of the same requests (own: its access log, the
 * durations the sketches were fed) within the sketch's error, both ways: what load adds outside
 * Portico's span cannot move that, so the sketch, its shipping and its merging stay judged.
 */
export function compareQuantile(
  what: string,
  portico: number,
  generator: number,
  own: number,
  oneSided = false,
): Comparison {
  const a = ANALYTICS_RELATIVE_ACCURACY;
  // 0.001 ms: the access log's durations are rounded to the microsecond.
  const hi = Math.min(generator * (1 + a) + 0.001, own * (1 + a) + 0.001);
  const lo = Math.max(oneSided ? 0 : generator * (1 - ACCURACY), own * (1 - a) - 0.001);
  const error = (portico - generator) / generator;
  const ok = portico <= hi && portico >= lo;
  return { what, generator, portico, own, error, lo, hi, ok, oneSided };
}

/**
 * compareQuantiles judges p50, p90 and p99 of one virtual service against the generator's record,
 * one-sided where the run was loaded (loadedMachine), and against Portico's own (own.quantiles).
 */
export function compareQuantiles(
  label: string,
  api: Quantiles | undefined,
  gen: ExactQuantiles,
  own: Own,
  loaded: Loaded,
): Comparison[] {
  assert.ok(api, `${label}: no total latency in the API answer`);
  return (["p50", "p90", "p99"] as const).map((q) =>
    compareQuantile(
      `${label} ${q}`,
      api[q],
      gen[q],
      own.quantiles[q],
      (q === "p50" ? loaded.median : loaded.tails) !== undefined,
    ),
  );
}

/** assertComparisons fails with every comparison out of its range (after they were printed). */
export function assertComparisons(cs: Comparison[]): void {
  const bad = cs.filter((c) => !c.ok);
  assert.equal(bad.length, 0, `out of range:\n${formatComparisons(bad)}`);
}

/** formatComparisons renders the figures one per line for the test's output (and the report). */
export function formatComparisons(cs: Comparison[]): string {
  return cs
    .map(
      (c) =>
        `${c.what}: generator ${c.generator.toFixed(3)} ms, Portico ${c.portico.toFixed(3)} ms (${(c.error * 100).toFixed(2)}%; its own record ${c.own.toFixed(3)} ms; allowed ${c.lo.toFixed(3)}..${c.hi.toFixed(3)}${c.oneSided ? ", the generator's lower bound not held: loaded machine" : ""})`,
    )
    .join("\n");
}
