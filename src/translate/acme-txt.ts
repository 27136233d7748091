// acme-txt.ts: DNS-01 challenge records (RFC 8555 §8.4) in the zones Portico serves. The built-in
// ACME issuer asks for `_acme-challenge.<name>` TXT records; acmeTxtPlace says which served zone
// holds one (or why none may), and buildDns adds the pending ones to that zone's data, so every
// engine that serves the zone answers them with the rest of its snapshot. DNS-01 through another
// DNS provider is not supported: a name outside Portico's zones fails its order with that reason.
import type { DnsZone } from "../k8s/dns-zone.ts";
import type { ResourceSet } from "../k8s/resource-set.ts";
import { requestOrder } from "./context.ts";
import { inZone, namespaceAllowed, zoneSpec, type ZoneSpec } from "./dns-zone-spec.ts";

/** AcmeTxt is one pending DNS-01 answer: the owner name (lower case, no final dot) and its TXT value. */
export interface AcmeTxt {
  name: string;
  value: string;
}

/**
 * ACME_TXT_TTL caps a challenge record's TTL (seconds): a CA's resolver that cached one order's
 * value must not hold it into the next order for the same name (a retry, or a renewal soon after).
 */
export const ACME_TXT_TTL = 10;

/** ServedZone is a DnsZone that serves its apex (the older of two for one apex), with its spec. */
export interface ServedZone {
  object: string;
  spec: ZoneSpec;
}

/** TxtPlace is where a challenge record goes (after a CNAME, if the name has one), or why nowhere. */
export type TxtPlace =
  | {
      /** name is the record's owner: the challenge name, or the target of its CNAME. */
      name: string;
      zone: string;
      object: string;
      /** negativeTtl is how long a resolver may cache "no such record" from this zone (RFC 2308). */
      negativeTtl: number;
    }
  | { problem: string };

/** challengeName is where a CA looks for the DNS-01 answer of host (a wildcard's base name). */
export function challengeName(host: string): string {
  return `_acme-challenge.${host.startsWith("*.") ? host.slice(2) : host}`;
}

/** servedZones are the DnsZones of set that serve their apex, as translateDnsZones picks them. */
export function servedZones(set: ResourceSet): ServedZone[] {
  const out = new Map<string, ServedZone>();
  const zones = set.dnsZones
    .map((o: DnsZone) => ({ o, order: requestOrder(o, `DnsZone/${o.metadata.name}`) }))
    .sort((a, b) => (a.order < b.order ? -1 : a.order > b.order ? 1 : 0));
  for (const { o } of zones) {
    const { spec } = zoneSpec(o);
    if (spec && !out.has(spec.zone)) out.set(spec.zone, { object: `DnsZone/${o.metadata.name}`, spec });
  }
  return [...out.values()];
}

/**
 * acmeTxtPlace is where the challenge record name goes for an object in namespace (with its
 * labels): the most specific zone holding it, which must admit the namespace as for any published
 * name (a DNS-01 certificate covers the whole name, wildcards too). A CNAME at the challenge name
 * (the usual delegation of `_acme-challenge`) is followed once, into another served zone.
 */
export function acmeTxtPlace(
  zones: readonly ServedZone[],
  name: string,
  namespace: string,
  labels: Readonly<Record<string, string>>,
  hops = 1,
): TxtPlace {
  const z = [...zones]
    .filter((x) => inZone(name, x.spec.zone))
    .sort((a, b) => b.spec.zone.length - a.spec.zone.length)[0];
  if (!z)
    return {
      problem: `${name} is in no DnsZone Portico serves; DNS-01 is answered only by Portico's own DNS (use HTTP01 or TLSALPN01, or add the zone)`,
    };
  if (!namespaceAllowed(z.spec, namespace, labels))
    return {
      problem: `namespace ${namespace} may not publish ${name} in zone ${z.spec.zone} (${z.object} spec.namespaces/namespaceSelector)`,
    };
  const cname = z.spec.records.find((r) => r.name === name && r.type === "CNAME");
  if (cname) {
    if (hops === 0) return { problem: `${name} is a CNAME again (${z.object}); one CNAME hop is followed` };
    const next = acmeTxtPlace(zones, cname.value, namespace, labels, hops - 1);
    return "problem" in next ? { problem: `${name} is a CNAME to ${cname.value}: ${next.problem}` } : next;
  }
  return {
    name,
    zone: z.spec.zone,
    object: z.object,
    negativeTtl: Math.min(z.spec.ttl, z.spec.soa.minimum),
  };
}

/** acmeTxtRecords are the challenge records of one zone, ready for its data (TTL at most ACME_TXT_TTL). */
export function acmeTxtRecords(
  spec: ZoneSpec,
  txt: readonly AcmeTxt[],
  zones: readonly { spec: ZoneSpec }[],
): { name: string; type: "TXT"; ttl: number; value: string }[] {
  return txt
    .filter((t) => {
      // The most specific zone holds a name, and never beside a CNAME (the engine refuses that).
      const best = zones
        .filter((z) => inZone(t.name, z.spec.zone))
        .sort((a, b) => b.spec.zone.length - a.spec.zone.length)[0];
      return best?.spec === spec && !spec.records.some((r) => r.name === t.name && r.type === "CNAME");
    })
    .map((t) => ({ name: t.name, type: "TXT", ttl: Math.min(spec.ttl, ACME_TXT_TTL), value: t.value }));
}
