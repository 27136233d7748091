// tenant.ts: the Tenant custom resource (portico.dev/v1alpha1, cluster-scoped): a team's namespaces,
// the VIP pools, DNS zones and engine groups it may use, the hostnames it owns, and its quotas
// (docs/tenants.md). Its schema of record is deploy/crds/portico.dev_tenants.yaml; this type mirrors it.
import type { Condition, ObjectMeta } from "./types.ts";
import type { LabelSelector } from "./vip-pool.ts";

/** TenantQuotas are the most a tenant may use; an absent quota is unlimited. */
export interface TenantQuotas {
  /** vips: addresses it owns (LoadBalancer Services, Gateways, Ingresses with a dedicated VIP). */
  vips?: number;
  /** listeners: ports it opens (Service ports, Gateway listeners, a dedicated Ingress's 80/443). */
  listeners?: number;
  /** routes: Ingress paths (and default backends) and Route rules. */
  routes?: number;
  /** hostnames: distinct hostnames its objects serve. */
  hostnames?: number;
  /** backends: distinct Services its routes and LoadBalancer Services send traffic to. */
  backends?: number;
  /**
   * requestsPerSecond: requests per second across all the tenant's HTTP routes (burst: one second's
   * worth), counted by each engine on its own; past it 429 with Retry-After.
   */
  requestsPerSecond?: number;
  /** connections: requests in flight at once across all the tenant's HTTP routes, on each engine; past it 503. */
  connections?: number;
  /** engineGroupLimits give an engine group its own requestsPerSecond / connections (a field left out: the value above). */
  engineGroupLimits?: TenantGroupLimits[];
}

/** TenantGroupLimits are a tenant's rate quotas on the engines of one group. */
export interface TenantGroupLimits {
  engineGroup: string;
  requestsPerSecond?: number;
  connections?: number;
}

/** TenantSpec describes one tenant. */
export interface TenantSpec {
  /** namespaces named outright; a namespace also belongs when namespaceSelector matches its labels. */
  namespaces?: string[];
  namespaceSelector?: LabelSelector;
  /** vipPools the tenant's objects may draw from (absent: any pool). */
  vipPools?: string[];
  /** dnsZones the tenant's objects may publish in (absent: any zone). */
  dnsZones?: string[];
  /** engineGroups the tenant's objects may run on (absent: any group). */
  engineGroups?: string[];
  /** domains the tenant owns: "shop.example.com", or "*.payments.example.com" for every name below it. */
  domains?: string[];
  /** allowReferencesFrom: tenants whose objects may reference this tenant's Secrets and Services (with a ReferenceGrant). */
  allowReferencesFrom?: string[];
  /** allowReferencesTo: tenants whose Secrets and Services this tenant's objects may reference (with a ReferenceGrant). */
  allowReferencesTo?: string[];
  quotas?: TenantQuotas;
}

/** TenantStatus reports the tenant: conditions, its namespaces and its usage of every quota. */
export interface TenantStatus {
  conditions?: Condition[];
  observedGeneration?: number;
  /** namespaces that belong to the tenant now (contested ones excluded). */
  namespaces?: string[];
  /** usage per quota ("vips", "listeners", "routes", "hostnames", "backends"), of what is admitted. */
  usage?: Record<string, number>;
}

/** Tenant is the custom resource. */
export interface Tenant {
  apiVersion: "portico.dev/v1alpha1";
  kind: "Tenant";
  metadata: ObjectMeta;
  spec: TenantSpec;
  status?: TenantStatus;
}
