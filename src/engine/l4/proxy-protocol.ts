// proxy-protocol.ts: PROXY protocol headers towards backends, per the HAProxy spec
// (https://www.haproxy.org/download/2.9/doc/proxy-protocol.txt): v1 is one text line,
// v2 a binary header of 16 bytes plus the addresses. IPv4-mapped IPv6 peers are sent as IPv4.
import { isIPv4, isIPv6 } from "node:net";

/** PROXY_V2_SIGNATURE is the 12-byte magic that starts every v2 header. */
export const PROXY_V2_SIGNATURE = Buffer.from([
  0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a,
]);

/** ProxyAddresses are the client (source) and VIP (destination) of a connection. */
export interface ProxyAddresses {
  sourceAddress?: string;
  sourcePort?: number;
  destAddress?: string;
  destPort?: number;
}

/** unmap turns "::ffff:1.2.3.4" into "1.2.3.4". */
function unmap(a: string | undefined): string | undefined {
  return a?.startsWith("::ffff:") && isIPv4(a.slice(7)) ? a.slice(7) : a;
}

/** family returns 4 or 6 when both addresses are of that family, else 0 (UNKNOWN). */
function family(p: ProxyAddresses): { fam: 0 | 4 | 6; src: string; dst: string } {
  const src = unmap(p.sourceAddress) ?? "";
  const dst = unmap(p.destAddress) ?? "";
  if (p.sourcePort === undefined || p.destPort === undefined) return { fam: 0, src, dst };
  if (isIPv4(src) && isIPv4(dst)) return { fam: 4, src, dst };
  if (isIPv6(src) && isIPv6(dst)) return { fam: 6, src, dst };
  return { fam: 0, src, dst };
}

/** proxyV1 renders the text header, e.g. "PROXY TCP4 10.0.0.1 10.0.0.2 51000 80\r\n". */
export function proxyV1(p: ProxyAddresses): Buffer {
  const { fam, src, dst } = family(p);
  if (fam === 0) return Buffer.from("PROXY UNKNOWN\r\n", "latin1");
  return Buffer.from(`PROXY TCP${fam} ${src} ${dst} ${p.sourcePort} ${p.destPort}\r\n`, "latin1");
}

/** ipv6Bytes writes an IPv6 literal's 16 bytes into out at offset. */
function ipv6Bytes(literal: string, out: Buffer, offset: number): void {
  let a = literal;
  // An embedded IPv4 tail ("64:ff9b::1.2.3.4") is two groups.
  const v4 = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(a);
  if (v4) {
    const o = v4.slice(1).map(Number);
    a = `${a.slice(0, v4.index)}${((o[0]! << 8) | o[1]!).toString(16)}:${((o[2]! << 8) | o[3]!).toString(16)}`;
  }
  let groups = a.split(":");
  const dbl = a.indexOf("::");
  if (dbl >= 0) {
    const head = dbl > 0 ? a.slice(0, dbl).split(":") : [];
    const tail = a.slice(dbl + 2) ? a.slice(dbl + 2).split(":") : [];
    groups = [...head, ...new Array<string>(8 - head.length - tail.length).fill("0"), ...tail];
  }
  for (let i = 0; i < 8; i++) out.writeUInt16BE(parseInt(groups[i] ?? "0", 16) || 0, offset + i * 2);
}

/** proxyV2 renders the binary header with command PROXY over TCP (LOCAL family UNSPEC if unknown). */
export function proxyV2(p: ProxyAddresses): Buffer {
  const { fam, src, dst } = family(p);
  const addrLen = fam === 4 ? 12 : fam === 6 ? 36 : 0;
  const out = Buffer.alloc(16 + addrLen);
  PROXY_V2_SIGNATURE.copy(out, 0);
  out[12] = 0x21; // version 2, command PROXY
  out[13] = fam === 4 ? 0x11 : fam === 6 ? 0x21 : 0x00; // AF_INET/AF_INET6 + STREAM, or UNSPEC
  out.writeUInt16BE(addrLen, 14);
  if (fam === 4) {
    src.split(".").forEach((o, i) => (out[16 + i] = Number(o)));
    dst.split(".").forEach((o, i) => (out[20 + i] = Number(o)));
    out.writeUInt16BE(p.sourcePort!, 24);
    out.writeUInt16BE(p.destPort!, 26);
  } else if (fam === 6) {
    ipv6Bytes(src, out, 16);
    ipv6Bytes(dst, out, 32);
    out.writeUInt16BE(p.sourcePort!, 48);
    out.writeUInt16BE(p.destPort!, 50);
  }
  return out;
}
