// pack.ts: a closed pyramid cell's sketches as one byte string. A cell keeps a sketch per timing
// part; as objects with an Int32Array of bins each, five parts cost ~5 small objects and five
// typed arrays (each with its own backing store, ~250 bytes of bookkeeping beside its data). Packed,
// a part is its header (count and zero as varints; sum, min and max as Float64) and its bins as
// varints: the gap to the previous bin index (bins are sorted, gaps are small) and the count —
// 2–4 bytes a bin instead of 8. The bytes are kept as a one-byte string (16 bytes of header) rather than a Uint8Array
// (~190 bytes of typed-array and ArrayBuffer objects beside its data, plus the backing store's own
// bookkeeping outside the JS heap). Exact: unpack(pack(x)) answers the same SketchData.
import { TIMING_PARTS, type SketchData, type TimingPart } from "./types.ts";

// Floats are copied byte by byte through F64 (the platform's order: packed bytes never leave the process).
const F64 = new Float64Array(1);
const F64_BYTES = new Uint8Array(F64.buffer);

/** pack encodes sketches by part into one byte string. */
export function pack(latency: Partial<Record<TimingPart, SketchData>>): string {
  const out: number[] = [];
  const float = (v: number) => {
    F64[0] = v;
    for (const b of F64_BYTES) out.push(b);
  };
  for (const [part, d] of Object.entries(latency) as [TimingPart, SketchData][]) {
    out.push(TIMING_PARTS.indexOf(part));
    // Counts are integers: a varint (doubled; 1 and a Float64 for anything else), 1–4 bytes, not 8.
    // −0 is a safe integer >= 0 that a varint would answer as +0: a Float64 keeps it exact.
    for (const v of [d.count, d.zero])
      if (Number.isSafeInteger(v) && v >= 0 && v < 2 ** 51 && !Object.is(v, -0)) varint(out, v * 2);
      else {
        out.push(1);
        float(v);
      }
    for (const v of [d.sum, d.min, d.max]) float(v);
    const n = d.bins.length >> 1;
    varint(out, n);
    let prev = 0;
    for (let k = 0; k < n; k++) {
      const i = d.bins[2 * k]!;
      varint(out, zigzag(k === 0 ? i : i - prev));
      varint(out, d.bins[2 * k + 1]!);
      prev = i;
    }
  }
  return byteString(out);
}

/** byteString makes a one-byte string of bytes (each 0..255): a compact, immutable byte array. */
export function byteString(bytes: readonly number[]): string {
  let s = "";
  for (let k = 0; k < bytes.length; k += 8192) s += String.fromCharCode(...bytes.slice(k, k + 8192));
  return s;
}

/** unpack decodes pack's bytes back into sketches by part. */
export function unpack(bytes: string): Partial<Record<TimingPart, SketchData>> {
  const out: Partial<Record<TimingPart, SketchData>> = {};
  let at = 0;
  const float = () => {
    for (let k = 0; k < 8; k++) F64_BYTES[k] = bytes.charCodeAt(at++);
    return F64[0]!;
  };
  const read = () => {
    let v = 0;
    let scale = 1;
    for (;;) {
      const b = bytes.charCodeAt(at++);
      v += (b & 0x7f) * scale;
      if (b < 0x80) return v;
      scale *= 128;
    }
  };
  while (at < bytes.length) {
    const part = TIMING_PARTS[bytes.charCodeAt(at++)]!;
    const count = read();
    const countValue = count === 1 ? float() : count / 2;
    const zeroCode = read();
    const zero = zeroCode === 1 ? float() : zeroCode / 2;
    const [sum, min, max] = [float(), float(), float()];
    const n = read();
    const bins: number[] = [];
    let prev = 0;
    for (let k = 0; k < n; k++) {
      const z = read();
      const gap = unzigzag(z);
      prev = k === 0 ? gap : prev + gap;
      bins.push(prev, read());
    }
    out[part] = { count: countValue, sum, min, max, zero, bins };
  }
  return out;
}

/** varint appends v (a non-negative integer below 2^53) 7 bits a byte, low bits first. */
export function varint(out: number[], v: number): void {
  while (v >= 0x80) {
    out.push((v % 128) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
}

/** zigzag maps a signed integer to an unsigned one (0, -1, 1, -2 → 0, 1, 2, 3). */
export function zigzag(v: number): number {
  return v < 0 ? -2 * v - 1 : 2 * v;
}

/** unzigzag undoes zigzag. */
export function unzigzag(z: number): number {
  return z % 2 === 0 ? z / 2 : -(z + 1) / 2;
}
