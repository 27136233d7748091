// head.ts: serialising HTTP/1.1 heads and the proxy's own short answers. Heads are built as one
// latin1 string and written in one call: header values from the parser are latin1 strings, so the
// bytes go out as they came in.
import { STATUS_CODES } from "./tables.ts";

/** hopByHop holds the lower-case names a proxy must not forward (RFC 9110 §7.6.1), plus framing. */
export const hopByHop: ReadonlySet<string> = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
  "content-length",
  // Reserved because it is a connection option (RFC 9110 §18.4): such a field is never forwarded,
  // so listedTokens can skip the common "Connection: close" without looking at every name.
  "close",
]);

// lowerLengths marks the lengths of the header names the proxy looks at (hop-by-hop, Host,
// X-Forwarded-*, Forwarded): a name of any other length needs no lower-casing and no lookup.
const lowerLengths = new Uint8Array(32);
for (const n of [
  ...hopByHop,
  "host",
  "x-forwarded-for",
  "x-forwarded-proto",
  "x-forwarded-host",
  "forwarded",
])
  lowerLengths[n.length] = 1;

// lowered memoises lowerName: header names repeat from request to request, and the parser hands
// out the same string objects for them, so a Map hit replaces a new string per call. Clients and
// backends choose the names and the memo keeps them for good: only names of a usual length go in
// (at most 1024 x 64 characters, and their copies), not names of up to a whole head each.
const lowered = new Map<string, string>();
const MAX_LOWERED = 1024;
const MAX_LOWERED_LENGTH = 64;

/** lowerName returns name lower-cased (ASCII header names), from a memo for names seen before. */
export function lowerName(name: string): string {
  let l = lowered.get(name);
  if (l === undefined) {
    l = name.toLowerCase();
    if (lowered.size < MAX_LOWERED && name.length <= MAX_LOWERED_LENGTH) lowered.set(name, l);
  }
  return l;
}

/** lowerNameMemoChars is the characters the memo holds, names and lower-case copies (tests). */
export function lowerNameMemoChars(): number {
  let n = 0;
  for (const [k, v] of lowered) n += k.length + v.length;
  return n;
}

/** mayBeSpecial is false for a header name no hop-by-hop or forwarding rule can match (by length). */
export function mayBeSpecial(name: string): boolean {
  return name.length < 32 && lowerLengths[name.length] === 1;
}

/** connectionTokens returns the lower-case tokens a Connection header lists ("close", names to drop). */
export function connectionTokens(value: string): string[] {
  return value
    .split(",")
    .map((t) => t.trim().toLowerCase())
    .filter((t) => t !== "");
}

/**
 * listedTokens adds the names a Connection header lists to list (made on first need);
 * "keep-alive" and "close" are left out: they are options, not field names ("Close" is a
 * reserved field name for this reason, RFC 9110 §7.6.1), so the common values leave the list
 * empty and the other names need no lower-casing.
 */
export function listedTokens(list: string[] | undefined, value: string): string[] | undefined {
  if ((value.length === 10 || value.length === 5) && isOption(lowerName(value))) return list;
  for (const t of connectionTokens(value)) {
    if (isOption(t)) continue;
    (list ??= []).push(t);
  }
  return list;
}

function isOption(token: string): boolean {
  return token === "keep-alive" || token === "close";
}

/** statusLine returns "HTTP/1.1 <code> <reason>\r\n". */
export function statusLine(status: number, reason?: string): string {
  return `HTTP/1.1 ${status} ${reason || STATUS_CODES[status] || "Unknown"}\r\n`;
}

/** plainResponse builds a complete text/plain response; close adds "Connection: close"; head omits the body. */
export function plainResponse(
  status: number,
  body: string,
  close: boolean,
  extra = "",
  head = false,
  contentType = "text/plain; charset=utf-8",
): Buffer {
  const b = Buffer.from(body.endsWith("\n") || body === "" ? body : body + "\n", "utf8");
  const lines =
    statusLine(status) +
    `Content-Type: ${contentType}\r\n` +
    `Content-Length: ${b.length}\r\n` +
    extra +
    (close ? "Connection: close\r\n" : "") +
    "\r\n";
  const h = Buffer.from(lines, "latin1");
  // The answer to a HEAD request is the head alone, Content-Length as a GET would get it (RFC 9110 §9.3.2).
  return head ? h : Buffer.concat([h, b], h.length + b.length);
}

// notInTrailers are the fields a trailer section must not carry (RFC 9110 §6.5.1: framing,
// routing, request modifiers, authentication, response control, payload processing), plus
// hop-by-hop and the forwarding fields the proxy writes itself. A recipient that merges trailers
// into the header section (some servers do) would otherwise read them as if the proxy had
// checked or written them.
const notInTrailers: ReadonlySet<string> = new Set([
  ...hopByHop,
  "host",
  "authorization",
  "proxy-authorization",
  "cookie",
  "set-cookie",
  "www-authenticate",
  "proxy-authenticate",
  "cache-control",
  "expect",
  "max-forwards",
  "pragma",
  "range",
  "if-match",
  "if-none-match",
  "if-modified-since",
  "if-unmodified-since",
  "if-range",
  "age",
  "expires",
  "date",
  "location",
  "retry-after",
  "vary",
  "content-encoding",
  "content-type",
  "content-range",
  "x-forwarded-for",
  "x-forwarded-proto",
  "x-forwarded-host",
  "forwarded",
]);

/** trailerFields drops from trailers (name, value pairs) the fields a trailer must not carry. */
export function trailerFields(trailers: readonly string[] | undefined): string[] | undefined {
  if (trailers === undefined) return undefined;
  const out: string[] = [];
  for (let i = 0; i + 1 < trailers.length; i += 2) {
    if (notInTrailers.has(lowerName(trailers[i]!))) continue;
    out.push(trailers[i]!, trailers[i + 1]!);
  }
  return out;
}

/** chunkHeader returns the chunk-size line for a chunk of n bytes. */
export function chunkHeader(n: number): string {
  return n.toString(16) + "\r\n";
}

/** lastChunk returns the terminating chunk with optional trailers (name, value pairs). */
export function lastChunk(trailers: readonly string[] | undefined): string {
  if (trailers === undefined || trailers.length === 0) return "0\r\n\r\n";
  let s = "0\r\n";
  for (let i = 0; i + 1 < trailers.length; i += 2) s += `${trailers[i]}: ${trailers[i + 1]}\r\n`;
  return s + "\r\n";
}

/**
 * bodyCodings reads the transfer codings of a response's body that are left once the parser took
 * off the final chunked framing (RFC 9112 §6.1): "gzip" of "Transfer-Encoding: gzip, chunked", of
 * "gzip" alone (a body delimited by the connection's close) or of two fields "gzip" and "chunked";
 * "" when there is none, or nothing but chunked. null when chunked is not the last coding or comes
 * twice: the parser then read the body to the close without undoing any chunking, so nothing the
 * proxy can say describes what it would forward.
 */
export function bodyCodings(hs: readonly string[]): string | null {
  let codings: string[] | undefined;
  // A list ending in a comma has an empty last element: the parser takes chunked as not last.
  let trailingComma = false;
  for (let i = 0; i < hs.length; i += 2) {
    const n = hs[i]!;
    if (n.length !== 17 || lowerName(n) !== "transfer-encoding") continue;
    const v = hs[i + 1]!;
    for (const t of v.split(",")) {
      const c = t.trim();
      if (c !== "") (codings ??= []).push(c);
    }
    trailingComma = v.trimEnd().endsWith(",");
  }
  if (codings === undefined) return "";
  const last = codings.length - 1;
  if (!trailingComma && codings[last]!.toLowerCase() === "chunked") codings.pop();
  for (const c of codings) if (c.toLowerCase() === "chunked") return null;
  return codings.join(", ");
}
