// httproute.ts: HTTPRoute rules into IR routes. Each (rule, match) pair becomes one route carrying
// the sort key of the spec's precedence: Exact path, then the longest Prefix (RegularExpression
// between them, as Envoy Gateway orders it), then method, most headers, most query parameters,
// the oldest route, rule order and match order. Invalid rules are dropped and reported
// (PartiallyInvalid "Dropped Rule"), as the spec's first option allows.
import type { HTTPRoute, HTTPRouteSpecRulesMatches } from "../k8s/gateway-api.ts";
import type { InvalidBackend, RouteAction, RouteMatch, Route } from "../model/ir.ts";
import { ruleBackends, type BackendRefWithFilters } from "./backend-filters.ts";
import type { BackendEnv, RouteRefs, Weighted } from "./gateway-backends.ts";
import type { HttpRule, CompiledRoute } from "./gateway-http.ts";
import { keyOfObj, type RouteObject } from "./gateway-types.ts";
import { convertFilters, parseDuration, type FilterSpec } from "./httproute-filters.ts";
import { ruleProblem } from "./httproute-validate.ts";

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

/** rankOf is a match's precedence key; smaller sorts first. */
export function rankOf(match: RouteMatch): number[] {
  const t = match.path.type === "Exact" ? 0 : match.path.type === "RegularExpression" ? 1 : 2;
  return [
    t,
    -match.path.value.length,
    match.method ? 0 : 1,
    -(match.headers?.length ?? 0),
    -(match.queryParams?.length ?? 0),
  ];
}

/** compileHttpRoute turns an HTTPRoute's rules into routes, resolving backends once. */
export function compileHttpRoute(env: BackendEnv, obj: RouteObject, refs: RouteRefs): CompiledRoute {
  const route = obj as unknown as HTTPRoute;
  const key = keyOfObj(route);
  const out: CompiledRoute = { rules: [], dropped: [] };
  (route.spec.rules ?? []).forEach((rule, r) => {
    const matches = (rule.matches?.length ? rule.matches : [{}]).map(httpMatch);
    const prefixOnly = matches.every((m) => m.path.type === "Prefix");
    const filters = convertFilters(env, refs, (rule.filters ?? []) as FilterSpec[], prefixOnly, "http1");
    if (!Array.isArray(filters)) {
      out.dropped.push({ rule: r, ...filters });
      return;
    }
    const resolved = ruleBackends(
      env,
      refs,
      (rule.backendRefs ?? []) as BackendRefWithFilters[],
      prefixOnly,
      "http1",
    );
    if ("reason" in resolved) {
      out.dropped.push({ rule: r, ...resolved });
      return;
    }
    const { backends, invalid } = resolved;
    filters.push(...resolved.ruleFilters);
    const problem = ruleProblem(matches, filters);
    if (problem) {
      out.dropped.push({ rule: r, ...problem });
      return;
    }
    // No valid backend at all: the rule answers 500 outright; some valid: invalid shares get 500.
    const action: RouteAction = backends.length > 0 ? forward(backends, invalid) : INTERNAL_ERROR;
    const timeouts = rule.timeouts ?? {};
    const request = timeouts.request !== undefined ? parseDuration(timeouts.request) : undefined;
    const backend =
      timeouts.backendRequest !== undefined ? parseDuration(timeouts.backendRequest) : undefined;
    matches.forEach((match, m) => {
      const ir: Route = { name: `${key}#${r}.${m}`, match, action };
      if (filters.length > 0) ir.filters = filters;
      if (request !== undefined) ir.timeoutMs = request;
      if (backend !== undefined) ir.backendTimeoutMs = backend;
      const rule: HttpRule = { owner: obj, route: ir, rank: [...rankOf(match), r, m], rule: r };
      out.rules.push(rule);
    });
  });
  return out;
}
