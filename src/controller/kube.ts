// kube.ts: `portico controller` — the cluster runner. While it holds the Lease it watches the API
// (kube source), runs the pure pipeline on every ResourceSet, applies the snapshot to its engine,
// then writes back: finalizers first (so no Service shows an address Portico could lose track of),
// statuses, then Events. Allocations start from what Services' status already shows. While it
// leads it also keeps the engine workloads (kube-engines.ts); every replica answers the admin API
// (AdminView: /healthz, /readyz, /metrics, the CLI routes), the standby with what it knows.
import type { DnsSerials } from "../translate/dns.ts";
import { leftovers, serviceLeftoverEdit, writtenAddresses } from "./kube-leftovers.ts";
import type { ResourceSet } from "../k8s/resource-set.ts";
import type { AnyObject } from "../k8s/types.ts";
import type { AllocationState } from "../ipam/types.ts";
import type { EngineSnapshot } from "../model/ir.ts";
import type { ListenerStatus } from "../engine/listeners.ts";
import type { KubeClient } from "../sources/kube/client.ts";
import { KubeSource } from "../sources/kube/source.ts";
import type { TenantMemory, TranslateOptions } from "../translate/types.ts";
import { buildSnapshot, withTenants, type PipelineOutput } from "./pipeline.ts";
import { RecheckTimer } from "./recheck.ts";
import { nextCertificateChange } from "../translate/certificates.ts";
import {
  applyBindState,
  failingListeners,
  gatewayListenerSpecs,
  listenersCheck,
  objectAddresses,
} from "./bind-status.ts";
import { hostname } from "node:os";
import { applyAnnounceState } from "./announce-status.ts";
import type { VipAnnouncementView } from "./fleet/announce-view.ts";
import { soleEngineAnnouncements, soleEngineSnapshot } from "./fleet/sole-engine.ts";
import { snapshotChanges, summarize } from "./change-log.ts";
import type { LastValid } from "./hold.ts";
import {
  announceEvents,
  EventRecorder,
  ingressEvents,
  tenantEvents,
  POLICY_KINDS,
  policyEvents,
  vipEvent,
} from "./kube-events.ts";
import { hasFinalizer, setFinalizer } from "./kube-finalizer.ts";
import { KubeEngines, type EngineActions, type KubeEnginesOptions } from "./kube-engines.ts";
import { LeaderElector, type LeaseTiming } from "./kube-lease.ts";
import { renderKubeSeries } from "./kube-metrics.ts";
import { ControllerMetrics } from "./metrics.ts";
import type { AdminView } from "../api/admin.ts";
import type { Inspection } from "./views.ts";
import { recoverAllocations } from "./kube-recover.ts";
import { StatusWriter } from "./kube-status.ts";
import type { Logger } from "./log.ts";
import type { Hub } from "./fleet/hub.ts";
import type { FleetPort } from "./fleet/fleet-port.ts";
import type { FleetView } from "./fleet/view.ts";
import { KubeLink } from "./kube-link.ts";
import { Autoscaler, FleetStatusWriter, type GroupObject } from "./kube-fleet.ts";
import { groupSettings } from "./fleet/group-settings.ts";
import type { Calibration } from "../k8s/engine-group.ts";
import { Persister } from "./persist.ts";
import { KubeAcme } from "./kube-acme.ts";
import type { FullLogs } from "../analytics/full-logs.ts";
import type { AllocationStore, EnginePort, HealthCheck, Rejection } from "./standalone.ts";

/** KubeControllerOptions configure the cluster runner. */
export interface KubeControllerOptions {
  client: KubeClient;
  /** namespaces limits namespaced kinds; empty means all. */
  namespaces: readonly string[];
  /** identity names this replica in the Lease and in Events. */
  identity: string;
  /** lease names the Lease to campaign for; absent: lead at once (a single replica). */
  lease?: { namespace: string; name: string; timing?: LeaseTiming };
  engine: EnginePort;
  translate: TranslateOptions;
  log: Logger;
  /** store keeps allocations locally too; status in the cluster wins over it. */
  store?: AllocationStore;
  /** fullLogs are the full-log switches each snapshot carries; a change pushes one (analytics/full-logs.ts). */
  fullLogs?: FullLogs;
  holdOffMs?: number;
  maxDelayMs?: number;
  watchTimeoutSeconds?: number;
  /** engines, when set, makes the leader keep one engine workload per EngineGroup (kube-engines.ts). */
  engines?: Omit<KubeEnginesOptions, "client" | "log" | "events">;
  /**
   * link, when set, opens the engine port while this replica leads (kube-link.ts) with the term as
   * the epoch; engine is then fleet, the FleetPort over that hub. The leader also writes each
   * EngineGroup's engines and sizing, decides autoscaled groups' replicas, and keeps the Secret
   * portico-engine-link the engine pods mount.
   */
  link?: {
    hub: Hub;
    fleet: FleetPort;
    listen: { host: string; port: number };
    /** namespace holds the Secret (the engine namespace). */
    namespace: string;
    statusEveryMs?: number;
  };
}

const key = (o: { kind: string; namespace?: string; name: string }) =>
  `${o.kind}/${o.namespace ?? ""}/${o.name}`;
const keyOfObj = (o: AnyObject) => `${o.kind}/${o.metadata.namespace ?? ""}/${o.metadata.name}`;

/** addActions sums two counts of engine workload actions. */
function addActions(a: EngineActions, b: Readonly<EngineActions>): EngineActions {
  const out = { ...a };
  for (const k of Object.keys(out) as (keyof EngineActions)[]) out[k] += b[k];
  return out;
}

/** emptySnapshot serves nothing (a replica that lost the Lease must stop answering on the VIPs). */
function emptySnapshot(version: number): EngineSnapshot {
  return { version, l4: [], http: [], pools: {}, certificates: {} };
}

/** KubeController runs the pipeline against a cluster while it leads. */
/**
 * unelectedTerm is the engine link's epoch of a controller that leads without a Lease: the start
 * time in ms, so a restarted controller outranks its previous run on the engines (a constant 1
 * made them NACK its snapshots as stale until its seq passed the old run's). A wall clock stepped
 * back past the previous start makes engines refuse it: they say so, and a restart of them mends it.
 */
export function unelectedTerm(now = Date.now()): number {
  return now;
}

export class KubeController implements AdminView {
  /** dnsSerials are each DnsZone's content hash and SOA serial as served (dns.ts). */
  #dnsSerials: DnsSerials = new Map();
  /** written are the addresses this process wrote in status (kube-leftovers.ts recognises them). */
  #written = new Set<string>();
  readonly #o: KubeControllerOptions;
  readonly #status: StatusWriter;
  readonly #events: EventRecorder;
  readonly #elector: LeaderElector | undefined;
  #source: KubeSource | undefined;
  #allocations: AllocationState = {};
  #lastValid: LastValid = new Map();
  /** #tenantsBefore is what the last applied build's tenant rules admitted: the next build's incumbents. */
  #tenantsBefore: TenantMemory | undefined;
  #recovered = false;
  #version = 0;
  #pending: ResourceSet | undefined;
  #running: Promise<void> | undefined;
  #retry: NodeJS.Timeout | undefined;
  /** #recheck rebuilds when a certificate's state is next due to change (expires, enters its last 14 days). */
  readonly #recheck = new RecheckTimer(() => this.#resync());
  #leading = false;
  /** #unelectedTerm is the epoch without leader election (--no-leader-elect): fixed per process. */
  readonly #unelectedTerm: number;
  #last: { set: ResourceSet; out: PipelineOutput } | undefined;
  #served: EngineSnapshot | undefined;
  /** #binds is the failing listeners as of the last status write; #bindTimer polls for a change. */
  #binds = "";
  #bindTimer: NodeJS.Timeout | undefined;
  #runDone: Promise<void> = Promise.resolve();
  #listeners: (() => void)[] = [];
  #persist: Persister;
  #engines: KubeEngines | undefined;
  #metrics = new ControllerMetrics();
  /** #engineTotals adds up what earlier terms' reconcilers did, so the counters never go down. */
  #engineTotals: EngineActions = { passes: 0, create: 0, update: 0, scale: 0, delete: 0, failures: 0 };
  #statusWrites = 0;
  #writeFailures = 0;
  #rejection: Rejection | undefined;
  /** #synced is true once this term's source listed everything. */
  #synced = false;
  #link: KubeLink | undefined;
  #fleetStatus: FleetStatusWriter | undefined;
  #autoscaler = new Autoscaler();
  /** #announced is who announced each VIP as of the last status write (Events are its changes). */
  #announced: VipAnnouncementView[] = [];
  #announceTimer: NodeJS.Timeout | undefined;
  /** #acme is the built-in ACME issuer, running while this replica leads (kube-acme.ts). */
  readonly #acme: KubeAcme;
  /** #waiters resolve once a set enqueued after they were added is applied (the issuer's refresh). */
  #waiters: (() => void)[] = [];

  /** constructor wires the parts; nothing runs before start. */
  constructor(o: KubeControllerOptions) {
    this.#o = o;
    this.#unelectedTerm = unelectedTerm();
    this.#persist = new Persister(o.store, o.log);
    this.#status = new StatusWriter(o.client, o.log);
    this.#events = new EventRecorder(o.client, o.identity, o.log);
    this.#acme = new KubeAcme({
      client: o.client,
      namespace: o.translate.secretNamespace ?? "portico-system",
      log: o.log,
      events: this.#events,
      refresh: () => this.#refresh(),
      live: (kind, ns, name) => this.#source?.get(kind, ns, name),
      dns: {
        snapshot: () => this.#served,
        listenerStatus: () => (this.#o.engine.status()?.listeners ?? []).filter((l) => l.state !== "closed"),
      },
    });
    o.fullLogs?.onChange(() => void this.#refresh());
    this.#elector = o.lease
      ? new LeaderElector(o.client, o.lease.namespace, o.lease.name, o.identity, o.log, o.lease.timing)
      : undefined;
    if (o.link) {
      const { hub, listen, namespace } = o.link;
      this.#link = new KubeLink({
        client: o.client,
        namespace,
        hub,
        listen,
        log: o.log,
        events: this.#events,
      });
      this.#fleetStatus = new FleetStatusWriter(this.#status, o.log);
    }
    // Engines report announcements on their own time: statuses and Events follow each change.
    o.engine.onListenerChange?.(() => this.#announceChanged());
    o.engine.onAnnounceChange?.(() => this.#announceChanged());
  }

  /** announcements are who announces each VIP now; undefined when none is announced. */
  announcements(): VipAnnouncementView[] | undefined {
    const e = this.#o.engine;
    if (e.view) return e.view().announcements;
    return soleEngineAnnouncements(this.#served, hostname(), e.announce?.());
  }

  /** #announceChanged rewrites statuses (soon, once per burst) when who announces what changed. */
  #announceChanged(): void {
    if (!this.#leading || !this.#source || this.#announceTimer !== undefined) return;
    if (announceKey(this.announcements() ?? []) === announceKey(this.#announced)) return;
    this.#announceTimer = setTimeout(() => {
      this.#announceTimer = undefined;
      this.#refreshAnnounced();
    }, 200).unref();
  }

  /** start campaigns for the Lease (or leads at once without one); returns immediately. */
  start(): void {
    if (!this.#elector) {
      void this.#lead();
      return;
    }
    this.#runDone = this.#elector.run(
      () => void this.#lead(),
      () => void this.#lose(),
    );
  }

  /** leading tells whether this replica leads now. */
  leading(): boolean {
    return this.#leading;
  }

  /**
   * analyticsElsewhere is why this replica's admin API does not answer analytics (undefined while it
   * leads): the engines send their batches to the leader alone, so a standby's figures are empty
   * (or stale, from a term it led) and a full-log switch set here would reach no engine.
   */
  analyticsElsewhere(): string | undefined {
    if (this.#leading) return undefined;
    // The Lease names an --identity: the pod's name in deploy/controller.yaml, but any string
    // elsewhere, so the reason does not call it a pod.
    const holder = this.#elector?.holder();
    return holder
      ? `standby: the engines report traffic to the leader alone; ask the admin address (port 9901 by default) of the replica holding the Lease (identity ${holder})`
      : "standby: no replica leads yet, and engines report traffic to the leader alone; ask again once one holds the Lease";
  }

  /**
   * term is the leader term this replica leads in (the engine link's epoch): the Lease's transition
   * count as this replica wrote it, plus one; without leader election, unelectedTerm() of this
   * process's start; undefined while not leading.
   */
  term(): number | undefined {
    if (!this.#leading) return undefined;
    return this.#elector ? this.#elector.term() : this.#unelectedTerm;
  }

  /** workloads is the engine workload reconciler while this replica leads (notify it when scaling changes). */
  workloads(): KubeEngines | undefined {
    return this.#engines;
  }

  /** last is the last set processed and the pipeline's output for it (explain, tests). */
  last(): { set: ResourceSet; out: PipelineOutput } | undefined {
    return this.#last;
  }

  /** onUpdate registers a callback run after every processed set. */
  onUpdate(fn: () => void): void {
    this.#listeners.push(fn);
  }

  /** stop releases the Lease (unless crash-like release=false), stops watching and waits for work in flight. */
  async stop(release = true): Promise<void> {
    await this.#elector?.stop(release);
    await this.#runDone;
    this.#leading = false;
    this.#acme.lose();
    for (const w of this.#waiters.splice(0)) w();
    await this.#link?.lose();
    await this.#fleetStatus?.stop();
    await this.#stopEngines();
    this.#source?.close();
    this.#source = undefined;
    clearTimeout(this.#retry);
    this.#recheck.stop();
    clearTimeout(this.#bindTimer);
    clearTimeout(this.#announceTimer);
    await this.#running;
    this.#persist.close();
  }

  async #lead(): Promise<void> {
    this.#leading = true;
    // The issuer starts once its account keys are read; a set processed before that is run again.
    // Only once this term's source has listed everything: a set from a source still listing would
    // be the first of the term, and recovering allocations from it (empty) moved every VIP.
    void this.#acme.lead().then(() => this.#leading && this.#resync());
    // A new term's Events compare with what this term saw, not with a previous term's view.
    this.#announced = [];
    this.#recovered = false;
    this.#synced = false;
    const link = this.#link;
    const fleet = this.#o.link?.fleet;
    if (link && fleet) {
      void link.lead(this.term()!);
      this.#fleetStatus!.start(
        () => fleet.view(),
        () => this.#groupObjects(),
        this.#o.link?.statusEveryMs,
      );
    }
    if (this.#o.engines) {
      const engines = new KubeEngines({
        ...this.#o.engines,
        client: this.#o.client,
        log: this.#o.log,
        events: this.#events,
        ...(link && fleet
          ? {
              // The Secret the engines mount holds what this leader's engine port presents.
              linkSecret: () => link.secretData(),
              desiredReplicas: (g, current) =>
                this.#autoscaler.decide(g, current, fleet.view(), this.#capacity(g.name)),
            }
          : {}),
      });
      this.#engines = engines;
      void engines.start();
    }
    const source = new KubeSource({
      client: this.#o.client,
      namespaces: this.#o.namespaces,
      log: this.#o.log,
      onChange: (set) => this.#enqueue(set),
      ...(this.#o.holdOffMs !== undefined ? { holdOffMs: this.#o.holdOffMs } : {}),
      ...(this.#o.maxDelayMs !== undefined ? { maxDelayMs: this.#o.maxDelayMs } : {}),
      ...(this.#o.watchTimeoutSeconds ? { watchTimeoutSeconds: this.#o.watchTimeoutSeconds } : {}),
    });
    this.#source = source;
    await source.start();
    if (this.#source === source) this.#synced = true;
  }

  /** #groupObjects are the EngineGroups of the last processed set, with their measured capacity. */
  #groupObjects(): GroupObject[] {
    return (this.#last?.set.engineGroups ?? []).map((g) => {
      const capacity = this.#capacity(g.metadata.name);
      return { name: g.metadata.name, ...(capacity ? { capacity } : {}) };
    });
  }

  /** #capacity is the calibration recorded in group's status (portico size --calibrate), if any. */
  #capacity(group: string): Calibration | undefined {
    const g = this.#last?.set.engineGroups.find((x) => x.metadata.name === group);
    return g?.status?.capacity;
  }

  async #stopEngines(): Promise<void> {
    const engines = this.#engines;
    this.#engines = undefined;
    await engines?.close();
    if (engines) this.#engineTotals = addActions(this.#engineTotals, engines.actions());
  }

  async #lose(): Promise<void> {
    this.#leading = false;
    this.#synced = false;
    this.#acme.lose();
    for (const w of this.#waiters.splice(0)) w();
    // The engine port first: the remote engines keep serving their last snapshot and dial the
    // next leader; the empty snapshot below must reach this replica's own engine only.
    await this.#link?.lose();
    const statusDone = this.#fleetStatus?.stop();
    // The reconciler stops at once (no new write starts); a request in flight, maybe slow against
    // an API that is away, must not delay giving up the VIPs, so it is awaited last.
    const engines = this.#stopEngines();
    this.#recheck.stop();
    this.#source?.close();
    this.#source = undefined;
    await this.#running;
    // Another replica now owns the VIPs; answering on them too would split connections.
    await this.#o.engine.apply(emptySnapshot(++this.#version));
    await engines;
    await statusDone;
  }

  /**
   * #resync processes the source's current set again (a certificate falls due, a retry, the
   * issuer's refresh, a listener's bind state) — only once this term's source has listed
   * everything: a set from a source still listing would be the term's first, and recovering
   * allocations from it (empty) moved every VIP (a8c4b3a). Until then the source's first full set
   * is on its way and covers the reason. Returns whether a set was enqueued.
   */
  #resync(): boolean {
    if (!this.#source || !this.#synced) return false;
    this.#enqueue(this.#source.snapshot());
    return true;
  }

  #enqueue(set: ResourceSet): void {
    this.#pending = set;
    this.#running ??= this.#drain();
  }

  async #drain(): Promise<void> {
    while (this.#pending && this.#leading) {
      const set = this.#pending;
      this.#pending = undefined;
      const waiters = this.#waiters.splice(0);
      let failures = 0;
      try {
        failures = await this.#process(set);
      } catch (e) {
        failures = 1;
        this.#o.log("error", "kube controller: update failed", {
          error: String(e),
          stack: (e as Error).stack,
        });
      }
      if (failures > 0 && this.#source) {
        // Writes failed (API briefly away, RBAC fixed later): try again on a fresh view.
        clearTimeout(this.#retry);
        this.#retry = setTimeout(() => this.#resync(), 2_000);
      }
      for (const w of waiters) w();
      for (const fn of this.#listeners) fn();
    }
    this.#running = undefined;
    for (const w of this.#waiters.splice(0)) w();
  }

  /** #refresh processes the current set again (the issuer's challenges and certificates); resolves once applied. */
  #refresh(): Promise<void> {
    const source = this.#source;
    if (!this.#leading || !source) return Promise.resolve();
    return new Promise((resolve) => {
      this.#waiters.push(resolve);
      // Before the source has listed everything, its first full set is on its way and resolves us.
      this.#resync();
    });
  }

  /** #process runs one set through pipeline, engine and write-back; returns how many writes failed. */
  async #process(input: ResourceSet): Promise<number> {
    const o = this.#o;
    const withAcme = this.#acme.running();
    // The issuer's certificates (and, until one arrives, the default one) under the asked names.
    const set = this.#acme.prepare(input);
    if (!this.#recovered) {
      this.#allocations = recoverAllocations(set, o.translate, o.store?.loadAllocations() ?? {});
      this.#recovered = true;
      o.log("info", "kube controller: allocations recovered from status", {
        vips: Object.keys(this.#allocations).length,
      });
    }
    const deleting = new Set(
      (set.services as unknown as AnyObject[]).filter((s) => s.metadata.deletionTimestamp).map(keyOfObj),
    );
    const version = this.#version + 1;
    // A restarted controller has no serials: each zone's status.serial is then its floor (dns.ts).
    const out = buildSnapshot(
      set,
      withTenants(o.translate, this.#tenantsBefore),
      this.#allocations,
      version,
      this.#lastValid,
      {
        serials: this.#dnsSerials,
        nowSeconds: Date.now() / 1000,
        // DNS-01 answers of the leader's orders, published in the zones Portico serves.
        acmeTxt: this.#acme.dnsChallenges(),
      },
    );
    this.#acme.decorate(out.snapshot, out.statuses);
    o.fullLogs?.decorate(out.snapshot);
    for (const x of out.invalid) o.log("warn", "invalid object", { ...x });
    // A Service being deleted keeps its address (IPAM still sees it) but is no longer served.
    const snapshot = {
      ...out.snapshot,
      l4: out.snapshot.l4.filter((l) => !deleting.has(l.name.replace(/:[^:/]+\/[A-Z]+$/, ""))),
    };
    // Each group's engines are placed on its VIPs by its HA mode (ActiveStandby, NPlusM, ...).
    o.link?.fleet.setGroups(groupSettings(out.groups));
    const applied = await o.engine.apply(
      // A fleet cuts each engine's announce slice; a sole in-process engine gets its own here.
      o.engine.setGroups ? snapshot : soleEngineSnapshot(snapshot, groupSettings(out.groups), hostname()),
    );
    if (!applied.ok) {
      this.#rejection = { version, error: applied.error };
      this.#metrics.reloaded(false, this.#version, undefined);
      o.log("error", "snapshot rejected; last good configuration keeps serving", {
        version,
        error: applied.error,
      });
      return 0;
    }
    this.#rejection = undefined;
    this.#metrics.reloaded(out.invalid.length === 0, version, out.allocations);
    this.#metrics.certificatesChecked(out.translate.certificateUses);
    this.#recheck.schedule(nextCertificateChange(out.translate.certificateUses, Date.now()));
    const changed = summarize(snapshotChanges(this.#served, snapshot));
    this.#version = version;
    this.#served = snapshot;
    this.#allocations = out.allocations.state;
    this.#lastValid = out.lastValid;
    this.#tenantsBefore = out.translate.tenants;
    this.#dnsSerials = out.dns.serials;
    // The local copy is secondary to status in the cluster; a failed save is logged and retried.
    this.#persist.save(this.#allocations);
    this.#last = { set, out };
    let failures = await this.#finalizers(set, out, deleting);
    const live = (kind: string, ns: string | undefined, name: string) => this.#source?.get(kind, ns, name);
    // A listener that cannot bind makes the objects it serves not programmed (bind-status.ts).
    const listeners = o.engine.status()?.listeners ?? [];
    this.#watchBinds(listeners.filter((l) => l.state !== "closed"));
    const { changes, failures: f } = await this.#writeStatuses(set, out, snapshot, deleting, listeners);
    failures += f;
    // Objects Portico stopped serving keep nothing it wrote (kube-leftovers.ts).
    for (const a of writtenAddresses(out.statuses)) this.#written.add(a);
    const cleared = leftovers(
      {
        ...set,
        ingresses: set.ingresses.map(
          (i) => (live(i.kind, i.metadata.namespace, i.metadata.name) ?? i) as typeof i,
        ),
        other: set.other.map((o) => live(o.kind, o.metadata.namespace, o.metadata.name) ?? o),
      },
      out.statuses,
      this.#written,
    );
    for (const l of cleared) {
      try {
        await this.#status.writeRaw(l.kind, l.namespace, l.name, l.edit);
        o.log("info", "status cleared: no longer served by Portico", { object: key(l) });
      } catch (e) {
        failures++;
        o.log("warn", "status clear failed", { object: key(l), error: String(e) });
      }
    }
    for (const s of out.statuses) {
      const ingressKind = s.kind === "Ingress" || s.kind === "IngressClass";
      const tenantKind = s.kind === "Service" || s.kind === "Gateway" || s.kind.endsWith("Route");
      if (!ingressKind && !tenantKind && !POLICY_KINDS.has(s.kind)) continue;
      const obj = live(s.kind, s.namespace, s.name);
      const evs = ingressKind
        ? ingressEvents(s, obj)
        : tenantKind
          ? tenantEvents(s, obj)
          : policyEvents(s, obj);
      // A Service's other Events (VIP, announcements) share the recorder: forgetting them all here
      // would send them again at every reconcile, so tenant kinds keep what was recorded.
      if (evs.length === 0 && !tenantKind) this.#events.forget(s.kind, s.namespace, s.name);
      for (const e of evs) await this.#events.record(e);
    }
    o.log("info", "snapshot applied", {
      version,
      ...(Object.keys(changed).length > 0 ? changed : { unchanged: true }),
      statusWrites: changes.length,
    });
    this.#writeFailures += failures;
    // The issuer started while this set was processed without it: process again with it.
    if (!withAcme && this.#acme.running() && this.#source && this.#synced)
      this.#pending ??= this.#source.snapshot();
    return failures;
  }

  /**
   * #writeStatuses writes the statuses of out with the engines' bind state and announcements, and
   * records the Events their changes deserve (VIP allocation, announcer moves and failures).
   */
  async #writeStatuses(
    set: ResourceSet,
    out: PipelineOutput,
    snapshot: EngineSnapshot,
    deleting: ReadonlySet<string>,
    listeners: readonly ListenerStatus[],
  ): Promise<{ changes: unknown[]; failures: number }> {
    const live = (kind: string, ns: string | undefined, name: string) => this.#source?.get(kind, ns, name);
    const announced = this.announcements() ?? [];
    const { changes, failures } = await this.#status.write(
      applyAnnounceState(
        applyBindState(
          out.statuses.filter((s) => !deleting.has(key(s))),
          snapshot,
          listeners,
          gatewayListenerSpecs(set),
        ),
        snapshot,
        announced,
      ),
      live,
    );
    this.#statusWrites += changes.length;
    for (const c of changes) {
      const e = vipEvent(c);
      if (!e) continue;
      this.#events.forget(c.kind, c.namespace, c.name, [e.reason]);
      await this.#events.record(e);
    }
    const byAddress = new Map<string, string[]>();
    for (const [obj, addresses] of objectAddresses(snapshot))
      for (const a of addresses) byAddress.set(a, [...(byAddress.get(a) ?? []), obj]);
    const uid = (kind: string, ns: string, name: string) => live(kind, ns, name)?.metadata.uid;
    for (const e of announceEvents(this.#announced, announced, byAddress, uid)) await this.#events.record(e);
    this.#announced = announced;
    return { changes, failures };
  }

  /**
   * #refreshAnnounced rewrites the statuses of the snapshot in force after an engine's report
   * changed who announces what: no translation and no push, only conditions and Events. It runs
   * in the update chain's place (#running), so it never interleaves with an update.
   */
  #refreshAnnounced(): void {
    if (!this.#leading || !this.#source) return;
    if (this.#running !== undefined) {
      // An update is running; it writes the announcements it sees at its end, then check again.
      void this.#running.then(() => this.#announceChanged());
      return;
    }
    const last = this.#last;
    const served = this.#served;
    if (last === undefined || served === undefined) return;
    const deleting = new Set(
      (last.set.services as unknown as AnyObject[]).filter((s) => s.metadata.deletionTimestamp).map(keyOfObj),
    );
    const listeners = this.#o.engine.status()?.listeners ?? [];
    this.#running = this.#writeStatuses(last.set, last.out, served, deleting, listeners)
      .then(
        ({ failures }) => void (this.#writeFailures += failures),
        (e: unknown) => this.#o.log("warn", "announcement status write failed", { error: String(e) }),
      )
      .finally(() => {
        this.#running = undefined;
        if (this.#pending && this.#leading) this.#running = this.#drain();
      });
  }

  /** readiness is /readyz: the API answers (and, leading, this term's lists are done), and, when
   * leading, the last snapshot is applied with its listeners bound. A standby is ready: it has
   * nothing to serve, and only the leader takes engine links. */
  readiness(): HealthCheck[] {
    const e = this.#elector;
    const contact = e?.lastContactMs() ?? 0;
    const limit = this.#o.lease?.timing?.leaseDurationMs ?? 15_000;
    const checks: HealthCheck[] = [];
    if (e)
      checks.push({
        name: "lease",
        ok: contact < limit,
        detail:
          contact === Infinity
            ? "the API has not answered a Lease request yet"
            : `the API answered ${Math.round(contact)} ms ago`,
      });
    checks.push({
      name: "leader",
      ok: true,
      detail: this.#leading
        ? `leading (term ${this.term() ?? "?"})`
        : `standby; ${e?.holder() || "nobody"} holds the Lease`,
    });
    if (!this.#leading) return checks;
    const hub = this.#o.link?.hub;
    if (hub)
      checks.push({
        name: "engine-port",
        ok: hub.listening(),
        detail: hub.listening()
          ? `listening for engines (epoch ${hub.epoch})`
          : "not listening: see the EngineLinkFailed Event on the Secret portico-engine-link",
      });
    checks.push({
      name: "api",
      ok: this.#synced,
      detail: this.#synced ? "every watched resource listed" : "listing the watched resources",
    });
    const rejected = this.#rejection ? `; version ${this.#rejection.version} was rejected` : "";
    checks.push({
      name: "snapshot",
      ok: this.#served !== undefined,
      detail: this.#served
        ? `version ${this.#version} applied${rejected}`
        : `no snapshot applied yet${rejected}`,
    });
    checks.push(
      listenersCheck((this.#o.engine.status()?.listeners ?? []).filter((l) => l.state !== "closed")),
    );
    return checks;
  }

  /** engines is the fleet of engines (GET /api/v1/engines); undefined without an engine port. */
  engines(): FleetView | undefined {
    return this.#o.link?.fleet.view();
  }

  /** statuses are what the last processed set's statuses were (as computed, before bind state). */
  statuses(): unknown[] {
    return this.#last?.out.statuses ?? [];
  }

  /** errors are objects held at their last valid version and the last rejected snapshot. */
  errors(): unknown {
    return {
      invalid: this.#last?.out.invalid ?? [],
      ...(this.#rejection ? { rejected: this.#rejection } : {}),
    };
  }

  /** inspect is the last processed set and its output for the admin CLI routes. */
  inspect(): Inspection | undefined {
    if (!this.#last) return undefined;
    const t = this.#o.translate;
    const announcements = this.announcements();
    return {
      ...this.#last,
      ports: { http: t.ingressHttpPort, https: t.ingressHttpsPort },
      ...(announcements ? { announcements } : {}),
    };
  }

  /** metrics is the engine's exposition, the shared controller series, and the cluster ones. */
  async metrics(): Promise<string> {
    const listeners = this.#o.engine.status()?.listeners ?? [];
    return (
      (await this.#o.engine.metrics()) +
      this.#metrics.render(listeners) +
      renderKubeSeries({
        leading: this.#leading,
        term: this.term(),
        statusWrites: this.#statusWrites,
        statusWriteFailures: this.#writeFailures,
        engines: this.#engines ? addActions(this.#engineTotals, this.#engines.actions()) : this.#engineTotals,
      })
    );
  }

  /**
   * #watchBinds remembers which listeners fail to bind and, while any does, checks every 2 s;
   * when that changes (a retry bound) the current set is processed again so statuses follow.
   */
  #watchBinds(listeners: readonly ListenerStatus[]): void {
    clearTimeout(this.#bindTimer);
    const failing = (ls: readonly ListenerStatus[]) =>
      failingListeners(ls)
        .map((l) => l.key)
        .join(",");
    this.#binds = failing(listeners);
    if (this.#binds === "") return;
    const check = () => {
      if (!this.#leading || !this.#source) return;
      const now = (this.#o.engine.status()?.listeners ?? []).filter((l) => l.state !== "closed");
      if (failing(now) !== this.#binds) this.#resync();
      else this.#bindTimer = setTimeout(check, 2_000).unref();
    };
    this.#bindTimer = setTimeout(check, 2_000).unref();
  }

  /** #finalizers adds the finalizer to served Services, and removes it from Services being deleted
   * (now unserved) and from Services Portico no longer serves (after clearing what it wrote). */
  async #finalizers(set: ResourceSet, out: PipelineOutput, deleting: Set<string>): Promise<number> {
    const served = new Set(out.statuses.filter((s) => s.kind === "Service").map(key));
    let failures = 0;
    for (const svc of set.services as unknown as AnyObject[]) {
      const k = keyOfObj(svc);
      const cur = this.#source?.get("Service", svc.metadata.namespace, svc.metadata.name) ?? svc;
      try {
        if (deleting.has(k)) {
          if (hasFinalizer(cur)) await setFinalizer(this.#o.client, cur, false);
          this.#events.forget("Service", svc.metadata.namespace, svc.metadata.name);
        } else if (served.has(k)) {
          if (!hasFinalizer(cur)) await setFinalizer(this.#o.client, cur, true);
        } else if (hasFinalizer(cur)) {
          await this.#status.writeRaw(
            "Service",
            svc.metadata.namespace,
            svc.metadata.name,
            serviceLeftoverEdit(set, this.#written),
          );
          await setFinalizer(this.#o.client, cur, false);
        }
      } catch (e) {
        failures++;
        this.#o.log("warn", "finalizer update failed", { object: k, error: String(e) });
      }
    }
    return failures;
  }
}

// announceKey is what of the announcements statuses and Events read, to tell a change.
function announceKey(views: readonly VipAnnouncementView[]): string {
  return JSON.stringify(
    views.map((v) => [v.address, v.announcers.map((a) => [a.engine, a.state, a.reason, a.message])]),
  );
}
