// gateway-attach.ts: how a Route attaches to its parents. Each parentRef that names one of
// Portico's Gateways (or ListenerSets) picks listeners by sectionName and port, then keeps those
// whose allowedRoutes admit the route's kind and namespace and, for HTTP, gRPC and TLS routes,
// whose hostname intersects the route's. The first test that leaves no listener names the reason.
import type { Gateway, ListenerSet } from "../k8s/gateway-api.ts";
import type { ResourceSet } from "../k8s/resource-set.ts";
import type { LabelSelector } from "../k8s/vip-pool.ts";
import { matchesSelector } from "../ipam/selector.ts";
import { GATEWAY_GROUP, no, yes, type Cond } from "./gateway-conditions.ts";
import { nsOf, type Listener, type ParentRef, type RouteObject } from "./gateway-types.ts";

/** Parent is an attachable object of Portico's: a Gateway, or an accepted ListenerSet. */
export interface Parent {
  obj: Gateway | ListenerSet;
  gateway: Gateway;
  /** listeners a parentRef to this object may pick (a Gateway's own, or the set's). */
  listeners: Listener[];
}

/** Attachment is the outcome of one parentRef: the listeners it attached to, and Accepted. */
export interface Attachment {
  parentRef: ParentRef;
  parent: Parent;
  listeners: Listener[];
  accepted: Cond;
}

/** namespaceAllowed applies an allowedRoutes/allowedListeners namespaces rule. */
export function namespaceAllowed(
  set: ResourceSet,
  from: string,
  selector:
    | {
        matchLabels?: Record<string, string>;
        matchExpressions?: { key: string; operator: string; values?: string[] }[];
      }
    | undefined,
  ownerNs: string,
  ns: string,
): boolean {
  if (from === "All") return true;
  if (from === "Same") return ns === ownerNs;
  if (from !== "Selector" || !selector) return false;
  const obj = set.namespaces.find((n) => n.metadata.name === ns);
  // The API server labels every namespace with its name; a file without Namespaces still matches that.
  const labels = { "kubernetes.io/metadata.name": ns, ...(obj?.metadata.labels ?? {}) };
  // The CRD's schema leaves operator a string; matchesSelector treats an unknown one as no match.
  return matchesSelector(selector as LabelSelector, labels);
}

/** covers tells whether wildcard "*.x" matches host, itself maybe a narrower wildcard ("*.a.x"). */
function covers(wildcard: string, host: string): boolean {
  const suffix = wildcard.slice(1);
  return wildcard.startsWith("*.") && host.endsWith(suffix) && host.length > suffix.length;
}

/**
 * intersectHost is the more specific of a listener and a route hostname when one matches the
 * other ("*.com" and "*.example.com" meet at "*.example.com"), undefined when they are disjoint.
 */
export function intersectHost(listener: string | undefined, route: string): string | undefined {
  if (listener === undefined || listener === route) return route;
  if (covers(listener, route)) return route;
  if (covers(route, listener)) return listener;
  return undefined;
}

/** routeHosts lists the hostnames a route serves on a listener; empty means none overlap. */
export function routeHosts(l: Listener, route: RouteObject): string[] {
  const hostnames = (route.spec?.hostnames ?? []).map((h) => h.toLowerCase());
  if (hostnames.length === 0) return [l.hostname ?? "*"];
  const out: string[] = [];
  for (const h of hostnames) {
    const i = intersectHost(l.hostname, h);
    if (i !== undefined && !out.includes(i)) out.push(i);
  }
  return out;
}

/** parentKey names the object a parentRef points to, "Kind/ns/name", or undefined when not ours to judge. */
export function parentKey(route: RouteObject, ref: ParentRef): string | undefined {
  if ((ref.group ?? GATEWAY_GROUP) !== GATEWAY_GROUP) return undefined;
  const kind = ref.kind ?? "Gateway";
  if (kind !== "Gateway" && kind !== "ListenerSet") return undefined;
  return `${kind}/${ref.namespace ?? nsOf(route)}/${ref.name}`;
}

/** attach works out one parentRef of a route against a parent of Portico's. */
export function attach(set: ResourceSet, route: RouteObject, ref: ParentRef, parent: Parent): Attachment {
  const picked = parent.listeners.filter(
    (l) =>
      (ref.sectionName === undefined || l.name === ref.sectionName) &&
      (ref.port === undefined || l.port === ref.port),
  );
  const result = (listeners: Listener[], accepted: Cond): Attachment => ({
    parentRef: ref,
    parent,
    listeners,
    accepted,
  });
  if (picked.length === 0) {
    const what = [ref.sectionName && `sectionName ${ref.sectionName}`, ref.port && `port ${ref.port}`]
      .filter(Boolean)
      .join(" and ");
    return result(
      [],
      no(
        "NoMatchingParent",
        `${parent.obj.kind} ${nsOf(parent.obj)}/${parent.obj.metadata.name} has no listener with ${what}`,
      ),
    );
  }
  const allowed = picked.filter((l) => {
    if (!l.supportedKinds.includes(route.kind)) return false;
    const ns = l.spec.allowedRoutes?.namespaces;
    return namespaceAllowed(set, ns?.from ?? "Same", ns?.selector, nsOf(l.owner), nsOf(route));
  });
  if (allowed.length === 0) {
    return result(
      [],
      no("NotAllowedByListeners", `no listener allows ${route.kind} from namespace ${nsOf(route)}`),
    );
  }
  const hostAware = route.kind === "HTTPRoute" || route.kind === "GRPCRoute" || route.kind === "TLSRoute";
  const matched = hostAware ? allowed.filter((l) => routeHosts(l, route).length > 0) : allowed;
  if (matched.length === 0) {
    return result(
      [],
      no("NoMatchingListenerHostname", "no listener hostname intersects the route's hostnames"),
    );
  }
  return result(matched, yes("Accepted"));
}
