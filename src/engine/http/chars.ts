// chars.ts: byte classes of HTTP/1.1 (RFC 9110 §5.6.2, RFC 9112) as lookup tables, and the
// string intern cache the parser builds header strings from. Tables, not regular expressions:
// the parser looks at every byte of every message, and a table lookup is what a JIT makes fastest.

/** TOKEN marks tchar: the bytes of methods and field names. */
export const TOKEN = new Uint8Array(256);
for (const c of "!#$%&'*+-.^_`|~") TOKEN[c.charCodeAt(0)] = 1;
for (let c = 0x30; c <= 0x39; c++) TOKEN[c] = 1;
for (let c = 0x41; c <= 0x5a; c++) TOKEN[c] = 1;
for (let c = 0x61; c <= 0x7a; c++) TOKEN[c] = 1;

/**
 * TARGET marks the bytes a request-target may hold: visible ASCII. Whitespace and controls end
 * or break the request line; bytes above 0x7E are refused as llhttp's strict build refuses them.
 */
export const TARGET = new Uint8Array(256);
for (let c = 0x21; c <= 0x7e; c++) TARGET[c] = 1;

/** HEX holds the value + 1 of each hexadecimal digit (0 for other bytes): chunk sizes. */
export const HEX = new Uint8Array(256);
for (let c = 0; c < 10; c++) HEX[0x30 + c] = c + 1;
for (let c = 0; c < 6; c++) {
  HEX[0x41 + c] = c + 11;
  HEX[0x61 + c] = c + 11;
}

/** fieldByte says whether c may appear in a field value: VCHAR, obs-text, SP and HTAB (RFC 9110 §5.5). */
export function fieldByte(c: number): boolean {
  return (c > 0x20 && c !== 0x7f) || c === 0x20 || c === 0x09;
}

/**
 * lowerIs says whether b[s, e) equals lit ignoring ASCII case; lit is lower-case letters and '-'.
 * `| 0x20` lower-cases letters and leaves '-' alone; no other token byte maps onto either.
 */
export function lowerIs(b: Uint8Array, s: number, e: number, lit: string): boolean {
  if (e - s !== lit.length) return false;
  for (let i = 0; i < lit.length; i++) if ((b[s + i]! | 0x20) !== lit.charCodeAt(i)) return false;
  return true;
}

// The intern cache: header names and most values repeat from message to message (Host, Server,
// Content-Type, "keep-alive", "13"), so a string seen before is found by hash and compared byte by
// byte instead of being made again: making a string from bytes is a call into C++.
const SLOTS = 4096;
const MAX_INTERNED = 64;
const interned: (string | undefined)[] = new Array<string | undefined>(SLOTS).fill(undefined);

/** latin1 returns b[s, e) as a latin1 string, shared with earlier equal strings when short. */
export function latin1(b: Buffer, s: number, e: number): string {
  const n = e - s;
  if (n <= 0) return "";
  if (n > MAX_INTERNED) return b.toString("latin1", s, e);
  let h = n;
  for (let i = s; i < e; i++) h = (Math.imul(h, 31) + b[i]!) | 0;
  const slot = h & (SLOTS - 1);
  const c = interned[slot];
  if (c !== undefined && c.length === n) {
    let i = 0;
    while (i < n && c.charCodeAt(i) === b[s + i]) i++;
    if (i === n) return c;
  }
  const v = b.toString("latin1", s, e);
  interned[slot] = v;
  return v;
}
