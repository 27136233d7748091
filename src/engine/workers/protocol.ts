// protocol.ts: the IPC messages between a WorkerGroup (the controller's process) and its engine
// worker processes. Snapshots travel as plain JSON-able objects (the IR has no classes).
import type { EngineSnapshot } from "../../model/ir.ts";
import type { ApplyResult, EngineStatus } from "../engine.ts";
import type { ListenerStatus } from "../listeners.ts";
import type { EngineLoad } from "../../link/protocol.ts";
import type { AnalyticsBatch } from "../../analytics/types.ts";

/** ToWorker is what the group sends a worker. */
export type ToWorker =
  | { type: "apply"; id: number; snapshot: EngineSnapshot }
  | { type: "close" }
  /** drain closes the worker's listeners, waits up to deadlineMs for its connections, then exits. */
  | { type: "drain"; deadlineMs: number }
  /** cut ends the worker's analytics interval now and ships every batch it holds, then "shipped". */
  | { type: "cut" };

/** FromWorker is what a worker sends back. */
export type FromWorker =
  | { type: "ready" }
  | { type: "applied"; id: number; result: ApplyResult; status: EngineStatus }
  /** status is pushed when a listener's bind state changes (bound, first failure, other error, closed). */
  | { type: "status"; status: EngineStatus }
  /**
   * metrics carries the worker's rendered Prometheus text, pushed periodically, and, while a
   * listener fails to bind, the listeners (their attempt counts move on every retry). load is the
   * worker's load since its previous push (engine/load.ts); the group combines the workers'.
   * analytics is the worker's AnalyticsBatch since its previous push (analytics/collector.ts),
   * absent when analytics are off or nothing happened; the group merges the workers' batches.
   */
  | {
      type: "metrics";
      text: string;
      listeners?: ListenerStatus[];
      load?: EngineLoad;
      analytics?: AnalyticsBatch;
    }
  /** drained: the worker's connections all ended (ok) or the deadline came first; it exits next. */
  | { type: "drained"; ok: boolean }
  /** shipped answers "cut": the batches it held went before it (the channel is ordered). */
  | { type: "shipped" };

/** METRICS_PUSH_MS is how often workers push their metrics; /metrics is at most this stale. */
export const METRICS_PUSH_MS = 1000;
