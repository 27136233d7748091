// analytics-helpers.ts: reading the admin analytics API (/api/v1/analytics/services and /series)
// and judging its figures against the load generator's own record, for the accuracy and merge
// end-to-end tests.
import assert from "node:assert/strict";
import { availableParallelism, loadavg } from "node:os";
import type { Quantiles, Series, ServiceSummary } from "../../src/analytics/types.ts";
import { ANALYTICS_RELATIVE_ACCURACY } from "../../src/analytics/types.ts";
import type { ExactQuantiles } from "../support/loadgen.ts";
import { waitFor } from "./harness.ts";

/**
 * CLIENT_SLACK_MS is the client-side time the generator measures and Portico cannot, beyond its
 * own event loop's lateness (measured per run, LoadResult.loopDelay): the request's bytes on the way
 * in before Portico parses the head (Portico's process waiting for a CPU included), the response's
 * last bytes on the way back. Portico's "total" runs from the request head parsed to the last
 * response byte handed to the socket, so for every request it is at most the generator's latency,
 * and its quantiles are at most the generator's (order statistics keep a per-sample bound).
 */
export const CLIENT_SLACK_MS = 2;

/**
 * QUIET_LATE_MS: a run whose generator event loop was late by less than this at p99 ran on a quiet
 * machine, and p90/p99 are held to the two-sided bound too. On a loaded one (the shared 2-core CI
 * machine: 4–30 ms late at p99) the tails hold time neither side attributes: requests waiting in
 * Portico's socket buffers for its process to get a CPU, before "total" starts at the parsed
 * head. There the tails are held to the upper bound only (never above the client's) and printed.
 */
export const QUIET_LATE_MS = 1;

/**
 * busyMachine: the last minute's load average reached the number of cores. The test's own timer
 * cannot see every stall — a load generator's process descheduled alone leaves it on time (CI saw
 * h2load's p99 16% above Portico's with the timer quiet while the whole suite ran) — so a machine
 * running more than it has cores holds the tails to the upper bound only, whatever the timer says.
 */
export function busyMachine(): boolean {
  return loadavg()[0]! >= availableParallelism();
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
  /** error is (portico − generator) / generator. */
  error: number;
  lo: number;
  hi: number;
  ok: boolean;
  /** oneSided: only the upper bound was held (a tail on a loaded machine: QUIET_LATE_MS, busyMachine). */
  oneSided: boolean;
}

/**
 * compareQuantile judges Portico's quantile against the generator's: not above it by more than the
 * sketch's error (Portico's span lies inside the client's), not below floor (the generator's
 * quantile less the client-side time it measured Portico could not see: its own event-loop
 * lateness, or the machine's stalls taken out per request) by more than ACCURACY plus
 * CLIENT_SLACK_MS.
 */
export function compareQuantile(
  what: string,
  portico: number,
  generator: number,
  floor: number,
  oneSided = false,
): Comparison {
  const hi = generator * (1 + ANALYTICS_RELATIVE_ACCURACY) + 0.01;
  const lo = Math.min(generator, floor) * (1 - ACCURACY) - CLIENT_SLACK_MS;
  const error = (portico - generator) / generator;
  const ok = portico <= hi && (oneSided || portico >= lo);
  return { what, generator, portico, error, lo, hi, ok, oneSided };
}

/**
 * compareQuantiles judges p50, p90 and p99 of one virtual service against a generator run (tails
 * one-sided when it ran loaded). floor is the generator's record less what it measured Portico
 * could not see (LoadResult.floor); without one, its event-loop lateness at the same quantile.
 */
export function compareQuantiles(
  label: string,
  api: Quantiles | undefined,
  gen: ExactQuantiles,
  loopDelay: ExactQuantiles,
  floor?: ExactQuantiles,
): Comparison[] {
  assert.ok(api, `${label}: no total latency in the API answer`);
  return (["p50", "p90", "p99"] as const).map((q) =>
    compareQuantile(
      `${label} ${q}`,
      api[q],
      gen[q],
      floor?.[q] ?? gen[q] - loopDelay[q],
      q !== "p50" && (loopDelay.p99 >= QUIET_LATE_MS || busyMachine()),
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
        `${c.what}: generator ${c.generator.toFixed(3)} ms, Portico ${c.portico.toFixed(3)} ms (${(c.error * 100).toFixed(2)}%; allowed ${c.lo.toFixed(3)}..${c.hi.toFixed(3)}${c.oneSided ? ", lower bound not held: loaded machine" : ""})`,
    )
    .join("\n");
}
