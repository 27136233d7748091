// bytes.ts: sets of bytes (0–255), the alphabet of the rx engine. The engine matches bytes, as
// ModSecurity's PCRE does without its UTF flag, so CRS classes such as [\xa0-\x{bf}] mean bytes.

/** ByteSet is a 256-bit membership bitmap. */
export type ByteSet = Uint32Array;

/** emptySet returns a set with no bytes. */
export function emptySet(): ByteSet {
  return new Uint32Array(8);
}

/** addByte puts b into s. */
export function addByte(s: ByteSet, b: number): void {
  s[b >>> 5]! |= 1 << (b & 31);
}

/** addRange puts lo..hi (inclusive) into s. */
export function addRange(s: ByteSet, lo: number, hi: number): void {
  for (let b = lo; b <= hi; b++) addByte(s, b);
}

/** hasByte says whether b is in s. */
export function hasByte(s: ByteSet, b: number): boolean {
  return (s[b >>> 5]! & (1 << (b & 31))) !== 0;
}

/** addSet puts every byte of t into s. */
export function addSet(s: ByteSet, t: ByteSet): void {
  for (let i = 0; i < 8; i++) s[i]! |= t[i]!;
}

/** negate returns the bytes not in s. */
export function negate(s: ByteSet): ByteSet {
  const out = emptySet();
  for (let i = 0; i < 8; i++) out[i] = ~s[i]!;
  return out;
}

/** setSize counts the bytes in s. */
export function setSize(s: ByteSet): number {
  let n = 0;
  for (let b = 0; b < 256; b++) if (hasByte(s, b)) n++;
  return n;
}

/** firstByte is the lowest byte of s, or -1 when s is empty. */
export function firstByte(s: ByteSet): number {
  for (let b = 0; b < 256; b++) if (hasByte(s, b)) return b;
  return -1;
}

/** setKey is a string that two equal sets share (for de-duplicating class tables). */
export function setKey(s: ByteSet): string {
  return Array.from(s, (w) => (w >>> 0).toString(36)).join(".");
}

/** foldCase adds the other ASCII case of every letter in s; (?i) folds ASCII only (bytes). */
export function foldCase(s: ByteSet): void {
  for (let b = 0x41; b <= 0x5a; b++) {
    if (hasByte(s, b)) addByte(s, b + 32);
    else if (hasByte(s, b + 32)) addByte(s, b);
  }
}

/** isWordByte says whether b is in \w ([0-9A-Za-z_]), the side test of \b. */
export function isWordByte(b: number): boolean {
  return (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) || b === 0x5f;
}

function make(ranges: readonly (readonly [number, number])[]): ByteSet {
  const s = emptySet();
  for (const [lo, hi] of ranges) addRange(s, lo, hi);
  return s;
}

const DIGIT: ByteSet = make([[0x30, 0x39]]);
const WORD: ByteSet = make([
  [0x30, 0x39],
  [0x41, 0x5a],
  [0x61, 0x7a],
  [0x5f, 0x5f],
]);
// RE2's \s (Coraza): no \v. CRS writes [\s\x0b] where it means vertical tab too.
const SPACE: ByteSet = make([
  [0x09, 0x0a],
  [0x0c, 0x0d],
  [0x20, 0x20],
]);

/** perlClass is the set of \d \w \s (lowercase) or its negation (uppercase); undefined otherwise. */
export function perlClass(letter: string): ByteSet | undefined {
  const base = { d: DIGIT, w: WORD, s: SPACE }[letter.toLowerCase()];
  if (base === undefined) return undefined;
  return letter === letter.toLowerCase() ? base.slice() : negate(base);
}

/** POSIX_CLASSES are the [[:name:]] classes (ASCII, as in RE2). */
export const POSIX_CLASSES: Readonly<Record<string, ByteSet>> = {
  alnum: make([
    [0x30, 0x39],
    [0x41, 0x5a],
    [0x61, 0x7a],
  ]),
  alpha: make([
    [0x41, 0x5a],
    [0x61, 0x7a],
  ]),
  ascii: make([[0x00, 0x7f]]),
  blank: make([
    [0x09, 0x09],
    [0x20, 0x20],
  ]),
  cntrl: make([
    [0x00, 0x1f],
    [0x7f, 0x7f],
  ]),
  digit: DIGIT,
  graph: make([[0x21, 0x7e]]),
  lower: make([[0x61, 0x7a]]),
  print: make([[0x20, 0x7e]]),
  punct: make([
    [0x21, 0x2f],
    [0x3a, 0x40],
    [0x5b, 0x60],
    [0x7b, 0x7e],
  ]),
  space: make([
    [0x09, 0x0d],
    [0x20, 0x20],
  ]),
  upper: make([[0x41, 0x5a]]),
  word: WORD,
  xdigit: make([
    [0x30, 0x39],
    [0x41, 0x46],
    [0x61, 0x66],
  ]),
};
