// kube-leftovers.ts: status Portico wrote on objects it no longer serves (issue 17 item 5, "no
// stale status"). An Ingress whose class moved to another controller, a Gateway whose class did,
// a route no longer attached to any of Portico's Gateways: the pipeline has no status for them,
// so the writer would never touch them again and their addresses would stay advertised (and
// external-dns would keep publishing them). This finds what to remove: load-balancer addresses
// that are Portico's (in one of its VipPools, or written by this process), Portico's own
// conditions, and Portico's entries in a route's parents. Other controllers' entries stay.
// Services are handled with their finalizer (kube.ts #finalizers).
import type { ResourceSet } from "../k8s/resource-set.ts";
import type { AnyObject, Condition } from "../k8s/types.ts";
import { parseIp } from "../ipam/address.ts";
import { parseEntry, type IpRange } from "../ipam/ranges.ts";
import { CONTROLLER_NAME } from "../translate/gateway-conditions.ts";
import type { ObjectStatus } from "../translate/types.ts";
import { keyOf } from "../translate/status.ts";
import { PORTICO_CONDITION_PREFIX } from "./kube-status.ts";

/** Leftover is one object whose status holds what Portico wrote, and the edit that removes it. */
export interface Leftover {
  kind: string;
  namespace?: string;
  name: string;
  edit(status: Record<string, unknown>): Record<string, unknown>;
}

const ROUTES = new Set(["HTTPRoute", "GRPCRoute", "TLSRoute", "TCPRoute", "UDPRoute"]);

/**
 * leftovers lists the Ingresses, Gateways and routes that Portico does not serve now (no status
 * from this run) but whose current status (the informer's copy) still holds Portico's addresses,
 * conditions or parents. written are addresses this process wrote before (so an address from a
 * pool since deleted is still recognised).
 */
export function leftovers(
  set: ResourceSet,
  statuses: readonly ObjectStatus[],
  written: ReadonlySet<string> = new Set(),
): Leftover[] {
  const served = new Set(statuses.map(keyOf));
  const ours = ourAddresses(set, written);
  const out: Leftover[] = [];
  const candidates: AnyObject[] = [
    ...(set.ingresses as unknown as AnyObject[]),
    ...set.other.filter((o) => o.kind === "Gateway" || ROUTES.has(o.kind)),
  ];
  for (const obj of candidates) {
    const ref = { kind: obj.kind, name: obj.metadata.name, namespace: obj.metadata.namespace };
    if (served.has(keyOf(ref)) || obj.metadata.deletionTimestamp) continue;
    const st = (obj.status ?? {}) as Record<string, unknown>;
    const edit = editFor(obj.kind, ours);
    if (!edit || sameJson(edit(st), st)) continue;
    const l: Leftover = { kind: obj.kind, name: obj.metadata.name, edit };
    if (obj.metadata.namespace) l.namespace = obj.metadata.namespace;
    out.push(l);
  }
  return out;
}

/** ourAddresses says whether an address is Portico's: in one of its VipPools, or written by this process. */
function ourAddresses(set: ResourceSet, written: ReadonlySet<string>): (ip: unknown) => boolean {
  const ranges: IpRange[] = set.vipPools.flatMap((p) =>
    (p.spec?.addresses ?? []).map(parseEntry).filter((r): r is IpRange => typeof r !== "string"),
  );
  return (ip) => {
    if (typeof ip !== "string") return false;
    if (written.has(ip)) return true;
    const parsed = parseIp(ip);
    return (
      parsed !== undefined &&
      ranges.some((r) => r.family === parsed.family && r.start <= parsed.value && parsed.value <= r.end)
    );
  };
}

/**
 * serviceLeftoverEdit is the edit that removes what Portico wrote on a Service it no longer serves
 * (before its finalizer goes): its load-balancer addresses and portico.dev conditions. Another
 * load balancer's addresses on the same Service stay (one that took the Service over, say).
 */
export function serviceLeftoverEdit(
  set: ResourceSet,
  written: ReadonlySet<string>,
): (st: Record<string, unknown>) => Record<string, unknown> {
  const ours = ourAddresses(set, written);
  return (st) => {
    const lb = (st.loadBalancer ?? {}) as { ingress?: { ip?: string }[] };
    const ingress = (lb.ingress ?? []).filter((i) => !ours(i.ip));
    const conditions = ((st.conditions ?? []) as Condition[]).filter(
      (c) => !c.type.startsWith(PORTICO_CONDITION_PREFIX),
    );
    const next: Record<string, unknown> = {
      ...st,
      loadBalancer: ingress.length > 0 ? { ...lb, ingress } : {},
    };
    if (conditions.length > 0) next.conditions = conditions;
    else delete next.conditions;
    return next;
  };
}

/** writtenAddresses are the load-balancer and Gateway addresses a run's statuses hold. */
export function writtenAddresses(statuses: readonly ObjectStatus[]): string[] {
  return statuses
    .flatMap((s) => [
      ...(s.status.loadBalancer?.ingress ?? []).map((i) => i.ip ?? ""),
      ...((s.status.addresses ?? []) as { value?: string }[]).map((a) => a.value ?? ""),
    ])
    .filter((a) => a !== "");
}

/** editFor is the edit that removes Portico's part of a kind's status. */
function editFor(
  kind: string,
  ours: (ip: unknown) => boolean,
): ((st: Record<string, unknown>) => Record<string, unknown>) | undefined {
  const dropConditions = (list: unknown): Condition[] =>
    ((list ?? []) as Condition[]).filter((c) => !c.type.startsWith(PORTICO_CONDITION_PREFIX));
  if (kind === "Ingress")
    return (st) => {
      const lb = (st.loadBalancer ?? {}) as { ingress?: { ip?: string }[] };
      const ingress = (lb.ingress ?? []).filter((i) => !ours(i.ip));
      if (ingress.length === (lb.ingress ?? []).length) return st;
      return { ...st, loadBalancer: ingress.length > 0 ? { ...lb, ingress } : {} };
    };
  if (kind === "Gateway")
    return (st) => {
      const next: Record<string, unknown> = { ...st };
      if (Array.isArray(st.addresses))
        next.addresses = (st.addresses as { value?: string }[]).filter((a) => !ours(a.value));
      if (Array.isArray(st.conditions)) next.conditions = dropConditions(st.conditions);
      return next;
    };
  if (ROUTES.has(kind))
    return (st) => {
      if (!Array.isArray(st.parents)) return st;
      return {
        ...st,
        parents: (st.parents as { controllerName?: string }[]).filter(
          (p) => p.controllerName !== CONTROLLER_NAME,
        ),
      };
    };
  return undefined;
}

function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}
