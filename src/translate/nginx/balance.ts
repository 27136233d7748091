// balance.ts: ingress-nginx's load-balance and upstream-hash-by, per Ingress. Portico's algorithm
// is a property of a pool (one per Service port), and Ingresses naming the same Service may ask for
// different ones, so a route that asks gets a pool of its own: the Service's pool under the name
// "<pool>~<algorithm>", with the same endpoints and the algorithm asked for (its health and
// in-flight counts are its own).
//   load-balance: round_robin → RoundRobin; ewma (latency-weighted) → LeastRequest, the closest
//     Portico has (power of two choices over requests in flight, which tracks slow endpoints too).
//     Other values are reported and the pool keeps its algorithm.
//   upstream-hash-by (wins over load-balance, as in ingress-nginx): one nginx variable —
//     $remote_addr / $binary_remote_addr → ConsistentHash on SourceIP, $request_uri → on the
//     request target, $http_<name> → on header <name> ("_" read as "-"), $cookie_<name> → on the
//     cookie. Combinations and text ("$host$request_uri") are reported and not applied. A request
//     without the header or cookie is hashed by its source address (nginx hashes the empty string,
//     sending all of them to one endpoint). upstream-hash-by-subset is not implemented (reported).
import type { Algorithm, Route } from "../../model/ir.ts";
import type { TranslateContext } from "../context.ts";
import type { RouteApplier } from "./apply.ts";
import { nginxAnnotation, reportAnnotation } from "./traffic-report.ts";

/** hashAlgorithm maps an upstream-hash-by value onto ConsistentHash, or says why it cannot. */
export function hashAlgorithm(value: string): Algorithm | string {
  const m = /^\$\{?([a-z_][a-z0-9_]*)\}?$/i.exec(value.trim());
  if (m === null)
    return `${JSON.stringify(value)} combines variables or text; Portico hashes on one of $remote_addr, $request_uri, $http_<name>, $cookie_<name>`;
  const v = m[1]!.toLowerCase();
  if (v === "remote_addr" || v === "binary_remote_addr") return { type: "ConsistentHash", on: "SourceIP" };
  if (v === "request_uri") return { type: "ConsistentHash", on: "RequestUri" };
  if (v.startsWith("http_") && v.length > 5)
    return { type: "ConsistentHash", on: "Header", name: v.slice(5).replace(/_/g, "-") };
  if (v.startsWith("cookie_") && v.length > 7)
    return { type: "ConsistentHash", on: "Cookie", name: m[1]!.slice(7) };
  return `$${m[1]} is not a variable Portico can hash on ($remote_addr, $request_uri, $http_<name>, $cookie_<name>)`;
}

/** balanceAlgorithm maps a load-balance value, or says why it cannot. */
export function balanceAlgorithm(value: string): Algorithm | string {
  if (value === "round_robin") return { type: "RoundRobin" };
  if (value === "ewma") return { type: "LeastRequest" };
  return `${JSON.stringify(value)} is not round_robin or ewma; the Service's default balancing applies`;
}

/** algorithmTag names an algorithm in a derived pool's name. */
function algorithmTag(a: Algorithm): string {
  if (a.type !== "ConsistentHash") return a.type;
  if (a.on === "Header" || a.on === "Cookie") return `hash-${a.on}-${a.name}`;
  return `hash-${a.on}`;
}

/** requestedAlgorithm is the algorithm an Ingress's annotations ask for, reporting what cannot be used. */
export function requestedAlgorithm(
  ctx: TranslateContext,
  ing: Parameters<RouteApplier>[1],
): Algorithm | undefined {
  const hashBy = nginxAnnotation(ing, "upstream-hash-by");
  const subset = nginxAnnotation(ing, "upstream-hash-by-subset");
  if (subset === "true")
    reportAnnotation(ctx, ing, "upstream-hash-by-subset: not implemented; keys map to single endpoints");
  if (hashBy !== undefined) {
    const a = hashAlgorithm(hashBy);
    if (typeof a !== "string") return a;
    reportAnnotation(ctx, ing, `upstream-hash-by: ${a}; not applied`);
  }
  const lb = nginxAnnotation(ing, "load-balance");
  if (lb === undefined) return undefined;
  const a = balanceAlgorithm(lb);
  if (typeof a !== "string") return a;
  reportAnnotation(ctx, ing, `load-balance: ${a}`);
  return undefined;
}

/** withAlgorithm points a Forward route at copies of its pools that use algorithm a. */
export function withAlgorithm(ctx: TranslateContext, route: Route, a: Algorithm): Route {
  if (route.action.type !== "Forward") return route;
  const backends = route.action.backends.map((b) => {
    const pool = ctx.pools[b.pool];
    if (pool === undefined) return b;
    const name = `${b.pool}~${algorithmTag(a)}`;
    ctx.pools[name] ??= { ...pool, name, algorithm: a };
    return { ...b, pool: name };
  });
  return { ...route, action: { ...route.action, backends } };
}

/** applyBalance gives the route's pools the algorithm its Ingress asks for. */
export const applyBalance: RouteApplier = (ctx, ing, route) => {
  const a = requestedAlgorithm(ctx, ing);
  return a === undefined ? route : withAlgorithm(ctx, route, a);
};
