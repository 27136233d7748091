// tenant-limits.ts: a tenant's requestsPerSecond and connections quotas, as access configs on every
// HTTP route of its namespaces (Route.extraAccess) — one token bucket and one in-flight counter
// shared by all those routes (RateLimit key "Shared", concurrencyKey "Shared"; the engine shares
// the state of configs with the same policy name). Past the rate: 429 with Retry-After, as an
// AccessPolicy's rate limit; past the connections: 503, as ingress-nginx's limit-connections. Both
// show as denials (portico_access_denied_total{policy="Tenant/NAME (requestsPerSecond)"}) and in
// the access log.
// A tenant may give an engine group its own values (quotas.engineGroupLimits); the pipeline applies
// them once the groups say where each listener runs.
// Where it is counted, honestly: each engine process counts on its own, as every Portico rate
// limit does (no shared counter between engines). With N engines serving the tenant (the engines
// of its groups, and each worker of `--workers`), up to N times the limit passes in all; the limit
// is not divided by the engine count, because the controller cannot know how a client's traffic
// spreads over them (ECMP, DNS, one VIP per engine) and dividing would refuse traffic an idle
// engine could serve. The Tenant's status says so (condition portico.dev/LimitsEnforced). TCP and
// UDP Services (L4) and TLS passthrough routes are not limited: their traffic has no request to
// answer 429 to; the condition says that too.
import { DEFAULT_ENGINE_GROUP } from "../k8s/engine-group.ts";
import type { Tenant, TenantQuotas } from "../k8s/tenant.ts";
import type { AccessConfig, VirtualHost } from "../model/ir.ts";
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

/**
 * applyTenantLimits puts each tenant's rate quotas on every HTTP route of its namespaces, with the
 * values for the listener's engine group (quotas.engineGroupLimits, else requestsPerSecond /
 * connections). It runs in the pipeline, once IPAM and the groups have said where each listener
 * runs; namespaces maps each namespace of a tenant to it (TranslateResult.tenants). Pure: it
 * copies what it changes.
 */
export function applyTenantLimits<L extends { group?: string; virtualHosts: VirtualHost[] }>(
  http: readonly L[],
  tenants: readonly Tenant[],
  namespaces: Readonly<Record<string, string>>,
): L[] {
  const quotas = new Map<string, TenantQuotas>();
  for (const t of tenants) if (t.spec?.quotas) quotas.set(t.metadata.name, t.spec.quotas);
  if (quotas.size === 0) return [...http];
  const cache = new Map<string, AccessConfig[]>();
  const configsOf = (tenant: string, group: string): AccessConfig[] => {
    const key = `${tenant}\0${group}`;
    let c = cache.get(key);
    if (c === undefined) {
      const q = quotas.get(tenant);
      c = q ? tenantLimitConfigs(tenant, groupLimits(q, group)) : [];
      cache.set(key, c);
    }
    return c;
  };
  return http.map((l) => {
    const group = l.group ?? DEFAULT_ENGINE_GROUP;
    let changed = false;
    const virtualHosts = l.virtualHosts.map((vh) => {
      const routes = vh.routes.map((r) => {
        const tenant = namespaces[namespaceOf(r.name)];
        const add = tenant === undefined ? [] : configsOf(tenant, group);
        if (add.length === 0) return r;
        changed = true;
        return { ...r, extraAccess: [...(r.extraAccess ?? []), ...add] };
      });
      return changed ? { ...vh, routes } : vh;
    });
    return changed ? { ...l, virtualHosts } : l;
  });
}

/** groupLimits are a tenant's rate quotas on one engine group: its engineGroupLimits entry, field by field, else the defaults. */
export function groupLimits(
  q: TenantQuotas,
  group: string,
): { requestsPerSecond?: number; connections?: number } {
  const e = (q.engineGroupLimits ?? []).find((x) => x.engineGroup === group);
  const rps = e?.requestsPerSecond ?? q.requestsPerSecond;
  const conns = e?.connections ?? q.connections;
  return {
    ...(rps !== undefined ? { requestsPerSecond: rps } : {}),
    ...(conns !== undefined ? { connections: conns } : {}),
  };
}

/** limitsMessage says how a tenant's rate quotas are enforced, for its LimitsEnforced condition (undefined: it sets none). */
export function limitsMessage(q: TenantQuotas): string | undefined {
  const words = (l: { requestsPerSecond?: number; connections?: number }): string[] => {
    const parts: string[] = [];
    if (isLimit(l.requestsPerSecond)) parts.push(`requestsPerSecond ${l.requestsPerSecond} (429 past it)`);
    if (isLimit(l.connections)) parts.push(`connections ${l.connections} (503 past it)`);
    return parts;
  };
  const all = words(q);
  const groups = (q.engineGroupLimits ?? [])
    .map((e) => ({ e, w: words(groupLimits(q, e.engineGroup)) }))
    .filter((x) => x.w.length > 0)
    .map((x) => `on engine group ${x.e.engineGroup}: ${x.w.join(" and ")}`);
  if (all.length === 0 && groups.length === 0) return undefined;
  const head = [...(all.length > 0 ? [all.join(" and ")] : []), ...groups].join("; ");
  return `${head} across the tenant's HTTP routes, counted by each engine on its own (and each worker of --workers): with N engines serving the tenant up to N times the limit passes in all; the limit is not divided between engines. TCP/UDP Services and TLS passthrough routes are not limited`;
}
