// bind-status.ts: what the engine's sockets did to the objects they serve. A listener that cannot
// bind (address in use, address not available) makes every object it serves not programmed:
// `portico.dev/Programmed=False` on a Service or Ingress, `Programmed=False` on a Gateway and on
// the Gateway listener of that port, and on a DnsZone whose DNS port cannot bind. Pure: statuses, snapshot and bind state in, statuses out.
import type { ResourceSet } from "../k8s/resource-set.ts";
import type { Condition } from "../k8s/types.ts";
import type { ListenerStatus } from "../engine/listeners.ts";
import { listenerKey } from "../engine/listeners.ts";
import type { EngineSnapshot } from "../model/ir.ts";
import type { ObjectStatus } from "../translate/types.ts";
import { keyOf } from "../translate/status.ts";
import { ENGINE_NACK, ENGINE_PENDING } from "./fleet/fleet-status.ts";

/** PROGRAMMED is the condition a Service or Ingress carries once its listeners are bound. */
export const PROGRAMMED = "portico.dev/Programmed";

/** ListenerRef is one socket an object needs: its engine key and the port it serves. */
interface ListenerRef {
  key: string;
  address: string;
  port: number;
  protocol: "TCP" | "UDP";
}

/** GatewayListenerSpec is the part of a Gateway's spec.listeners[] that names a port. */
export interface GatewayListenerSpec {
  name: string;
  port: number;
  protocol: string;
}

/** gatewayListenerSpecs reads each Gateway's spec.listeners (name, port, protocol) from set. */
export function gatewayListenerSpecs(set: ResourceSet): Map<string, GatewayListenerSpec[]> {
  const out = new Map<string, GatewayListenerSpec[]>();
  for (const o of set.other) {
    if (o.kind !== "Gateway") continue;
    const spec = (o as { spec?: { listeners?: GatewayListenerSpec[] } }).spec;
    out.set(`Gateway/${o.metadata.namespace ?? "default"}/${o.metadata.name}`, spec?.listeners ?? []);
  }
  return out;
}

/** objectListeners maps an object key ("Service/ns/name") to the sockets that serve it. */
export function objectListeners(snapshot: EngineSnapshot): Map<string, ListenerRef[]> {
  const out = new Map<string, ListenerRef[]>();
  const add = (obj: string, ref: ListenerRef) => {
    const list = out.get(obj) ?? [];
    if (!list.some((r) => r.key === ref.key)) list.push(ref);
    out.set(obj, list);
  };
  // A listener named "Kind/ns/name:port..." belongs to that object; a shared one (an IngressClass
  // VIP) serves every object that has a route on it ("Ingress/ns/name#0.0").
  const owner = (name: string) => /^([^:#]+)[:#]/.exec(name)?.[1];
  for (const l of snapshot.l4) {
    const ref = {
      key: listenerKey(l.protocol, l.address, l.port),
      address: l.address,
      port: l.port,
      protocol: l.protocol,
    };
    const o = owner(l.name);
    if (o !== undefined) add(o, ref);
  }
  for (const l of snapshot.http) {
    const ref = {
      key: listenerKey("TCP", l.address, l.port),
      address: l.address,
      port: l.port,
      protocol: "TCP" as const,
    };
    const o = owner(l.name);
    if (o !== undefined) add(o, ref);
    for (const vh of l.virtualHosts)
      for (const r of vh.routes) {
        const ro = owner(r.name);
        if (ro !== undefined && !ro.startsWith("HTTPRoute/") && !ro.startsWith("GRPCRoute/")) add(ro, ref);
      }
  }
  // A DnsZone's server ("DnsZone/name", "DnsZone/name@address" for a second address) binds UDP and TCP.
  for (const d of snapshot.dns ?? []) {
    const o = d.name.split("@")[0]!;
    for (const protocol of ["UDP", "TCP"] as const)
      add(o, { key: listenerKey(protocol, d.address, d.port), address: d.address, port: d.port, protocol });
  }
  return out;
}

/** objectAddresses maps an object key to the VIP addresses of the listeners that serve it, sorted. */
export function objectAddresses(snapshot: EngineSnapshot): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const [obj, refs] of objectListeners(snapshot))
    out.set(obj, [...new Set(refs.map((r) => r.address))].sort());
  return out;
}

/** bindReason names a bind error code as a condition reason. */
export function bindReason(code: string | undefined): string {
  if (code === "EADDRINUSE") return "AddressInUse";
  if (code === "EADDRNOTAVAIL") return "AddressNotAvailable";
  if (code === "EACCES" || code === "EPERM") return "PermissionDenied";
  if (code === ENGINE_NACK) return "Rejected";
  return "BindFailed";
}

/** bindVerdict folds the state of refs into one condition's status, reason and message. */
function bindVerdict(
  refs: readonly ListenerRef[],
  state: ReadonlyMap<string, ListenerStatus>,
): Pick<Condition, "status" | "reason" | "message"> {
  const failed = refs.map((r) => state.get(r.key)).filter((l) => l?.state === "error");
  if (failed.length > 0) {
    // An engine's NACK is not a bind failure: its message names the engine and the reason.
    const text = failed
      .map((l) => (l!.code === ENGINE_NACK ? `${l!.key}: ${l!.error}` : `cannot bind ${l!.key}: ${l!.error}`))
      .join("; ");
    const retrying = failed.some((l) => l!.code !== ENGINE_NACK) ? " (retrying)" : "";
    return { status: "False", reason: bindReason(failed[0]!.code), message: `${text}${retrying}` };
  }
  const waiting = refs.filter((r) => state.get(r.key)?.state !== "bound");
  if (waiting.length > 0) {
    // A listener waiting on an engine's ack says which engine (fleet-status.ts).
    const why = (key: string) => {
      const l = state.get(key);
      return l?.code === ENGINE_PENDING && l.error ? `${key} (${l.error})` : key;
    };
    return {
      status: "False",
      reason: "Pending",
      message: `binding ${waiting.map((r) => why(r.key)).join(", ")}`,
    };
  }
  return { status: "True", reason: "Programmed", message: `bound ${refs.map((r) => r.key).join(", ")}` };
}

/** setCondition replaces (or adds) the condition of type, keeping observedGeneration and order. */
function setCondition(
  list: readonly Condition[],
  type: string,
  v: Pick<Condition, "status" | "reason" | "message">,
) {
  const generation = list.find((c) => c.observedGeneration !== undefined)?.observedGeneration;
  const c: Condition = {
    type,
    ...v,
    ...(generation !== undefined ? { observedGeneration: generation } : {}),
  };
  const rest = list.filter((x) => x.type !== type);
  return [...rest, c].sort((a, b) => (a.type < b.type ? -1 : a.type > b.type ? 1 : 0));
}

/** worsen turns a True Programmed condition False with v; a False one (its own reason) stays. */
function worsen(
  list: readonly Condition[],
  v: Pick<Condition, "status" | "reason" | "message">,
): Condition[] {
  if (v.status === "True") return [...list];
  return list.map((c) => (c.type === "Programmed" && c.status === "True" ? { ...c, ...v } : c));
}

/**
 * applyBindState returns statuses with the bind state of the listeners each object needs.
 * gatewayListeners gives each Gateway's spec.listeners (by "Gateway/ns/name"); objects whose
 * listeners are all bound keep their identity, so callers can tell what changed.
 */
export function applyBindState(
  statuses: readonly ObjectStatus[],
  snapshot: EngineSnapshot,
  listeners: readonly ListenerStatus[],
  gatewayListeners: ReadonlyMap<string, readonly GatewayListenerSpec[]> = new Map(),
): ObjectStatus[] {
  const state = new Map(listeners.map((l) => [l.key, l]));
  const refsOf = objectListeners(snapshot);
  return statuses.map((s) => {
    const key = keyOf(s);
    const refs = refsOf.get(key);
    if (refs === undefined || refs.length === 0) return s;
    const verdict = bindVerdict(refs, state);
    if (s.kind === "Service" || s.kind === "Ingress")
      return {
        ...s,
        status: { ...s.status, conditions: setCondition(s.status.conditions ?? [], PROGRAMMED, verdict) },
      };
    if (s.kind === "DnsZone")
      return verdict.status === "True"
        ? s
        : { ...s, status: { ...s.status, conditions: worsen(s.status.conditions ?? [], verdict) } };
    if (s.kind !== "Gateway" || verdict.status === "True") return s;
    const specs = gatewayListeners.get(key) ?? [];
    const perListener = (s.status.listeners as { name: string; conditions?: Condition[] }[] | undefined)?.map(
      (gl) => {
        const spec = specs.find((x) => x.name === gl.name);
        const proto = spec?.protocol === "UDP" ? "UDP" : "TCP";
        const mine = refs.filter((r) => r.port === spec?.port && r.protocol === proto);
        if (mine.length === 0) return gl;
        return { ...gl, conditions: worsen(gl.conditions ?? [], bindVerdict(mine, state)) };
      },
    );
    return {
      ...s,
      status: {
        ...s.status,
        conditions: worsen(s.status.conditions ?? [], verdict),
        ...(perListener ? { listeners: perListener } : {}),
      },
    };
  });
}

/** failingListeners lists the listeners that are not bound (binding or failing), for readiness. */
export function failingListeners(listeners: readonly ListenerStatus[]): ListenerStatus[] {
  return listeners.filter((l) => l.state === "error" || l.state === "binding");
}

/** listenersCheck is the "listeners" line of /readyz (controller and engine): ok when all are bound. */
export function listenersCheck(listeners: readonly ListenerStatus[]): {
  name: string;
  ok: boolean;
  detail: string;
} {
  const failing = failingListeners(listeners);
  return {
    name: "listeners",
    ok: failing.length === 0,
    detail:
      failing.length === 0
        ? `${listeners.length} bound`
        : failing
            .map((l) => (l.error ? `cannot bind ${l.key} (${l.name}): ${l.error}` : `binding ${l.key}`))
            .join("; "),
  };
}
