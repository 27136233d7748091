// policy-status.ts: the other half of policy status (GEP-713): a Gateway, route or Ingress that a
// WafPolicy or AccessPolicy applies to says so with a portico.dev/WafPolicyAffected or
// AccessPolicyAffected condition (in its Portico parents' conditions for a route, whose status
// has no top-level list). Pure: the statuses after translation in, the same list edited.
import type { PolicyAncestorStatus } from "../k8s/policy.ts";
import type { Condition } from "../k8s/types.ts";
import { CONTROLLER_NAME } from "./gateway-conditions.ts";
import { keyOf } from "./status.ts";
import type { ObjectStatus } from "./types.ts";

/** ROUTE_KINDS report conditions per parent. */
const ROUTE_KINDS = new Set(["HTTPRoute", "GRPCRoute", "TLSRoute"]);

/**
 * editConditions replaces an object's conditions by add(conditions): its top-level ones, or for a
 * route (whose status has none) those of each parent entry Portico writes.
 */
export function editConditions(
  s: ObjectStatus,
  add: (list: readonly Condition[] | undefined) => Condition[],
): void {
  if (ROUTE_KINDS.has(s.kind)) {
    const parents = (s.status.parents ?? []) as { controllerName?: string; conditions?: Condition[] }[];
    s.status = {
      ...s.status,
      parents: parents.map((p) =>
        p.controllerName === CONTROLLER_NAME ? { ...p, conditions: add(p.conditions) } : p,
      ),
    };
  } else s.status = { ...s.status, conditions: add(s.status.conditions) };
}

/** applyPolicyTargets adds the *PolicyAffected condition to every object an accepted policy targets. */
export function applyPolicyTargets(statuses: ObjectStatus[]): void {
  const notes = new Map<string, Map<string, string[]>>();
  for (const s of statuses) {
    if (s.kind !== "WafPolicy" && s.kind !== "AccessPolicy") continue;
    for (const a of (s.status.ancestors ?? []) as PolicyAncestorStatus[]) {
      if (!a.conditions.some((c) => c.type === "Accepted" && c.status === "True")) continue;
      const r = a.ancestorRef;
      const target = keyOf({ kind: r.kind, namespace: r.namespace ?? "", name: r.name });
      const type = `portico.dev/${s.kind}Affected`;
      const byType = notes.get(target) ?? new Map<string, string[]>();
      const where = r.sectionName ? ` (${r.kind === "Gateway" ? "listener" : "rule"} ${r.sectionName})` : "";
      byType.set(type, [...(byType.get(type) ?? []), `${s.kind} ${s.namespace ?? ""}/${s.name}${where}`]);
      notes.set(target, byType);
    }
  }
  if (notes.size === 0) return;
  for (const s of statuses) {
    const byType = notes.get(keyOf(s));
    if (!byType) continue;
    const add = (list: readonly Condition[] | undefined): Condition[] => {
      const generation = list?.[0]?.observedGeneration;
      const added = [...byType].map(([type, who]) => {
        const c: Condition = {
          type,
          status: "True",
          reason: "Accepted",
          message: `${who.sort().join(", ")} applies`,
        };
        if (generation !== undefined) c.observedGeneration = generation;
        return c;
      });
      return [...(list ?? []).filter((c) => !byType.has(c.type)), ...added].sort((a, b) =>
        a.type < b.type ? -1 : a.type > b.type ? 1 : 0,
      );
    };
    editConditions(s, add);
  }
}
