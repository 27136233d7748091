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
 *
 * Whether the parser took chunked off is decided here by the parser's own rule (parser.ts dispatch
 * and chunkedAt), field by field, with only SP and HTAB trimmed around a coding: a looser reading
 * (String.trim also takes NBSP, 0xA0, which a field value may hold) took "chunked\xa0" for chunked
 * while the parser read that body to the close, its chunk framing and all. A coding that is not a
 * token (with parameters, RFC 9110 §10.1.4) is null too: passed on, a client that reads it as
 * chunked would frame the response otherwise than the proxy did.
 */
export function bodyCodings(hs: readonly string[]): string | null {
  let codings = "";
  // chunked: the parser de-chunks the body (its rule); total: chunked codings seen in all fields.
  let chunked = false;
  let total = 0;
  for (let i = 0; i < hs.length; i += 2) {
    const n = hs[i]!;
    if (n.length !== 17 || lowerName(n) !== "transfer-encoding") continue;
    const v = hs[i + 1]!;
    const e = v.length;
    let seen = 0;
    let last = false;
    let k = 0;
    while (k < e) {
      while (k < e && isListSpace(v.charCodeAt(k))) k++;
      const ts = k;
      while (k < e && v.charCodeAt(k) !== 0x2c) k++;
      let te = k;
      while (te > ts && isOws(v.charCodeAt(te - 1))) te--;
      if (te === ts) continue;
      last = isChunked(v, ts, te);
      if (last) seen++;
      else {
        const c = v.slice(ts, te);
        if (!CODING.test(c)) return null;
        codings += codings === "" ? c : `, ${c}`;
      }
    }
    total += seen;
    // A list ending in a comma has an empty last element: chunked is not last.
    let end = e;
    while (end > 0 && isOws(v.charCodeAt(end - 1))) end--;
    const ends = seen === 1 && last && v.charCodeAt(end - 1) !== 0x2c;
    // A field after one that ended in chunked leaves the body unchunked, as chunked twice does.
    chunked = !chunked && ends;
  }
  return total === (chunked ? 1 : 0) ? codings : null;
}

// CODING is a transfer coding: a token, then parameters (name=value, value a token or a quoted string).
const CODING =
  /^[-!#$%&'*+.^_`|~0-9A-Za-z]+(?:[ \t]*;[ \t]*[-!#$%&'*+.^_`|~0-9A-Za-z]+[ \t]*=[ \t]*(?:[-!#$%&'*+.^_`|~0-9A-Za-z]+|"(?:[^"\\]|\\.)*"))*$/;

// isOws is SP or HTAB, the only whitespace around a list element (RFC 9110 §5.6.1).
function isOws(c: number): boolean {
  return c === 0x20 || c === 0x09;
}

function isListSpace(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x2c;
}

// isChunked says whether v[s, e) is "chunked" in any case (as chars.ts lowerIs compares bytes).
function isChunked(v: string, s: number, e: number): boolean {
  if (e - s !== 7) return false;
  for (let i = 0; i < 7; i++) if ((v.charCodeAt(s + i) | 0x20) !== "chunked".charCodeAt(i)) return false;
  return true;
}
