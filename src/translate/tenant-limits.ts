// tenant-limits.ts: a tenant's requestsPerSecond and connections quotas, as access configs on every
// HTTP route of its namespaces (Route.extraAccess) — one token bucket and one in-flight counter
// shared by all those routes (RateLimit key "Shared", concurrencyKey "Shared"; the engine shares
// the state of configs with the same policy name). Past the rate: 429 with Retry-After, as an
// AccessPolicy's rate limit; past the connections: 503, as ingress-nginx's limit-connections. Both
// show as denials (portico_access_denied_total{policy="Tenant/NAME (requestsPerSecond)"}) and in
// the access log.
// Where it is counted, honestly: each engine process counts on its own, as every Portico rate
// limit does (no shared counter between engines). With N engines serving the tenant (the engines
// of its groups, and each worker of `--workers`), up to N times the limit passes in all; the limit
// is not divided by the engine count, because the controller cannot know how a client's traffic
// spreads over them (ECMP, DNS, one VIP per engine) and dividing would refuse traffic an idle
// engine could serve. The Tenant's status says so (condition portico.dev/LimitsEnforced). TCP and
// UDP Services (L4) and TLS passthrough routes are not limited: their traffic has no request to
// answer 429 to; the condition says that too.
import type { AccessConfig } from "../model/ir.ts";
import type { TranslateContext } from "./context.ts";
import { namespaceOf } from "./tenant-guard.ts";

/** LIMITS_ENFORCED is the Tenant condition saying how its requestsPerSecond / connections quotas are enforced. */
export const LIMITS_ENFORCED = "portico.dev/LimitsEnforced";

/** tenantLimitConfigs are the access configs of a tenant's rate quotas (none when it sets neither). */
export function tenantLimitConfigs(
  tenant: string,
  quotas: { requestsPerSecond?: number; connections?: number },
): AccessConfig[] {
  const out: AccessConfig[] = [];
  const rps = quotas.requestsPerSecond;
  if (isLimit(rps))
    out.push({
      policy: `Tenant/${tenant} (requestsPerSecond)`,
      rateLimit: { requests: rps, periodMs: 1000, burst: rps, key: { type: "Shared" } },
    });
  const conns = quotas.connections;
  if (isLimit(conns))
    out.push({ policy: `Tenant/${tenant} (connections)`, concurrency: conns, concurrencyKey: "Shared" });
  return out;
}

/** isLimit tells whether a quota value is a whole number of at least 1 (the CRD's minimum). */
function isLimit(n: unknown): n is number {
  return typeof n === "number" && Number.isInteger(n) && n >= 1;
}

/** applyTenantLimits is the pass: every HTTP route of a tenant with rate quotas gets them. */
export function applyTenantLimits(ctx: TranslateContext): void {
  if (!ctx.tenancy.active) return;
  const configs = new Map<string, AccessConfig[]>();
  for (const name of ctx.tenancy.tenants.keys()) {
    const c = tenantLimitConfigs(name, ctx.tenancy.spec(name).quotas ?? {});
    if (c.length > 0) configs.set(name, c);
  }
  if (configs.size === 0) return;
  for (const l of ctx.http)
    for (const vh of l.virtualHosts)
      vh.routes = vh.routes.map((r) => {
        const add = configs.get(ctx.tenancy.tenantOf(namespaceOf(r.name)));
        return add ? { ...r, extraAccess: [...(r.extraAccess ?? []), ...add] } : r;
      });
}

/** limitsMessage says how a tenant's rate quotas are enforced, for its LimitsEnforced condition (undefined: it sets none). */
export function limitsMessage(quotas: {
  requestsPerSecond?: number;
  connections?: number;
}): string | undefined {
  const parts: string[] = [];
  if (isLimit(quotas.requestsPerSecond))
    parts.push(`requestsPerSecond ${quotas.requestsPerSecond} (429 past it)`);
  if (isLimit(quotas.connections)) parts.push(`connections ${quotas.connections} (503 past it)`);
  if (parts.length === 0) return undefined;
  return `${parts.join(" and ")} across the tenant's HTTP routes, counted by each engine on its own (and each worker of --workers): with N engines serving the tenant up to N times the limit passes in all; the limit is not divided between engines. TCP/UDP Services and TLS passthrough routes are not limited`;
}
