// analytics-feed.ts: the controller's end of the analytics pipe. An engine behind another thread
// or a link pushes its batches (EnginePort.onAnalytics: RemoteEngine, FleetPort); an engine in this
// very process (`portico controller`'s local engine) is asked for its batch once a second instead,
// as the engine thread's heartbeat asks it in `portico run`. Either way fn gets each batch once.
import type { AnalyticsBatch } from "../analytics/types.ts";
import type { EnginePort } from "./standalone.ts";

/** ANALYTICS_POLL_MS is how often an in-process engine is asked for its batch (its report cadence elsewhere). */
export const ANALYTICS_POLL_MS = 1_000;

/** feedAnalytics hands every batch engine ships to fn; returns a function that stops polling (a push cannot be taken back). */
export function feedAnalytics(engine: EnginePort, fn: (batch: AnalyticsBatch) => void): () => void {
  if (engine.onAnalytics) {
    engine.onAnalytics(fn);
    return () => {};
  }
  if (!engine.analytics) return () => {};
  const timer = setInterval(() => {
    const b = engine.analytics!();
    if (b !== undefined) fn(b);
  }, ANALYTICS_POLL_MS).unref();
  return () => clearInterval(timer);
}
