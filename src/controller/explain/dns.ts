// dns.ts: DNS in `portico explain` — a DnsZone (where it is served, its SOA, NS and records with
// the objects behind them), and the names any object publishes with the answers they get.
import type { ResourceSet } from "../../k8s/resource-set.ts";
import type { DnsRecord } from "../../model/ir.ts";
import {
  begin,
  conditionsSection,
  groupSection,
  notFound,
  vipSection,
  type Explanation,
  type PipelineView,
  type Where,
} from "./common.ts";
import type { Target } from "./target.ts";
import { normalName } from "../../translate/dns-zone-spec.ts";

/** explainDnsZone explains DnsZone t.name: its VIP, SOA, NS, records and who publishes them. */
export function explainDnsZone(set: ResourceSet, out: PipelineView, t: Target, where: Where): Explanation {
  const obj = set.dnsZones.find((z) => z.metadata.name === t.name);
  if (!obj) return notFound(t, where, "dns");
  const e = begin(set, out, t, `DnsZone ${t.name}`);
  const key = `DnsZone/${t.name}`;
  // The spec may spell the zone in any case, with a final dot; the snapshot has it normalised.
  // Another DnsZone may serve the same apex (this one is then DuplicateZone): its records are
  // not this object's, so only a zone the DNS pass built for this object counts as served.
  const name = normalName(String(obj.spec?.zone ?? ""));
  const ours = out.dns.zoneStatuses.some((s) => s.name === t.name);
  const servers = ours ? (out.snapshot.dns ?? []).filter((s) => s.zones.some((z) => z.name === name)) : [];
  const zone = servers[0]?.zones.find((z) => z.name === name);
  e.lines.push(`  zone ${obj.spec?.zone ?? "<none>"}`);
  vipSection(e, key, out);
  groupSection(e, key, out);
  if (!zone) {
    e.lines.push("  not served (see Conditions)");
    conditionsSection(e);
    return e;
  }
  e.lines.push(
    `Served on: ${servers.map((s) => `${s.address}:${s.port} UDP+TCP (group ${s.group ?? "default"})`).join(", ")}`,
  );
  const s = zone.soa;
  e.lines.push(
    `  SOA ${s.mname} ${s.rname} serial ${s.serial} refresh ${s.refresh} retry ${s.retry} expire ${s.expire} minimum ${s.minimum} (TTL ${s.ttl})`,
    `  NS ${zone.ns.join(", ")} (TTL ${zone.nsTtl})`,
  );
  const sources = new Map<string, string[]>();
  for (const [object, names] of Object.entries(out.dns.names))
    for (const n of names)
      if (n.zone === zone.name && !n.refused) sources.set(n.name, [...(sources.get(n.name) ?? []), object]);
  e.lines.push(`Records (${zone.records.length}):`);
  for (const r of zone.records) {
    const from = sources.get(r.name);
    e.lines.push(
      `  ${r.name} ${r.ttl} ${r.type} ${r.value}${health(r)}${from ? ` — from ${from.join(", ")}` : ""}`,
    );
  }
  const refused = Object.entries(out.dns.names).flatMap(([object, names]) =>
    names
      .filter((n) => n.zone === zone.name && n.refused)
      .map((n) => `  ${n.name} from ${object}: ${n.refused!.reason}`),
  );
  if (refused.length > 0) e.lines.push(`Refused (${refused.length}):`, ...refused);
  conditionsSection(e);
  return e;
}

/** health says when a record is answered. */
function health(r: DnsRecord): string {
  if (!r.pools) return "";
  const pools = r.pools.join(", ");
  return r.fallback
    ? ` (health: ${pools}; answered even when down — Fallback)`
    : ` (answered while one of ${pools} is up)`;
}

/**
 * dnsLines are an object's published names, each with its zone and answer or why it is refused;
 * empty when none of its names falls in a zone. Placed before its Conditions.
 */
export function addDnsSection(e: Explanation, key: string, out: PipelineView): void {
  const names = out.dns.names[key];
  if (!names || names.length === 0) return;
  const lines = ["DNS:"];
  for (const n of names) {
    if (n.refused)
      lines.push(`  ${n.name} (zone ${n.zone}): refused, ${n.refused.reason}: ${n.refused.message}`);
    else {
      const zone = (out.snapshot.dns ?? []).flatMap((s) => s.zones).find((z) => z.name === n.zone);
      const recs = zone?.records.filter((r) => r.name === n.name) ?? [];
      const answer =
        recs.map((r) => `${r.type} ${r.value}`).join(", ") ||
        (n.addresses.length === 0 ? "no record yet (no address yet)" : "no answer yet (zone not served)");
      lines.push(`  ${n.name} (zone ${n.zone}): ${answer}${recs[0] ? health(recs[0]) : ""}`);
    }
  }
  const at = e.lines.indexOf("Conditions:");
  if (at < 0) e.lines.push(...lines);
  else e.lines.splice(at, 0, ...lines);
}
