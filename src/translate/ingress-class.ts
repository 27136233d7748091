// ingress-class.ts: which Ingresses are Portico's. An Ingress names its class by
// spec.ingressClassName, or by the legacy annotation kubernetes.io/ingress.class, or by neither and
// falls to the cluster's default class — which counts only when there is exactly one.
import type { Ingress, IngressClass } from "../k8s/types.ts";
import { annotation, type TranslateContext } from "./context.ts";
import { classGroup } from "./engine-group.ts";
import { ACCEPTED, refOf } from "./status.ts";

/** INGRESS_CONTROLLER is the spec.controller value of Portico's IngressClasses. */
export const INGRESS_CONTROLLER = "portico.dev/ingress-controller";
/** ANN_DEFAULT_CLASS marks the IngressClass that classless Ingresses belong to. */
export const ANN_DEFAULT_CLASS = "ingressclass.kubernetes.io/is-default-class";
/** ANN_LEGACY_CLASS is the pre-networking/v1 way of naming a class, still widely used. */
export const ANN_LEGACY_CLASS = "kubernetes.io/ingress.class";

/** ClassMembers is one of Portico's IngressClasses and the Ingresses that belong to it. */
export interface ClassMembers {
  cls: IngressClass;
  ingresses: Ingress[];
}

/** classifyIngresses assigns Ingresses to Portico's classes; the others get a notice and no status. */
export function classifyIngresses(ctx: TranslateContext): ClassMembers[] {
  const all = new Map(ctx.set.ingressClasses.map((c) => [c.metadata.name, c]));
  const ours = new Map<string, ClassMembers>();
  for (const c of ctx.set.ingressClasses) {
    if (c.spec?.controller !== INGRESS_CONTROLLER) continue;
    ours.set(c.metadata.name, { cls: c, ingresses: [] });
    ctx.status.ok(refOf(c), ACCEPTED, "Accepted");
    const params = c.spec.parameters;
    // The one parameter Portico reads is an EngineGroup; anything else is said, not ignored.
    if (params && classGroup(params) === undefined)
      ctx.status.warn(
        refOf(c),
        ACCEPTED,
        "UnsupportedParameters",
        `spec.parameters ${params.apiGroup ?? ""}/${params.kind} ${params.name}: the only parameters Portico reads are an EngineGroup (apiGroup portico.dev, kind EngineGroup); ignored`,
      );
  }
  const defaults = ctx.set.ingressClasses.filter((c) => annotation(c, ANN_DEFAULT_CLASS) === "true");
  const ourDefaults = defaults.filter((c) => ours.has(c.metadata.name));
  if (defaults.length > 1) {
    const names = defaults.map((c) => c.metadata.name).join(", ");
    for (const c of ourDefaults) {
      ctx.status.warn(
        refOf(c),
        ACCEPTED,
        "AmbiguousDefaultClass",
        `several IngressClasses are marked default (${names}); Ingresses without a class are not served`,
      );
    }
  }
  for (const ing of ctx.set.ingresses) {
    const key = `Ingress/${ing.metadata.namespace ?? ""}/${ing.metadata.name}`;
    const named = ing.spec?.ingressClassName ?? annotation(ing, ANN_LEGACY_CLASS);
    if (named === undefined) {
      if (defaults.length === 1 && ourDefaults.length === 1) {
        ours.get(ourDefaults[0]!.metadata.name)!.ingresses.push(ing);
      } else if (defaults.length > 1 && ourDefaults.length > 0) {
        ctx.status.fail(
          refOf(ing),
          ACCEPTED,
          "AmbiguousDefaultClass",
          `no ingressClassName and ${defaults.length} IngressClasses are marked default; set spec.ingressClassName`,
        );
      } else {
        ctx.notices.push(`${key}: no ingressClassName and no default IngressClass of Portico's; ignored`);
      }
      continue;
    }
    const members = ours.get(named);
    if (members) members.ingresses.push(ing);
    else if (all.has(named))
      ctx.notices.push(`${key}: IngressClass ${JSON.stringify(named)} is not Portico's; ignored`);
    else ctx.notices.push(`${key}: IngressClass ${JSON.stringify(named)} not found; ignored`);
  }
  return [...ours.values()];
}
