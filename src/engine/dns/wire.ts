// wire.ts: the DNS message codec of the authoritative server (RFC 1035 section 4, EDNS(0) RFC 6891).
// Hand-written rather than dns-packet: a server only ever decodes one question plus an OPT record,
// and its responses need name compression (dns-packet does not compress, issue #55 there), both to
// fit as many records as other servers do before truncating and to point owner names at the
// question so the client's letter case comes back as it was sent. The encoder writes into one
// scratch buffer per call and copies out the used part.

/** TYPE are the record type codes the server knows by name. */
export const TYPE = {
  A: 1,
  NS: 2,
  CNAME: 5,
  SOA: 6,
  MX: 15,
  TXT: 16,
  AAAA: 28,
  OPT: 41,
  IXFR: 251,
  AXFR: 252,
  ANY: 255,
} as const;

/** RCODE are the response codes the server sends (BADVERS is extended: high bits in the OPT TTL). */
export const RCODE = {
  NOERROR: 0,
  FORMERR: 1,
  SERVFAIL: 2,
  NXDOMAIN: 3,
  NOTIMP: 4,
  REFUSED: 5,
  BADVERS: 16,
} as const;

/** rcodeName gives the mnemonic of an rcode (metrics labels, logs). */
export function rcodeName(rcode: number): string {
  for (const [k, v] of Object.entries(RCODE)) if (v === rcode) return k;
  return "OTHER";
}

/** typeName gives the mnemonic of a type, or "OTHER" (bounded metric labels). */
export function typeName(type: number): string {
  for (const [k, v] of Object.entries(TYPE)) if (v === type) return k;
  return "OTHER";
}

/** CLASS_IN is the Internet class, the only one served. */
export const CLASS_IN = 1;

/** MAX_UDP_PAYLOAD is the largest UDP response sent whatever the client offers (DNS flag day 2020). */
export const MAX_UDP_PAYLOAD = 1232;

/** Edns is the client's OPT record. */
export interface Edns {
  udpSize: number;
  version: number;
  /** dnssecOk is the DO bit, echoed in the response (RFC 3225). */
  dnssecOk: boolean;
}

/** Query is a decoded, well-formed query with one question. */
export interface Query {
  id: number;
  opcode: number;
  /** flags holds the header's second 16 bits as sent (RD and CD are copied into the response). */
  flags: number;
  /** qname is lower case, dotted, without the final dot ("" for the root). */
  qname: string;
  qtype: number;
  qclass: number;
  /** question is the question section as sent (the client's letter case). */
  question: Buffer;
  edns?: Edns;
}

/** DecodeResult is a query, an error to answer with (no question when it could not be read), or nothing to send. */
export type DecodeResult =
  | { ok: true; query: Query }
  | { ok: false; id: number; opcode: number; flags: number; rcode: number; question?: Buffer; edns?: Edns }
  | { ok: false; drop: true };

/** Rr is one resource record to write; names are lower case dotted without the final dot. */
export interface Rr {
  name: string;
  type: number;
  ttl: number;
  /** rdata is the record's data when it holds no name (A, AAAA, TXT). */
  rdata?: Buffer;
  /** target is the name of a CNAME or NS record (compressed on the wire). */
  target?: string;
  /** soa is an SOA record's two names and its five numbers (20 bytes). */
  soa?: { mname: string; rname: string; tail: Buffer };
}

/** Response is what the server answers; encodeResponse writes it after the query's header and question. */
export interface Response {
  rcode: number;
  aa: boolean;
  answer: Rr[];
  authority: Rr[];
  additional: Rr[];
}

const QR = 0x8000;
const AA = 0x0400;
const TC = 0x0200;
const RD = 0x0100;
const CD = 0x0010;

/** readName reads an uncompressed name at off; returns the lower-case name and the offset after it, or undefined. */
function readName(buf: Buffer, off: number): [string, number] | undefined {
  let name = "";
  let total = 0;
  for (;;) {
    if (off >= buf.length) return undefined;
    const len = buf[off]!;
    off++;
    if (len === 0) break;
    // A pointer in a question has nothing before it to point at; 0x40/0x80 are reserved label types.
    if (len > 63) return undefined;
    if (off + len > buf.length) return undefined;
    total += len + 1;
    if (total > 254) return undefined;
    let label = "";
    for (let i = off; i < off + len; i++) {
      let c = buf[i]!;
      if (c >= 0x41 && c <= 0x5a) c += 0x20;
      // Presentation escapes (RFC 4343), so a label holding a dot never matches two labels.
      if (c === 0x2e || c === 0x5c) label += "\\" + String.fromCharCode(c);
      else if (c < 0x21 || c > 0x7e) label += "\\" + String(c).padStart(3, "0");
      else label += String.fromCharCode(c);
    }
    name = name === "" ? label : `${name}.${label}`;
    off += len;
  }
  return [name, off];
}

/** decodeQuery reads a query; anything that is not one well-formed standard query is an error or a drop. */
export function decodeQuery(buf: Buffer): DecodeResult {
  // Too short to carry an id: nothing to answer to. A response is never answered (no loops).
  if (buf.length < 12) return { ok: false, drop: true };
  const id = buf.readUInt16BE(0);
  const flags = buf.readUInt16BE(2);
  if (flags & QR) return { ok: false, drop: true };
  const opcode = (flags >> 11) & 0xf;
  const qd = buf.readUInt16BE(4);
  const an = buf.readUInt16BE(6);
  const ns = buf.readUInt16BE(8);
  const ar = buf.readUInt16BE(10);
  const fail = (rcode: number, question?: Buffer, edns?: Edns): DecodeResult => ({
    ok: false,
    id,
    opcode,
    flags,
    rcode,
    ...(question ? { question } : {}),
    ...(edns ? { edns } : {}),
  });
  if (qd !== 1) return fail(opcode === 0 ? RCODE.FORMERR : RCODE.NOTIMP);
  const name = readName(buf, 12);
  if (name === undefined || name[1] + 4 > buf.length) return fail(RCODE.FORMERR);
  let off = name[1];
  const qtype = buf.readUInt16BE(off);
  const qclass = buf.readUInt16BE(off + 2);
  off += 4;
  const question = buf.subarray(12, off);
  if (opcode !== 0) return fail(RCODE.NOTIMP, question);
  if (an !== 0 || ns !== 0) return fail(RCODE.FORMERR, question);
  let edns: Edns | undefined;
  for (let i = 0; i < ar; i++) {
    const rr = skipRecord(buf, off);
    if (rr === undefined) return fail(RCODE.FORMERR, question, edns);
    if (rr.type === TYPE.OPT) {
      // One OPT, owned by the root (RFC 6891 6.1.1).
      if (edns !== undefined || rr.root !== true) return fail(RCODE.FORMERR, question, edns);
      const ttl = buf.readUInt32BE(rr.ttlAt);
      edns = { udpSize: rr.class, version: (ttl >>> 16) & 0xff, dnssecOk: (ttl & 0x8000) !== 0 };
    }
    off = rr.end;
  }
  if (edns !== undefined && edns.version !== 0) return fail(RCODE.BADVERS, question, edns);
  return { ok: true, query: { id, opcode, flags, qname: name[0], qtype, qclass, question, edns } };
}

// skipRecord steps over one resource record (additional section), allowing compressed names.
function skipRecord(
  buf: Buffer,
  off: number,
): { type: number; class: number; ttlAt: number; end: number; root: boolean } | undefined {
  const root = buf[off] === 0;
  for (;;) {
    if (off >= buf.length) return undefined;
    const len = buf[off]!;
    if (len === 0) {
      off++;
      break;
    }
    if ((len & 0xc0) === 0xc0) {
      off += 2;
      break;
    }
    if (len > 63) return undefined;
    off += len + 1;
  }
  if (off + 10 > buf.length) return undefined;
  const type = buf.readUInt16BE(off);
  const klass = buf.readUInt16BE(off + 2);
  const rdlen = buf.readUInt16BE(off + 8);
  const end = off + 10 + rdlen;
  if (end > buf.length) return undefined;
  return { type, class: klass, ttlAt: off + 4, end, root };
}

/** udpLimit is the largest UDP response for a query: 512 without EDNS, else its size within 512..MAX_UDP_PAYLOAD. */
export function udpLimit(edns: Edns | undefined): number {
  if (edns === undefined) return 512;
  return Math.max(512, Math.min(edns.udpSize, MAX_UDP_PAYLOAD));
}

// scratch holds one message being written; 64 KiB is the largest DNS message (TCP's length prefix).
const scratch = Buffer.allocUnsafe(65535 + 512);

/** Header is what the response copies from the query (or from a query that failed to decode). */
export interface Header {
  id: number;
  opcode: number;
  flags: number;
  question?: Buffer;
  edns?: Edns;
}

/**
 * encodeResponse writes r for the query header h within limit bytes. Record sets are written whole
 * in order; when a set of the answer or authority section does not fit, TC is set and the message
 * ends with the sets before it (additional records that do not fit are left out without TC, RFC
 * 2181 9). A set too big for 512 bytes thus gives an empty truncated answer, as knot gives.
 * The OPT record, when the query had one, always fits: its room is kept from the start.
 */
export function encodeResponse(h: Header, r: Response, limit: number): Buffer {
  const buf = scratch;
  const dict = new Map<string, number>();
  let off = 12;
  if (h.question) {
    h.question.copy(buf, 12);
    registerQuestion(buf, dict);
    off += h.question.length;
  }
  const optRoom = h.edns ? 11 : 0;
  const room = Math.min(limit, 65535) - optRoom;
  let tc = false;
  const counts = [0, 0, 0];
  const sections = [r.answer, r.authority, r.additional];
  outer: for (let s = 0; s < 3; s++) {
    // A record set goes whole or not at all (RFC 2181 9): on overflow the message ends before it.
    let setStart = off;
    let setCount = 0;
    let prev: Rr | undefined;
    for (const rr of sections[s]!) {
      if (prev === undefined || prev.type !== rr.type || prev.name !== rr.name) {
        setStart = off;
        setCount = counts[s]!;
      }
      prev = rr;
      const end = writeRr(buf, off, rr, dict, room);
      if (end < 0) {
        off = setStart;
        counts[s] = setCount;
        forget(dict, off);
        if (s < 2) tc = true;
        break outer;
      }
      off = end;
      counts[s]!++;
    }
  }
  let arcount = counts[2]!;
  if (h.edns) {
    buf[off] = 0;
    buf.writeUInt16BE(TYPE.OPT, off + 1);
    buf.writeUInt16BE(MAX_UDP_PAYLOAD, off + 3);
    // Extended rcode (the high 8 bits of 12) | version 0 | DO echoed.
    buf.writeUInt32BE((((r.rcode >> 4) & 0xff) << 24) | (h.edns.dnssecOk ? 0x8000 : 0), off + 5);
    buf.writeUInt16BE(0, off + 9);
    off += 11;
    arcount++;
  }
  buf.writeUInt16BE(h.id, 0);
  buf.writeUInt16BE(
    QR | (h.opcode << 11) | (r.aa ? AA : 0) | (tc ? TC : 0) | (h.flags & (RD | CD)) | (r.rcode & 0xf),
    2,
  );
  buf.writeUInt16BE(h.question ? 1 : 0, 4);
  buf.writeUInt16BE(counts[0]!, 6);
  buf.writeUInt16BE(counts[1]!, 8);
  buf.writeUInt16BE(arcount, 10);
  return Buffer.from(buf.subarray(0, off));
}

// registerQuestion makes the question's name and each of its suffixes a compression target, so an
// owner equal to the question points at it and reads back in the client's case (as knot does).
function registerQuestion(buf: Buffer, dict: Map<string, number>): void {
  const starts: number[] = [];
  let off = 12;
  while (buf[off] !== 0) {
    starts.push(off);
    off += buf[off]! + 1;
  }
  const name = readName(buf, 12);
  if (name === undefined) return;
  if (!name[0].includes("\\")) {
    // The usual case: each suffix starts after a dot, no arrays built.
    let rest = name[0];
    for (let i = 0; rest !== ""; i++) {
      dict.set(rest, starts[i]!);
      const dot = rest.indexOf(".");
      rest = dot < 0 ? "" : rest.slice(dot + 1);
    }
    return;
  }
  const labels = splitName(name[0]);
  for (let i = 0; i < labels.length; i++) dict.set(labels.slice(i).join("."), starts[i]!);
}

/** splitName splits a dotted presentation name into labels, keeping escaped dots inside a label. */
export function splitName(name: string): string[] {
  if (name === "") return [];
  if (!name.includes("\\")) return name.split(".");
  const out: string[] = [];
  let cur = "";
  for (let i = 0; i < name.length; i++) {
    const c = name[i]!;
    if (c === "\\") {
      cur += c + name[i + 1]!;
      i++;
    } else if (c === ".") {
      out.push(cur);
      cur = "";
    } else cur += c;
  }
  out.push(cur);
  return out;
}

// forget drops compression targets at or past off (a record that did not fit was rolled back).
function forget(dict: Map<string, number>, off: number): void {
  for (const [k, v] of dict) if (v >= off) dict.delete(k);
}

// labelBytes turns one presentation label back into its bytes.
function labelBytes(label: string): number[] {
  const out: number[] = [];
  for (let i = 0; i < label.length; i++) {
    const c = label.charCodeAt(i);
    if (c === 0x5c) {
      const d = label.slice(i + 1, i + 4);
      if (/^\d{3}$/.test(d)) {
        out.push(Number(d));
        i += 3;
      } else {
        out.push(label.charCodeAt(i + 1));
        i++;
      }
    } else out.push(c);
  }
  return out;
}

// writeName writes name compressed against dict at off; returns the end, or -1 past room.
function writeName(buf: Buffer, off: number, name: string, dict: Map<string, number>, room: number): number {
  let rest = name;
  while (rest !== "") {
    const ptr = dict.get(rest);
    if (ptr !== undefined) {
      if (off + 2 > room) return -1;
      buf.writeUInt16BE(0xc000 | ptr, off);
      return off + 2;
    }
    const escaped = rest.includes("\\");
    const cut = escaped ? splitName(rest)[0]!.length : rest.indexOf(".");
    const label = cut < 0 ? rest : rest.slice(0, cut);
    if (off < 0x3fff) dict.set(rest, off);
    if (escaped) {
      const bytes = labelBytes(label);
      if (off + 1 + bytes.length > room) return -1;
      buf[off] = bytes.length;
      for (let i = 0; i < bytes.length; i++) buf[off + 1 + i] = bytes[i]!;
      off += 1 + bytes.length;
    } else {
      // Names from the zone are ASCII (validate.ts), one byte per character.
      if (off + 1 + label.length > room) return -1;
      buf[off] = label.length;
      buf.write(label, off + 1, "latin1");
      off += 1 + label.length;
    }
    rest = cut < 0 ? "" : rest.slice(cut + 1);
  }
  if (off + 1 > room) return -1;
  buf[off] = 0;
  return off + 1;
}

// writeRr writes one record; returns its end, or -1 if it does not fit within room.
function writeRr(buf: Buffer, off: number, rr: Rr, dict: Map<string, number>, room: number): number {
  off = writeName(buf, off, rr.name, dict, room);
  if (off < 0 || off + 10 > room) return -1;
  buf.writeUInt16BE(rr.type, off);
  buf.writeUInt16BE(CLASS_IN, off + 2);
  buf.writeUInt32BE(rr.ttl, off + 4);
  const rdlenAt = off + 8;
  let end = off + 10;
  if (rr.rdata) {
    if (end + rr.rdata.length > room) return -1;
    rr.rdata.copy(buf, end);
    end += rr.rdata.length;
  } else if (rr.target !== undefined) {
    end = writeName(buf, end, rr.target, dict, room);
  } else if (rr.soa) {
    end = writeName(buf, end, rr.soa.mname, dict, room);
    if (end >= 0) end = writeName(buf, end, rr.soa.rname, dict, room);
    if (end >= 0 && end + 20 <= room) {
      rr.soa.tail.copy(buf, end);
      end += 20;
    } else end = -1;
  }
  if (end < 0) return -1;
  buf.writeUInt16BE(end - rdlenAt - 2, rdlenAt);
  return end;
}

/**
 * truncate turns an encoded response into its bare form: header with TC set and the question,
 * no records. Rate limiting sends it instead of a response ("slip"): smaller than the query's
 * bytes, so it cannot amplify, and a real client retries over TCP where no limit applies.
 */
export function truncate(reply: Buffer): Buffer {
  let off = 12;
  const qd = reply.readUInt16BE(4);
  if (qd === 1) {
    while (off < reply.length && reply[off] !== 0) off += reply[off]! + 1;
    off += 5;
  }
  const out = Buffer.from(reply.subarray(0, Math.min(off, reply.length)));
  out.writeUInt16BE(out.readUInt16BE(2) | TC, 2);
  out.writeUInt32BE(0, 6);
  out.writeUInt16BE(0, 10);
  return out;
}
