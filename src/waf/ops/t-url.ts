// t-url.ts: URL decoding and encoding, and utf8toUnicode (UTF-8 → %uXXXX, so urlDecodeUni can fold
// the code points next). Semantics of ModSecurity v3 (urldecode_nonstrict / url_decode_uni): a
// malformed escape is kept as written, never an error, so an attacker cannot hide a payload
// behind one broken escape.
import { BEST_FIT } from "./unicode-bestfit.ts";
import { hex2, isHex, output, text } from "./buffer.ts";
import type { Transform } from "./types.ts";

const PERCENT_OR_PLUS = /[%+]/;

/** urlDecode decodes %XX and '+' (→ space); an invalid or truncated escape stays as it is. */
function urlDecode(s: string): string {
  return PERCENT_OR_PLUS.test(s) ? decode(s, false) : s;
}

/** urlDecodeUni is urlDecode plus IIS's %uXXXX: the code point's best-fit ASCII byte when it has
 * one, else its low byte (fullwidth U+FF01..FF5E → ASCII by adding 0x20), as ModSecurity does. */
function urlDecodeUni(s: string): string {
  return PERCENT_OR_PLUS.test(s) ? decode(s, true) : s;
}

function decode(s: string, uni: boolean): string {
  const n = s.length;
  const b = output(n);
  let j = 0;
  let i = 0;
  while (i < n) {
    const c = s.charCodeAt(i);
    if (c === 0x2b) {
      b[j++] = 0x20;
      i++;
      continue;
    }
    if (c !== 0x25) {
      b[j++] = c;
      i++;
      continue;
    }
    const u = i + 1 < n ? s.charCodeAt(i + 1) : 0;
    if (uni && (u === 0x75 || u === 0x55)) {
      if (
        i + 5 < n &&
        isHex(s.charCodeAt(i + 2)) &&
        isHex(s.charCodeAt(i + 3)) &&
        isHex(s.charCodeAt(i + 4)) &&
        isHex(s.charCodeAt(i + 5))
      ) {
        b[j++] = fold((hex2(s, i + 2) << 8) | hex2(s, i + 4));
        i += 6;
      } else {
        // An invalid %u escape is copied as "%u" and decoding resumes after it.
        b[j++] = 0x25;
        b[j++] = u;
        i += 2;
      }
      continue;
    }
    if (i + 2 < n && isHex(u) && isHex(s.charCodeAt(i + 2))) {
      b[j++] = hex2(s, i + 1);
      i += 3;
    } else {
      b[j++] = 0x25;
      i++;
    }
  }
  return text(b, j);
}

/** fold is the byte ModSecurity makes of a %uXXXX code point. */
function fold(code: number): number {
  const best = BEST_FIT.get(code);
  if (best !== undefined) return best;
  const low = code & 0xff;
  return (code & 0xff00) === 0xff00 && low > 0 && low < 0x5f ? low + 0x20 : low;
}

// Bytes urlEncode leaves as they are: '*', digits and ASCII letters (ModSecurity's set).
const URL_SAFE = /^[*0-9A-Za-z]*$/;
const HEX_DIGITS = "0123456789abcdef";

/** urlEncode encodes every byte but [*0-9A-Za-z]: space as '+', the rest as %xx (lowercase). */
function urlEncode(s: string): string {
  if (URL_SAFE.test(s)) return s;
  const n = s.length;
  const b = output(3 * n);
  let j = 0;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i) & 0xff;
    if (c === 0x20) b[j++] = 0x2b;
    else if (c === 0x2a || (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a))
      b[j++] = c;
    else {
      b[j++] = 0x25;
      b[j++] = HEX_DIGITS.charCodeAt(c >> 4);
      b[j++] = HEX_DIGITS.charCodeAt(c & 15);
    }
  }
  return text(b, j);
}

const NON_ASCII = /[\x80-\xff]/;

/** utf8toUnicode writes each UTF-8 sequence as %uXXXX (lowercase hex, at least 4 digits), as
 * ModSecurity does; overlong forms are decoded too (%u002f for C0 AF) so they cannot hide ASCII.
 * A byte that starts no well-formed sequence is kept as it is. */
function utf8toUnicode(s: string): string {
  if (!NON_ASCII.test(s)) return s;
  const n = s.length;
  const b = output(3 * n + 8);
  let j = 0;
  let i = 0;
  while (i < n) {
    const c = s.charCodeAt(i) & 0xff;
    const len =
      c < 0x80 ? 1 : (c & 0xe0) === 0xc0 ? 2 : (c & 0xf0) === 0xe0 ? 3 : (c & 0xf8) === 0xf0 ? 4 : 0;
    let code = len === 2 ? c & 0x1f : len === 3 ? c & 0x0f : c & 0x07;
    let ok = len > 1 && i + len <= n;
    for (let k = 1; ok && k < len; k++) {
      const cc = s.charCodeAt(i + k);
      if ((cc & 0xc0) !== 0x80 || cc > 0xff) ok = false;
      else code = (code << 6) | (cc & 0x3f);
    }
    if (!ok) {
      b[j++] = c;
      i++;
      continue;
    }
    const digits = code.toString(16);
    b[j++] = 0x25;
    b[j++] = 0x75;
    for (let k = digits.length; k < 4; k++) b[j++] = 0x30;
    for (let k = 0; k < digits.length; k++) b[j++] = digits.charCodeAt(k);
    i += len;
  }
  return text(b, j);
}

/** URLS are the URL and UTF-8 transformations, by canonical name (not "URL": that is a global). */
export const URLS: Readonly<Record<string, Transform>> = {
  urlDecode,
  urlDecodeUni,
  urlEncode,
  utf8toUnicode,
};
