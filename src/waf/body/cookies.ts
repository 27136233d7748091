// cookies.ts: REQUEST_COOKIES from the Cookie headers, as ModSecurity v3 reads them: each header on
// its own, `;` separated, the first `=` splits name from value (`a=b=c` is a → "b=c"), a piece
// without `=` is a name with an empty value, values are NOT url-decoded (a cookie is opaque), the
// header's trailing whitespace is dropped, an empty piece or a piece with an empty name is skipped.
// Names are trimmed on both sides (Coraza's TrimSpace; ModSecurity trims only the left, which
// would let `a =x` hide from a rule targeting REQUEST_COOKIES:a).
import type { Pair } from "./types.ts";

/** isSpace is the C isspace() set ModSecurity trims with. */
export function isSpace(c: number): boolean {
  return c === 0x20 || (c >= 0x09 && c <= 0x0d);
}

/** trimmedRange is [start, end) of s[start, end) without leading and trailing isspace bytes. */
export function trimmedRange(s: string, start: number, end: number): [number, number] {
  while (start < end && isSpace(s.charCodeAt(start))) start++;
  while (end > start && isSpace(s.charCodeAt(end - 1))) end--;
  return [start, end];
}

/** parseCookies splits the values of every Cookie header into pairs, in order. */
export function parseCookies(headerValues: readonly string[]): Pair[] {
  const pairs: Pair[] = [];
  for (const header of headerValues) {
    const [, last] = trimmedRange(header, 0, header.length);
    let start = 0;
    while (start < last) {
      let end = header.indexOf(";", start);
      if (end < 0 || end > last) end = last;
      let eq = header.indexOf("=", start);
      if (eq < 0 || eq > end) eq = end;
      const [ns, ne] = trimmedRange(header, start, eq);
      if (ne > ns) pairs.push([header.slice(ns, ne), eq < end ? header.slice(eq + 1, end) : ""]);
      start = end + 1;
    }
  }
  return pairs;
}
