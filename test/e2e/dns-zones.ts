// dns-zones.ts: generated zones and queries shared by the DNS end-to-end tests, the differential
// test against knot and bench/dns.ts. A seeded generator, so a failure reproduces.
import type { DnsRecord, DnsZoneData } from "../../src/model/ir.ts";
import { TYPE } from "../../src/engine/dns/wire.ts";
import { dnsZone, rec } from "./dns-helpers.ts";

/** rng is a small seeded PRNG (mulberry32). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** DIFF_TYPES are the question types the differential test asks. */
export const DIFF_TYPES = [TYPE.A, TYPE.AAAA, TYPE.TXT, TYPE.CNAME, TYPE.NS, TYPE.SOA, TYPE.MX, TYPE.ANY];

/**
 * diffZones builds two zones exercising every lookup path: hosts with A/AAAA/TXT sets (TXT longer
 * than 255 bytes too), empty non-terminals, wildcards (also below an empty non-terminal and beside
 * names that exist), CNAMEs in zone, out of zone, dangling, chained and looping, a name with 120
 * A records (truncates without EDNS), one of 40 (fits with EDNS only), a set with two TTLs, and an
 * apex wildcard CNAME in the second zone.
 */
export function diffZones(seed = 17): DnsZoneData[] {
  const r = rng(seed);
  const a = "diff.test";
  const recs: DnsRecord[] = [rec(`ns1.${a}`, "A", "127.0.0.53"), rec(`ns1.${a}`, "AAAA", "2001:db8::53")];
  for (let i = 0; i < 150; i++) {
    const n = `host-${i}.${a}`;
    const ttl = 60 + Math.floor(r() * 3000);
    for (let k = 0; k < 1 + Math.floor(r() * 3); k++)
      recs.push(rec(n, "A", `192.0.2.${Math.floor(r() * 254) + 1}`, { ttl }));
    for (let k = 0; k < Math.floor(r() * 3); k++)
      recs.push(rec(n, "AAAA", `2001:db8::${Math.floor(r() * 0xffff).toString(16)}`, { ttl }));
    if (r() < 0.3) recs.push(rec(n, "TXT", "v=" + "x".repeat(Math.floor(r() * 600)), { ttl }));
  }
  recs.push(
    rec(`a.b.c.deep.${a}`, "A", "198.51.100.1"),
    rec(`*.c.deep.${a}`, "TXT", "wild below an empty non-terminal"),
    rec(`*.wild.${a}`, "A", "198.51.100.7"),
    rec(`*.wild.${a}`, "AAAA", "2001:db8::7"),
    rec(`*.wild.${a}`, "TXT", "synthesised"),
    rec(`exists.wild.${a}`, "TXT", "not covered by the wildcard"),
    rec(`sub.x.wild.${a}`, "A", "198.51.100.8"),
    rec(`*.cw.${a}`, "CNAME", `host-1.${a}`),
    rec(`_sip._tcp.${a}`, "TXT", "underscore names"),
    rec(`c1.${a}`, "CNAME", `c2.${a}`),
    rec(`c2.${a}`, "CNAME", `c3.${a}`),
    rec(`c3.${a}`, "CNAME", `host-0.${a}`),
    rec(`cext.${a}`, "CNAME", "target.elsewhere.example"),
    rec(`cdangle.${a}`, "CNAME", `missing.${a}`),
    rec(`cwild.${a}`, "CNAME", `q.wild.${a}`),
    rec(`loop1.${a}`, "CNAME", `loop2.${a}`),
    rec(`loop2.${a}`, "CNAME", `loop1.${a}`),
    rec(`text.${a}`, "TXT", 'quotes " and \\ backslash'),
    rec(`text.${a}`, "TXT", "second string"),
  );
  for (let i = 0; i < 120; i++) recs.push(rec(`big.${a}`, "A", `203.0.113.${i + 1}`));
  for (let i = 0; i < 80; i++) recs.push(rec(`big.${a}`, "AAAA", `2001:db8::b:${i.toString(16)}`));
  for (let i = 0; i < 40; i++) recs.push(rec(`mid.${a}`, "A", `198.51.100.${i + 100}`));
  recs.push(
    rec(`ttls.${a}`, "A", "192.0.2.250", { ttl: 100 }),
    rec(`ttls.${a}`, "A", "192.0.2.251", { ttl: 200 }),
  );
  for (let i = 0; i < 20; i++) recs.push(rec(`c-${i}.${a}`, "CNAME", `host-${Math.floor(r() * 150)}.${a}`));
  const o = "other.test";
  const other = dnsZone(o, [
    rec(`www.${o}`, "A", "192.0.2.200"),
    rec(`*.${o}`, "CNAME", `www.${o}`),
    rec(`mail.${o}`, "TXT", "exists"),
  ]);
  return [dnsZone(a, recs, { ns: [`ns1.${a}`, "ns.elsewhere.example"] }), other];
}

/** DiffQuery is one generated question. */
export interface DiffQuery {
  name: string;
  type: number;
  /** udpSize: the EDNS size offered, undefined: no EDNS. */
  udpSize?: number;
  transport: "udp" | "tcp";
}

// flipCase changes the letter case of some characters (resolvers do this: 0x20 randomisation).
function flipCase(name: string, r: () => number): string {
  return [...name].map((c) => (r() < 0.5 ? c.toUpperCase() : c)).join("");
}

/** diffQueries generates n questions over zones: names that exist, don't, wildcards, case variants, other zones. */
export function diffQueries(zones: DnsZoneData[], n: number, seed = 42): DiffQuery[] {
  const r = rng(seed);
  const pick = <T>(xs: T[]): T => xs[Math.floor(r() * xs.length)]!;
  const owners = [...new Set(zones.flatMap((z) => [z.name, ...z.records.map((x) => x.name)]))];
  const parents = [...new Set(owners.flatMap((o) => [o.split(".").slice(1).join(".")]))].filter((p) =>
    zones.some((z) => p === z.name || p.endsWith(`.${z.name}`)),
  );
  const out: DiffQuery[] = [];
  for (let i = 0; i < n; i++) {
    const kind = r();
    let name: string;
    if (kind < 0.45) name = pick(owners).replace(/^\*\./, `w${Math.floor(r() * 1000)}.`);
    else if (kind < 0.6) name = pick(parents);
    else if (kind < 0.85)
      name = `nx${Math.floor(r() * 10000)}.${pick([...owners, ...parents]).replace(/^\*\./, "")}`;
    else if (kind < 0.9) name = pick(["elsewhere.example", "test", `x.diff.test.evil`, "diff", "a.b.c"]);
    else name = `q${Math.floor(r() * 100)}.wild.diff.test`;
    if (r() < 0.3) name = flipCase(name, r);
    const e = r();
    out.push({
      name,
      type: pick(DIFF_TYPES),
      ...(e < 0.33 ? {} : { udpSize: e < 0.66 ? 4096 : 512 + Math.floor(r() * 1200) }),
      transport: r() < 0.1 ? "tcp" : "udp",
    });
  }
  return out;
}
