// route-rules.ts: the rule loop HTTPRoute and GRPCRoute share. Both turn each rule into filters,
// backends and one IR route per match, and drop (and report) a rule whose filters, backends or
// matches cannot be served; what differs — how a match converts, which protocol backends speak,
// what a rule with no usable backend answers, per-rule timeouts — comes from the kind's own file.
import type { InvalidBackend, Route, RouteAction, RouteMatch } from "../model/ir.ts";
import { ruleBackends, type BackendRefWithFilters } from "./backend-filters.ts";
import type { BackendEnv, PoolProtocol, RouteRefs, Weighted } from "./gateway-backends.ts";
import type { CompiledRoute, HttpRule } from "./gateway-http.ts";
import { keyOfObj, type RouteObject } from "./gateway-types.ts";
import { convertFilters, type FilterSpec } from "./httproute-filters.ts";
import { ruleProblem } from "./httproute-validate.ts";

/** RuleParts is what a route kind says of one of its rules. */
export interface RuleParts {
  matches: RouteMatch[];
  filters: readonly FilterSpec[];
  backendRefs: readonly BackendRefWithFilters[];
  /** prefixOnly: every match is a path prefix (ReplacePrefixMatch is allowed only then). */
  prefixOnly: boolean;
}

/** RouteKind carries what differs between HTTPRoute and GRPCRoute rules. */
export interface RouteKind<R> {
  parts(rule: R): RuleParts;
  /** protocol backends (and mirrors) are spoken to in, unless a BackendTLSPolicy re-encrypts. */
  protocol: PoolProtocol;
  /** action: what the rule does with its usable and invalid backend shares. */
  action(backends: Weighted[], invalid: InvalidBackend[]): RouteAction;
  /** decorate adds rule-level settings (timeouts) to each of the rule's routes. */
  decorate?(rule: R, route: Route): void;
}

/** compileRules turns a route's rules into routes, resolving backends once per rule. */
export function compileRules<R>(
  env: BackendEnv,
  obj: RouteObject,
  refs: RouteRefs,
  rules: readonly R[],
  kind: RouteKind<R>,
): CompiledRoute {
  const key = keyOfObj(obj);
  const out: CompiledRoute = { rules: [], dropped: [] };
  rules.forEach((spec, r) => {
    const { matches, filters: specs, backendRefs, prefixOnly } = kind.parts(spec);
    const filters = convertFilters(env, refs, specs, prefixOnly, kind.protocol);
    if (!Array.isArray(filters)) {
      out.dropped.push({ rule: r, ...filters });
      return;
    }
    const resolved = ruleBackends(env, refs, backendRefs, prefixOnly, kind.protocol);
    if ("reason" in resolved) {
      out.dropped.push({ rule: r, ...resolved });
      return;
    }
    filters.push(...resolved.ruleFilters);
    const problem = ruleProblem(matches, filters);
    if (problem) {
      out.dropped.push({ rule: r, ...problem });
      return;
    }
    const action = kind.action(resolved.backends, resolved.invalid);
    matches.forEach((match, m) => {
      const route: Route = { name: `${key}#${r}.${m}`, match, action };
      if (filters.length > 0) route.filters = filters;
      kind.decorate?.(spec, route);
      const rule: HttpRule = { owner: obj, route, rank: [...rankOf(match), r, m], rule: r };
      out.rules.push(rule);
    });
  });
  return out;
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
