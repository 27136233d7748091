// kube-fleet.ts: what the leader tells the cluster about its engines, from the FleetView: each
// EngineGroup's status.engines, replicas, readyReplicas and sizing (written at most every
// STATUS_EVERY_MS and only when something besides the verdict's time changed; the translation's
// fields of the same status are left to the pipeline's writer, which keeps these in turn), and the
// replica count of an autoscaled group (autoscale.ts decideReplicas over the group's load,
// remembering when each group last scaled up or down).
import type { Calibration, EngineGroupStatus, EngineStatusEntry } from "../k8s/engine-group.ts";
import { decideReplicas, SCALE_DOWN_STABLE_MS, type ReplicaDecision } from "./fleet/autoscale.ts";
import { groupPoints, loadSummary, sizeGroup, sizingStatus, type SizingEngine } from "./fleet/sizing.ts";
import type { EngineView, FleetView } from "./fleet/view.ts";
import type { EngineGroupRef } from "./kube-engine-workload.ts";
import type { StatusWriter } from "./kube-status.ts";
import type { Logger } from "./log.ts";

/** STATUS_EVERY_MS is the shortest interval between two fleet status writes of one group. */
export const STATUS_EVERY_MS = 10_000;

/** FleetStatus is the part of an EngineGroup's status the fleet owns. */
export type FleetStatus = Pick<EngineGroupStatus, "engines" | "replicas" | "readyReplicas" | "sizing">;

/** groupEngines are the remote engines of group connected now (the controller's own engine is not one). */
export function groupEngines(view: FleetView, group: string): EngineView[] {
  return view.engines.filter((e) => !e.local && e.connected && e.identity.group === group);
}

const sizingEngines = (engines: readonly EngineView[]): SizingEngine[] =>
  engines.map((e) => ({ name: e.identity.name, vcpu: e.identity.vcpu, history: e.history }));

/** fleetStatus is group's fleet fields as of view. */
export function fleetStatus(
  view: FleetView,
  group: string,
  cal: Calibration | undefined,
  now: number,
): FleetStatus {
  const engines = groupEngines(view, group);
  const entries = engines.map((e): EngineStatusEntry => {
    const id = e.identity;
    return {
      name: id.name,
      node: id.node,
      ...(id.zone ? { zone: id.zone } : {}),
      version: id.version,
      ...(e.acked ? { ackedVersion: e.acked.version } : {}),
      ready: e.ready,
      ...(e.load ? { load: loadSummary(e.load, id.vcpu, cal) } : {}),
      ...(e.lastNack ? { lastNack: e.lastNack.error } : {}),
    };
  });
  return {
    engines: entries,
    replicas: engines.length,
    readyReplicas: engines.filter((e) => e.ready).length,
    sizing: sizingStatus(sizeGroup(group, sizingEngines(engines), cal, { now }), now),
  };
}

/** GroupObject is an EngineGroup as the fleet status needs it. */
export interface GroupObject {
  name: string;
  capacity?: Calibration;
}

/** FleetStatusWriter writes the fleet's part of every EngineGroup's status while this replica leads. */
export class FleetStatusWriter {
  readonly #writer: StatusWriter;
  readonly #log: Logger;
  /** #written is, per group, what was last written (the verdict's time aside). */
  #written = new Map<string, string>();
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #gen = 0;

  /** constructor takes the status writer (one path for every status write) and a logger. */
  constructor(writer: StatusWriter, log: Logger) {
    this.#writer = writer;
    this.#log = log;
  }

  /** start writes now and every STATUS_EVERY_MS until stop. */
  start(view: () => FleetView, groups: () => GroupObject[], everyMs = STATUS_EVERY_MS): void {
    clearTimeout(this.#timer);
    // A loop of an earlier term still finishing a write sees another generation and stops there.
    const gen = ++this.#gen;
    const run = () => {
      this.#running = this.#write(view(), groups()).finally(() => {
        this.#running = undefined;
        if (gen === this.#gen) this.#timer = setTimeout(run, everyMs).unref();
      });
    };
    run();
  }

  /** stop ends the writes (another replica leads); resolves when a write in flight ended. */
  async stop(): Promise<void> {
    this.#gen++;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#written.clear();
    await this.#running;
  }

  async #write(view: FleetView, groups: GroupObject[]): Promise<void> {
    const now = Date.now();
    for (const g of groups) {
      const next = fleetStatus(view, g.name, g.capacity, now);
      const key = JSON.stringify({ ...next, sizing: { ...next.sizing, at: undefined } });
      if (this.#written.get(g.name) === key) continue;
      try {
        await this.#writer.writeRaw("EngineGroup", undefined, g.name, (st) => ({ ...st, ...next }));
        this.#written.set(g.name, key);
      } catch (e) {
        this.#log("warn", "engine group status not written; trying again at the next round", {
          group: g.name,
          error: String(e),
        });
      }
    }
  }
}

/** Autoscaler decides autoscaled groups' replica counts, remembering each group's last scalings. */
export class Autoscaler {
  #last = new Map<string, { up?: number; down?: number }>();

  /** decide answers for g (undefined when g is not autoscaled) given the workload's current count. */
  decide(
    g: EngineGroupRef,
    current: number | undefined,
    view: FleetView,
    cal: Calibration | undefined,
    now = Date.now(),
  ): ReplicaDecision | undefined {
    const a = g.spec.autoscaling;
    if (!a) return undefined;
    const engines = groupEngines(view, g.name);
    const history = groupPoints(sizingEngines(engines), cal, now - SCALE_DOWN_STABLE_MS - 60_000);
    const last = this.#last.get(g.name) ?? {};
    const d = decideReplicas({
      current: current ?? a.minReplicas,
      min: a.minReplicas,
      max: a.maxReplicas,
      targetUtilization: a.targetUtilization ?? 70,
      history,
      now,
      ...(last.up !== undefined ? { lastScaleUp: last.up } : {}),
      ...(last.down !== undefined ? { lastScaleDown: last.down } : {}),
    });
    if (current !== undefined && d.replicas > current) this.#last.set(g.name, { ...last, up: now });
    if (current !== undefined && d.replicas < current) this.#last.set(g.name, { ...last, down: now });
    return d;
  }
}
