// huffman.ts: the HPACK Huffman code (RFC 7541 §5.2, Appendix B). Decoding walks a state machine
// four bits at a time, built once from the code table: a state is an inner node of the code tree,
// and no code is shorter than five bits, so a nibble emits at most one symbol. That is nghttp2's
// design; it reads each input byte in two table look-ups instead of eight tree steps.
import { HUFFMAN_CODES, HUFFMAN_LENGTHS } from "./tables.ts";

const EOS = 256;

// The code tree: node 0 is the root; child[2n + bit] is a node index, or -(symbol + 1) for a leaf.
const child: number[] = [0, 0];
{
  const codes = [...HUFFMAN_CODES, 0x3fffffff];
  const lengths = [...HUFFMAN_LENGTHS, 30];
  for (let sym = 0; sym <= EOS; sym++) {
    let node = 0;
    for (let i = lengths[sym]! - 1; i >= 0; i--) {
      const slot = 2 * node + ((codes[sym]! >>> i) & 1);
      if (i === 0) child[slot] = -(sym + 1);
      else {
        if (child[slot] === 0) {
          child[slot] = child.length / 2;
          child.push(0, 0);
        }
        node = child[slot]!;
      }
    }
  }
}
const STATES = child.length / 2;

// For each state × nibble: the next state, the symbol emitted (-1: none; EOS: an error).
const nextState = new Uint16Array(STATES * 16);
const emitted = new Int16Array(STATES * 16);
// accepting[s]: the input may end in state s — the root, or a path of at most seven 1 bits
// (the padding rule of §5.2: a strict prefix of EOS, shorter than a byte).
const accepting = new Uint8Array(STATES);
{
  // depth and all-ones of each state's path, found by walking from the root.
  const depth = new Int8Array(STATES).fill(-1);
  const ones = new Uint8Array(STATES);
  depth[0] = 0;
  ones[0] = 1;
  for (let n = 0; n < STATES; n++) {
    for (let bit = 0; bit < 2; bit++) {
      const c = child[2 * n + bit]!;
      if (c > 0) {
        depth[c] = depth[n]! + 1;
        ones[c] = ones[n]! & bit;
      }
    }
  }
  for (let s = 0; s < STATES; s++) {
    accepting[s] = s === 0 || (ones[s] === 1 && depth[s]! <= 7) ? 1 : 0;
    for (let nib = 0; nib < 16; nib++) {
      let node = s;
      let sym = -1;
      for (let i = 3; i >= 0; i--) {
        const c = child[2 * node + ((nib >>> i) & 1)]!;
        if (c < 0) {
          // A second symbol within one nibble cannot happen (codes are ≥ 5 bits).
          sym = -c - 1;
          node = 0;
        } else node = c;
      }
      nextState[s * 16 + nib] = node;
      emitted[s * 16 + nib] = sym;
    }
  }
}

/** HuffmanError is a Huffman string that RFC 7541 §5.2 forbids (EOS, bad or long padding). */
export class HuffmanError extends Error {}

/** huffmanDecode decodes src[start, end) into a latin1 string; throws HuffmanError on a bad code. */
export function huffmanDecode(src: Uint8Array, start: number, end: number): string {
  // Every code is at least five bits: the output is at most 8/5 of the input.
  const out = scratch(((end - start) * 8) / 5 + 1);
  let n = 0;
  let state = 0;
  for (let i = start; i < end; i++) {
    const b = src[i]!;
    let t = state * 16 + (b >>> 4);
    let sym = emitted[t]!;
    if (sym >= 0) {
      if (sym === EOS) throw new HuffmanError("Huffman string contains EOS");
      out[n++] = sym;
    }
    state = nextState[t]!;
    t = state * 16 + (b & 15);
    sym = emitted[t]!;
    if (sym >= 0) {
      if (sym === EOS) throw new HuffmanError("Huffman string contains EOS");
      out[n++] = sym;
    }
    state = nextState[t]!;
  }
  if (accepting[state] !== 1) throw new HuffmanError("Huffman string has invalid padding");
  return latin1(out, n);
}

let buf = new Uint8Array(256);
function scratch(n: number): Uint8Array {
  if (buf.length < n) buf = new Uint8Array(Math.max(n, buf.length * 2));
  return buf;
}

function latin1(b: Uint8Array, n: number): string {
  return Buffer.from(b.buffer, b.byteOffset, n).toString("latin1");
}

/** huffmanLength is the encoded length in bytes of a latin1 string. */
export function huffmanLength(s: string): number {
  let bits = 0;
  for (let i = 0; i < s.length; i++) bits += HUFFMAN_LENGTHS[s.charCodeAt(i) & 0xff]!;
  return (bits + 7) >>> 3;
}

/** huffmanEncode writes the Huffman code of latin1 string s at dst[pos]; returns the end. */
export function huffmanEncode(s: string, dst: Uint8Array, pos: number): number {
  // acc holds at most 7 + 30 bits: beyond 32-bit integer operations, within a double's 53.
  let acc = 0;
  let bits = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i) & 0xff;
    const len = HUFFMAN_LENGTHS[c]!;
    acc = acc * 2 ** len + HUFFMAN_CODES[c]!;
    bits += len;
    while (bits >= 8) {
      bits -= 8;
      const p = 2 ** bits;
      const byte = Math.floor(acc / p);
      dst[pos++] = byte;
      acc -= byte * p;
    }
  }
  // Pad with the most significant bits of EOS (all ones).
  if (bits > 0) dst[pos++] = (acc << (8 - bits)) | (0xff >>> bits);
  return pos;
}
