// pack.ts: a closed pyramid cell's sketches as one byte array. A cell keeps a sketch per timing
// part; as objects with an Int32Array of bins each, five parts cost ~5 small objects and five
// typed arrays (each with its own backing store, ~250 bytes of bookkeeping beside its data). Packed,
// a part is its header (count, sum, min, max, zero as Float64) and its bins as varints: the gap to
// the previous bin index (bins are sorted, gaps are small) and the count — 2–4 bytes a bin instead
// of 8, and one backing store per cell. Exact: unpack(pack(x)) answers the same SketchData.
import { TIMING_PARTS, type SketchData, type TimingPart } from "./types.ts";

/** pack encodes sketches by part into one byte array. */
export function pack(latency: Partial<Record<TimingPart, SketchData>>): Uint8Array {
  const out: number[] = [];
  const f64 = new Float64Array(1);
  const f64Bytes = new Uint8Array(f64.buffer);
  const float = (v: number) => {
    f64[0] = v;
    for (const b of f64Bytes) out.push(b);
  };
  for (const [part, d] of Object.entries(latency) as [TimingPart, SketchData][]) {
    out.push(TIMING_PARTS.indexOf(part));
    for (const v of [d.count, d.sum, d.min, d.max, d.zero]) float(v);
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
  return Uint8Array.from(out);
}

/** unpack decodes pack's bytes back into sketches by part. */
export function unpack(bytes: Uint8Array): Partial<Record<TimingPart, SketchData>> {
  const out: Partial<Record<TimingPart, SketchData>> = {};
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = 0;
  const read = () => {
    let v = 0;
    let scale = 1;
    for (;;) {
      const b = bytes[at++]!;
      v += (b & 0x7f) * scale;
      if (b < 0x80) return v;
      scale *= 128;
    }
  };
  while (at < bytes.length) {
    const part = TIMING_PARTS[bytes[at++]!]!;
    const [count, sum, min, max, zero] = [0, 1, 2, 3, 4].map((k) => view.getFloat64(at + 8 * k, true)) as [
      number,
      number,
      number,
      number,
      number,
    ];
    at += 40;
    const n = read();
    const bins: number[] = [];
    let prev = 0;
    for (let k = 0; k < n; k++) {
      const z = read();
      const gap = unzigzag(z);
      prev = k === 0 ? gap : prev + gap;
      bins.push(prev, read());
    }
    out[part] = { count, sum, min, max, zero, bins };
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
