// xss.ts: libinjection_xss: tokenize the input as HTML5 in each of the five contexts and call it
// XSS on a black-listed tag, an event-handler or other black attribute, a javascript:/data:/
// vbscript:/view-source: URL in a URL attribute, a style, a doctype, or an IE comment trick.
// Port of libinjection (Nick Galbreath, BSD-3-Clause) as libinjection-go v0.3.6 has it: its
// list of ~430 event names replaces C's "any on* name of 5+ bytes" (fewer false positives on
// base64 such as "onY29va2llcw=="), and XMLNS/XLINK match whole names where C matches prefixes.
import { CTX, H5, Html5 } from "./html5.ts";
import { upper, WordTable } from "./word-table.ts";
import { XSS_BLACK_ATTRS, XSS_BLACK_EVENTS, XSS_BLACK_TAGS } from "./xss-data.ts";

// Attribute classes: how an attribute's value is judged.
const A_NONE = 0;
const A_BLACK = 1;
const A_URL = 2;
const A_STYLE = 3;
const A_INDIRECT = 4;
const CLASS = { BLACK: A_BLACK, URL: A_URL, STYLE: A_STYLE, INDIRECT: A_INDIRECT } as const;

const TAGS = new WordTable(XSS_BLACK_TAGS.map((t) => [t, 1] as const));
const ATTRS = new WordTable(Object.entries(XSS_BLACK_ATTRS).map(([n, c]) => [n, CLASS[c]] as const));
const EVENTS = new WordTable(
  XSS_BLACK_EVENTS.flatMap((line) => line.split(" ")).map((e) => [e, A_BLACK] as const),
);

/** NAME_MAX bounds a normalized name: longer than any black-listed one, so a longer name never matches. */
const NAME_MAX = 64;
const name = new Uint8Array(NAME_MAX);

/** normalize copies s[start, start+len) into `name` without NULs; -1 if longer than NAME_MAX. */
function normalize(s: string, start: number, len: number): number {
  let n = 0;
  for (let i = start; i < start + len; i++) {
    const c = s.charCodeAt(i);
    if (c === 0) continue;
    if (n === NAME_MAX) return -1;
    name[n++] = c;
  }
  return n;
}

/** isBlackTag: a black-listed tag, or anything SVG* or XSL*. */
function isBlackTag(s: string, start: number, len: number): boolean {
  if (len < 3) return false;
  const n = normalize(s, start, len);
  if (n < 0) return false;
  if (TAGS.get(name, 0, n) !== 0) return true;
  return n >= 3 && (prefix(0x53, 0x56, 0x47) || prefix(0x58, 0x53, 0x4c)); // SVG, XSL
}

function prefix(a: number, b: number, c: number): boolean {
  return (name[0]! & 0xdf) === a && (name[1]! & 0xdf) === b && (name[2]! & 0xdf) === c;
}

/**
 * PREFIX marks the first two (upper-case) letters of the black attributes. Text read in a value
 * context is a run of "attribute names", one per word: most fail here without being hashed.
 */
const PREFIX = new Uint8Array(65536);
for (const n of [...Object.keys(XSS_BLACK_ATTRS), "ON", "XMLNS", "XLINK"]) {
  PREFIX[(n.charCodeAt(0) << 8) | n.charCodeAt(1)] = 1;
}

/** attrClass answers how the named attribute's value is judged (A_NONE: not at all). */
function attrClass(s: string, start: number, len: number): number {
  const end = start + len;
  let i = start;
  while (i < end && s.charCodeAt(i) === 0) i++;
  let j = i + 1;
  while (j < end && s.charCodeAt(j) === 0) j++;
  if (j >= end) return A_NONE; // fewer than two bytes that are not NUL
  if (PREFIX[(upper(s.charCodeAt(i) & 0xff) << 8) | upper(s.charCodeAt(j) & 0xff)] !== 1) return A_NONE;
  const n = normalize(s, start, len);
  if (n < 2) return A_NONE;
  if (n >= 5) {
    if (n === 5 && (upperIs("XMLNS") || upperIs("XLINK"))) return A_BLACK;
    if ((name[0]! & 0xdf) === 0x4f && (name[1]! & 0xdf) === 0x4e) {
      const e = EVENTS.get(name, 2, n - 2);
      if (e !== 0) return e;
    }
  }
  return ATTRS.get(name, 0, n);
}

function upperIs(word: string): boolean {
  for (let i = 0; i < word.length; i++) {
    const c = name[i]!;
    if ((c >= 0x61 && c <= 0x7a ? c - 0x20 : c) !== word.charCodeAt(i)) return false;
  }
  return true;
}

// Hex digit values for &#x..; (256 = not a hex digit).
const HEX = new Int16Array(256).fill(256);
for (let i = 0; i < 10; i++) HEX[0x30 + i] = i;
for (let i = 0; i < 6; i++) HEX[0x41 + i] = HEX[0x61 + i] = 10 + i;

let decodedLen = 0;
/** decodeAt decodes one possibly &#-encoded byte at s[pos] (before end); its length goes to decodedLen. */
function decodeAt(s: string, pos: number, end: number): number {
  const n = end - pos;
  decodedLen = 1;
  const c0 = s.charCodeAt(pos);
  if (c0 !== 0x26 || n < 2) return c0;
  if (s.charCodeAt(pos + 1) !== 0x23 || n < 3) return 0x26; // named entities are not decoded
  const c2 = s.charCodeAt(pos + 2);
  let val = 0;
  let i: number;
  if (c2 === 0x78 || c2 === 0x58) {
    if (n < 4) return 0x26;
    const d = HEX[s.charCodeAt(pos + 3) & 0xff]!;
    if (d === 256) return 0x26;
    val = d;
    for (i = 4; i < n; i++) {
      const c = s.charCodeAt(pos + i);
      if (c === 0x3b) {
        decodedLen = i + 1;
        return val;
      }
      const h = HEX[c & 0xff]!;
      if (h === 256) break;
      val = val * 16 + h;
      if (val > 0x1000ff) return 0x26;
    }
  } else {
    if (c2 < 0x30 || c2 > 0x39) return 0x26;
    val = c2 - 0x30;
    for (i = 3; i < n; i++) {
      const c = s.charCodeAt(pos + i);
      if (c === 0x3b) {
        decodedLen = i + 1;
        return val;
      }
      if (c < 0x30 || c > 0x39) break;
      val = val * 10 + (c - 0x30);
      if (val > 0x1000ff) return 0x26;
    }
  }
  decodedLen = i;
  return val;
}

/** encodedStartsWith: does the &#-decoded s[pos, end) start with `word` (upper case), ignoring NUL and \n? */
function encodedStartsWith(word: string, s: string, pos: number, end: number): boolean {
  let first = true;
  let wi = 0;
  while (pos < end) {
    let cb = decodeAt(s, pos, end);
    pos += decodedLen;
    if (first && cb <= 32) continue; // leading white space and controls
    first = false;
    if (cb === 0 || cb === 10) continue;
    if (cb >= 0x61 && cb <= 0x7a) cb -= 0x20;
    if (wi >= word.length) return true;
    if ((cb & 0xff) !== word.charCodeAt(wi)) return false;
    wi++;
  }
  return wi >= word.length;
}

const BLACK_URLS = ["DATA", "VIEW-SOURCE", "VBSCRIPT", "JAVA"]; // JAVA covers JAVASCRIPT

/** isBlackUrl: after leading bytes <= 32 or >= 127 (Opera's UTF-8 white space), a black scheme. */
function isBlackUrl(s: string, start: number, len: number): boolean {
  const end = start + len;
  let pos = start;
  while (pos < end) {
    const c = s.charCodeAt(pos);
    if (c > 32 && c < 127) break;
    pos++;
  }
  for (const u of BLACK_URLS) if (encodedStartsWith(u, s, pos, end)) return true;
  return false;
}

/** isBlackComment: IE's ` tag end, conditional comments "[if", "xml", <?import and <!ENTITY. */
function isBlackComment(s: string, start: number, len: number): boolean {
  const end = start + len;
  for (let i = start; i < end; i++) if (s.charCodeAt(i) === 0x60) return true;
  if (len > 3) {
    const c0 = s.charCodeAt(start);
    const c1 = s.charCodeAt(start + 1) | 0x20;
    const c2 = s.charCodeAt(start + 2) | 0x20;
    if (c0 === 0x5b && c1 === 0x69 && c2 === 0x66) return true;
    if ((c0 | 0x20) === 0x78 && c1 === 0x6d && c2 === 0x6c) return true;
  }
  if (len > 5) {
    // The keyword may hide NULs: normalize the whole token, not its first six bytes.
    let n = 0;
    for (let i = start; i < end && n < 6; i++) {
      const c = s.charCodeAt(i);
      if (c !== 0) name[n++] = c;
    }
    if (n === 6 && (upperIs("IMPORT") || upperIs("ENTITY"))) return true;
  }
  return false;
}

const h5 = new Html5();

/** isXssIn runs libinjection_is_xss for one context. */
function isXssIn(s: string, ctx: number): boolean {
  h5.init(s, ctx);
  let attr = A_NONE;
  while (h5.next()) {
    const { tokenType: type, tokenStart: start, tokenLen: len } = h5;
    if (type !== H5.ATTR_VALUE) attr = A_NONE;
    switch (type) {
      case H5.DOCTYPE:
        return true;
      case H5.TAG_NAME_OPEN:
        if (isBlackTag(s, start, len)) return true;
        break;
      case H5.ATTR_NAME:
        attr = attrClass(s, start, len);
        break;
      case H5.ATTR_VALUE:
        // IE6-8 may hide a whole <script> in an attribute value (html5sec.org/#102).
        if (attr === A_BLACK || attr === A_STYLE) return true;
        if (attr === A_URL && isBlackUrl(s, start, len)) return true;
        if (attr === A_INDIRECT && attrClass(s, start, len) === A_BLACK) return true;
        attr = A_NONE;
        break;
      case H5.TAG_COMMENT:
        if (isBlackComment(s, start, len)) return true;
        break;
    }
  }
  return false;
}

/** detectXss runs libinjection_xss over the five contexts (the data state only if there is a '<'). */
export function detectXss(s: string): boolean {
  if (s.includes("<") && isXssIn(s, CTX.DATA_STATE)) return true;
  return (
    isXssIn(s, CTX.VALUE_NO_QUOTE) ||
    isXssIn(s, CTX.VALUE_SINGLE_QUOTE) ||
    isXssIn(s, CTX.VALUE_DOUBLE_QUOTE) ||
    isXssIn(s, CTX.VALUE_BACK_QUOTE)
  );
}
