// summary.ts: the rows of GET /api/v1/analytics/services — a virtual service's figures over a
// window with its Apdex and health score. The store knows traffic; what it does not (the latency
// target of the serving snapshot, which backends are down, how busy the engines are) comes from
// an AnalyticsContext the controller fills.
import { serviceHealth } from "./health.ts";
import { quantilesOf } from "./series.ts";
import type { AnalyticsStore } from "./store.ts";
import { WINDOW_MS } from "./resolutions.ts";
import {
  DEFAULT_LATENCY_TARGET_MS,
  SLOW_FACTOR,
  type Quantiles,
  type ServiceSummary,
  type TimingPart,
  type Window,
} from "./types.ts";
import type { Sketch } from "./sketch.ts";

/** AnalyticsContext is what the controller knows beside traffic; every answer may be unknown. */
export interface AnalyticsContext {
  /** targetMs is a service's latency target (the snapshot's AnalyticsSettings.targetsMs), if set. */
  targetMs(vs: string): number | undefined;
  /** backends counts a service's backends and how many are down now. */
  backends(vs: string): { down: number; total: number } | undefined;
  /** saturation is the busiest of these engines' event-loop utilisation (0..1), when known. */
  saturation(engines: string[]): number | undefined;
}

/** NO_CONTEXT knows nothing beyond traffic (tests, a controller without a snapshot yet). */
export const NO_CONTEXT: AnalyticsContext = {
  targetMs: () => undefined,
  backends: () => undefined,
  saturation: () => undefined,
};

/** apdex is (satisfied + tolerating / 2) / samples of a total-latency sketch against targetMs; 1 when empty. */
export function apdex(total: Sketch | undefined, targetMs: number): number {
  if (!total || total.count === 0) return 1;
  const satisfied = total.countBelow(targetMs);
  const tolerating = total.countBelow(SLOW_FACTOR * targetMs) - satisfied;
  return (satisfied + tolerating / 2) / total.count;
}

/** summarize answers one virtual service's row over the window; undefined when the store has none. */
export function summarize(
  store: AnalyticsStore,
  vs: string,
  window: Window,
  ctx: AnalyticsContext,
): ServiceSummary | undefined {
  const w = store.window(vs, window);
  if (!w) return undefined;
  const errors = (w.classes["5xx"] ?? 0) + (w.classes["none"] ?? 0);
  const targetMs = ctx.targetMs(vs) ?? DEFAULT_LATENCY_TARGET_MS;
  const score = apdex(w.latency.total, targetMs);
  const latency: Partial<Record<TimingPart, Quantiles>> = {};
  for (const [part, s] of Object.entries(w.latency) as [TimingPart, Sketch][])
    if (s.count > 0) latency[part] = quantilesOf(s);
  const backends = ctx.backends(vs);
  const saturation = ctx.saturation(w.engines);
  const health = serviceHealth({
    requests: w.requests,
    errors,
    apdex: score,
    targetMs,
    backendsDown: backends?.down ?? 0,
    backendsTotal: backends?.total ?? 0,
    ...(saturation !== undefined ? { saturation } : {}),
    // The batches do not tell WAF blocks from other refusals yet; the WAF helper's figures join here.
    attacks: 0,
  });
  return {
    vs,
    kind: w.kind,
    listener: w.listener,
    ...(w.vhost !== undefined ? { vhost: w.vhost } : {}),
    engines: w.engines,
    requests: w.requests,
    requestsPerSecond: w.requests / (WINDOW_MS[window] / 1000),
    errorRate: w.requests > 0 ? errors / w.requests : 0,
    bytesIn: w.bytesIn,
    bytesOut: w.bytesOut,
    connOpen: w.connOpen,
    latency,
    apdex: score,
    targetMs,
    health,
    spark: w.spark,
  };
}

/** summarizeAll answers every service's row, busiest first. */
export function summarizeAll(store: AnalyticsStore, window: Window, ctx: AnalyticsContext): ServiceSummary[] {
  const rows: ServiceSummary[] = [];
  for (const vs of store.services()) {
    const row = summarize(store, vs, window, ctx);
    if (row) rows.push(row);
  }
  return rows.sort((a, b) => b.requests - a.requests || (a.vs < b.vs ? -1 : 1));
}
