// translate.ts: the pure translator. Ordered passes over one context, one file per input kind
// (Contour's dag builder, Envoy Gateway's translator): every pass reads the ResourceSet and adds
// listeners, pools, VIP requests and status. Same input, same output; nothing here throws on bad input.
// Source errors stay in set.errors (the caller reports them); they are not repeated as notices.
import { checkPoolPolicies } from "./pool-policy.ts";
import type { ResourceSet } from "../k8s/resource-set.ts";
import { newContext, type TranslateContext } from "./context.ts";
import { translateDnsZones } from "./dns.ts";
import { translateGateways } from "./gateway.ts";
import { translatePolicies } from "./policy.ts";
import { translateIngresses } from "./ingress.ts";
import { translateServices } from "./service-lb.ts";
import { reportAnnotations } from "./nginx/never-silent.ts";
import { latencyTargets } from "./latency-target.ts";
import { admitTenants } from "./tenant-admit.ts";
import { recordAdmission } from "./tenant-status.ts";
import { restrictTenantPools } from "./tenant-pools.ts";
import { guardTenantDomains } from "./tenant-guard.ts";
import type { TranslateOptions, TranslateResult } from "./types.ts";

/** Pass is one translation step. */
export type Pass = (ctx: TranslateContext) => void;

/** PASSES run in this order; later passes may read what earlier ones wrote (pools, certificates). */
export const PASSES: readonly Pass[] = [
  checkPoolPolicies,
  translateServices,
  translateIngresses,
  translateGateways,
  translatePolicies,
  translateDnsZones,
  restrictTenantPools,
  // After every pass that adds virtual hosts: another tenant's domain inside a wildcard is fenced off.
  guardTenantDomains,
  // It lists what the passes above did not honour, on objects they took.
  reportAnnotations,
  // Reads the listeners every pass built; joins a Gateway's AnnotationsHonoured condition if any.
  latencyTargets,
];

/** translate turns a ResourceSet into the IR without addresses, VIP requests and statuses. */
export function translate(set: ResourceSet, opts: TranslateOptions): TranslateResult {
  // Tenants first: the passes read the set without what a tenant rule refused (tenant-admit.ts).
  const admission = admitTenants(set, opts);
  const ctx = newContext(admission.set, opts, admission.tenancy);
  recordAdmission(ctx, admission);
  for (const pass of PASSES) pass(ctx);
  return {
    l4: ctx.l4,
    http: ctx.http,
    pools: sortKeys(ctx.pools),
    certificates: sortKeys(ctx.certificates),
    vipRequests: [...ctx.vipRequests].sort((a, b) => (a.order < b.order ? -1 : a.order > b.order ? 1 : 0)),
    statuses: ctx.status.render(),
    // A certificate used by several Ingresses is reported once.
    notices: [...new Set(ctx.notices)],
    vipOf: sortKeys(ctx.vipOf),
    dnsZones: ctx.dnsZones,
    certificateUses: ctx.certificateUses,
    targetsMs: sortKeys(ctx.targetsMs),
    ...(admission.memory ? { tenants: admission.memory } : {}),
    groupClaims: [...ctx.groupClaims].sort((a, b) => (a.order < b.order ? -1 : a.order > b.order ? 1 : 0)),
  };
}

/** sortKeys copies a record with its keys in order, so output is the same whatever the pass order. */
function sortKeys<T>(r: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.entries(r).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
