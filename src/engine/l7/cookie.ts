// cookie.ts: one cookie's value from a Cookie header (RFC 6265 §5.4: "name=value" pairs joined by
// "; "), for ConsistentHash on a cookie. HTTP/2 clients may split cookies over several headers;
// node:http2 joins them with "; " before Portico sees them, so one header is all there is to read.

/** cookieValue returns the value of cookie name in header, or undefined when it is not there. */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined;
  for (const pair of header.split(";")) {
    const eq = pair.indexOf("=");
    if (eq < 0) continue;
    if (pair.slice(0, eq).trim() !== name) continue;
    const v = pair.slice(eq + 1).trim();
    // A quoted value hashes as its content: the quotes are not part of it (RFC 6265 cookie-value).
    return v.length >= 2 && v.startsWith('"') && v.endsWith('"') ? v.slice(1, -1) : v;
  }
  return undefined;
}
