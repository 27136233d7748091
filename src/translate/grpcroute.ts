// grpcroute.ts: GRPCRoute rules into IR routes on the same virtual hosts as HTTPRoutes. A gRPC
// method is the HTTP/2 path "/<service>/<method>", so service/method matches become path matches:
// both given (Exact) is an exact path, a service alone a prefix, a method alone or any
// RegularExpression a regular expression over the path. Backends are spoken to in cleartext
// HTTP/2 (h2c) unless a BackendTLSPolicy re-encrypts.
import type { GRPCRoute, GRPCRouteSpecRulesMatches } from "../k8s/gateway-api.ts";
import type { RouteMatch } from "../model/ir.ts";
import type { BackendRefWithFilters } from "./backend-filters.ts";
import type { BackendEnv, RouteRefs } from "./gateway-backends.ts";
import type { CompiledRoute } from "./gateway-http.ts";
import type { RouteObject } from "./gateway-types.ts";
import type { FilterSpec } from "./httproute-filters.ts";
import { INTERNAL_ERROR, forward } from "./httproute.ts";
import { compileRules, type RouteKind } from "./route-rules.ts";

/** escapeRe quotes regexp metacharacters of a literal service or method name. */
const escapeRe = (s: string): string => s.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");

/** grpcPath turns a GRPCMethodMatch into a path match. */
export function grpcPath(m: GRPCRouteSpecRulesMatches["method"]): RouteMatch["path"] {
  const service = m?.service;
  const method = m?.method;
  if (!service && !method) return { type: "Prefix", value: "/" };
  if ((m?.type ?? "Exact") === "Exact") {
    if (service && method) return { type: "Exact", value: `/${service}/${method}` };
    if (service) return { type: "Prefix", value: `/${service}` };
    return { type: "RegularExpression", value: `/[^/]+/${escapeRe(method!)}` };
  }
  return { type: "RegularExpression", value: `/${service || "[^/]+"}/${method || "[^/]+"}` };
}

/** grpcMatch converts one GRPCRouteMatch. */
function grpcMatch(m: GRPCRouteSpecRulesMatches): RouteMatch {
  const match: RouteMatch = { path: grpcPath(m.method) };
  if (m.headers?.length)
    match.headers = m.headers.map((h) => ({ name: h.name, type: h.type ?? "Exact", value: h.value }));
  return match;
}

/** compileGrpcRoute turns a GRPCRoute's rules into routes, resolving backends once. */
export function compileGrpcRoute(env: BackendEnv, obj: RouteObject, refs: RouteRefs): CompiledRoute {
  return compileRules(env, obj, refs, (obj as unknown as GRPCRoute).spec.rules ?? [], GRPC_RULES);
}

type GrpcRuleSpec = NonNullable<GRPCRoute["spec"]["rules"]>[number];

const GRPC_RULES: RouteKind<GrpcRuleSpec> = {
  parts: (rule) => ({
    matches: (rule.matches?.length ? rule.matches : [{}]).map(grpcMatch),
    filters: (rule.filters ?? []) as FilterSpec[],
    backendRefs: (rule.backendRefs ?? []) as BackendRefWithFilters[],
    prefixOnly: false,
  }),
  protocol: "h2c",
  // GRPCRoute asks UNAVAILABLE for invalid shares, even when all are invalid: the engine answers
  // gRPC requests of an invalid share so; a rule with no weighted ref at all answers 500.
  action: (backends, invalid) =>
    backends.length > 0 || invalid.length > 0 ? forward(backends, invalid) : INTERNAL_ERROR,
};
