// selector.ts: metav1.LabelSelector matching with Kubernetes' semantics (matchLabels ANDed with
// matchExpressions; an empty selector matches everything; NotIn matches when the key is absent).
import type { LabelSelector } from "../k8s/vip-pool.ts";

/** matchesSelector says whether labels satisfy one selector. */
export function matchesSelector(selector: LabelSelector, labels: Readonly<Record<string, string>>): boolean {
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) {
    if (labels[key] !== value) return false;
  }
  for (const expr of selector.matchExpressions ?? []) {
    const has = Object.hasOwn(labels, expr.key);
    const value = labels[expr.key];
    const values = expr.values ?? [];
    switch (expr.operator) {
      case "In":
        if (!has || !values.includes(value ?? "")) return false;
        break;
      case "NotIn":
        if (has && values.includes(value ?? "")) return false;
        break;
      case "Exists":
        if (!has) return false;
        break;
      case "DoesNotExist":
        if (has) return false;
        break;
      default:
        // An operator we do not know selects nothing, rather than everything.
        return false;
    }
  }
  return true;
}

/** matchesAny says whether labels satisfy at least one selector of the list (selectors are ORed). */
export function matchesAny(
  selectors: readonly LabelSelector[],
  labels: Readonly<Record<string, string>>,
): boolean {
  return selectors.some((s) => matchesSelector(s, labels));
}
