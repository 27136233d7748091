// types.ts: what translate() returns. Listeners name their VIP by request key; the pipeline puts
// the addresses IPAM assigned in their place and drops listeners whose VIP is still pending.
import type { Condition, LoadBalancerIngress } from "../k8s/types.ts";
import type { VipRequest } from "../ipam/types.ts";
import type { CertificateUse } from "./certificates.ts";
import type { PendingZone } from "./dns.ts";
import type { GroupClaim } from "./engine-group.ts";
import type { Certificate, HttpListener, L4Listener, Pool } from "../model/ir.ts";

/** HTTP_DEFAULTS are listener timeouts: a minute per exchange, idle keep-alive a little longer. */
export const HTTP_DEFAULTS = { requestTimeoutMs: 60_000, idleTimeoutMs: 75_000 } as const;

/** PendingL4 is an L4 listener waiting for its VIP address. */
export type PendingL4 = Omit<L4Listener, "address"> & { vip: string };
/** PendingHttp is an HTTP listener waiting for its VIP address. */
export type PendingHttp = Omit<HttpListener, "address"> & { vip: string };

/** ObjectStatus is the status Portico would write on one object in Kubernetes. */
export interface ObjectStatus {
  kind: string;
  namespace?: string;
  name: string;
  status: {
    loadBalancer?: { ingress?: LoadBalancerIngress[] };
    conditions?: Condition[];
    [field: string]: unknown;
  };
}

/** TranslateOptions are the controller's settings that shape translation. */
export interface TranslateOptions {
  /** serveClasslessServices: also serve LoadBalancer Services without spec.loadBalancerClass. */
  serveClasslessServices: boolean;
  /** ingressHttpPort and ingressHttpsPort are the shared Ingress VIP's ports (80/443). */
  ingressHttpPort: number;
  ingressHttpsPort: number;
  /**
   * now (RFC 3339) is translation's clock: certificates expired or not yet valid at this time are
   * replaced by the default certificate. The controllers pass the time of each run; absent (tests,
   * golden files) keeps translation clock-free and checks only what does not depend on time.
   */
  now?: string;
  /**
   * standalone: no controller runs the engines (`portico run`, files). An EngineGroup's fields that
   * describe its workload are then not honoured, and its status says which (group-status.ts).
   */
  standalone?: boolean;
  /**
   * tenantsBefore is what the previous served translation's tenant rules admitted (its
   * TranslateResult.tenants): the incumbents a newcomer cannot displace, in both modes — files
   * carry no status that could say who served before. Absent: the oldest claim wins (a first run).
   */
  tenantsBefore?: TenantMemory;
  /** secretNamespace is where an EngineGroup's BGP passwordSecretRef without a namespace is read (default "default"). */
  secretNamespace?: string;
}

/** TenantMemory is what one translation's tenant rules admitted, kept for the next (tenant-admit.ts). */
export interface TenantMemory {
  /** admitted maps each admitted object's key ("Kind/ns/name") to a fingerprint of what it asked. */
  admitted: Record<string, string>;
  /** holders maps each held hostname's hold key ("route shop.example.com") to the object key holding it. */
  holders: Record<string, string>;
  /** namespaces maps each namespace of a tenant to that tenant. */
  namespaces: Record<string, string>;
}

/** TranslateResult is the IR without addresses, the VIPs it needs, and per-object status. */
export interface TranslateResult {
  l4: PendingL4[];
  http: PendingHttp[];
  pools: Record<string, Pool>;
  certificates: Record<string, Certificate>;
  vipRequests: VipRequest[];
  statuses: ObjectStatus[];
  /** notices are non-fatal remarks (unknown kinds skipped, objects of other classes ignored). */
  notices: string[];
  /** vipOf maps an object key ("Ingress/ns/name") to the key of the VIP request it reports. */
  vipOf: Record<string, string>;
  /** groupClaims are the EngineGroup choices per object, oldest first; resolved after IPAM. */
  groupClaims: GroupClaim[];
  /** dnsZones are the checked DnsZones; their records are built after IPAM (dns.ts buildDns). */
  dnsZones: PendingZone[];
  /** certificateUses are every TLS Secret an Ingress or Gateway listener asked for, and its state. */
  certificateUses: CertificateUse[];
  /** tenants is what the tenant rules admitted (absent without Tenants); the next run's opts.tenantsBefore. */
  tenants?: TenantMemory;
  /** targetsMs are the portico.dev/latency-target values by vsKey (analytics); the pipeline keeps those of served listeners. */
  targetsMs: Record<string, number>;
}
