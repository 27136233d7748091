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

// nameOk: a field name is lower case and made of visible ASCII other than ':' past the first
// character (§8.2.1: no 0x00-0x20, A-Z, 0x7f-0xff).
function nameOk(name: string, from: number): boolean {
  if (name.length === from) return false;
  for (let i = from; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c <= 0x20 || c >= 0x7f || (c >= 0x41 && c <= 0x5a) || c === 0x3a) return false;
  }
  return true;
}

// valueOk: no NUL, CR or LF, and no leading or trailing space or tab (§8.2.1).
function valueOk(v: string): boolean {
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (c === 0 || c === 0x0a || c === 0x0d) return false;
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
  for (let i = 0; i < fields.length; i += 2) {
    const name = fields[i]!;
    const value = fields[i + 1]!;
    if (!valueOk(value)) return `field ${name} has a value with NUL, CR, LF or surrounding spaces`;
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
    if (!nameOk(name, 0)) return `field name ${JSON.stringify(name)} is not lower-case token characters`;
    if (CONNECTION_SPECIFIC.has(name)) return `connection-specific field ${name}`;
    if (name === "te" && value !== "trailers") return `te: ${value} (only "trailers" is allowed)`;
    if (name === "content-length") {
      if (!/^\d{1,15}$/.test(value)) return `content-length: ${value} is not a number`;
      const n = Number(value);
      if (head.contentLength !== -1 && head.contentLength !== n)
        return "content-length repeated with another value";
      head.contentLength = n;
    }
  }
  if (head.method === "CONNECT") {
    // §8.5: CONNECT names only :authority (no extended CONNECT: SETTINGS_ENABLE_CONNECT_PROTOCOL is not sent).
    if ((seen & 6) !== 0 || (seen & 8) === 0) return "CONNECT with :scheme or :path, or without :authority";
    return "";
  }
  if ((seen & 7) !== 7) return "a request needs :method, :scheme and :path";
  if (head.path === "") return ":path is empty";
  return "";
}

/** checkTrailers validates a trailer section; returns why it is malformed, or "". */
export function checkTrailers(fields: readonly string[]): string {
  for (let i = 0; i < fields.length; i += 2) {
    const name = fields[i]!;
    if (name.charCodeAt(0) === 0x3a) return `pseudo-header ${name} in trailers`;
    if (!nameOk(name, 0)) return `field name ${JSON.stringify(name)} is not lower-case token characters`;
    if (!valueOk(fields[i + 1]!)) return `field ${name} has a value with NUL, CR, LF or surrounding spaces`;
  }
  return "";
}
