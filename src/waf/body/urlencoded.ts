// urlencoded.ts: query strings and application/x-www-form-urlencoded bodies, as ModSecurity v3 and
// Coraza split them: `&` separates pairs (Coraza has no `;` separator, nor does ModSecurity unless
// SecArgumentSeparator says so), the first `=` splits name from value, a piece without `=` is a
// name with an empty value, empty pieces are skipped (Coraza; ModSecurity keeps an empty name).
// Decoding is ModSecurity's non-strict url-decode: `+` is a space, `%XX` a byte, and a `%` not
// followed by two hex digits stays as written and counts as invalid (URLENCODED_ERROR).
import type { Pair } from "./types.ts";

/** hexValue is the value of one hex digit's char code, or -1. */
function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  const l = c | 0x20;
  if (l >= 0x61 && l <= 0x66) return l - 0x61 + 10;
  return -1;
}

/** Decoded is one url-decoded piece and whether it held an invalid %-escape. */
export interface Decoded {
  text: string;
  invalid: boolean;
}

/** urlDecode decodes s[start, end) (`+` → space, `%XX` → byte, invalid escapes kept as written). */
export function urlDecode(s: string, start = 0, end = s.length): Decoded {
  let out = "";
  let invalid = false;
  let from = start;
  for (let i = start; i < end; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x2b) {
      out += s.slice(from, i) + " ";
      from = i + 1;
    } else if (c === 0x25) {
      const hi = i + 2 < end ? hexValue(s.charCodeAt(i + 1)) : -1;
      const lo = hi >= 0 ? hexValue(s.charCodeAt(i + 2)) : -1;
      if (lo < 0) {
        invalid = true;
        continue;
      }
      out += s.slice(from, i) + String.fromCharCode(hi * 16 + lo);
      i += 2;
      from = i + 1;
    }
  }
  // The common case (nothing to decode) returns one slice without copying piece by piece.
  return { text: from === start ? s.slice(start, end) : out + s.slice(from, end), invalid };
}

/** parseQuery splits text into url-decoded pairs; invalid says an invalid %-escape was seen. */
export function parseQuery(text: string): { pairs: Pair[]; invalid: boolean } {
  const pairs: Pair[] = [];
  let invalid = false;
  let start = 0;
  while (start <= text.length) {
    let end = text.indexOf("&", start);
    if (end < 0) end = text.length;
    if (end > start) {
      let eq = text.indexOf("=", start);
      if (eq < 0 || eq > end) eq = end;
      const name = urlDecode(text, start, eq);
      const value = eq < end ? urlDecode(text, eq + 1, end) : { text: "", invalid: false };
      invalid ||= name.invalid || value.invalid;
      pairs.push([name.text, value.text]);
    }
    start = end + 1;
  }
  return { pairs, invalid };
}
