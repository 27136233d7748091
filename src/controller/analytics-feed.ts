// analytics-feed.ts: the controller's end of the analytics pipe. An engine behind another thread
// or a link pushes its batches (EnginePort.onAnalytics: RemoteEngine, FleetPort); an engine in this
// very process (`portico controller`'s local engine) is asked for its batch once a second instead,
// as the engine thread's heartbeat asks it in `portico run`. Either way fn gets each batch once.
import type { AnalyticsBatch, AnalyticsSink } from "../analytics/types.ts";
import type { Logger } from "./log.ts";
import type { EnginePort } from "./standalone.ts";

/** ANALYTICS_POLL_MS is how often an in-process engine is asked for its batch (its report cadence elsewhere). */
export const ANALYTICS_POLL_MS = 1_000;

/**
 * feedAnalytics hands every batch engine ships to sink (the analytics store); returns a function
 * that stops polling (a push cannot be taken back). A sink that throws loses that batch only,
 * logged once per distinct error: traffic figures must never stop the controller.
 */
export function feedAnalytics(engine: EnginePort, sink: AnalyticsSink, log: Logger): () => void {
  let said = "";
  const fn = (batch: AnalyticsBatch) => {
    try {
      sink.ingest(batch);
    } catch (err) {
      const error = (err as Error)?.message ?? String(err);
      if (error !== said) log("error", "analytics batch not stored", { engine: batch.engine, error });
      said = error;
    }
  };
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
