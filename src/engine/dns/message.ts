// message.ts: a full decoder of DNS messages into presentation text, for tests and tools (the
// differential test reads Portico's and knot's answers with it; `dig` reads them in the e2e tests).
// The server itself never decodes more than a question (wire.ts).
import { typeName } from "./wire.ts";

/** Message is a decoded DNS message; records are "owner TTL TYPE rdata" lines (owner as sent, with final dot). */
export interface Message {
  id: number;
  flags: { qr: boolean; aa: boolean; tc: boolean; rd: boolean; ra: boolean };
  opcode: number;
  /** rcode includes the extended bits from the OPT record. */
  rcode: number;
  question: { name: string; type: number; class: number }[];
  answer: string[];
  authority: string[];
  additional: string[];
  /** opt is the OPT record's UDP size and DO bit, when present (it is not in additional). */
  opt?: { udpSize: number; dnssecOk: boolean; version: number };
}

function readName(buf: Buffer, off: number): [string, number] {
  const labels: string[] = [];
  let end = -1;
  for (let hops = 0; hops < 128; hops++) {
    const len = buf[off];
    if (len === undefined) throw new Error("name runs past the message");
    if ((len & 0xc0) === 0xc0) {
      if (end < 0) end = off + 2;
      off = buf.readUInt16BE(off) & 0x3fff;
      continue;
    }
    if (len === 0) return [labels.join(".") + ".", end < 0 ? off + 1 : end];
    let l = "";
    for (const c of buf.subarray(off + 1, off + 1 + len))
      l +=
        c === 0x2e || c === 0x5c
          ? "\\" + String.fromCharCode(c)
          : c < 0x21 || c > 0x7e
            ? `\\${String(c).padStart(3, "0")}`
            : String.fromCharCode(c);
    labels.push(l);
    off += len + 1;
  }
  throw new Error("compression loop");
}

function rdataText(buf: Buffer, type: number, off: number, len: number): string {
  const d = buf.subarray(off, off + len);
  switch (type) {
    case 1:
      return [...d].join(".");
    case 28: {
      const groups: string[] = [];
      for (let i = 0; i < 16; i += 2) groups.push(d.readUInt16BE(i).toString(16));
      return groups.join(":");
    }
    case 2:
    case 5:
      return readName(buf, off)[0];
    case 6: {
      const [mname, o1] = readName(buf, off);
      const [rname, o2] = readName(buf, o1);
      const n = [0, 4, 8, 12, 16].map((i) => buf.readUInt32BE(o2 + i));
      return `${mname} ${rname} ${n.join(" ")}`;
    }
    case 16: {
      const parts: string[] = [];
      for (let i = 0; i < d.length;) {
        const n = d[i]!;
        parts.push(JSON.stringify(d.subarray(i + 1, i + 1 + n).toString("utf8")));
        i += n + 1;
      }
      return parts.join(" ");
    }
    default:
      return `\\# ${len} ${d.toString("hex")}`;
  }
}

/** decodeMessage decodes a whole message; it throws on malformed input. */
export function decodeMessage(buf: Buffer): Message {
  const flags = buf.readUInt16BE(2);
  const counts = [4, 6, 8, 10].map((o) => buf.readUInt16BE(o));
  let off = 12;
  const m: Message = {
    id: buf.readUInt16BE(0),
    flags: {
      qr: (flags & 0x8000) !== 0,
      aa: (flags & 0x0400) !== 0,
      tc: (flags & 0x0200) !== 0,
      rd: (flags & 0x0100) !== 0,
      ra: (flags & 0x0080) !== 0,
    },
    opcode: (flags >> 11) & 0xf,
    rcode: flags & 0xf,
    question: [],
    answer: [],
    authority: [],
    additional: [],
  };
  for (let i = 0; i < counts[0]!; i++) {
    const [name, o] = readName(buf, off);
    m.question.push({ name, type: buf.readUInt16BE(o), class: buf.readUInt16BE(o + 2) });
    off = o + 4;
  }
  const sections = [m.answer, m.authority, m.additional];
  for (let s = 0; s < 3; s++) {
    for (let i = 0; i < counts[s + 1]!; i++) {
      const [name, o] = readName(buf, off);
      const type = buf.readUInt16BE(o);
      const klass = buf.readUInt16BE(o + 2);
      const ttl = buf.readUInt32BE(o + 4);
      const len = buf.readUInt16BE(o + 8);
      if (o + 10 + len > buf.length) throw new Error("record runs past the message");
      if (type === 41) {
        m.opt = { udpSize: klass, dnssecOk: (ttl & 0x8000) !== 0, version: (ttl >>> 16) & 0xff };
        m.rcode |= (ttl >>> 24) << 4;
      } else sections[s]!.push(`${name} ${ttl} ${typeName(type)} ${rdataText(buf, type, o + 10, len)}`);
      off = o + 10 + len;
    }
  }
  return m;
}

/** encodeQuery builds a query for name and type (id, EDNS UDP size and the RD bit as asked). */
export function encodeQuery(
  name: string,
  type: number,
  opts: { id?: number; udpSize?: number; rd?: boolean; klass?: number } = {},
): Buffer {
  const labels = name
    .replace(/\.$/, "")
    .split(".")
    .filter((l) => l !== "");
  const parts: Buffer[] = [Buffer.alloc(12)];
  const h = parts[0]!;
  h.writeUInt16BE(opts.id ?? 0x1234, 0);
  h.writeUInt16BE(opts.rd ? 0x0100 : 0, 2);
  h.writeUInt16BE(1, 4);
  h.writeUInt16BE(opts.udpSize !== undefined ? 1 : 0, 10);
  for (const l of labels) {
    const b = Buffer.from(l, "latin1");
    parts.push(Buffer.from([b.length]), b);
  }
  const tail = Buffer.alloc(5);
  tail.writeUInt16BE(type, 1);
  tail.writeUInt16BE(opts.klass ?? 1, 3);
  parts.push(tail);
  if (opts.udpSize !== undefined) {
    const opt = Buffer.alloc(11);
    opt.writeUInt16BE(41, 1);
    opt.writeUInt16BE(opts.udpSize, 3);
    parts.push(opt);
  }
  return Buffer.concat(parts);
}
