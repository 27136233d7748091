// gateway-http.ts: the virtual hosts of one HTTP(S) port of a Gateway. Every listener on the port
// contributes the hostnames where its routes' hostnames meet its own; a hostname that a more
// specific listener on the same port owns is left to that listener (Listener Isolation), so a
// request only ever sees the routes of the one listener it matches. Within a hostname, routes
// of every attached HTTPRoute and GRPCRoute are sorted by the spec's precedence.
import type { Route, RouteFilter, VirtualHost } from "../model/ir.ts";
import { compareHosts } from "./ingress-routes.ts";
import { intersectHost, routeHosts } from "./gateway-attach.ts";
import { byAge, type Listener, type RouteObject } from "./gateway-types.ts";
import type { RuleProblem } from "./httproute-filters.ts";

/** HttpRule is one IR route and its precedence key (compared element by element, smaller first). */
export interface HttpRule {
  owner: RouteObject;
  route: Route;
  rank: number[];
  /** rule is the index of the route's rule it came from (for rule-targeted policies). */
  rule: number;
}

/** CompiledRoute is an HTTPRoute or GRPCRoute compiled once, whatever listeners it attaches to. */
export interface CompiledRoute {
  rules: HttpRule[];
  /** dropped lists the rules left out and why (PartiallyInvalid / Accepted=False). */
  dropped: (RuleProblem & { rule: number })[];
}

/** compareRules orders by rank, then oldest route, then (within the rank) rule and match order. */
export function compareRules(a: HttpRule, b: HttpRule): number {
  const n = 5; // the spec's criteria; the rank's tail (rule, match) only breaks ties within one route
  for (let i = 0; i < n; i++) if (a.rank[i] !== b.rank[i]) return a.rank[i]! - b.rank[i]!;
  if (a.owner !== b.owner) return byAge(a.owner, b.owner);
  for (let i = n; i < a.rank.length; i++) if (a.rank[i] !== b.rank[i]) return a.rank[i]! - b.rank[i]!;
  return 0;
}

/** moreSpecific tells whether listener hostname a outranks b for a request (exact > longer wildcard > none). */
function moreSpecific(a: string | undefined, b: string | undefined): boolean {
  if (a === undefined) return false;
  if (b === undefined) return true;
  return compareHosts(a, b) < 0;
}

/** ownedElsewhere tells whether a more specific listener on the port matches host. */
function ownedElsewhere(l: Listener, host: string, port: readonly Listener[]): boolean {
  return port.some(
    (o) => o !== l && moreSpecific(o.hostname, l.hostname) && intersectHost(o.hostname, host) === host,
  );
}

/** withListenerPort gives redirects without scheme or port the listener's port, as the spec asks. */
function withListenerPort(route: Route, port: number): Route {
  if (
    !route.filters?.some(
      (f) => f.type === "RequestRedirect" && f.scheme === undefined && f.port === undefined,
    )
  ) {
    return route;
  }
  const filters: RouteFilter[] = route.filters.map((f) =>
    f.type === "RequestRedirect" && f.scheme === undefined && f.port === undefined ? { ...f, port } : f,
  );
  return { ...route, filters };
}

/** virtualHostsFor builds the virtual hosts of one port from its listeners and compiled routes. */
export function virtualHostsFor(
  listeners: readonly Listener[],
  compiled: ReadonlyMap<RouteObject, CompiledRoute>,
  decorate: (l: Listener, r: HttpRule) => Route = (_, r) => r.route,
): VirtualHost[] {
  const hosts = new Map<string, HttpRule[]>();
  // Which listener contributed each rule to a host: its policies (listener, Gateway) apply there.
  const via = new Map<string, Map<HttpRule, Listener>>();
  for (const l of listeners) {
    // A listener's own hostname always gets a virtual host, empty or not, so that its requests
    // never fall through to a less specific listener's routes.
    if (l.hostname !== undefined && !hosts.has(l.hostname)) hosts.set(l.hostname, []);
    for (const obj of l.attached) {
      const c = compiled.get(obj);
      if (!c) continue;
      for (const host of routeHosts(l, obj)) {
        if (ownedElsewhere(l, host, listeners)) continue;
        const list = hosts.get(host) ?? [];
        const from = via.get(host) ?? new Map<HttpRule, Listener>();
        for (const r of c.rules)
          if (!list.includes(r)) {
            list.push(r);
            from.set(r, l);
          }
        hosts.set(host, list);
        via.set(host, from);
      }
    }
  }
  const port = listeners[0]?.port ?? 0;
  return [...hosts.keys()].sort(compareHosts).map((hostname) => ({
    hostname,
    routes: [...hosts.get(hostname)!]
      .sort(compareRules)
      .map((r) => withListenerPort(decorate(via.get(hostname)!.get(r)!, r), port)),
  }));
}
