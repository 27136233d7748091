// buffer.ts: the one output buffer the transformations write into. A transformation that changes
// its input writes the new bytes here and reads them back as a binary string in one native call;
// transformations are synchronous and never nested, so one buffer serves them all and a request
// allocates only the strings it keeps. It grows to the largest output seen.

let buf = Buffer.allocUnsafe(16 * 1024);

/** output returns the buffer, with room for at least n bytes. */
export function output(n: number): Buffer {
  if (n > buf.length) buf = Buffer.allocUnsafe(Math.max(n, 2 * buf.length));
  return buf;
}

/** text reads bytes [0, n) of b as a binary string (one char per byte). */
export function text(b: Buffer, n: number): string {
  return b.toString("latin1", 0, n);
}

/** HEX maps a byte to its hex digit value, -1 when it is not one. */
export const HEX: Int8Array = (() => {
  const t = new Int8Array(256).fill(-1);
  for (let c = 0; c < 10; c++) t[0x30 + c] = c;
  for (let c = 0; c < 6; c++) t[0x41 + c] = t[0x61 + c] = 10 + c;
  return t;
})();

/** isHex says whether char code c is a hex digit (c may be ≥ 256: not one). */
export function isHex(c: number): boolean {
  return c < 256 && HEX[c]! >= 0;
}

/** hex2 is the byte two hex digits at s[i], s[i+1] stand for (both checked by the caller). */
export function hex2(s: string, i: number): number {
  return (HEX[s.charCodeAt(i)]! << 4) | HEX[s.charCodeAt(i + 1)]!;
}

/** isSpace is C's isspace() in the "C" locale: \t \n \v \f \r and space. */
export function isSpace(c: number): boolean {
  return c === 0x20 || (c >= 0x09 && c <= 0x0d);
}

/** Cursor is where a decoder is: i in the input, j in the output buffer. */
export interface Cursor {
  i: number;
  j: number;
}

/** Step decodes the escape at s[at.i] (the trigger char): writes its bytes into b at at.j and moves
 * both on, and returns true; or returns false, moving nothing, when no escape starts there. */
export type Step = (s: string, b: Buffer, at: Cursor) => boolean;

// One cursor for all decoders, like the buffer: decoding is synchronous and never nested.
const cursor: Cursor = { i: 0, j: 0 };

/** decodeEach copies s into the buffer (room for maxOut bytes), letting step decode at each
 * trigger char; returns s itself when it holds no trigger. */
export function decodeEach(s: string, trigger: number, maxOut: number, step: Step): string {
  const first = s.indexOf(String.fromCharCode(trigger));
  if (first < 0) return s;
  const b = output(maxOut);
  b.write(s, 0, first, "latin1");
  const at = cursor;
  at.i = at.j = first;
  const n = s.length;
  while (at.i < n) {
    const c = s.charCodeAt(at.i);
    if (c !== trigger || !step(s, b, at)) {
      b[at.j++] = c;
      at.i++;
    }
  }
  return text(b, at.j);
}
