// t-basic.ts: the transformations that change single bytes or whitespace: case, trimming,
// whitespace and NULs, length, 7-bit parity. ASCII rules only (C's "C" locale, as ModSecurity):
// a value is bytes, so 0xC0 is not "À" and must not be lowercased into 0xE0 the way
// String.prototype.toLowerCase would. Each returns its input itself when nothing changes.
import { output, text } from "./buffer.ts";
import type { Transform } from "./types.ts";

const HIGH = /[\x80-\uffff]/;
const UPPER = /[A-Z]/;
const LOWER = /[a-z]/;
// Whitespace for compressWhitespace/removeWhitespace: C's isspace() and NBSP, as ModSecurity.
// NBSP is the byte 0xA0 (Latin-1) or the UTF-8 pair C2 A0, but a 0xA0 that follows another
// byte ≥ 0x80 is taken as a UTF-8 continuation byte ("à" is C3 A0) and kept, so UTF-8 text is not
// cut in half (ModSecurity, byte-blind, would turn "à" into "\xC3 ").
const WS = String.raw`[\t-\r ]|\xc2\xa0|(?<![\x80-\x9f\xa1-\xff])\xa0`;
const WS_RUN = new RegExp(`(?:${WS})+`, "g");
const WS_ANY = new RegExp(WS);
// A value compressWhitespace changes: whitespace other than one lone space.
const WS_TO_COMPRESS = new RegExp(`(?! (?!${WS}))(?:${WS})`);

/** shiftCase adds delta to every byte in [from, to]; for values with bytes ≥ 0x80. */
function shiftCase(s: string, from: number, to: number, delta: number): string {
  const n = s.length;
  const b = output(n);
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    b[i] = c >= from && c <= to ? c + delta : c;
  }
  return text(b, n);
}

function lowercase(s: string): string {
  if (!UPPER.test(s)) return s;
  // Native lowering is ASCII-only exactly when the value is.
  return HIGH.test(s) ? shiftCase(s, 0x41, 0x5a, 32) : s.toLowerCase();
}

function uppercase(s: string): string {
  if (!LOWER.test(s)) return s;
  return HIGH.test(s) ? shiftCase(s, 0x61, 0x7a, -32) : s.toUpperCase();
}

function isTrimmed(c: number): boolean {
  return c === 0x20 || (c >= 0x09 && c <= 0x0d);
}

function trimLeft(s: string): string {
  let i = 0;
  while (i < s.length && isTrimmed(s.charCodeAt(i))) i++;
  return i === 0 ? s : s.slice(i);
}

function trimRight(s: string): string {
  let e = s.length;
  while (e > 0 && isTrimmed(s.charCodeAt(e - 1))) e--;
  return e === s.length ? s : s.slice(0, e);
}

function compressWhitespace(s: string): string {
  return WS_TO_COMPRESS.test(s) ? s.replace(WS_RUN, " ") : s;
}

function removeWhitespace(s: string): string {
  return WS_ANY.test(s) ? s.replace(WS_RUN, "") : s;
}

function removeNulls(s: string): string {
  return s.includes("\0") ? s.replaceAll("\0", "") : s;
}

function replaceNulls(s: string): string {
  return s.includes("\0") ? s.replaceAll("\0", " ") : s;
}

/** parity sets bit 7 of each byte so its 8 bits have even (odd = 0) or odd (odd = 1) parity. */
function parity(s: string, odd: 0 | 1): string {
  const n = s.length;
  const b = output(n);
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i) & 0xff;
    // 0x6996 is the parity of a nibble, bit x: 1 when x has an odd number of ones (ModSecurity's trick).
    const ones = (0x6996 >> ((c ^ (c >> 4)) & 0xf)) & 1;
    b[i] = ones !== odd ? c | 0x80 : c & 0x7f;
  }
  return text(b, n);
}

function parityZero(s: string): string {
  if (!HIGH.test(s)) return s;
  const n = s.length;
  const b = output(n);
  for (let i = 0; i < n; i++) b[i] = s.charCodeAt(i) & 0x7f;
  return text(b, n);
}

/** BASIC are the byte and whitespace transformations, by canonical name. */
export const BASIC: Readonly<Record<string, Transform>> = {
  lowercase,
  uppercase,
  trim: (s) => trimRight(trimLeft(s)),
  trimLeft,
  trimRight,
  compressWhitespace,
  removeWhitespace,
  removeNulls,
  replaceNulls,
  length: (s) => String(s.length),
  parityEven7bit: (s) => parity(s, 0),
  parityOdd7bit: (s) => parity(s, 1),
  parityZero7bit: parityZero,
};
