// request.ts: what makes a request's header list well formed (RFC 9113 §8.2, §8.3). A malformed
// request is a stream error of type PROTOCOL_ERROR (§8.1.1): the connection goes on. Pure: the
// connection calls it on each decoded list and resets the stream on a non-empty answer.

/** RequestHead is what a well-formed request's pseudo-header fields say. */
export interface RequestHead {
  method: string;
  scheme: string;
  path: string;
  authority: string;
  /** contentLength is the content-length field as a number, or -1 when absent. */
  contentLength: number;
}

// Connection-specific fields (§8.2.2): they mean nothing in HTTP/2 and make a request malformed.
const CONNECTION_SPECIFIC = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "transfer-encoding",
  "upgrade",
]);

// Character classes, as bits of CLASS[c] for c < 128. The head of a request is written to an
// HTTP/1.1 backend as text (forward.ts), so every field is held to what HTTP/1.1 could carry there
// — nghttp2's checks: anything looser lets a client write its own request line or Forwarded pair.
const TOKEN = 1; // tchar (RFC 9110 §5.6.2): a method, a field name (lower case only, below)
const AUTHORITY = 2; // host [":" port] of RFC 3986 §3.2.2: unreserved, sub-delims, ':', '[', ']', '%'
const PATH = 4; // visible ASCII 0x21-0x7e: no space, no control
const SCHEME = 8; // RFC 3986 §3.1: ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )
const CLASS = new Uint8Array(128);
const ALNUM = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
function mark(chars: string, bit: number): void {
  for (let i = 0; i < chars.length; i++) CLASS[chars.charCodeAt(i)]! |= bit;
}
for (let c = 0x21; c < 0x7f; c++) mark(String.fromCharCode(c), PATH);
mark("!#$%&'*+-.^_`|~" + ALNUM, TOKEN);
mark("-._~!$&'()*+,;=:[]%" + ALNUM, AUTHORITY);
mark("+-." + ALNUM, SCHEME);

// only: s is non-empty and every character is of class bit.
function only(s: string, bit: number): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 128 || (CLASS[c]! & bit) === 0) return false;
  }
  return true;
}

// nameOk: a field name is lower-case token characters (§8.2.1, RFC 9110 §5.1).
function nameOk(name: string): boolean {
  if (!only(name, TOKEN)) return false;
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c >= 0x41 && c <= 0x5a) return false;
  }
  return true;
}

// valueOk: no control character but HTAB (0x00-0x08, 0x0a-0x1f, 0x7f: RFC 9110 §5.5 field-vchar;
// §8.2.1 forbids NUL, CR and LF, nghttp2 the rest), no leading or trailing space or tab.
function valueOk(v: string): boolean {
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if ((c < 0x20 && c !== 0x09) || c === 0x7f) return false;
  }
  if (v.length === 0) return true;
  const f = v.charCodeAt(0);
  const l = v.charCodeAt(v.length - 1);
  return f !== 0x20 && f !== 0x09 && l !== 0x20 && l !== 0x09;
}

/** checkRequest validates a request's fields [name, value, ...] into head; returns why it is malformed, or "". */
export function checkRequest(fields: readonly string[], head: RequestHead): string {
  head.method = head.scheme = head.path = head.authority = "";
  head.contentLength = -1;
  let regular = false;
  let seen = 0;
  let host = false;
  for (let i = 0; i < fields.length; i += 2) {
    const name = fields[i]!;
    const value = fields[i + 1]!;
    if (!valueOk(value)) return `field ${name} has a value with a control character or surrounding spaces`;
    if (name.charCodeAt(0) === 0x3a) {
      if (regular) return `pseudo-header ${name} after a regular field`;
      let bit: number;
      if (name === ":method") bit = 1;
      else if (name === ":scheme") bit = 2;
      else if (name === ":path") bit = 4;
      else if (name === ":authority") bit = 8;
      else return `pseudo-header ${name} is not one of a request's`;
      if (seen & bit) return `pseudo-header ${name} repeated`;
      seen |= bit;
      if (bit === 1) head.method = value;
      else if (bit === 2) head.scheme = value;
      else if (bit === 4) head.path = value;
      else head.authority = value;
      continue;
    }
    regular = true;
    if (!nameOk(name)) return `field name ${JSON.stringify(name)} is not lower-case token characters`;
    if (CONNECTION_SPECIFIC.has(name)) return `connection-specific field ${name}`;
    if (name === "host") {
      // One host, an authority: it becomes the backend's Host and Forwarded host= (§8.3.1).
      if (host) return "host repeated";
      if (!only(value, AUTHORITY)) return `host ${JSON.stringify(value)} is not host[:port]`;
      host = true;
    }
    if (name === "te" && value !== "trailers") return `te: ${value} (only "trailers" is allowed)`;
    if (name === "content-length") {
      // One content-length: two, even equal ("5" and "05"), would reach a backend joined (§8.1.1).
      if (head.contentLength !== -1) return "content-length repeated";
      if (!/^\d{1,15}$/.test(value)) return `content-length: ${value} is not a number`;
      head.contentLength = Number(value);
    }
  }
  if ((seen & 1) !== 0 && !only(head.method, TOKEN))
    return `:method ${JSON.stringify(head.method)} is not a token`;
  // §8.3.1: :authority is host[:port], never empty, no userinfo; written as the backend's Host.
  if ((seen & 8) !== 0 && !only(head.authority, AUTHORITY))
    return `:authority ${JSON.stringify(head.authority)} is not host[:port]`;
  if (head.method === "CONNECT") {
    // §8.5: CONNECT names only :authority (no extended CONNECT: SETTINGS_ENABLE_CONNECT_PROTOCOL is not sent).
    if ((seen & 6) !== 0 || (seen & 8) === 0) return "CONNECT with :scheme or :path, or without :authority";
    return "";
  }
  if ((seen & 7) !== 7) return "a request needs :method, :scheme and :path";
  if (!only(head.scheme, SCHEME)) return `:scheme ${JSON.stringify(head.scheme)} is not a scheme`;
  // §8.3.1: an origin-form path (or "*" for OPTIONS), without space or control: it becomes the
  // backend's request line, where "GET http://x/" or "GET /a /b" would mean another request.
  if (head.path === "*") return head.method === "OPTIONS" ? "" : ":path * is for OPTIONS only";
  if (head.path.charCodeAt(0) !== 0x2f || !only(head.path, PATH))
    return `:path ${JSON.stringify(head.path)} does not start with "/" or has a space or control character`;
  return "";
}

/** checkTrailers validates a trailer section; returns why it is malformed, or "". */
export function checkTrailers(fields: readonly string[]): string {
  for (let i = 0; i < fields.length; i += 2) {
    const name = fields[i]!;
    if (name.charCodeAt(0) === 0x3a) return `pseudo-header ${name} in trailers`;
    if (!nameOk(name)) return `field name ${JSON.stringify(name)} is not lower-case token characters`;
    if (!valueOk(fields[i + 1]!))
      return `field ${name} has a value with a control character or surrounding spaces`;
  }
  return "";
}
