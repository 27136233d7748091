// tenant-pools.ts: a tenant's VIPs come only from its pools, and its pools are its own. Every VIP
// request of a namespace whose tenant lists spec.vipPools carries that list, and IPAM refuses other
// pools (PoolNotAllowed), so a Service naming another tenant's pool gets VIPAllocated=False saying
// which pools it may use. A pool some Tenant lists is reserved: a request of a namespace in no
// tenant, of a tenant without vipPools, or of a cluster-scoped owner cannot draw from it either.
// A tenant listing spec.engineGroups draws, for an owner that names no group (annotation or class),
// only from pools whose spec.engineGroup (else "default") it lists: the pool's group is where such
// an owner runs, so a pool of another group would put it on engines the tenant may not use.
import type { TranslateContext } from "./context.ts";

/** restrictTenantPools is the pass: allowedPools on the VIP requests of tenants that list vipPools, reservedPools on the others. */
export function restrictTenantPools(ctx: TranslateContext): void {
  if (!ctx.tenancy.active) return;
  const reserved: Record<string, string[]> = {};
  for (const [name, t] of ctx.tenancy.tenants)
    for (const pool of t.spec?.vipPools ?? []) (reserved[pool] ??= []).push(name);
  const anyReserved = Object.keys(reserved).length > 0;
  // VIP requests some claimant of which names its group: the pool's group does not decide those.
  const named = new Set(ctx.groupClaims.filter((c) => c.group !== undefined).map((c) => c.vip));
  for (const req of ctx.vipRequests) {
    // Cluster-scoped owners (an IngressClass's shared VIP, a DnsZone's) belong to no tenant.
    const tenant = req.namespace === "" ? "" : ctx.tenancy.tenantOf(req.namespace);
    const pools = ctx.tenancy.spec(tenant).vipPools;
    const groups = ctx.tenancy.spec(tenant).engineGroups;
    if (tenant && groups !== undefined && !named.has(req.key)) {
      req.allowedGroups = [...groups];
      req.tenant = tenant;
    }
    if (tenant && pools !== undefined) {
      req.allowedPools = [...pools];
      req.tenant = tenant;
    } else if (anyReserved) {
      req.reservedPools = reserved;
      if (tenant) req.tenant = tenant;
    }
  }
}
