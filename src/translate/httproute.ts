// httproute.ts: HTTPRoute rules into IR routes. Each (rule, match) pair becomes one route carrying
// the sort key of the spec's precedence: Exact path, then the longest Prefix (RegularExpression
// between them, as Envoy Gateway orders it), then method, most headers, most query parameters,
// the oldest route, rule order and match order. Invalid rules are dropped and reported
// (PartiallyInvalid "Dropped Rule"), as the spec's first option allows.
import type { HTTPRoute, HTTPRouteSpecRulesMatches } from "../k8s/gateway-api.ts";
import type { InvalidBackend, RouteAction, RouteMatch } from "../model/ir.ts";
import type { BackendRefWithFilters } from "./backend-filters.ts";
import type { BackendEnv, RouteRefs, Weighted } from "./gateway-backends.ts";
import type { CompiledRoute } from "./gateway-http.ts";
import type { RouteObject } from "./gateway-types.ts";
import { parseDuration, type FilterSpec } from "./httproute-filters.ts";
import { compileRules, type RouteKind } from "./route-rules.ts";

/** INTERNAL_ERROR answers a rule none of whose backends is usable (the spec asks for a 500). */
export const INTERNAL_ERROR: RouteAction = {
  type: "DirectResponse",
  status: 500,
  body: "Internal Server Error\n",
};

/** forward builds a Forward action, with the invalid shares only when there are some. */
export function forward(backends: Weighted[], invalid: InvalidBackend[]): RouteAction {
  return invalid.length > 0 ? { type: "Forward", backends, invalid } : { type: "Forward", backends };
}

/** httpMatch converts one HTTPRouteMatch; the path defaults to PathPrefix "/". */
function httpMatch(m: HTTPRouteSpecRulesMatches): RouteMatch {
  const p = m.path ?? { type: "PathPrefix", value: "/" };
  const value = p.value ?? "/";
  const type = p.type === "Exact" ? "Exact" : p.type === "RegularExpression" ? "RegularExpression" : "Prefix";
  // A Prefix keeps element semantics in the IR: "/foo/" and "/foo" both match "/foo/bar".
  const path = {
    type,
    value: type === "Prefix" && value.length > 1 ? value.replace(/\/+$/, "") || "/" : value,
  } as RouteMatch["path"];
  const match: RouteMatch = { path };
  if (m.headers?.length)
    match.headers = m.headers.map((h) => ({ name: h.name, type: h.type ?? "Exact", value: h.value }));
  if (m.queryParams?.length) {
    match.queryParams = m.queryParams.map((q) => ({ name: q.name, type: q.type ?? "Exact", value: q.value }));
  }
  if (m.method) match.method = m.method;
  return match;
}

/** compileHttpRoute turns an HTTPRoute's rules into routes, resolving backends once. */
export function compileHttpRoute(env: BackendEnv, obj: RouteObject, refs: RouteRefs): CompiledRoute {
  return compileRules(env, obj, refs, (obj as unknown as HTTPRoute).spec.rules ?? [], HTTP_RULES);
}

type HttpRuleSpec = NonNullable<HTTPRoute["spec"]["rules"]>[number];

const HTTP_RULES: RouteKind<HttpRuleSpec> = {
  parts(rule) {
    const matches = (rule.matches?.length ? rule.matches : [{}]).map(httpMatch);
    return {
      matches,
      filters: (rule.filters ?? []) as FilterSpec[],
      backendRefs: (rule.backendRefs ?? []) as BackendRefWithFilters[],
      prefixOnly: matches.every((m) => m.path.type === "Prefix"),
    };
  },
  protocol: "http1",
  // No valid backend at all: the rule answers 500 outright; some valid: invalid shares get 500.
  action: (backends, invalid) => (backends.length > 0 ? forward(backends, invalid) : INTERNAL_ERROR),
  decorate(rule, route) {
    const timeouts = rule.timeouts ?? {};
    if (timeouts.request !== undefined) route.timeoutMs = parseDuration(timeouts.request);
    if (timeouts.backendRequest !== undefined)
      route.backendTimeoutMs = parseDuration(timeouts.backendRequest);
  },
};
