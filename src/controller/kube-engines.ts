// kube-engines.ts: the engine workloads of a cluster. While this replica leads, it keeps one
// Deployment (or DaemonSet) per EngineGroup — plus the implicit default group when asked — in the
// engine namespace, as kube-engine-workload.ts describes it: created when missing, updated when the
// desired object's hash changes, scaled when only the replica count does, and deleted when its
// group goes. The ownerReference lets the garbage collector remove a workload too, but deletion is
// explicit here: a controller that waits for the collector is slow to converge and wrong where none
// runs. Every create, update, scale and delete is an Event on the EngineGroup.
import type { AnyObject } from "../k8s/types.ts";
import { DEFAULT_ENGINE_GROUP, type EngineGroupSpec } from "../k8s/engine-group.ts";
import { KubeApiError, type KubeClient } from "../sources/kube/client.ts";
import type { Resource } from "../sources/kube/kinds.ts";
import { Reflector } from "../sources/kube/reflector.ts";
import type { EventRecorder, EventSpec } from "./kube-events.ts";
import {
  desiredReplicas,
  ENGINE_APP,
  engineWorkload,
  GROUP_LABEL,
  HASH_ANNOTATION,
  LINK_SECRET,
  type EngineGroupRef,
  type Workload,
  workloadName,
  type WorkloadOptions,
  workloadProblem,
} from "./kube-engine-workload.ts";
import type { Logger } from "./log.ts";

/** ENGINE_GROUPS is the EngineGroup resource (cluster-scoped; skipped while its CRD is absent). */
export const ENGINE_GROUPS: Resource = {
  kind: "EngineGroup",
  group: "portico.dev",
  version: "v1alpha1",
  plural: "enginegroups",
  namespaced: false,
  optional: true,
};

/** KubeEnginesOptions configure the reconciler; the workload settings come from WorkloadOptions. */
export interface KubeEnginesOptions extends WorkloadOptions {
  client: KubeClient;
  log: Logger;
  events: EventRecorder;
  /** defaultGroup runs engines for the implicit `default` group when no EngineGroup of that name exists. */
  defaultGroup: boolean;
  /** desiredReplicas answers, for an autoscaled group whose workload runs current engines, how many
   * it needs and why (the why is the Scaled Event's note; default: minReplicas). */
  desiredReplicas?: (g: EngineGroupRef, current: number | undefined) => ScaleDecision | undefined;
  /** linkSecret gives the data of the Secret portico-engine-link, created when missing (absent or
   * undefined: not created). */
  linkSecret?: () => Record<string, string> | undefined;
  /** resyncMs: how often every workload is compared again even without a change (default 30 s). */
  resyncMs?: number;
}

/** ScaleDecision is a replica count and the sentence saying why. */
export interface ScaleDecision {
  replicas: number;
  reason: string;
}

/** EngineActions counts what the reconciler did (metrics, tests). */
export interface EngineActions {
  passes: number;
  create: number;
  update: number;
  scale: number;
  delete: number;
  failures: number;
}

const APPS = "/apis/apps/v1";
const PLURAL = { Deployment: "deployments", DaemonSet: "daemonsets" } as const;
type Kind = keyof typeof PLURAL;

/** KubeEngines keeps the engine workloads in line with the EngineGroups. */
export class KubeEngines {
  readonly #o: KubeEnginesOptions;
  readonly #groups: Reflector;
  readonly #done: EngineActions = { passes: 0, create: 0, update: 0, scale: 0, delete: 0, failures: 0 };
  #running: Promise<void> | undefined;
  #again = false;
  #closed = false;
  #timer: NodeJS.Timeout | undefined;

  /** constructor builds the EngineGroup watch; nothing is contacted before start. */
  constructor(o: KubeEnginesOptions) {
    this.#o = o;
    this.#groups = new Reflector({
      client: o.client,
      resource: ENGINE_GROUPS,
      namespace: "",
      log: o.log,
      onChange: () => this.notify(),
    });
  }

  /** start lists the EngineGroups and runs a first pass; resolves when that pass ended. */
  async start(): Promise<void> {
    await this.#groups.start();
    this.notify();
    await this.#running;
  }

  /** notify asks for a pass soon (a group changed, or the replica hook's answer did). */
  notify(): void {
    if (this.#closed) return;
    if (this.#running) {
      this.#again = true;
      return;
    }
    this.#running = this.#loop();
  }

  /** actions is what the reconciler did so far. */
  actions(): Readonly<EngineActions> {
    return this.#done;
  }

  /** close stops watching and waits for a pass in flight; the workloads stay as they are. */
  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#groups.close();
    await this.#running;
  }

  async #loop(): Promise<void> {
    do {
      this.#again = false;
      clearTimeout(this.#timer);
      try {
        await this.#pass();
      } catch (e) {
        this.#done.failures++;
        this.#o.log("warn", "engine workloads: pass failed; retrying at the next resync", {
          error: String(e),
        });
      }
      this.#done.passes++;
    } while (this.#again && !this.#closed);
    this.#running = undefined;
    if (!this.#closed) this.#timer = setTimeout(() => this.notify(), this.#o.resyncMs ?? 30_000).unref();
  }

  /** groups are the EngineGroups that want engines, the implicit default included when asked. */
  groups(): EngineGroupRef[] {
    const out: EngineGroupRef[] = [];
    for (const obj of this.#groups.objects()) {
      // A group being deleted (foreground deletion) loses its engines now.
      if (obj.metadata.deletionTimestamp) continue;
      out.push({
        name: obj.metadata.name,
        ...(obj.metadata.uid ? { uid: obj.metadata.uid } : {}),
        spec: ((obj as { spec?: EngineGroupSpec }).spec ?? {}) as EngineGroupSpec,
      });
    }
    if (this.#o.defaultGroup && !out.some((g) => g.name === DEFAULT_ENGINE_GROUP))
      out.push({ name: DEFAULT_ENGINE_GROUP, spec: {} });
    return out.sort((a, b) => a.name.localeCompare(b.name));
  }

  async #pass(): Promise<void> {
    const groups = this.groups();
    if (groups.length > 0) await this.#ensureSecret();
    const existing = await this.#list();
    const wanted = new Set<string>();
    // A group whose spec cannot be run, or whose write failed, keeps the engines it has (the last
    // good workload serves on), including one of the kind it is switching away from.
    const keep = new Set<string>();
    for (const g of groups) {
      // Closed: this replica no longer leads; another one writes from now on.
      if (this.#closed) return;
      const problem = workloadProblem(g);
      if (problem) {
        keep.add(g.name);
        this.#o.log("warn", "engine group not run as asked; its engines stay as they are", {
          group: g.name,
          problem,
        });
        await this.#event(g, "Warning", "EngineWorkloadFailed", `${problem}; the engines stay as they are`);
        continue;
      }
      const kind = g.spec.workload ?? "Deployment";
      const cur = existing.find((o) => o.kind === kind && o.metadata.name === workloadName(g.name));
      const decision = this.#o.desiredReplicas?.(
        g,
        (cur as { spec?: { replicas?: number } })?.spec?.replicas,
      );
      const w = engineWorkload(
        g,
        desiredReplicas(g, () => decision?.replicas),
        this.#o,
      );
      wanted.add(`${w.kind}/${w.name}`);
      try {
        await this.#converge(g, w, existing, decision?.reason);
      } catch (e) {
        keep.add(g.name);
        this.#done.failures++;
        this.#o.log("warn", "engine workload not reconciled", {
          group: g.name,
          workload: `${w.kind}/${w.name}`,
          error: String(e),
        });
        await this.#event(g, "Warning", "EngineWorkloadFailed", `${w.kind} ${w.name}: ${String(e)}`);
      }
    }
    for (const obj of existing) {
      if (this.#closed) return;
      const group = obj.metadata.labels?.[GROUP_LABEL] ?? "";
      if (wanted.has(`${obj.kind}/${obj.metadata.name}`) || keep.has(group)) continue;
      const owner = obj.metadata.ownerReferences?.find((r) => r.kind === "EngineGroup");
      const g: EngineGroupRef = { name: group, ...(owner?.uid ? { uid: owner.uid } : {}), spec: {} };
      const switched = groups.some((x) => x.name === group);
      await this.#delete(g, obj, switched ? "the group now runs as another kind" : "its group is gone");
    }
  }

  /** #converge creates, updates or scales one group's workload. */
  async #converge(g: EngineGroupRef, w: Workload, existing: AnyObject[], why?: string): Promise<void> {
    const cur = existing.find((o) => o.kind === w.kind && o.metadata.name === w.name);
    const path = `${APPS}/namespaces/${this.#o.namespace}/${PLURAL[w.kind]}`;
    if (!cur) {
      await this.#o.client.request("POST", path, w.object);
      this.#done.create++;
      const size = w.replicas === undefined ? "one engine per eligible node" : `${w.replicas} engine(s)`;
      await this.#event(g, "Normal", "EngineWorkloadCreated", `Created ${w.kind} ${w.name} with ${size}`);
      return;
    }
    const curReplicas = (cur as { spec?: { replicas?: number } }).spec?.replicas;
    if (cur.metadata.annotations?.[HASH_ANNOTATION] !== w.hash) {
      // Start from the served object: uid, resourceVersion and status stay; the spec is ours, and
      // the API server defaults what we leave out exactly as it did at creation.
      const meta = cur.metadata;
      const next = {
        ...cur,
        metadata: {
          ...meta,
          labels: { ...meta.labels, ...w.object.metadata.labels },
          annotations: { ...meta.annotations, ...w.object.metadata.annotations },
          ...(w.object.metadata.ownerReferences
            ? { ownerReferences: w.object.metadata.ownerReferences }
            : {}),
        },
        spec: w.object.spec,
      };
      await this.#o.client.request("PUT", `${path}/${encodeURIComponent(w.name)}`, next);
      this.#done.update++;
      await this.#event(
        g,
        "Normal",
        "EngineWorkloadUpdated",
        `Updated ${w.kind} ${w.name} (spec ${w.hash}); engines roll one at a time`,
      );
      return;
    }
    if (w.replicas !== undefined && curReplicas !== w.replicas) {
      await this.#o.client.request(
        "PATCH",
        `${path}/${encodeURIComponent(w.name)}`,
        { spec: { replicas: w.replicas } },
        "application/merge-patch+json",
      );
      this.#done.scale++;
      await this.#event(
        g,
        "Normal",
        "EngineWorkloadScaled",
        // The autoscaler's sentence says from, to and why; a fixed count needs only from and to.
        why
          ? `${w.kind} ${w.name}: ${why}`
          : `Scaled ${w.kind} ${w.name} from ${curReplicas ?? "?"} to ${w.replicas} engine(s)`,
      );
    }
  }

  async #delete(g: EngineGroupRef, obj: AnyObject, why: string): Promise<void> {
    const kind = obj.kind as Kind;
    const path = `${APPS}/namespaces/${this.#o.namespace}/${PLURAL[kind]}/${encodeURIComponent(obj.metadata.name)}`;
    try {
      // Background: the API answers at once and the collector removes ReplicaSets and pods after.
      await this.#o.client.request("DELETE", `${path}?propagationPolicy=Background`);
    } catch (e) {
      if (e instanceof KubeApiError && e.status === 404) return;
      this.#done.failures++;
      this.#o.log("warn", "engine workload not deleted", {
        workload: `${kind}/${obj.metadata.name}`,
        error: String(e),
      });
      return;
    }
    this.#done.delete++;
    await this.#event(g, "Normal", "EngineWorkloadDeleted", `Deleted ${kind} ${obj.metadata.name}: ${why}`);
  }

  /** #list reads the engine workloads in the namespace (both kinds), by their app label. */
  async #list(): Promise<AnyObject[]> {
    const q = `?labelSelector=${encodeURIComponent(`app.kubernetes.io/name=${ENGINE_APP}`)}`;
    const out: AnyObject[] = [];
    for (const kind of Object.keys(PLURAL) as Kind[]) {
      const list = await this.#o.client.request<{ items: AnyObject[] }>(
        "GET",
        `${APPS}/namespaces/${this.#o.namespace}/${PLURAL[kind]}${q}`,
      );
      // Lists omit each item's kind.
      for (const item of list.items) out.push({ ...item, apiVersion: "apps/v1", kind });
    }
    return out;
  }

  /** #ensureSecret creates the link Secret when missing; an existing one is the link's to rotate, not ours. */
  async #ensureSecret(): Promise<void> {
    const make = this.#o.linkSecret;
    if (!make) return;
    const path = `/api/v1/namespaces/${this.#o.namespace}/secrets`;
    try {
      await this.#o.client.request("GET", `${path}/${LINK_SECRET}`);
      return;
    } catch (e) {
      if (!(e instanceof KubeApiError && e.status === 404)) throw e;
    }
    const made = make();
    if (made === undefined) return;
    const data: Record<string, string> = {};
    for (const [k, v] of Object.entries(made)) data[k] = Buffer.from(v).toString("base64");
    await this.#o.client.request("POST", path, {
      apiVersion: "v1",
      kind: "Secret",
      metadata: {
        name: LINK_SECRET,
        namespace: this.#o.namespace,
        labels: { "app.kubernetes.io/name": "portico" },
      },
      type: "Opaque",
      data,
    });
    // The keys only, never the values.
    this.#o.log("info", "engine link Secret created", {
      secret: `${this.#o.namespace}/${LINK_SECRET}`,
      keys: Object.keys(data),
    });
  }

  async #event(g: EngineGroupRef, type: EventSpec["type"], reason: string, note: string): Promise<void> {
    const e: EventSpec = {
      regarding: {
        apiVersion: "portico.dev/v1alpha1",
        kind: "EngineGroup",
        name: g.name,
        ...(g.uid ? { uid: g.uid } : {}),
      },
      type,
      reason,
      action: "ReconcileEngines",
      note,
    };
    // An action taken is not a state repeated: the same words twice (created, deleted, created
    // again) are two Events. Only a failure repeating itself at every resync is said once.
    if (type === "Normal") this.#o.events.forget("EngineGroup", undefined, g.name, ["EngineWorkloadFailed"]);
    await this.#o.events.record(e);
  }
}
