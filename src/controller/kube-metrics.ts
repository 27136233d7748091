// kube-metrics.ts: the series only `portico controller` has — leadership, status writes to the
// API, and what it did to engine workloads — appended after the engine's exposition and the
// controller series standalone has too (metrics.ts: reloads, IPAM, listener bind state).
import { Counter, Gauge } from "../engine/prom.ts";
import type { EngineActions } from "./kube-engines.ts";

/** KubeSeries is what the cluster controller reports besides the shared controller series. */
export interface KubeSeries {
  leading: boolean;
  /** term is the leader term (the engine link's epoch); undefined while not leading. */
  term: number | undefined;
  statusWrites: number;
  statusWriteFailures: number;
  engines: Readonly<EngineActions>;
}

/** renderKubeSeries renders s as exposition text. */
export function renderKubeSeries(s: KubeSeries): string {
  const one = <T extends Counter>(f: T, v: number) => (f.set([], v), f);
  const actions = new Counter(
    "portico_engine_workload_changes_total",
    "Engine Deployments/DaemonSets created, updated, scaled or deleted by this replica.",
    ["action"],
  );
  for (const a of ["create", "update", "scale", "delete"] as const) actions.set([a], s.engines[a]);
  const families = [
    one(
      new Gauge("portico_controller_leader", "1 while this replica holds the Lease, else 0.", []),
      s.leading ? 1 : 0,
    ),
    one(
      new Gauge(
        "portico_controller_term",
        "Leader term this replica leads in (the engine link's epoch); 0 when not leading.",
        [],
      ),
      s.term ?? 0,
    ),
    one(
      new Counter("portico_controller_status_writes_total", "Status updates written to the API.", []),
      s.statusWrites,
    ),
    one(
      new Counter(
        "portico_controller_status_write_failures_total",
        "Status, finalizer or Event writes that failed (retried on a fresh view).",
        [],
      ),
      s.statusWriteFailures,
    ),
    actions,
    one(
      new Counter(
        "portico_engine_workload_failures_total",
        "Engine workload reconciliations that failed (retried).",
        [],
      ),
      s.engines.failures,
    ),
  ];
  const out: string[] = [];
  for (const f of families) f.render(out);
  return out.join("\n") + "\n";
}
