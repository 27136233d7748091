// dns-table.ts: `portico get dns` — one row per zone (its SOA, where it is served) and one per
// record, from the snapshot the engines are sent, with the objects that publish each name.
import type { PipelineOutput } from "./pipeline.ts";

/** dnsRows lists every served zone's SOA and NS, then its records, in zone and name order (every column). */
export function dnsRows(out: PipelineOutput): Record<string, string>[] {
  const sources = new Map<string, string[]>();
  for (const [object, names] of Object.entries(out.dns.names)) {
    for (const n of names) {
      if (n.refused) continue;
      const key = `${n.zone}|${n.name}`;
      sources.set(key, [...(sources.get(key) ?? []), object]);
    }
  }
  const rows: Record<string, string>[] = [];
  for (const server of out.snapshot.dns ?? []) {
    const at = server.address.includes(":")
      ? `[${server.address}]:${server.port}`
      : `${server.address}:${server.port}`;
    for (const z of server.zones) {
      // A zone served on two addresses (dual-stack) is listed once per address.
      const row = (name: string, type: string, ttl: number, value: string, health: string, source: string) =>
        rows.push({
          ZONE: z.name,
          NAME: name,
          TYPE: type,
          TTL: String(ttl),
          VALUE: value,
          SERVER: at,
          HEALTH: health,
          SOURCE: source,
        });
      const s = z.soa;
      row(
        z.name,
        "SOA",
        s.ttl,
        `${s.mname} ${s.rname} ${s.serial} ${s.refresh} ${s.retry} ${s.expire} ${s.minimum}`,
        "-",
        server.name,
      );
      for (const ns of z.ns) row(z.name, "NS", z.nsTtl, ns, "-", server.name);
      for (const r of z.records) {
        const health = r.pools ? `${r.fallback ? "fallback " : ""}pools ${r.pools.join(",")}` : "always";
        row(
          r.name,
          r.type,
          r.ttl,
          r.value,
          health,
          (sources.get(`${z.name}|${r.name}`) ?? [server.name]).join(","),
        );
      }
    }
  }
  return rows;
}
