// fleet-port.ts: the controller's EnginePort over a fleet — the optional in-process engine of
// `portico run` (engine "local", group "default") and the remote engines connected to the hub.
// apply() places each group's VIPs on its ready engines (placement.ts), sends every engine its
// slice (slice.ts) under one epoch and a new sequence number, and waits for the answers (bounded:
// an engine that does not answer stays pending). A push is refused as a whole only when every
// engine that answered NACKed its content: then the engines keep the last good snapshot, as one
// engine always did. Otherwise the push is in force, and the engines that did not ack it show on
// the objects they should serve (fleet-status.ts). An engine that connects gets its slice at once
// unless it already serves it; one that leaves triggers re-placement and a push to the others.
import { feedAnalytics } from "../analytics-feed.ts";
import type { AnalyticsBatch } from "../../analytics/types.ts";
import { hostname, availableParallelism, totalmem } from "node:os";
import { DEFAULT_ENGINE_GROUP, type Calibration } from "../../k8s/engine-group.ts";
import type { GroupSettings } from "./group-settings.ts";
import { LoadHistory } from "./load-history.ts";
import { LOAD_INTERVAL_MS } from "../../link/protocol.ts";
import type { EngineSnapshot } from "../../model/ir.ts";
import type { EngineStatus } from "../../engine/engine.ts";
import type { EngineIdentity, EngineLoad } from "../../link/protocol.ts";
import type { EnginePort } from "../standalone.ts";
import type { EngineLiveness } from "../loop-watch.ts";
import type { Logger } from "../log.ts";
import type { EngineView, FleetView } from "./view.ts";
import type { Answer, EngineSession, Hub, Nack, SnapshotRef } from "./hub.ts";
import { place, type Placement } from "./placement.ts";
import { announceFor, groupVips, sliceFor } from "./slice.ts";
import { announcers, type Announcers } from "./announcers.ts";
import { announcementViews } from "./announce-view.ts";
import { announceMetrics } from "./fleet-metrics.ts";
import { wokeFrozen } from "../announce-port.ts";
import {
  ENGINE_PENDING,
  engineListeners,
  fleetListeners,
  sameRef,
  type EngineState,
} from "./fleet-status.ts";
import { listenerKey, type ListenerStatus } from "../../engine/listeners.ts";
import { groupOf } from "./slice.ts";
import { fleetMetrics } from "./fleet-metrics.ts";

/** LOCAL_ENGINE is the in-process engine's name. */
export const LOCAL_ENGINE = "local";
/** ANSWER_TIMEOUT_MS bounds how long a push waits for the engines' answers. */
export const ANSWER_TIMEOUT_MS = 10_000;
/** DEPARTED_MS is how long an engine that left stays in the view (connected: false) and in metrics (up 0). */
export const DEPARTED_MS = 3600_000;

/** FleetPortOptions wire a FleetPort. */
export interface FleetPortOptions {
  hub: Hub;
  /** local is the in-process engine, absent for a pure controller (--no-local-engine). */
  local?: EnginePort;
  /** groups are the EngineGroups' settings by name; a group not listed is ActiveActive. */
  groups?: Record<string, GroupSettings>;
  log: Logger;
  /** version is this Portico's version (the local engine's identity). */
  version?: string;
  answerTimeoutMs?: number;
  /** calibration reads the measured per-core capacity (the state dir's calibration.json) for the view. */
  calibration?: () => Calibration | undefined;
}

/** Member is an engine as a push sees it. */
interface Member {
  name: string;
  group: string;
  node: string;
  zone?: string;
}

/** FleetPort is an EnginePort over the local engine and the hub's engines. */
export class FleetPort implements EnginePort {
  #hub: Hub;
  #local: EnginePort | undefined;
  #groups: Record<string, GroupSettings>;
  #log: Logger;
  #timeoutMs: number;
  #localIdentity: EngineIdentity;
  #seq = 0;
  /** #snapshot is the full snapshot in force (the last push not refused as a whole). */
  #snapshot: EngineSnapshot | undefined;
  #placement = new Map<string, Placement>();
  /** #owners is, per group, who announces each VIP (announcers.ts), kept like #placement for stickiness. */
  #owners = new Map<string, Announcers>();
  /** #sent is, per engine, the push in force for it. */
  #sent = new Map<string, { ref: SnapshotRef; slice: EngineSnapshot }>();
  #local_: { acked?: SnapshotRef; lastNack?: Omit<Nack, "type"> } = {};
  #departed = new Map<string, { session: EngineSession; at: number }>();
  #queue: Promise<unknown> = Promise.resolve();
  #changed: (() => void)[] = [];
  /** #gen counts changes to what status() reads besides the local engine's own status. */
  #gen = 0;
  #statusCache: { gen: number; local: EngineStatus | undefined; status: EngineStatus } | undefined;
  /** #localLoad is the local engine's load, sampled every LOAD_INTERVAL_MS as remote engines report theirs. */
  #localLoad = new LoadHistory();
  #localSampler: NodeJS.Timeout | undefined;
  #stopLocalAnalytics: () => void = () => {};
  #calibration: (() => Calibration | undefined) | undefined;
  /** liveness is the local engine thread's loop report, present when that engine runs on another thread. */
  liveness?: () => EngineLiveness;

  constructor(opts: FleetPortOptions) {
    this.#hub = opts.hub;
    this.#local = opts.local;
    this.#groups = opts.groups ?? {};
    this.#log = opts.log;
    this.#timeoutMs = opts.answerTimeoutMs ?? ANSWER_TIMEOUT_MS;
    this.#localIdentity = {
      name: LOCAL_ENGINE,
      group: DEFAULT_ENGINE_GROUP,
      node: hostname(),
      version: opts.version ?? "unknown",
      pid: process.pid,
      vcpu: availableParallelism(),
      memoryBytes: totalmem(),
      limits: { maxConnections: 0, maxConnectionRate: 0 },
    };
    // A remote engine may not take the local engine's name: its state would be the local one's.
    if (this.#local) this.#hub.reserve(LOCAL_ENGINE, "the controller's in-process engine");
    this.#hub.onEvent((e) => {
      if (e.type === "joined") this.#departed.delete(e.engine);
      if (e.type === "joined") void this.#serial(() => this.#resync(`engine ${e.engine} joined`));
      else if (e.type === "announce" && wokeFrozen(this.#hub.session(e.engine)?.announce))
        void this.#serial(() => this.#resync(`engine ${e.engine} was frozen`, e.engine));
      else if (e.type === "left") {
        // #sent keeps what it was given: back with a current `have`, it is not sent it again.
        this.#departed.set(e.engine, { session: e.session, at: Date.now() });
        void this.#serial(() => this.#resync(`engine ${e.engine} left`));
      }
      this.#gen++;
      this.#changed.forEach((fn) => fn());
    });
    this.#local?.onListenerChange?.(() => this.#changed.forEach((fn) => fn()));
    this.#local?.onAnnounceChange?.(() => {
      if (wokeFrozen(this.#local?.announce?.()))
        void this.#serial(() => this.#resync(`engine ${LOCAL_ENGINE} was frozen`, LOCAL_ENGINE));
      this.#changed.forEach((fn) => fn());
    });
    const local = this.#local;
    if (local?.liveness) this.liveness = () => local.liveness!();
    this.#calibration = opts.calibration;
    if (local?.load)
      this.#localSampler = setInterval(() => {
        const load = local.load!();
        if (load) this.#localLoad.add(load);
      }, LOAD_INTERVAL_MS).unref();
  }

  /** setGroups replaces the groups' settings; the next push places by them. */
  setGroups(groups: Record<string, GroupSettings>): void {
    this.#groups = groups;
  }

  /** apply pushes snapshot to every engine; ok unless every engine that answered refused it. */
  apply(snapshot: EngineSnapshot): Promise<{ ok: true } | { ok: false; error: string }> {
    return this.#serial(() => this.#apply(snapshot));
  }

  async #apply(snapshot: EngineSnapshot): Promise<{ ok: true } | { ok: false; error: string }> {
    const { placement, owners, slices } = this.#plan(snapshot);
    const seq = ++this.#seq;
    const before = new Map(this.#sent);
    const answers = await Promise.all(slices.map(({ member, slice }) => this.#push(member, seq, slice)));
    const answered = answers.filter(({ answer }) => answer.type === "ack" || answer.type === "nack");
    const refused = answered.filter(({ answer }) => answer.type === "nack" && answer.nack.stale !== true);
    if (answered.length > 0 && refused.length === answered.length) {
      // Every engine that answered keeps its last good snapshot: so does the fleet.
      this.#sent = before;
      this.#gen++;
      const only = refused.length === 1 && refused[0]!.name === LOCAL_ENGINE;
      const error = refused
        .map(({ name, answer }) => {
          const reason = (answer as { nack: Nack }).nack.error;
          return only ? reason : `engine ${name} rejected version ${snapshot.version}: ${reason}`;
        })
        .join("; ");
      return { ok: false, error };
    }
    const threw = answers.find((a) => a.thrown !== undefined);
    if (answered.length === 0 && threw !== undefined) throw threw.thrown;
    this.#snapshot = snapshot;
    this.#placement = placement;
    this.#owners = owners;
    this.#gen++;
    return { ok: true };
  }

  /** #plan places every group, picks each VIP's announcers and cuts each engine's slice. */
  #plan(snapshot: EngineSnapshot): {
    placement: Map<string, Placement>;
    owners: Map<string, Announcers>;
    slices: { member: Member; slice: EngineSnapshot }[];
  } {
    const members = this.#members();
    const vips = groupVips(snapshot);
    const placement = new Map<string, Placement>();
    const owners = new Map<string, Announcers>();
    for (const group of new Set([...vips.keys(), ...members.map((m) => m.group)])) {
      const settings = this.#groups[group] ?? { haMode: "ActiveActive", spares: 0 };
      const p = place({
        mode: settings.haMode,
        spares: settings.spares,
        engines: members.filter((m) => m.group === group).map((m) => ({ ...m, ready: true })),
        vips: vips.get(group) ?? [],
        previous: this.#placement.get(group) ?? {},
      });
      placement.set(group, p);
      owners.set(
        group,
        announcers({
          mode: settings.haMode,
          placement: p,
          vips: (snapshot.announce?.vips ?? []).filter((v) => (v.group ?? DEFAULT_ENGINE_GROUP) === group),
          previous: this.#owners.get(group) ?? {},
        }),
      );
    }
    // A VIP no engine serves (its group has no engine connected) has its DNS records withdrawn.
    const served = new Set(
      [...placement.values()].flatMap((p) => Object.keys(p).filter((vip) => p[vip]!.active.length > 0)),
    );
    // Engines placed on the same VIPs of a group (every engine, ActiveActive) share one slice
    // object, so the hub encodes it once for all of them.
    const shared = new Map<string, EngineSnapshot>();
    const slices = members.map((member) => {
      const p = placement.get(member.group) ?? {};
      const announce = announceFor(
        snapshot.announce,
        member,
        owners.get(member.group) ?? {},
        this.#groups[member.group],
      );
      const key = `${member.group}\n${Object.keys(p)
        .filter((vip) => p[vip]!.active.includes(member.name))
        .join(",")}\n${JSON.stringify(announce ?? null)}`;
      let slice = shared.get(key);
      if (slice === undefined) shared.set(key, (slice = sliceFor(snapshot, member, p, announce, served)));
      return { member, slice };
    });
    return { placement, owners, slices };
  }

  #members(): Member[] {
    const out: Member[] = this.#local
      ? [{ name: LOCAL_ENGINE, group: DEFAULT_ENGINE_GROUP, node: hostname() }]
      : [];
    for (const s of this.#hub.sessions()) {
      out.push({
        name: s.identity.name,
        group: s.identity.group,
        node: s.identity.node,
        ...(s.identity.zone ? { zone: s.identity.zone } : {}),
      });
    }
    return out;
  }

  /** #push sends one engine its slice and waits for the answer; thrown is a local engine's exception. */
  async #push(
    member: Member,
    seq: number,
    slice: EngineSnapshot,
  ): Promise<{ name: string; answer: Answer; thrown?: unknown }> {
    const ref = { epoch: this.#hub.epoch, seq, version: slice.version };
    this.#sent.set(member.name, { ref, slice });
    this.#gen++;
    if (member.name !== LOCAL_ENGINE || !this.#local)
      return { name: member.name, answer: await this.#hub.send(member.name, seq, slice, this.#timeoutMs) };
    try {
      const r = await this.#local.apply(slice);
      if (r.ok) {
        this.#local_ = { ...this.#local_, acked: ref };
        this.#gen++;
        return { name: member.name, answer: { type: "ack" } };
      }
      const nack = { ...ref, error: r.error, code: (r as { code?: string }).code ?? "Rejected" };
      this.#local_ = { ...this.#local_, lastNack: nack };
      this.#gen++;
      return { name: member.name, answer: { type: "nack", nack: { type: "nack", ...nack } } };
    } catch (err) {
      return { name: member.name, answer: { type: "timeout" }, thrown: err };
    }
  }

  /** #resync re-places after an engine came or went and pushes to the engines whose slice changed
   * or that do not serve it yet (a reconnecting engine whose Hello `have` is current gets nothing),
   * and to force, an engine that must be sent its slice again even if it has it. */
  async #resync(why: string, force?: string): Promise<void> {
    if (this.#snapshot === undefined) return;
    const { placement, owners, slices } = this.#plan(this.#snapshot);
    const due = slices.filter(({ member, slice }) => {
      if (member.name === force) return true;
      const sent = this.#sent.get(member.name);
      const serving =
        member.name === LOCAL_ENGINE ? this.#local_.acked : this.#hub.session(member.name)?.acked;
      return !(sent && sameRef(serving, sent.ref) && JSON.stringify(sent.slice) === JSON.stringify(slice));
    });
    this.#placement = placement;
    this.#owners = owners;
    if (due.length === 0) return;
    const seq = ++this.#seq;
    this.#log("info", "engine slices pushed", { why, engines: due.map((d) => d.member.name), seq });
    await Promise.all(due.map(({ member, slice }) => this.#push(member, seq, slice)));
  }

  #serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(fn, fn);
    this.#queue = run.catch(() => undefined);
    return run;
  }

  /** #states is every engine that should serve something, with what it reported. */
  #states(): EngineState[] {
    const out: EngineState[] = [];
    for (const [name, sent] of this.#sent) {
      if (name === LOCAL_ENGINE) {
        const local = this.#local?.status();
        out.push({ name, sent, ...this.#local_, listeners: local?.listeners ?? [] });
        continue;
      }
      const s = this.#hub.session(name);
      if (s === undefined) continue;
      out.push({
        name,
        sent,
        ...(s.acked ? { acked: s.acked } : {}),
        ...(s.lastNack ? { lastNack: s.lastNack } : {}),
        listeners: s.listeners,
      });
    }
    return out;
  }

  /**
   * status is the fleet's listener state; an engine's listeners count once it acked them. The same
   * object is returned until something changed (the Controller memoizes statuses on it).
   */
  status(): EngineStatus | undefined {
    const local = this.#local?.status();
    if (this.#snapshot === undefined) return local;
    const c = this.#statusCache;
    if (c !== undefined && c.gen === this.#gen && c.local === local) return c.status;
    const status: EngineStatus = {
      version: this.#snapshot.version,
      listeners: unserved(this.#snapshot, fleetListeners(this.#states())),
      endpoints: local?.endpoints ?? [],
      ...(local?.lastError ? { lastError: local.lastError } : {}),
    };
    this.#statusCache = { gen: this.#gen, local, status };
    return status;
  }

  /** metrics is the local engine's exposition followed by the fleet's series. */
  async metrics(): Promise<string> {
    const local = this.#local ? await this.#local.metrics() : "";
    const view = this.view();
    return local + fleetMetrics(view.engines) + announceMetrics(view);
  }

  /** view is every engine, connected or departed within DEPARTED_MS (GET /api/v1/engines). */
  view(): FleetView {
    const states = new Map(this.#states().map((s) => [s.name, s]));
    const ready = (name: string) => {
      const st = states.get(name);
      return st !== undefined && engineListeners(st).every((l) => l.state === "bound");
    };
    const engines: EngineView[] = [];
    if (this.#local) {
      const st = states.get(LOCAL_ENGINE);
      engines.push({
        identity: this.#localIdentity,
        local: true,
        connected: true,
        lastHeardMsAgo: this.#local.liveness?.().ageMs ?? 0,
        ...(this.#local_.acked ? { acked: this.#local_.acked } : {}),
        ...(this.#local_.lastNack ? { lastNack: this.#local_.lastNack } : {}),
        ready: st !== undefined && ready(LOCAL_ENGINE),
        listeners: this.#local.status()?.listeners ?? [],
        ...localLoad(this.#localLoad.entries()),
        ...(this.#local.announce?.() ? { announce: this.#local.announce()! } : {}),
      });
    }
    const now = performance.now();
    for (const s of this.#hub.sessions())
      engines.push({ ...sessionView(s, now), connected: true, ready: ready(s.identity.name) });
    for (const [name, d] of this.#departed) {
      if (Date.now() - d.at > DEPARTED_MS && !this.#hub.session(name)) {
        this.#departed.delete(name);
        this.#sent.delete(name);
      }
      if (!this.#departed.has(name) || this.#hub.session(name)) continue;
      engines.push({ ...sessionView(d.session, now), connected: false, ready: false });
    }
    const calibration = this.#calibration?.();
    const vips = this.#snapshot?.announce?.vips ?? [];
    // Departed engines announce nothing: only the connected ones' reports count.
    const connected = engines
      .filter((e) => e.connected)
      .map((e) => ({
        name: e.identity.name,
        node: e.identity.node,
        ...(e.announce ? { status: e.announce } : {}),
      }));
    return {
      epoch: this.#hub.epoch,
      seq: this.#seq,
      engines,
      ...(calibration ? { calibration } : {}),
      ...(vips.length > 0 ? { announcements: announcementViews(vips, this.#owners, connected) } : {}),
    };
  }

  /** onAnalytics registers fn for every analytics batch: the local engine's and each remote engine's. */
  onAnalytics(fn: (batch: AnalyticsBatch) => void): void {
    // The sink's errors are the caller's (Controller.setAnalytics logs them): passed through here.
    if (this.#local) this.#stopLocalAnalytics = feedAnalytics(this.#local, { ingest: fn }, this.#log);
    this.#hub.onAnalytics(fn);
  }

  /** onListenerChange registers fn for any change of an engine's answers or listeners. */
  onListenerChange(fn: () => void): void {
    this.#changed.push(fn);
  }

  /** close closes the hub (every engine link) and the local engine. */
  async close(): Promise<void> {
    clearInterval(this.#localSampler);
    this.#stopLocalAnalytics();
    await this.#hub.close();
    await this.#local?.close();
  }
}

// unserved adds the listeners of snapshot that no engine was given (no engine of their group is
// connected, or placement left the VIP to none) as pending with what to do, to the fleet's own:
// without it they read "binding" with no word of why.
function unserved(snapshot: EngineSnapshot, listeners: ListenerStatus[]): ListenerStatus[] {
  const known = new Set(listeners.map((l) => l.key));
  const out = [...listeners];
  const wanted = [
    ...snapshot.l4.map((l) => ({ l, protocol: l.protocol })),
    ...snapshot.http.map((l) => ({ l, protocol: "TCP" as const })),
    ...(snapshot.dns ?? []).flatMap((l) => [
      { l, protocol: "UDP" as const },
      { l, protocol: "TCP" as const },
    ]),
  ];
  for (const { l, protocol } of wanted) {
    const key = listenerKey(protocol, l.address, l.port);
    if (known.has(key)) continue;
    known.add(key);
    const g = groupOf(l);
    out.push({
      protocol,
      address: l.address,
      port: l.port,
      name: l.name,
      key,
      state: "binding",
      code: ENGINE_PENDING,
      error: `no engine of group ${g} is connected to serve it: start one (portico engine --group ${g}) or see why the group's engines are not (portico get engines)`,
    });
  }
  return out;
}

// localLoad is the local engine's latest report and its history, as a remote engine's are shown.
function localLoad(history: EngineLoad[]): Pick<EngineView, "load" | "history"> {
  const load = history[history.length - 1];
  return { ...(load ? { load } : {}), history };
}

// sessionView is the part of an EngineView a session gives, connected or not.
function sessionView(s: EngineSession, now: number): Omit<EngineView, "connected" | "ready"> {
  const { type: _type, ...lastNack } = s.lastNack ?? { type: "nack" };
  return {
    identity: s.identity,
    local: false,
    connectedSince: new Date(s.connectedSince).toISOString(),
    lastHeardMsAgo: Math.round(now - s.lastHeard),
    ...(s.acked ? { acked: s.acked } : {}),
    ...(s.pending ? { pending: s.pending } : {}),
    ...(s.lastNack ? { lastNack: lastNack as NonNullable<EngineView["lastNack"]> } : {}),
    listeners: s.listeners,
    ...(s.load ? { load: s.load } : {}),
    history: s.history.entries(),
    ...(s.announce ? { announce: s.announce } : {}),
  };
}
