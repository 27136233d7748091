// client-hello.ts: reads the server name (SNI) out of a TLS ClientHello without terminating TLS,
// so a listener can decide per name whether to relay the bytes untouched (TLSRoute passthrough) or
// handshake itself. The hello may arrive split over several reads and, in principle, over several
// TLS records; the parser is pure and is called again with all bytes read so far.
import type { Socket } from "node:net";

/** MAX_HELLO_BYTES bounds what a client may send before its ClientHello is complete. */
export const MAX_HELLO_BYTES = 64 * 1024;

/** HelloResult: "more" wants more bytes; "done" has the SNI (undefined: none sent); "invalid" is not TLS. */
export type HelloResult =
  | { type: "more" }
  | { type: "done"; servername: string | undefined; alpn?: string[]; ecdsa?: boolean }
  | { type: "invalid"; reason: string };

const RECORD_HANDSHAKE = 0x16;
const HANDSHAKE_CLIENT_HELLO = 0x01;
const EXT_SERVER_NAME = 0x0000;
const EXT_ALPN = 0x0010;
const EXT_SIGNATURE_ALGORITHMS = 0x000d;
const EXT_SUPPORTED_VERSIONS = 0x002b;
// ECDSA signature schemes (RFC 8446 §4.2.3) and the ECDHE-ECDSA suites of TLS 1.2 (RFC 8422, 5289, 7905).
const ECDSA_SCHEMES = new Set([0x0403, 0x0503, 0x0603]);
const ECDSA_SUITES = new Set([0xc02b, 0xc02c, 0xcca9, 0xc023, 0xc024, 0xc009, 0xc00a, 0xc0ac, 0xc0ad]);
const NAME_TYPE_HOST = 0x00;

/** parseClientHello inspects the bytes a client sent so far. */
export function parseClientHello(buf: Buffer): HelloResult {
  if (buf.length > 0 && buf[0] !== RECORD_HANDSHAKE) return invalid("not a TLS handshake record");
  // Gather the handshake message from consecutive handshake records.
  const parts: Buffer[] = [];
  let have = 0;
  let need = -1;
  let off = 0;
  for (;;) {
    if (need !== -1 && have >= need) break;
    if (buf.length - off < 5) return buf.length > MAX_HELLO_BYTES ? invalid("ClientHello too large") : more;
    if (buf[off] !== RECORD_HANDSHAKE) return invalid("ClientHello interrupted by another record type");
    if (buf[off + 1] !== 0x03) return invalid("unknown record version");
    const len = buf.readUInt16BE(off + 3);
    if (len === 0) return invalid("empty handshake record");
    if (buf.length - off - 5 < len)
      return buf.length > MAX_HELLO_BYTES ? invalid("ClientHello too large") : more;
    parts.push(buf.subarray(off + 5, off + 5 + len));
    have += len;
    off += 5 + len;
    if (need === -1 && have >= 4) {
      const first = parts.length === 1 ? parts[0]! : Buffer.concat(parts);
      if (first[0] !== HANDSHAKE_CLIENT_HELLO) return invalid("first handshake message is not a ClientHello");
      need = 4 + first.readUIntBE(1, 3);
      if (need > MAX_HELLO_BYTES) return invalid("ClientHello too large");
    }
  }
  const msg = parts.length === 1 ? parts[0]! : Buffer.concat(parts);
  return readHello(msg.subarray(4, need));
}

const more: HelloResult = { type: "more" };

function invalid(reason: string): HelloResult {
  return { type: "invalid", reason };
}

// readHello walks the ClientHello body (RFC 8446 §4.1.2) to its extensions.
function readHello(b: Buffer): HelloResult {
  let p = 2 + 32; // legacy_version, random
  if (p + 1 > b.length) return invalid("truncated ClientHello");
  p += 1 + b[p]!; // session id
  if (p + 2 > b.length) return invalid("truncated ClientHello");
  const suitesAt = p + 2;
  p += 2 + b.readUInt16BE(p); // cipher suites
  const suites = b.subarray(suitesAt, Math.min(p, b.length));
  if (p + 1 > b.length) return invalid("truncated ClientHello");
  p += 1 + b[p]!; // compression methods
  if (p === b.length) return { type: "done", servername: undefined }; // no extensions at all
  if (p + 2 > b.length) return invalid("truncated ClientHello");
  const end = p + 2 + b.readUInt16BE(p);
  if (end > b.length) return invalid("truncated extensions");
  p += 2;
  let servername: string | undefined;
  let alpn: string[] | undefined;
  let ecdsaSig = false;
  let tls13 = false;
  while (p + 4 <= end) {
    const type = b.readUInt16BE(p);
    const len = b.readUInt16BE(p + 2);
    p += 4;
    if (p + len > end) return invalid("truncated extension");
    if (type === EXT_SERVER_NAME) {
      const r = readServerName(b.subarray(p, p + len));
      if (r.type !== "done") return r;
      servername = r.servername;
    } else if (type === EXT_ALPN) alpn = readAlpn(b.subarray(p, p + len));
    else if (type === EXT_SIGNATURE_ALGORITHMS) ecdsaSig = anyCode(b.subarray(p + 2, p + len), ECDSA_SCHEMES);
    else if (type === EXT_SUPPORTED_VERSIONS) tls13 = anyCode(b.subarray(p + 1, p + len), new Set([0x0304]));
    p += len;
  }
  // ECDSA needs an ECDSA signature scheme and, below TLS 1.3 (where suites name no key type), an
  // ECDHE-ECDSA suite.
  const ecdsa = ecdsaSig && (tls13 || anyCode(suites, ECDSA_SUITES));
  return alpn === undefined ? { type: "done", servername, ecdsa } : { type: "done", servername, alpn, ecdsa };
}

// anyCode says whether a list of 16-bit codes holds one of codes.
function anyCode(list: Buffer, codes: ReadonlySet<number>): boolean {
  for (let i = 0; i + 1 < list.length; i += 2) if (codes.has(list.readUInt16BE(i))) return true;
  return false;
}

// readAlpn lists the protocols of an application_layer_protocol_negotiation extension (RFC 7301
// §3.1); TLS-ALPN-01 (RFC 8737) is told apart from ordinary clients by "acme-tls/1" in it.
function readAlpn(e: Buffer): string[] {
  const out: string[] = [];
  if (e.length < 2) return out;
  const end = Math.min(e.length, 2 + e.readUInt16BE(0));
  let p = 2;
  while (p < end) {
    const len = e[p]!;
    p += 1;
    if (p + len > end) break;
    out.push(e.toString("latin1", p, p + len));
    p += len;
  }
  return out;
}

// readServerName returns the first host_name entry of a server_name extension (RFC 6066 §3).
function readServerName(e: Buffer): HelloResult {
  if (e.length < 2) return invalid("truncated server_name");
  const end = Math.min(e.length, 2 + e.readUInt16BE(0));
  let p = 2;
  while (p + 3 <= end) {
    const type = e[p]!;
    const len = e.readUInt16BE(p + 1);
    p += 3;
    if (p + len > end) return invalid("truncated server name");
    if (type === NAME_TYPE_HOST) {
      const name = e.toString("latin1", p, p + len);
      // A host name is LDH ASCII: anything else can't name a route and is refused.
      if (!/^[A-Za-z0-9._-]+$/.test(name)) return invalid("server name is not a host name");
      return { type: "done", servername: name.toLowerCase() };
    }
    p += len;
  }
  return { type: "done", servername: undefined };
}

/**
 * peekClientHello reads a socket until its ClientHello is complete (or not TLS), then pauses it,
 * puts the bytes back (unshift) and calls done; undefined: the client went quiet for timeoutMs or
 * closed first (the socket is then destroyed).
 */
export function peekClientHello(
  socket: Socket,
  timeoutMs: number,
  done: (r: Exclude<HelloResult, { type: "more" }> | undefined) => void,
): void {
  let buf: Buffer | undefined;
  const stop = () => {
    socket.pause();
    socket.off("data", onData);
    socket.off("end", onEnd);
    socket.off("timeout", onTimeout);
    socket.setTimeout(0);
  };
  const onTimeout = () => {
    stop();
    socket.destroy();
    done(undefined);
  };
  const onEnd = () => {
    stop();
    socket.destroy();
    done(undefined);
  };
  const onData = (chunk: Buffer) => {
    buf = buf === undefined ? chunk : Buffer.concat([buf, chunk]);
    const r = parseClientHello(buf);
    if (r.type === "more") return;
    stop();
    socket.unshift(buf);
    done(r);
  };
  socket.setTimeout(timeoutMs);
  socket.on("timeout", onTimeout);
  socket.on("end", onEnd);
  socket.on("data", onData);
}
