// der.ts: the DER (ASN.1 distinguished encoding) primitives Portico writes and reads by hand:
// certificates (x509.ts) and OCSP requests and responses (ocsp/). Node parses certificates but
// exposes neither their raw fields nor OCSP, and these few shapes are smaller than a dependency.

/** tlv encodes one DER element: tag, definite length, content. */
export function tlv(tag: number, content: Buffer): Buffer {
  const n = content.length;
  const len =
    n < 0x80
      ? Buffer.from([n])
      : n < 0x100
        ? Buffer.from([0x81, n])
        : n < 0x10000
          ? Buffer.from([0x82, n >> 8, n & 0xff])
          : Buffer.from([0x83, n >> 16, (n >> 8) & 0xff, n & 0xff]);
  return Buffer.concat([Buffer.from([tag]), len, content]);
}

/** seq encodes a SEQUENCE of already encoded parts. */
export function seq(...parts: Buffer[]): Buffer {
  return tlv(0x30, Buffer.concat(parts));
}

/** set encodes a SET of already encoded parts. */
export function set(...parts: Buffer[]): Buffer {
  return tlv(0x31, Buffer.concat(parts));
}

/** oid encodes an OBJECT IDENTIFIER: the first two arcs in one byte, the rest base 128. */
export function oid(arcs: number[]): Buffer {
  const out = [40 * arcs[0]! + arcs[1]!];
  for (const a of arcs.slice(2)) {
    const bytes = [a & 0x7f];
    for (let v = a >> 7; v > 0; v >>= 7) bytes.unshift((v & 0x7f) | 0x80);
    out.push(...bytes);
  }
  return tlv(0x06, Buffer.from(out));
}

/** Der is one decoded element: its tag, all its bytes (raw) and its content. */
export interface Der {
  tag: number;
  raw: Buffer;
  content: Buffer;
}

/** DerError says input is not the DER that was expected; the message names what was wrong. */
export class DerError extends Error {
  readonly code = "InvalidDer";
}

/** readDer decodes the element starting at offset off of buf. */
export function readDer(buf: Buffer, off = 0): Der {
  if (off + 2 > buf.length) throw new DerError("truncated DER element");
  const tag = buf[off]!;
  if ((tag & 0x1f) === 0x1f) throw new DerError("multi-byte DER tags are not used here");
  let len = buf[off + 1]!;
  let p = off + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4 || p + n > buf.length) throw new DerError("bad DER length");
    len = buf.readUIntBE(p, n);
    p += n;
  }
  if (p + len > buf.length) throw new DerError("DER element longer than its input");
  return { tag, raw: buf.subarray(off, p + len), content: buf.subarray(p, p + len) };
}

/** children decodes the elements inside a constructed element, in order. */
export function children(el: Der): Der[] {
  const out: Der[] = [];
  for (let p = 0; p < el.content.length;) {
    const c = readDer(el.content, p);
    out.push(c);
    p += c.raw.length;
  }
  return out;
}

/** oidText returns an OBJECT IDENTIFIER's dotted text ("1.3.6.1.5.5.7.48.1.1"). */
export function oidText(el: Der): string {
  if (el.tag !== 0x06 || el.content.length === 0) throw new DerError("expected an OBJECT IDENTIFIER");
  const b = el.content;
  const first = Math.min(2, Math.floor(b[0]! / 40));
  const arcs = [first, b[0]! - 40 * first];
  let v = 0;
  for (let i = 1; i < b.length; i++) {
    v = v * 128 + (b[i]! & 0x7f);
    if ((b[i]! & 0x80) === 0) {
      arcs.push(v);
      v = 0;
    }
  }
  return arcs.join(".");
}

/** derTime decodes a UTCTime or GeneralizedTime ("YYYYMMDDHHMMSS[.f]Z"). */
export function derTime(el: Der): Date {
  let s = el.content.toString("latin1");
  if (el.tag === 0x17) s = (Number(s.slice(0, 2)) < 50 ? "20" : "19") + s;
  else if (el.tag !== 0x18) throw new DerError("expected a time");
  const m = /^(\d{4})(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)(?:\.\d+)?Z$/.exec(s);
  if (m === null) throw new DerError(`unreadable time ${JSON.stringify(s)}`);
  return new Date(Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!));
}
