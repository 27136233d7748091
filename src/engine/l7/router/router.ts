// router.ts: the compiled router of one HTTP listener: Host → virtual host (HostMap), then
// path → first matching route in IR order. Routes are indexed by the first path segment they can
// match, so a lookup only tries the routes that could apply (10k routes stay flat), while routes
// that can match any segment (Prefix "/", regexps) are merged into every bucket in their IR
// position, keeping first-match-wins exact.
import type { Route, VirtualHost } from "../../../model/ir.ts";
import { HostMap } from "./host-map.ts";
import { compileConditions, compilePath, type PathTest, type RequestView } from "./match.ts";
import { compileMisdirect, type MisdirectCheck } from "./misdirect.ts";
import { compilePhases, type PhaseLog, type Phases } from "../phases.ts";

/** CompiledRoute is a Route with its match compiled. */
export interface CompiledRoute {
  route: Route;
  /** index is the route's position in its virtual host, for stable names in logs. */
  index: number;
  path: PathTest;
  conditions: ((r: RequestView) => boolean) | undefined;
  /** phases are the route's filters, compiled (undefined: it has none). */
  phases: Phases | undefined;
}

/** RouteHit is a routing decision: the route, the length of path its Prefix matched, and vhost. */
export interface RouteHit {
  route: Route;
  prefixLength: number;
  /** vhost is the matching virtual host's hostname as configured (a bounded metrics label). */
  vhost: string;
  /** phases are the route's compiled filters (undefined: it has none). */
  phases: Phases | undefined;
}

/** HostRoutes is the per-virtual-host path index. */
export class HostRoutes {
  private readonly buckets = new Map<string, CompiledRoute[]>();
  // anySegment holds routes that can match whatever the first segment is.
  private readonly anySegment: CompiledRoute[] = [];
  private readonly hostname: string;

  constructor(routes: readonly Route[], hostname = "*", log?: PhaseLog) {
    this.hostname = hostname;
    const compiled = routes.map((route, index): CompiledRoute => ({
      route,
      index,
      path: compilePath(route.match.path),
      conditions: compileConditions(route.match),
      phases: compilePhases(route, log),
    }));
    // Pass 1 creates the buckets; pass 2 appends routes in IR order so every bucket is ordered.
    for (const c of compiled) {
      const key = segmentKey(c.route);
      if (key !== undefined && !this.buckets.has(key)) this.buckets.set(key, []);
    }
    for (const c of compiled) {
      const key = segmentKey(c.route);
      if (key === undefined) {
        this.anySegment.push(c);
        for (const list of this.buckets.values()) list.push(c);
      } else {
        this.buckets.get(key)!.push(c);
      }
    }
  }

  /** match returns the first route matching req, or undefined. */
  match(req: RequestView): RouteHit | undefined {
    const list = this.buckets.get(firstSegment(req.path)) ?? this.anySegment;
    for (let i = 0; i < list.length; i++) {
      const c = list[i]!;
      const n = c.path(req.path);
      if (n >= 0 && (c.conditions === undefined || c.conditions(req)))
        return { route: c.route, prefixLength: n, vhost: this.hostname, phases: c.phases };
    }
    return undefined;
  }
}

/** Router routes requests of one listener. */
export class Router {
  private readonly hosts = new HostMap<HostRoutes>();
  /** misdirected is set when several HTTPS listeners share the port (ListenerTls.listenerHostnames). */
  readonly misdirected: MisdirectCheck | undefined;

  /** Router compiles virtualHosts; regexps that do not compile throw SyntaxError. log gets what
   * compiling the routes' phases reports (a WAF program that cannot be built). */
  constructor(virtualHosts: readonly VirtualHost[], listenerHostnames?: readonly string[], log?: PhaseLog) {
    this.misdirected = compileMisdirect(listenerHostnames);
    for (const vh of virtualHosts)
      this.hosts.add(
        vh.hostname,
        new HostRoutes(vh.routes, vh.hostname, log),
        vh.singleLabelWildcard === true,
      );
  }

  /** route returns the route for a request to host (raw Host header), or undefined (404). */
  route(host: string, req: RequestView): RouteHit | undefined {
    return this.hosts.lookup(host)?.match(req);
  }
}

/** firstSegment returns the text between the first and second "/" ("" for "/" or "/?"). */
export function firstSegment(path: string): string {
  const end = path.indexOf("/", 1);
  return end === -1 ? path.slice(1) : path.slice(1, end);
}

// segmentKey is the only first segment a route can match, or undefined when it can match several.
function segmentKey(route: Route): string | undefined {
  const m = route.match.path;
  if (m.type === "RegularExpression") return undefined;
  if (!m.value.startsWith("/")) return undefined;
  if (m.type === "Prefix") {
    const v = m.value.endsWith("/") ? m.value.slice(0, -1) : m.value;
    if (v === "") return undefined;
    return firstSegment(v);
  }
  return firstSegment(m.value);
}
