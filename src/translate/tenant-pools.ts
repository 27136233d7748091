// tenant-pools.ts: a tenant's VIPs come only from its pools. Every VIP request of a namespace whose
// tenant lists spec.vipPools carries that list, and IPAM refuses other pools (PoolNotAllowed), so a
// Service naming another tenant's pool gets VIPAllocated=False saying which pools it may use.
import type { TranslateContext } from "./context.ts";

/** restrictTenantPools is the pass: allowedPools on the VIP requests of tenants that list vipPools. */
export function restrictTenantPools(ctx: TranslateContext): void {
  if (!ctx.tenancy.active) return;
  for (const req of ctx.vipRequests) {
    // Cluster-scoped owners (an IngressClass's shared VIP, a DnsZone's) belong to no tenant.
    if (req.namespace === "") continue;
    const tenant = ctx.tenancy.tenantOf(req.namespace);
    const pools = ctx.tenancy.spec(tenant).vipPools;
    if (tenant && pools !== undefined) {
      req.allowedPools = [...pools];
      req.tenant = tenant;
    }
  }
}
