// fan-out.ts: one AnalyticsSink over several — the controller's analytics pipe has one end
// (Controller.setAnalytics, feedAnalytics), and both the time series (store.ts) and the request
// log (log-store.ts) consume every batch.
import type { AnalyticsBatch, AnalyticsSink } from "./types.ts";

/** fanOut hands each batch to every sink in order; one that throws does not starve the others (its error is rethrown after). */
export function fanOut(...sinks: AnalyticsSink[]): AnalyticsSink {
  return {
    ingest(batch: AnalyticsBatch): void {
      let first: unknown;
      let failed = false;
      for (const s of sinks) {
        try {
          s.ingest(batch);
        } catch (err) {
          if (!failed) first = err;
          failed = true;
        }
      }
      if (failed) throw first;
    },
  };
}
