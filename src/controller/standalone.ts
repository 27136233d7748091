// standalone.ts: `portico run` — file source → pipeline (translate + IPAM) → engine, in one process,
// with allocations kept in SQLite under the state dir and an admin API on loopback.
import { nextCertificateChange, type CertificateUse } from "../translate/certificates.ts";
import type { DnsSerials } from "../translate/dns.ts";
import type { AcmeTxt } from "../translate/acme-txt.ts";
import type { ResourceSet, SourceError } from "../k8s/resource-set.ts";
import type { AllocationState } from "../ipam/types.ts";
import type { ObjectStatus, TenantMemory, TranslateOptions } from "../translate/types.ts";
import type { AcmeChallenges, EngineSnapshot } from "../model/ir.ts";
import type { Secret } from "../k8s/types.ts";
import type { EngineStatus } from "../engine/engine.ts";
import type { ListenerStatus } from "../engine/listeners.ts";
import { buildSnapshot, withTenants, type PipelineOutput } from "./pipeline.ts";
import type { Inspection } from "./views.ts";
import {
  applyBindState,
  gatewayListenerSpecs,
  listenersCheck,
  type GatewayListenerSpec,
} from "./bind-status.ts";
import { problemChanges, problemsOf, snapshotChanges, summarize, type Problem } from "./change-log.ts";
import { ControllerMetrics } from "./metrics.ts";
import type { InvalidObject, LastValid } from "./hold.ts";
import type { Logger } from "./log.ts";
import { emptyResourceSet } from "../k8s/resource-set.ts";
import { Persister } from "./persist.ts";
import type { EngineLiveness } from "./loop-watch.ts";
import type { EngineLoad } from "../link/protocol.ts";
import type { AnalyticsBatch, AnalyticsSink } from "../analytics/types.ts";
import type { FleetView } from "./fleet/view.ts";
import type { AnnounceStatus } from "../announce/types.ts";
import { groupSettings, type GroupSettings } from "./fleet/group-settings.ts";
import { hostname } from "node:os";
import { applyAnnounceState } from "./announce-status.ts";
import type { VipAnnouncementView } from "./fleet/announce-view.ts";
import { soleEngineAnnouncements, soleEngineSnapshot } from "./fleet/sole-engine.ts";
import type { FullLogs } from "../analytics/full-logs.ts";
import { feedAnalytics } from "./analytics-feed.ts";

/** EnginePort is what the controller needs of an engine (in-process or a worker group). */
export interface EnginePort {
  apply(snapshot: EngineSnapshot): Promise<PortApplyResult> | PortApplyResult;
  /** metrics is the engine's Prometheus text; a promise when the engine is in another thread. */
  metrics(): string | Promise<string>;
  /** status is the engine's listener bind state (merged over workers); undefined before it answered. */
  status(): EngineStatus | undefined;
  close(): Promise<void> | void;
  /** onListenerChange registers fn to run when a listener's bind state may have changed. */
  onListenerChange?(fn: () => void): void;
  /** liveness is the engine thread's loop report when the engine runs on another thread. */
  liveness?(): EngineLiveness;
  /** load is the engine's load since the previous call (engine/load.ts); undefined before a sample. */
  load?(): EngineLoad | undefined;
  /**
   * analytics is the engine's side of the analytics pipe: its AnalyticsBatch since the previous
   * call (analytics/collector.ts; a WorkerGroup's merged over its workers), undefined when nothing
   * happened or analytics are off. What carries engine state to the controller reads it.
   */
  analytics?(): AnalyticsBatch | undefined;
  /**
   * cutAnalytics ends the interval still being counted now, so analytics() hands it over too (a
   * graceful stop's last seconds, analytics-feed's flush); absent where the engine cuts its own.
   * A WorkerGroup's resolves once its workers shipped theirs (or a bounded wait ran out).
   */
  cutAnalytics?(): void | Promise<void>;
  /**
   * onAnalytics is the controller's side: fn gets every batch an engine ships (the thread-bridged
   * local engine, the fleet's engines), stamped with the engine's name and group.
   */
  onAnalytics?(fn: (batch: AnalyticsBatch) => void): void;
  /**
   * drain stops accepting (every listener closes, so the kernel queues no new connection here and
   * SO_REUSEPORT peers take them) and resolves true once open connections finished, false when
   * deadlineMs passed first. `portico engine` calls it before close() on SIGTERM or a drain message.
   */
  drain?(deadlineMs: number): Promise<boolean>;
  /** view lists the engines when there is a fleet (fleet/fleet-port.ts); absent for one in-process engine. */
  view?(): FleetView;
  /** setGroups gives a fleet the EngineGroups' HA settings before a push (placement per group). */
  setGroups?(groups: Record<string, GroupSettings>): void;
  /** announce is how this engine announces its VIPs (announce-port.ts); undefined before a snapshot carried any. */
  announce?(): AnnounceStatus | undefined;
  /** onAnnounceChange registers fn to run whenever announce() changes. */
  onAnnounceChange?(fn: () => void): void;
}

/** PortApplyResult is an engine's answer to a snapshot; code and listener say why a NACK (ApplyResult). */
export type PortApplyResult = { ok: true } | { ok: false; error: string; code?: string; listener?: string };

/** HealthCheck is one line of /readyz: a named check, whether it passes, and why. */
export interface HealthCheck {
  name: string;
  ok: boolean;
  detail: string;
}

/** ReportedProblem is a health problem another part (e.g. the state store) reports; unready fails /readyz. */
export interface ReportedProblem {
  message: string;
  unready?: boolean;
}

/** AllocationStore persists allocations across restarts. */
export interface AllocationStore {
  loadAllocations(): AllocationState;
  saveAllocations(state: AllocationState): void;
  /** loadTenantMemory / saveTenantMemory keep what the tenant rules admitted across restarts (JSON; optional). */
  loadTenantMemory?(): string | undefined;
  saveTenantMemory?(json: string | undefined): void;
}

/** Rejection records a snapshot the engine refused; the previous one keeps serving. */
export interface Rejection {
  version: number;
  error: string;
}

/** ControllerExtras is what the built-in ACME issuer adds to each update (controller/acme/manager.ts). */
export interface ControllerExtras {
  secrets(): Secret[];
  challenges(): AcmeChallenges | undefined;
  /** dnsChallenges are the pending DNS-01 answers, published in the zones Portico serves (acme-txt.ts). */
  dnsChallenges?(): AcmeTxt[];
  statuses(): ObjectStatus[];
}

/**
 * loadTenantMemory reads the tenant admissions a previous run saved; what cannot be read is logged
 * and dropped (claims are then settled by creation time, as on a first start).
 */
function loadTenantMemory(store: AllocationStore | undefined, log: Logger): TenantMemory | undefined {
  const json = store?.loadTenantMemory?.();
  if (json === undefined) return undefined;
  try {
    const m = JSON.parse(json) as TenantMemory;
    if (isRecord(m?.admitted) && isRecord(m?.holders) && isRecord(m?.namespaces)) return m;
  } catch {
    // reported below
  }
  log("warn", "saved tenant admissions unreadable; claims are settled by creation time", {});
  return undefined;
}

function isRecord(v: unknown): v is Record<string, string> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** withSecrets is set with extra Secrets, replacing any of the same namespace/name. */
export function withSecrets(set: ResourceSet, extra: readonly Secret[]): ResourceSet {
  if (extra.length === 0) return set;
  const ids = new Set(extra.map((s) => `${s.metadata.namespace}/${s.metadata.name}`));
  const kept = set.secrets.filter((s) => !ids.has(`${s.metadata.namespace ?? ""}/${s.metadata.name}`));
  return { ...set, secrets: [...kept, ...extra] };
}

/** Controller turns every ResourceSet it is given into a served snapshot and statuses. */
export class Controller {
  #engine: EnginePort;
  #opts: TranslateOptions;
  #log: Logger;
  #allocations: AllocationState;
  /** certificateUses are the last build's certificates (when the next one expires, for recheckAt). */
  #certificateUses: readonly CertificateUse[] = [];
  /** builtAt is the clock (Unix seconds) of the last build: translate checked certificates at it. */
  #builtAt: number | undefined;
  #version = 0;
  #served: EngineSnapshot | undefined;
  #statuses: ObjectStatus[] = [];
  #sourceErrors: readonly SourceError[] = [];
  #notices: readonly string[] = [];
  #invalid: readonly InvalidObject[] = [];
  #lastValid: LastValid = new Map();
  /** #tenantsBefore is what the serving build's tenant rules admitted: the next build's incumbents. */
  #tenantsBefore: TenantMemory | undefined;
  /** #servedTenantsBefore is the tenantsBefore the serving snapshot was built with; inspect() reruns with it. */
  #servedTenantsBefore: TenantMemory | undefined;
  /** #servedLastValid is the lastValid the serving snapshot was built with; inspect() reruns with it. */
  #servedLastValid: LastValid = new Map();
  #rejection: Rejection | undefined;
  #set: ResourceSet = emptyResourceSet();
  #inspected:
    | {
        version: number;
        out: PipelineOutput;
        live?: { engineStatus: EngineStatus | undefined; statuses: ObjectStatus[] };
      }
    | undefined;
  #listeners: (() => void)[] = [];
  #metrics = new ControllerMetrics();
  #problems = new Map<string, ReportedProblem>();
  #objectProblems: Problem[] = [];
  #gatewayListeners = new Map<string, GatewayListenerSpec[]>();
  #persist: Persister;
  #store: AllocationStore | undefined;
  /** #savedTenants is the tenant memory as last saved (JSON), so an unchanged one is not written again. */
  #savedTenants: string | undefined;
  /** dnsSerials are each DnsZone's content hash and SOA serial as served (dns.ts). */
  #dnsSerials: DnsSerials = new Map();
  #extras: ControllerExtras | undefined;
  /** servedAcmeTxt are the DNS-01 answers the serving snapshot holds (inspect() rebuilds with them). */
  #servedAcmeTxt: readonly AcmeTxt[] = [];
  /** fullLogs are the full-log switches every built snapshot carries (analytics/full-logs.ts). */
  #fullLogs: FullLogs | undefined;
  #stopAnalytics: () => void = () => {};

  constructor(engine: EnginePort, store: AllocationStore | undefined, opts: TranslateOptions, log: Logger) {
    this.#engine = engine;
    // A failing save is a problem, not a readiness failure: the data plane serves from memory.
    this.#persist = new Persister(store, log, (p) =>
      this.reportProblem("state", p && { message: `not saved since ${p.since}: ${p.error}` }),
    );
    this.#opts = opts;
    this.#log = log;
    this.#allocations = store ? store.loadAllocations() : {};
    this.#store = store;
    this.#tenantsBefore = loadTenantMemory(store, log);
    this.#savedTenants = JSON.stringify(this.#tenantsBefore);
  }

  /**
   * #saveTenantMemory keeps what the tenant rules admitted in the state database when it changed, so
   * a restart keeps the incumbents. A failed save is logged and retried at the next change: the
   * memory in this process still holds them, only a restart before a good save loses them.
   */
  #saveTenantMemory(): void {
    const json = JSON.stringify(this.#tenantsBefore);
    if (json === this.#savedTenants || !this.#store?.saveTenantMemory) return;
    try {
      this.#store.saveTenantMemory(this.#tenantsBefore === undefined ? undefined : json);
      this.#savedTenants = json;
    } catch (err) {
      this.#log("error", "tenant admissions not saved; a restart would settle claims by creation time", {
        error: String((err as Error)?.message ?? err),
      });
    }
  }

  /** setFullLogs makes every snapshot built from now on carry the live full-log switches. */
  setFullLogs(fullLogs: FullLogs): void {
    this.#fullLogs = fullLogs;
  }

  /** setExtras plugs in the built-in ACME issuer: its Secrets, challenges and issuer statuses. */
  setExtras(extras: ControllerExtras): void {
    this.#extras = extras;
  }

  /**
   * setAnalytics hands every batch the engines ship to sink (the analytics store; analytics-feed.ts:
   * a sink that throws loses that batch only, logged).
   */
  setAnalytics(sink: AnalyticsSink): void {
    this.#stopAnalytics();
    this.#stopAnalytics = feedAnalytics(this.#engine, sink, this.#log);
  }

  /** update builds, applies and records a snapshot for set; resolves when the engine answered. */
  async update(input: ResourceSet): Promise<void> {
    const set = this.#extras ? withSecrets(input, this.#extras.secrets()) : input;
    this.#sourceErrors = set.errors;
    for (const e of set.errors) this.#log("warn", "input error", { ...e });
    const version = this.#version + 1;
    const heldFrom = this.#lastValid;
    const tenantsBefore = this.#tenantsBefore;
    const nowSeconds = Date.now() / 1000;
    const acmeTxt = this.#extras?.dnsChallenges?.() ?? [];
    const out = buildSnapshot(
      set,
      withTenants(this.#opts, tenantsBefore),
      this.#allocations,
      version,
      heldFrom,
      {
        serials: this.#dnsSerials,
        nowSeconds,
        acmeTxt,
      },
    );
    const acme = this.#extras?.challenges();
    if (acme) out.snapshot.acme = acme;
    this.#fullLogs?.decorate(out.snapshot);
    if (this.#extras) out.statuses.push(...this.#extras.statuses());
    this.#builtAt = nowSeconds;
    this.#notices = out.translate.notices;
    this.#invalid = out.invalid;
    for (const o of out.invalid) this.#log("warn", "invalid object", { ...o });
    const settings = groupSettings(out.groups);
    this.#engine.setGroups?.(settings);
    // A fleet cuts each engine's announce slice; the one in-process engine gets its own here.
    const result = await this.#engine.apply(
      this.#engine.setGroups ? out.snapshot : soleEngineSnapshot(out.snapshot, settings, hostname()),
    );
    if (!result.ok) {
      // The engine keeps the last good snapshot; allocations are not committed either, so a
      // retry after the fix sees the same addresses.
      this.#rejection = { version, error: result.error };
      this.#log("error", "snapshot rejected; last good configuration keeps serving", {
        version,
        error: result.error,
      });
      this.#metrics.reloaded(false, this.#version, undefined);
      this.#emit();
      return;
    }
    const changes = summarize(snapshotChanges(this.#served, out.snapshot));
    this.#version = version;
    this.#served = out.snapshot;
    this.#rejection = undefined;
    this.#allocations = out.allocations.state;
    this.#lastValid = out.lastValid;
    this.#tenantsBefore = out.translate.tenants;
    this.#servedTenantsBefore = tenantsBefore;
    this.#saveTenantMemory();
    this.#dnsSerials = out.dns.serials;
    this.#servedAcmeTxt = acmeTxt;
    this.#servedLastValid = heldFrom;
    // A failed save (a full disk) keeps serving from memory; the Persister reports and retries it.
    this.#persist.save(this.#allocations);
    this.#statuses = out.statuses;
    this.#set = set;
    this.#gatewayListeners = gatewayListenerSpecs(set);
    this.#log("info", "snapshot applied", {
      version,
      ...(Object.keys(changes).length > 0 ? changes : { unchanged: true }),
    });
    this.#logProblems(problemsOf(out.statuses));
    // An object held at its last valid version is an edit not in force, like a file that did not parse.
    this.#metrics.reloaded(set.errors.length + out.invalid.length === 0, version, out.allocations);
    this.#metrics.certificatesChecked(out.translate.certificateUses);
    this.#certificateUses = out.translate.certificateUses;
    this.#emit();
  }

  /** #logProblems logs each object problem once when it appears and once when it clears. */
  #logProblems(now: Problem[]): void {
    const { appeared, cleared } = problemChanges(this.#objectProblems, now);
    this.#objectProblems = now;
    for (const p of appeared) this.#log("warn", "object problem", { ...p });
    for (const p of cleared) this.#log("info", "object problem cleared", { ...p });
  }

  /** onUpdate registers a callback run after every update (applied or rejected). */
  onUpdate(fn: () => void): void {
    this.#listeners.push(fn);
  }

  #emit(): void {
    for (const fn of this.#listeners) fn();
  }

  /** ready is true when a snapshot serves, every listener it needs is bound, and no problem says otherwise. */
  ready(): boolean {
    return this.readiness().every((c) => c.ok);
  }

  /** readiness lists the checks behind ready(), with their detail (the body of /readyz). */
  readiness(): HealthCheck[] {
    const rejected = this.#rejection
      ? `; version ${this.#rejection.version} was rejected (see /api/v1/errors)`
      : "";
    const checks: HealthCheck[] = [
      this.#served
        ? { name: "snapshot", ok: true, detail: `version ${this.#version} applied${rejected}` }
        : { name: "snapshot", ok: false, detail: `no snapshot applied yet${rejected}` },
      listenersCheck(this.listenerStatus()),
    ];
    for (const [name, p] of this.#problems) checks.push({ name, ok: p.unready !== true, detail: p.message });
    return checks;
  }

  /** reportProblem sets (or, with undefined, clears) a named health problem shown by /readyz and /api/v1/errors. */
  reportProblem(source: string, problem: ReportedProblem | undefined): void {
    if (problem === undefined) this.#problems.delete(source);
    else this.#problems.set(source, problem);
  }

  /** listenerStatus is every listener's bind state, merged over the engine's workers. */
  listenerStatus(): ListenerStatus[] {
    return this.#engine.status()?.listeners.filter((l) => l.state !== "closed") ?? [];
  }

  /** snapshot is the snapshot now serving. */
  snapshot(): EngineSnapshot | undefined {
    return this.#served;
  }

  /** statuses are what Portico would write on each object: the serving snapshot's, with bind state. */
  statuses(): ObjectStatus[] {
    if (!this.#served) return this.#statuses;
    return applyAnnounceState(
      applyBindState(this.#statuses, this.#served, this.listenerStatus(), this.#gatewayListeners),
      this.#served,
      this.announcements(),
    );
  }

  /** announcements are the announced VIPs and who announces each; undefined when none is announced. */
  announcements(): VipAnnouncementView[] | undefined {
    if (this.#engine.view) return this.#engine.view().announcements;
    return soleEngineAnnouncements(this.#served, hostname(), this.#engine.announce?.());
  }

  /** errors are input problems, objects held at their last valid version, the last rejected snapshot, listeners that cannot bind, and reported problems. */
  errors(): {
    input: readonly SourceError[];
    invalid: readonly InvalidObject[];
    notices: readonly string[];
    rejected?: Rejection;
    listeners: ListenerStatus[];
    problems: { source: string; message: string; unready: boolean }[];
  } {
    return {
      input: this.#sourceErrors,
      invalid: this.#invalid,
      notices: this.#notices,
      ...(this.#rejection ? { rejected: this.#rejection } : {}),
      listeners: this.listenerStatus().filter((l) => l.state === "error"),
      problems: [...this.#problems].map(([source, p]) => ({
        source,
        message: p.message,
        unready: p.unready === true,
      })),
    };
  }

  /** engineLiveness is the engine thread's loop report (portico run); undefined in-process. */
  engineLiveness(): EngineLiveness | undefined {
    return this.#engine.liveness?.();
  }

  /** engines is the fleet's view (GET /api/v1/engines); undefined without an engine port. */
  engines(): FleetView | undefined {
    return this.#engine.view?.();
  }

  /** notes are the reported problems as `source: message` lines, for the detail of /healthz. */
  notes(): string[] {
    return [...this.#problems].map(([source, p]) => `${source}: ${p.message}`);
  }

  /** close stops retrying a failed save and feeding analytics. */
  close(): void {
    this.#persist.close();
    this.#stopAnalytics();
  }

  /** inspect is the input and pipeline output of the serving snapshot, for `get`, `explain`,
   * `translate` and `validate --admin`; undefined before the first snapshot serves. The pipeline
   * is rerun from the allocations now held, as the offline CLI reruns it from the ones saved: so
   * both say "kept from the previous assignment" rather than the live one recalling why an address
   * was first chosen, and the two answers agree. Rerun once per served version. Live answers add
   * what only a running Portico knows: whether each listener is bound (Programmed). */
  /** recheckAt is when (Unix ms) a certificate's state next changes with no input change; undefined: never. */
  recheckAt(): number | undefined {
    return nextCertificateChange(this.#certificateUses, Date.now());
  }

  inspect(): Inspection | undefined {
    if (!this.#served) return undefined;
    if (this.#inspected?.version !== this.#version) {
      const out = buildSnapshot(
        this.#set,
        withTenants(this.#opts, this.#servedTenantsBefore),
        this.#allocations,
        this.#version,
        // Without the last valid versions a held pool, Secret or Service would read as invalid here
        // while the engine serves its held version.
        this.#servedLastValid,
        // The served serials: the rerun's content is the served one, so each zone keeps its serial.
        // The served build's clock too, so certificates read as the engine serves them.
        { serials: this.#dnsSerials, nowSeconds: this.#builtAt, acmeTxt: this.#servedAcmeTxt },
      );
      this.#inspected = { version: this.#version, out };
    }
    const out = this.#inspected.out;
    // The bind-applied statuses change only with the version or a new engine status (the remote
    // engine keeps one object per push), so a burst of `get`/`explain` computes them once.
    const engineStatus = this.#engine.status();
    const memo = this.#inspected.live;
    const live =
      memo && memo.engineStatus === engineStatus && engineStatus !== undefined
        ? memo.statuses
        : applyBindState(out.statuses, this.#served, this.listenerStatus(), this.#gatewayListeners);
    this.#inspected.live = { engineStatus, statuses: live };
    const announcements = this.announcements();
    return {
      set: this.#set,
      out,
      ports: { http: this.#opts.ingressHttpPort, https: this.#opts.ingressHttpsPort },
      live: applyAnnounceState(live, this.#served, announcements),
      ...(announcements ? { announcements } : {}),
    };
  }

  /** metrics renders the engine's Prometheus exposition followed by the controller's own series. */
  async metrics(): Promise<string> {
    return (await this.#engine.metrics()) + this.#metrics.render(this.#engine.status()?.listeners ?? []);
  }
}
