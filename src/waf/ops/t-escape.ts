// t-escape.ts: the decoders of language escapes: JavaScript (\uHHHH \xHH \OOO \n), CSS (\H..H),
// ANSI C (escapeSeqDecode) and HTML character references. ModSecurity v3 semantics (Coraza's for
// CSS): an escape that does not parse is kept or reduced to its character, never an error, and a
// code point above 0xFF becomes one byte where ModSecurity says so (JS, HTML), so `\u003c`,
// `\uff1c` and `&#x3c` all become "<" for the rules that follow.
import { HEX, decodeEach, hex2, isHex, isSpace, type Step } from "./buffer.ts";
import type { Transform } from "./types.ts";

// C escapes after a backslash shared by jsDecode and escapeSeqDecode; -1: not one.
const C_ESCAPE: Int16Array = (() => {
  const t = new Int16Array(256).fill(-1);
  const pairs: [string, number][] = [
    ["a", 7],
    ["b", 8],
    ["f", 12],
    ["n", 10],
    ["r", 13],
    ["t", 9],
    ["v", 11],
  ];
  for (const [c, v] of pairs) t[c.charCodeAt(0)] = v;
  return t;
})();

function isOctal(c: number): boolean {
  return c >= 0x30 && c <= 0x37;
}

/** octalLength counts the octal digits (one to three) from s[i], whose first is one. */
function octalLength(s: string, i: number): number {
  let k = 1;
  while (k < 3 && i + k < s.length && isOctal(s.charCodeAt(i + k))) k++;
  return k;
}

/** jsStep decodes one JavaScript escape: \uHHHH (its low byte; fullwidth FF01–FF5E folded to
 * ASCII), \xHH, \OOO (at most one byte: \000–\377), \a \b \f \n \r \t \v, and \C → C. */
const jsStep: Step = (s, b, at) => {
  const i = at.i;
  if (i + 1 >= s.length) return false;
  const e = s.charCodeAt(i + 1);
  if (e === 0x75 && hexRun(s, i + 2, 4)) {
    let low = hex2(s, i + 4);
    if (low > 0 && low < 0x5f && hex2(s, i + 2) === 0xff) low += 0x20;
    b[at.j++] = low;
    at.i += 6;
  } else if (e === 0x78 && hexRun(s, i + 2, 2)) {
    b[at.j++] = hex2(s, i + 2);
    at.i += 4;
  } else if (isOctal(e)) {
    let k = octalLength(s, i + 1);
    // Three digits only while the value fits a byte (\377); \477 is \47 then "7".
    if (k === 3 && e > 0x33) k = 2;
    b[at.j++] = parseInt(s.slice(i + 1, i + 1 + k), 8);
    at.i += 1 + k;
  } else {
    b[at.j++] = cEscape(e);
    at.i += 2;
  }
  return true;
};

/** escapeSeqStep decodes one ANSI C escape: \a \b \f \n \r \t \v \\ \? \' \", \xHH or \XHH,
 * \O to \OOO (the value's low byte); an unknown escape \C becomes C. */
const escapeSeqStep: Step = (s, b, at) => {
  const i = at.i;
  if (i + 1 >= s.length) return false;
  const e = s.charCodeAt(i + 1);
  if ((e === 0x78 || e === 0x58) && hexRun(s, i + 2, 2)) {
    b[at.j++] = hex2(s, i + 2);
    at.i += 4;
  } else if (isOctal(e)) {
    const k = octalLength(s, i + 1);
    b[at.j++] = parseInt(s.slice(i + 1, i + 1 + k), 8) & 0xff;
    at.i += 1 + k;
  } else {
    b[at.j++] = cEscape(e);
    at.i += 2;
  }
  return true;
};

function cEscape(e: number): number {
  const m = e < 256 ? C_ESCAPE[e]! : -1;
  return m >= 0 ? m : e;
}

/** hexRun says whether s holds count hex digits from i. */
function hexRun(s: string, i: number, count: number): boolean {
  if (i + count > s.length) return false;
  for (let k = 0; k < count; k++) if (!isHex(s.charCodeAt(i + k))) return false;
  return true;
}

/** cssStep decodes one CSS escape (CSS Syntax 3, as Coraza): \ + 1–6 hex digits is one code
 * point, written as UTF-8 (0, surrogates and > 10FFFF → U+FFFD; fullwidth FF01–FF5E → ASCII), and
 * one whitespace after it is eaten; \ + newline is removed; \C → C; a trailing \ is dropped. */
const cssStep: Step = (s, b, at) => {
  const i = at.i + 1;
  const n = s.length;
  let k = 0;
  let code = 0;
  while (k < 6 && i + k < n && isHex(s.charCodeAt(i + k))) code = code * 16 + HEX[s.charCodeAt(i + k++)]!;
  if (k > 0) {
    if (code >= 0xff01 && code <= 0xff5e) code -= 0xfee0;
    if (code === 0 || (code >= 0xd800 && code <= 0xdfff) || code > 0x10ffff) code = 0xfffd;
    at.j = utf8(b, at.j, code);
    if (i + k < n && isSpace(s.charCodeAt(i + k))) k++;
    at.i = i + k;
  } else if (i >= n || s.charCodeAt(i) === 0x0a) {
    at.i = i + 1;
  } else {
    b[at.j++] = s.charCodeAt(i);
    at.i = i + 1;
  }
  return true;
};

/** utf8 writes code point cp at b[j] and returns the new end. */
function utf8(b: Buffer, j: number, cp: number): number {
  if (cp < 0x80) b[j++] = cp;
  else if (cp < 0x800) {
    b[j++] = 0xc0 | (cp >> 6);
    b[j++] = 0x80 | (cp & 0x3f);
  } else if (cp < 0x10000) {
    b[j++] = 0xe0 | (cp >> 12);
    b[j++] = 0x80 | ((cp >> 6) & 0x3f);
    b[j++] = 0x80 | (cp & 0x3f);
  } else {
    b[j++] = 0xf0 | (cp >> 18);
    b[j++] = 0x80 | ((cp >> 12) & 0x3f);
    b[j++] = 0x80 | ((cp >> 6) & 0x3f);
    b[j++] = 0x80 | (cp & 0x3f);
  }
  return j;
}

// ModSecurity's named references: case-insensitive, ';' optional.
const LEGACY: ReadonlyMap<string, number> = new Map([
  ["quot", 0x22],
  ["amp", 0x26],
  ["lt", 0x3c],
  ["gt", 0x3e],
  ["nbsp", 0xa0],
]);
// HTML5 references to ASCII punctuation that browsers decode and XSS payloads use
// (`javascript&colon;`, `&lpar;1&rpar;`): beyond ModSecurity's five, so they cannot hide a payload
// from the rules; case-sensitive and only with their ';', as a browser reads them.
const HTML5_ASCII: ReadonlyMap<string, number> = new Map(
  (
    [
      ["Tab", "\t"],
      ["NewLine", "\n"],
      ["excl", "!"],
      ["num", "#"],
      ["dollar", "$"],
      ["percnt", "%"],
      ["apos", "'"],
      ["lpar", "("],
      ["rpar", ")"],
      ["ast", "*"],
      ["midast", "*"],
      ["plus", "+"],
      ["comma", ","],
      ["period", "."],
      ["sol", "/"],
      ["colon", ":"],
      ["semi", ";"],
      ["equals", "="],
      ["quest", "?"],
      ["commat", "@"],
      ["lsqb", "["],
      ["lbrack", "["],
      ["bsol", "\\"],
      ["rsqb", "]"],
      ["rbrack", "]"],
      ["Hat", "^"],
      ["lowbar", "_"],
      ["grave", "`"],
      ["lcub", "{"],
      ["lbrace", "{"],
      ["verbar", "|"],
      ["vert", "|"],
      ["VerticalLine", "|"],
      ["rcub", "}"],
      ["rbrace", "}"],
    ] as const
  ).map(([k, v]) => [k, v.charCodeAt(0)]),
);

function isAlnum(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
}

/** htmlStep decodes one reference: &#xHH; &#DD; (the value's low byte, as ModSecurity's
 * strtol cast; beyond 2^63 it saturates to 0xFF) and named references, with or without the ';'. */
const htmlStep: Step = (s, b, at) => {
  const i = at.i;
  if (i + 1 >= s.length) return false;
  const end = s.charCodeAt(i + 1) === 0x23 ? numeric(s, i + 2, b, at.j) : named(s, i + 1, b, at.j);
  if (end < 0) return false;
  at.j++;
  at.i = end < s.length && s.charCodeAt(end) === 0x3b ? end + 1 : end;
  return true;
};

/** numeric decodes the digits of &#… starting at k into b[j]; returns where they end, -1 if none. */
function numeric(s: string, k: number, b: Buffer, j: number): number {
  const hex = k < s.length && (s.charCodeAt(k) | 0x20) === 0x78;
  let p = hex ? k + 1 : k;
  const start = p;
  let low = 0;
  let approx = 0;
  for (; p < s.length; p++) {
    const c = s.charCodeAt(p);
    const d = hex ? (c < 256 ? HEX[c]! : -1) : c >= 0x30 && c <= 0x39 ? c - 0x30 : -1;
    if (d < 0) break;
    low = (low * (hex ? 16 : 10) + d) & 0xff;
    approx = approx * (hex ? 16 : 10) + d;
  }
  if (p === start) return -1;
  b[j] = approx >= 2 ** 63 ? 0xff : low;
  return p;
}

/** named decodes the reference name starting at k into b[j]; returns where it ends, -1 if unknown. */
function named(s: string, k: number, b: Buffer, j: number): number {
  let p = k;
  while (p < s.length && isAlnum(s.charCodeAt(p))) p++;
  if (p === k) return -1;
  const name = s.slice(k, p);
  const legacy = LEGACY.get(name.toLowerCase());
  if (legacy !== undefined) {
    b[j] = legacy;
    return p;
  }
  const html5 = HTML5_ASCII.get(name);
  if (html5 === undefined || p >= s.length || s.charCodeAt(p) !== 0x3b) return -1;
  b[j] = html5;
  return p;
}

/** ESCAPE are the escape decoders, by canonical name. */
export const ESCAPE: Readonly<Record<string, Transform>> = {
  jsDecode: (s) => decodeEach(s, 0x5c, s.length, jsStep),
  escapeSeqDecode: (s) => decodeEach(s, 0x5c, s.length, escapeSeqStep),
  cssDecode: (s) => decodeEach(s, 0x5c, 2 * s.length + 4, cssStep),
  htmlEntityDecode: (s) => decodeEach(s, 0x26, s.length, htmlStep),
};
