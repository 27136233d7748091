// backend-filters.ts: the filters of an HTTPRoute's or GRPCRoute's backendRefs. The spec applies
// them "if and only if the request is being forwarded to the backend defined here": with one
// backendRef every request goes there, so its filters (any kind) join the rule's; with several,
// each backend's RequestHeaderModifier rides on that backend in the IR, and the engine applies it
// once it has chosen the backend (HTTPRouteBackendRequestHeaderModification). Other filter kinds
// on one of several backends drop the rule rather than apply to requests of the other backends.
import type { BackendFilter, ForwardBackend, InvalidBackend, RouteFilter } from "../model/ir.ts";
import {
  resolveRefs,
  type BackendEnv,
  type BackendRefSpec,
  type PoolProtocol,
  type RouteRefs,
} from "./gateway-backends.ts";
import { convertFilters, type FilterSpec, type RuleProblem } from "./httproute-filters.ts";

/** BackendRefWithFilters is a backendRef of an HTTPRoute or GRPCRoute rule. */
export type BackendRefWithFilters = BackendRefSpec & { filters?: FilterSpec[] };

/** RuleBackends are a rule's resolved backends and the backendRef filters that join the rule's. */
export interface RuleBackends {
  backends: ForwardBackend[];
  invalid: InvalidBackend[];
  /** ruleFilters are the single backendRef's filters, to run after the rule's own. */
  ruleFilters: RouteFilter[];
}

/** ruleBackends resolves a rule's backendRefs with their filters, or says why the rule is dropped. */
export function ruleBackends(
  env: BackendEnv,
  refs: RouteRefs,
  backendRefs: readonly BackendRefWithFilters[],
  prefixOnly: boolean,
  protocol: PoolProtocol,
): RuleBackends | RuleProblem {
  if (backendRefs.length === 1 && backendRefs[0]!.filters?.length) {
    const extra = convertFilters(env, refs, backendRefs[0]!.filters, prefixOnly, protocol);
    if (!Array.isArray(extra)) return extra;
    return { ...resolveRefs(env, refs, backendRefs, protocol), ruleFilters: extra };
  }
  const perRef: (BackendFilter[] | undefined)[] = [];
  for (const ref of backendRefs) {
    const specs = ref.filters ?? [];
    const other = specs.find((f) => f.type !== "RequestHeaderModifier");
    if (other !== undefined)
      return {
        reason: "UnsupportedValue",
        message: `backendRef ${ref.name}: a ${other.type} filter on one of several backendRefs is not supported (only RequestHeaderModifier); put it on the rule`,
      };
    const converted = convertFilters(env, refs, specs, prefixOnly, protocol);
    if (!Array.isArray(converted)) return converted;
    perRef.push(converted.length > 0 ? (converted as BackendFilter[]) : undefined);
  }
  const { backends, invalid } = resolveRefs(env, refs, backendRefs, protocol, (i) => perRef[i]);
  return { backends, invalid, ruleFilters: [] };
}
