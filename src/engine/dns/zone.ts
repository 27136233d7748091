// zone.ts: compiles the IR's DnsZoneData into what answer() looks names up in: per zone, a map of
// every name that exists (owners of records, the apex, and the empty non-terminals between them,
// which exist for RFC 4592 even with no records) to its record sets, with rdata already on the wire.
import { isIPv4, isIPv6 } from "node:net";
import type { DnsRecord, DnsZoneData } from "../../model/ir.ts";
import { TYPE, type Rr } from "./wire.ts";

/** ZoneRr is a record of a compiled zone; pools and fallback come from the IR (health-aware records). */
export interface ZoneRr extends Rr {
  pools?: string[];
  fallback?: boolean;
}

/** ZoneNode is one existing name: its record sets by type (none for an empty non-terminal). */
export interface ZoneNode {
  sets: Map<number, ZoneRr[]>;
}

/** Zone is one compiled zone. */
export interface Zone {
  apex: string;
  nodes: Map<string, ZoneNode>;
  soa: ZoneRr;
  /** negativeSoa is the SOA as negative answers carry it, with TTL min(SOA TTL, minimum) (RFC 2308 3). */
  negativeSoa: ZoneRr;
  /** negativeTtl is the SOA's TTL in negative answers: min(SOA TTL, minimum) (RFC 2308 3). */
  negativeTtl: number;
}

/** Zones are a server's zones by apex. */
export type Zones = Map<string, Zone>;

/** compileZones compiles every zone of a server; names are expected valid (validate.ts checks them). */
export function compileZones(zones: DnsZoneData[]): Zones {
  const out: Zones = new Map();
  for (const z of zones) out.set(z.name, compileZone(z));
  return out;
}

function compileZone(z: DnsZoneData): Zone {
  const nodes = new Map<string, ZoneNode>();
  const node = (name: string): ZoneNode => {
    let n = nodes.get(name);
    if (n === undefined) {
      n = { sets: new Map() };
      nodes.set(name, n);
      // Every name between the owner and the apex exists (an empty non-terminal if nothing else).
      if (name !== z.name) node(name.slice(name.indexOf(".") + 1));
    }
    return n;
  };
  const add = (rr: ZoneRr) => {
    const sets = node(rr.name).sets;
    const set = sets.get(rr.type);
    if (set === undefined) sets.set(rr.type, [rr]);
    else set.push(rr);
  };
  const tail = Buffer.alloc(20);
  tail.writeUInt32BE(z.soa.serial >>> 0, 0);
  tail.writeUInt32BE(z.soa.refresh, 4);
  tail.writeUInt32BE(z.soa.retry, 8);
  tail.writeUInt32BE(z.soa.expire, 12);
  tail.writeUInt32BE(z.soa.minimum, 16);
  const soa: ZoneRr = {
    name: z.name,
    type: TYPE.SOA,
    ttl: z.soa.ttl,
    soa: { mname: z.soa.mname, rname: z.soa.rname, tail },
  };
  add(soa);
  for (const ns of z.ns) add({ name: z.name, type: TYPE.NS, ttl: z.nsTtl, target: ns });
  for (const r of z.records) add(compileRecord(r));
  // Records of a set in canonical order, duplicates merged (RFC 2181 5; knot does the same), so a
  // truncated answer holds the same records whatever order the snapshot listed them in.
  for (const n of nodes.values()) for (const [type, set] of n.sets) n.sets.set(type, canonical(set));
  const negativeTtl = Math.min(z.soa.ttl, z.soa.minimum);
  return { apex: z.name, nodes, soa, negativeSoa: { ...soa, ttl: negativeTtl }, negativeTtl };
}

function compileRecord(r: DnsRecord): ZoneRr {
  const base = {
    name: r.name,
    ttl: r.ttl,
    ...(r.pools !== undefined ? { pools: r.pools } : {}),
    ...(r.fallback ? { fallback: true } : {}),
  };
  switch (r.type) {
    case "A":
      return { ...base, type: TYPE.A, rdata: ipv4Bytes(r.value) };
    case "AAAA":
      return { ...base, type: TYPE.AAAA, rdata: ipv6Bytes(r.value) };
    case "CNAME":
      return { ...base, type: TYPE.CNAME, target: r.value };
    case "TXT":
      return { ...base, type: TYPE.TXT, rdata: txtBytes(r.value) };
  }
}

/** ipv4Bytes encodes a dotted quad. */
export function ipv4Bytes(s: string): Buffer {
  if (!isIPv4(s)) throw new Error(`${JSON.stringify(s)} is not an IPv4 address`);
  return Buffer.from(s.split(".").map(Number));
}

/** ipv6Bytes encodes an IPv6 literal ("::" and a trailing dotted quad allowed). */
export function ipv6Bytes(s: string): Buffer {
  if (!isIPv6(s)) throw new Error(`${JSON.stringify(s)} is not an IPv6 address`);
  let text = s;
  const tail: number[] = [];
  const quad = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (quad) {
    const b = ipv4Bytes(quad[1]!);
    tail.push((b[0]! << 8) | b[1]!, (b[2]! << 8) | b[3]!);
    text = text.slice(0, -quad[1]!.length);
    if (text.endsWith(":") && !text.endsWith("::")) text = text.slice(0, -1);
  }
  const [head, rest] = text.split("::") as [string, string | undefined];
  const parse = (p: string) => (p === "" ? [] : p.split(":").map((g) => parseInt(g, 16)));
  const left = parse(head);
  const right = [...parse(rest ?? ""), ...tail];
  const groups =
    rest === undefined
      ? [...left, ...right]
      : [...left, ...Array(8 - left.length - right.length).fill(0), ...right];
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => out.writeUInt16BE(g, i * 2));
  return out;
}

/** txtBytes encodes a TXT value as character strings of at most 255 bytes each (RFC 1035 3.3.14). */
export function txtBytes(value: string): Buffer {
  const bytes = Buffer.from(value, "utf8");
  const parts: Buffer[] = [];
  for (let i = 0; i < bytes.length || i === 0; i += 255) {
    const chunk = bytes.subarray(i, i + 255);
    parts.push(Buffer.from([chunk.length]), chunk);
  }
  return Buffer.concat(parts);
}

// sortKey is the record's rdata as compared in canonical order (names as lower-case wire labels).
function sortKey(rr: Rr): Buffer {
  if (rr.rdata) return rr.rdata;
  const name = rr.target ?? "";
  return Buffer.concat(name.split(".").map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l)])));
}

// canonical sorts a set and merges equal records: the merged one is health-aware only if all were,
// on the union of their pools (two services may publish the same address under one name).
function canonical(set: ZoneRr[]): ZoneRr[] {
  const keyed = set.map((rr) => ({ rr, key: sortKey(rr) })).sort((a, b) => Buffer.compare(a.key, b.key));
  const out: ZoneRr[] = [];
  let prev: Buffer | undefined;
  for (const { rr, key } of keyed) {
    const last = out[out.length - 1];
    if (last === undefined || prev === undefined || Buffer.compare(prev, key) !== 0) {
      out.push(rr);
      prev = key;
      continue;
    }
    const always = last.pools === undefined || rr.pools === undefined;
    const merged: ZoneRr = { ...last, ttl: Math.min(last.ttl, rr.ttl) };
    delete merged.pools;
    if (!always) merged.pools = [...new Set([...last.pools!, ...rr.pools!])];
    if (last.fallback || rr.fallback) merged.fallback = true;
    out[out.length - 1] = merged;
  }
  // One TTL per set (RFC 2181 5.2): the lowest, so no record is cached longer than it asked.
  const ttl = Math.min(...out.map((rr) => rr.ttl));
  return out.map((rr) => (rr.ttl === ttl ? rr : { ...rr, ttl }));
}
