// dns-zone.ts: the DnsZone custom resource (portico.dev/v1alpha1, cluster-scoped): a zone Portico
// answers for authoritatively, with the hostnames it serves published in it (docs/dns.md). Its
// schema of record is deploy/crds/portico.dev_dnszones.yaml; this type mirrors it.
import type { Condition, ObjectMeta } from "./types.ts";
import type { LabelSelector } from "./vip-pool.ts";

/** DNS_HOSTNAME_ANNOTATION asks for a name for a Service (external-dns's annotation is honoured too). */
export const DNS_HOSTNAME_ANNOTATION = "portico.dev/hostname";
/** EXTERNAL_DNS_HOSTNAME_ANNOTATION is external-dns's, read for migration. */
export const EXTERNAL_DNS_HOSTNAME_ANNOTATION = "external-dns.alpha.kubernetes.io/hostname";

/** DnsZoneSpec describes one zone. */
export interface DnsZoneSpec {
  /** zone is the apex ("example.com"), lower case, no final dot. */
  zone: string;
  /** soa values; defaults: mname = first NS, rname "hostmaster.<zone>", refresh 3600, retry 600, expire 604800, minimum 30. */
  soa?: {
    mname?: string;
    rname?: string;
    refresh?: number;
    retry?: number;
    expire?: number;
    minimum?: number;
  };
  /** nameservers are the zone's NS names (default "ns.<zone>", which gets the DNS VIP's A/AAAA). */
  nameservers?: string[];
  /** ttl of published records (default 30 s: a moved VIP is seen soon). */
  ttl?: number;
  /** namespaces whose objects may publish names here (absent: every namespace). */
  namespaces?: string[];
  namespaceSelector?: LabelSelector;
  /** listen: the DNS service's own VIP (a VIP like any other: from pool, or the given address). */
  listen?: { pool?: string; address?: string; port?: number; engineGroup?: string };
  /** unhealthy: what a name with no healthy backend or ready engine answers: Withdraw (default) or Fallback (keep it). */
  unhealthy?: "Withdraw" | "Fallback";
  /** records are extra static records (CNAME, TXT, A, AAAA) the zone declares. */
  records?: { name: string; type: "A" | "AAAA" | "CNAME" | "TXT"; value: string; ttl?: number }[];
  /** rateLimit: responses per second per client /24 (default 100; 0 disables) and slip (default 2). */
  rateLimit?: { responsesPerSecond?: number; slip?: number };
  /** forward: resolvers ("ip" or "ip:port") for names outside every zone; default none (REFUSED). */
  forward?: string[];
}

/** DnsZoneStatus reports the zone. */
export interface DnsZoneStatus {
  conditions?: Condition[];
  observedGeneration?: number;
  /** addresses the zone's DNS service listens on. */
  addresses?: string[];
  /** records is how many records the zone publishes now. */
  records?: number;
  /** serial is the SOA serial now served, read back after a restart so it never goes backwards. */
  serial?: number;
}

/** DnsZone is the custom resource. */
export interface DnsZone {
  apiVersion: "portico.dev/v1alpha1";
  kind: "DnsZone";
  metadata: ObjectMeta;
  spec: DnsZoneSpec;
  status?: DnsZoneStatus;
}
