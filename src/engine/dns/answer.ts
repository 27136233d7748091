// answer.ts: the authoritative answer to one query, a pure function of the query, the zones and
// the pools' health (docs/dns.md "The server"). respond() wraps it with decoding and encoding:
// bytes in, bytes out (or nothing, or "forward this").
import {
  CLASS_IN,
  decodeQuery,
  encodeResponse,
  RCODE,
  TYPE,
  udpLimit,
  type Header,
  type Query,
  type Response,
  type Rr,
} from "./wire.ts";
import type { Zone, ZoneNode, ZoneRr, Zones } from "./zone.ts";

/** PoolUp says whether a pool has an endpoint up (the engine's health state). */
export type PoolUp = (pool: string) => boolean;

/** ClientInfo is how the query came: the transport decides the response size limit. */
export interface ClientInfo {
  transport: "udp" | "tcp";
  address: string;
}

/** Answer is a response, plus outside when the name is in none of the zones (forwarding may take it). */
export interface Answer extends Response {
  outside?: true;
}

/** MAX_CNAME_HOPS bounds how far a CNAME chain is followed inside a zone. */
export const MAX_CNAME_HOPS = 16;

/**
 * parentName drops the first label of a presentation name ("" past the last one). A label may hold
 * a dot, escaped as "\." by the decoder: that is no label boundary, or "www\.example.com" (two
 * labels, in com) would be looked up as www.example.com's child.
 */
export function parentName(name: string): string {
  let dot = name.indexOf(".");
  if (dot > 0 && name.includes("\\")) {
    dot = -1;
    for (let i = 0; i < name.length; i++) {
      const c = name[i];
      if (c === "\\") i++;
      else if (c === ".") {
        dot = i;
        break;
      }
    }
  }
  return dot < 0 ? "" : name.slice(dot + 1);
}

/** findZone returns the zone whose apex is the longest suffix of name, if any. */
export function findZone(zones: Zones, name: string): Zone | undefined {
  let rest = name;
  for (;;) {
    const z = zones.get(rest);
    if (z !== undefined) return z;
    if (rest === "") return undefined;
    rest = parentName(rest);
  }
}

function inZone(name: string, apex: string): boolean {
  return apex === "" || name === apex || name.endsWith("." + apex);
}

// lookup finds the node answering name (RFC 4592 4.1): the name itself if it exists (with records
// or as an empty non-terminal), else the wildcard child of its closest encloser, else nothing.
function lookup(z: Zone, name: string): { node: ZoneNode; wildcard: boolean } | undefined {
  const exact = z.nodes.get(name);
  if (exact !== undefined) return { node: exact, wildcard: false };
  let ce = name;
  do {
    ce = parentName(ce);
  } while (ce !== z.apex && ce !== "" && !z.nodes.has(ce));
  const w = z.nodes.get(ce === "" ? "*" : `*.${ce}`);
  return w === undefined ? undefined : { node: w, wildcard: true };
}

// live keeps the records that may be answered: no pools, fallback set, or one of their pools up.
function live(set: ZoneRr[] | undefined, poolUp: PoolUp): ZoneRr[] {
  if (set === undefined) return [];
  let all = true;
  for (const rr of set) if (rr.pools !== undefined && !rr.fallback) all = false;
  if (all) return set;
  return set.filter((rr) => rr.pools === undefined || rr.fallback === true || rr.pools.some(poolUp));
}

// owned gives the records with owner name (a wildcard's records take the name they answer for).
function owned(set: ZoneRr[], name: string, wildcard: boolean): Rr[] {
  return wildcard ? set.map((rr) => ({ ...rr, name })) : set;
}

/** answer is the authoritative response to q from zones, with records withdrawn whose pools are all down. */
export function answer(q: Query, zones: Zones, poolUp: PoolUp): Answer {
  const none: Answer = { rcode: RCODE.REFUSED, aa: false, answer: [], authority: [], additional: [] };
  // Only class IN is served; zone transfers are not offered.
  if (q.qclass !== CLASS_IN || q.qtype === TYPE.AXFR || q.qtype === TYPE.IXFR) return none;
  const z = findZone(zones, q.qname);
  if (z === undefined) return { ...none, outside: true };
  const r: Answer = { rcode: RCODE.NOERROR, aa: true, answer: [], authority: [], additional: [] };
  const seen = new Set<string>();
  let name = q.qname;
  for (let hop = 0; ; hop++) {
    const found = lookup(z, name);
    if (found === undefined) {
      r.rcode = RCODE.NXDOMAIN;
      r.authority.push(z.negativeSoa);
      return r;
    }
    const { node, wildcard } = found;
    const cname = live(node.sets.get(TYPE.CNAME), poolUp);
    if (cname.length > 0 && q.qtype !== TYPE.CNAME && q.qtype !== TYPE.ANY) {
      r.answer.push(...owned(cname.slice(0, 1), name, wildcard));
      seen.add(name);
      const target = cname[0]!.target!;
      // Out of the zone, looping or too long: the client's resolver takes it from here.
      if (!inZone(target, z.apex) || seen.has(target) || hop >= MAX_CNAME_HOPS) return r;
      name = target;
      continue;
    }
    const set = q.qtype === TYPE.ANY ? anySet(node, poolUp) : live(node.sets.get(q.qtype), poolUp);
    if (set.length === 0) r.authority.push(z.negativeSoa);
    else {
      r.answer.push(...owned(set, name, wildcard));
      if (set[0]!.type === TYPE.NS && name === z.apex) glue(z, r, poolUp);
    }
    return r;
  }
}

// anySet answers ANY with one record set, the lowest type's (RFC 8482: ANY is no amplifier; knot does the same).
function anySet(node: ZoneNode, poolUp: PoolUp): ZoneRr[] {
  for (const type of [...node.sets.keys()].sort((a, b) => a - b)) {
    const set = live(node.sets.get(type), poolUp);
    if (set.length > 0) return set;
  }
  return [];
}

// glue adds the addresses of in-zone name servers to an NS answer.
function glue(z: Zone, r: Answer, poolUp: PoolUp): void {
  for (const ns of r.answer) {
    if (ns.type !== TYPE.NS || !inZone(ns.target!, z.apex)) continue;
    const node = z.nodes.get(ns.target!);
    if (node === undefined) continue;
    r.additional.push(...live(node.sets.get(TYPE.A), poolUp), ...live(node.sets.get(TYPE.AAAA), poolUp));
  }
}

/** Reply is respond()'s outcome: bytes to send, nothing (drop), or a query to forward. */
export type Reply =
  | { kind: "send"; bytes: Buffer; rcode: number; qtype: number }
  | { kind: "drop" }
  | { kind: "forward"; query: Query };

/** respond decodes msg, answers it and encodes the response within the transport's size limit. */
export function respond(
  msg: Buffer,
  zones: Zones,
  poolUp: PoolUp,
  client: ClientInfo,
  forwarding: boolean,
): Reply {
  const d = decodeQuery(msg);
  if (!d.ok) {
    if ("drop" in d) return { kind: "drop" };
    const empty: Response = { rcode: d.rcode, aa: false, answer: [], authority: [], additional: [] };
    const limit = client.transport === "tcp" ? 65535 : udpLimit(d.edns);
    return { kind: "send", bytes: encodeResponse(d, empty, limit), rcode: d.rcode, qtype: -1 };
  }
  const q = d.query;
  const a = answer(q, zones, poolUp);
  if (a.outside && forwarding) return { kind: "forward", query: q };
  const limit = client.transport === "tcp" ? 65535 : udpLimit(q.edns);
  return {
    kind: "send",
    bytes: encodeResponse(q satisfies Header, a, limit),
    rcode: a.rcode,
    qtype: q.qtype,
  };
}
