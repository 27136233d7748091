// context.ts: what every translation pass reads and writes. Passes run in a fixed order over one
// context (Contour's builder with its processors); each reads the ResourceSet and adds to the output.
import type { ResourceSet } from "../k8s/resource-set.ts";
import type { Service } from "../k8s/types.ts";
import type { VipRequest } from "../ipam/types.ts";
import type { Certificate, Pool } from "../model/ir.ts";
import type { CertificateUse } from "./certificates.ts";
import type { PendingZone } from "./dns.ts";
import { PolicyIndex } from "./policy.ts";
import type { GroupClaim } from "./engine-group.ts";
import { indexSlices, serviceMap, type SliceIndex } from "./endpoints.ts";
import { StatusBook } from "./status.ts";
import { Tenancy } from "./tenancy.ts";
import type { PendingHttp, PendingL4, TranslateOptions } from "./types.ts";

/** PORTICO_PREFIX starts every Portico annotation. */
export const PORTICO_PREFIX = "portico.dev/";

/** TranslateContext is the shared state of one translate() run. */
export interface TranslateContext {
  readonly set: ResourceSet;
  readonly opts: TranslateOptions;
  readonly services: ReadonlyMap<string, Service>;
  readonly slices: SliceIndex;
  readonly status: StatusBook;
  readonly l4: PendingL4[];
  readonly http: PendingHttp[];
  readonly pools: Record<string, Pool>;
  readonly certificates: Record<string, Certificate>;
  readonly vipRequests: VipRequest[];
  /** vipOf maps an object key to the key of the VIP request whose address it reports. */
  readonly vipOf: Record<string, string>;
  readonly notices: string[];
  /** groupClaims are the EngineGroup choices of the objects that own or share a VIP (engine-group.ts). */
  readonly groupClaims: GroupClaim[];
  /** dnsZones are the checked DnsZones with their VIP request (dns.ts). */
  readonly dnsZones: PendingZone[];
  /** certificateUses say which Secret each TLS host asked for and how it stands (certificates.ts). */
  readonly certificateUses: CertificateUse[];
  /** policies resolve the WafPolicy and AccessPolicy of each route and listener (policy.ts). */
  readonly policies: PolicyIndex;
  /** targetsMs are the latency targets by virtual service key (latency-target.ts). */
  readonly targetsMs: Record<string, number>;
  /** tenancy says which tenant each namespace belongs to and what it may use (tenancy.ts). */
  readonly tenancy: Tenancy;
}

/** newContext prepares the indexes the passes share. */
export function newContext(
  set: ResourceSet,
  opts: TranslateOptions,
  tenancy = new Tenancy(set),
): TranslateContext {
  return {
    set,
    opts,
    services: serviceMap(set.services),
    slices: indexSlices(set.endpointSlices),
    status: new StatusBook(),
    l4: [],
    http: [],
    pools: {},
    certificates: {},
    vipRequests: [],
    vipOf: {},
    notices: [],
    groupClaims: [],
    dnsZones: [],
    certificateUses: [],
    policies: new PolicyIndex(set),
    targetsMs: {},
    tenancy,
  };
}

/** annotation reads a trimmed annotation value, undefined when absent or empty. */
export function annotation(
  obj: { metadata: { annotations?: Record<string, string> } },
  name: string,
): string | undefined {
  const v = obj.metadata.annotations?.[name]?.trim();
  return v ? v : undefined;
}

/** requestOrder is a VipRequest's order: older objects first, then by key so ties are stable. */
export function requestOrder(obj: { metadata: { creationTimestamp?: string } }, key: string): string {
  return `${obj.metadata.creationTimestamp ?? ""}/${key}`;
}
