// testing.ts: DNS zone fixtures for tests (engine, controller and CLI tests share them).
import type { DnsRecord, DnsZoneData } from "../../model/ir.ts";

/** fixtureZone is a DNS zone with SOA and NS (every SOA number 1), records given as [name, type, value, extra]. */
export function fixtureZone(
  name: string,
  records: [string, DnsRecord["type"], string, Partial<DnsRecord>?][],
): DnsZoneData {
  const soa = {
    mname: `ns.${name}`,
    rname: `h.${name}`,
    serial: 1,
    refresh: 1,
    retry: 1,
    expire: 1,
    minimum: 1,
  };
  return {
    name,
    soa: { ...soa, ttl: 1 },
    ns: [`ns.${name}`],
    nsTtl: 60,
    records: records.map(([n, type, value, extra]) => ({ name: n, type, value, ttl: 30, ...extra })),
  };
}
