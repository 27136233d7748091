// kube-gateway-status.ts: the Gateway API part of the status writer. Gateway API statuses nest
// conditions (per listener, per route parent, per policy ancestor) and routes and policies are
// shared between controllers: Portico replaces only the entries whose controllerName is its own
// and leaves every other controller's entries as they are (GEP-1364, GEP-713).
import type { AnyObject, Condition } from "../k8s/types.ts";
import { CONTROLLER_NAME, GATEWAY_GROUP } from "../translate/gateway-conditions.ts";
import type { ObjectStatus } from "../translate/types.ts";

/** GATEWAY_STATUS_KINDS are the Gateway API kinds whose status Portico writes. */
export const GATEWAY_STATUS_KINDS: ReadonlySet<string> = new Set([
  "GatewayClass",
  "Gateway",
  "ListenerSet",
  "HTTPRoute",
  "GRPCRoute",
  "TLSRoute",
  "TCPRoute",
  "UDPRoute",
  "BackendTLSPolicy",
  // Portico's own policies carry Gateway API PolicyStatus (ancestors) and are written the same way.
  "WafPolicy",
  "AccessPolicy",
]);

type Merge = (old: readonly Condition[], next: readonly Condition[], now: string) => Condition[];
type Entry = { conditions?: Condition[]; controllerName?: string; [k: string]: unknown };

/** refKey names a parentRef/ancestorRef with the API's defaults filled in, for matching entries. */
function refKey(ref: unknown): string {
  const r = { group: GATEWAY_GROUP, kind: "Gateway", ...(ref as Record<string, unknown>) };
  return JSON.stringify(
    Object.keys(r)
      .sort()
      .map((k) => [k, r[k as keyof typeof r]]),
  );
}

/** mergeEntries replaces Portico's entries of a shared list (parents, ancestors), keeping others'. */
function mergeEntries(
  cur: readonly Entry[],
  ours: readonly Entry[],
  refField: string,
  merge: Merge,
  now: string,
): Entry[] {
  const others = cur.filter((e) => e.controllerName !== CONTROLLER_NAME);
  return [
    ...others,
    ...ours.map((e) => {
      const prev = cur.find(
        (c) => c.controllerName === e.controllerName && refKey(c[refField]) === refKey(e[refField]),
      );
      return { ...e, conditions: merge(prev?.conditions ?? [], e.conditions ?? [], now) };
    }),
  ];
}

/** gatewayDesired is the status Portico wants on a Gateway API object, given the current one. */
export function gatewayDesired(
  obj: AnyObject,
  s: ObjectStatus,
  now: string,
  merge: Merge,
): Record<string, unknown> {
  const cur = (obj.status ?? {}) as Record<string, unknown> & { conditions?: Condition[] };
  const want = s.status as Record<string, unknown> & { conditions?: Condition[] };
  switch (obj.kind) {
    case "GatewayClass":
      // supportedFeatures too: a conformance run infers the features to test from it.
      return { ...cur, ...want, conditions: merge(cur.conditions ?? [], want.conditions ?? [], now) };
    case "Gateway":
    case "ListenerSet": {
      const curListeners = (cur.listeners ?? []) as Entry[];
      const next: Record<string, unknown> = {
        ...cur,
        ...want,
        conditions: merge(cur.conditions ?? [], want.conditions ?? [], now),
        listeners: ((want.listeners ?? []) as Entry[]).map((l) => ({
          ...l,
          conditions: merge(
            curListeners.find((c) => c.name === l.name)?.conditions ?? [],
            l.conditions ?? [],
            now,
          ),
        })),
      };
      // A Gateway without an address lists none (the pipeline writes [] while IPAM is pending).
      if (Array.isArray(next.addresses) && next.addresses.length === 0) delete next.addresses;
      return next;
    }
    case "WafPolicy":
    case "AccessPolicy":
    case "BackendTLSPolicy": {
      const next: Record<string, unknown> = {
        ...cur,
        ancestors: mergeEntries(
          (cur.ancestors ?? []) as Entry[],
          (want.ancestors ?? []) as Entry[],
          "ancestorRef",
          merge,
          now,
        ),
      };
      // Portico's own policies also carry their InputValid (an invalid edit held back) in conditions.
      const conditions = merge(cur.conditions ?? [], want.conditions ?? [], now);
      if (obj.kind !== "BackendTLSPolicy") {
        if (conditions.length > 0) next.conditions = conditions;
        else delete next.conditions;
      }
      return next;
    }
    default:
      return {
        ...cur,
        parents: mergeEntries(
          (cur.parents ?? []) as Entry[],
          (want.parents ?? []) as Entry[],
          "parentRef",
          merge,
          now,
        ),
      };
  }
}

/** gatewayIps lists the addresses in a Gateway's status.addresses (type IPAddress or unset). */
export function gatewayIps(obj: AnyObject): string[] {
  const list =
    (obj.status as { addresses?: { type?: string; value?: string }[] } | undefined)?.addresses ?? [];
  return list.filter((a) => (a.type ?? "IPAddress") === "IPAddress" && a.value).map((a) => a.value!);
}
