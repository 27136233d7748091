// pack.ts: a closed pyramid cell's sketches as one byte string. A cell keeps a sketch per timing
// part; as objects with an Int32Array of bins each, five parts cost ~5 small objects and five
// typed arrays (each with its own backing store, ~250 bytes of bookkeeping beside its data). Packed,
// a part is its header (count and zero as varints; sum, min and max as Float64) and its bins as
// runs of consecutive indices (putRuns): a bin costs its count's varint, 1–3 bytes instead of 8. The bytes are kept as a one-byte string (16 bytes of header) rather than a Uint8Array
// (~190 bytes of typed-array and ArrayBuffer objects beside its data, plus the backing store's own
// bookkeeping outside the JS heap). Exact: unpack(pack(x)) answers the same SketchData.
import { deflateRawSync, inflateRawSync } from "node:zlib";
import { BitReader, BitWriter } from "./bits.ts";
import { MAX_BIN, MIN_BIN, Sketch } from "./sketch.ts";
import { TIMING_PARTS, type SketchData, type TimingPart } from "./types.ts";

// Floats are copied byte by byte through F64 (the platform's order: packed bytes never leave the process).
const F64 = new Float64Array(1);
const F64_BYTES = new Uint8Array(F64.buffer);

// pack writes into BUF (grown when full) and reads it back as a one-byte string: the store packs
// a cell at every batch (mergePacked), so no array of numbers is built per pack.
let BUF = new Uint8Array(4096);
let len = 0;

function put(b: number): void {
  if (len === BUF.length) {
    const next = new Uint8Array(BUF.length * 2);
    next.set(BUF);
    BUF = next;
  }
  BUF[len++] = b;
}

function putVarint(v: number): void {
  while (v >= 0x80) {
    put((v % 128) | 0x80);
    v = Math.floor(v / 128);
  }
  put(v);
}

function putFloat(v: number): void {
  F64[0] = v;
  for (let k = 0; k < 8; k++) put(F64_BYTES[k]!);
}

// Counts are integers: a varint (doubled; 1 and a Float64 for anything else), 1–4 bytes, not 8.
// −0 is a safe integer >= 0 that a varint would answer as +0: a Float64 keeps it exact.
function putCount(v: number): void {
  if (Number.isSafeInteger(v) && v >= 0 && v < 2 ** 51 && !Object.is(v, -0)) putVarint(v * 2);
  else {
    put(1);
    putFloat(v);
  }
}

/**
 * HOLE is the widest run of empty bins a run of counts carries as zeros (a count 0 costs a byte; a
 * new run its start and length, about two): bins further apart start a new run.
 */
const HOLE = 2;

/** DELTA_MAX: counts below it are written as deltas (a zigzag doubles them: still exact below 2^53). */
const DELTA_MAX = 2 ** 50;

// putRuns writes sorted bins (index, count pairs) as runs of consecutive indices: the number of
// runs (doubled, plus 1 when counts are deltas), then per run the zigzag gap from the previous
// run's end, its length, and its counts (0 for an empty bin inside it). A latency's bins are mostly
// consecutive, so a bin costs no index; and its counts change smoothly from bin to bin, so each is
// written as the zigzag delta from the previous bin's count in the run: a busy hour's counts in
// thousands then take 1–2 bytes, not 2–3. Counts past DELTA_MAX (never a latency's, but a batch
// may claim them) are written as they are, so every count stays exact.
function putRuns(bins: readonly number[]): void {
  let delta = 1;
  for (let k = 1; k < bins.length; k += 2) if (!(bins[k]! < DELTA_MAX)) delta = 0;
  putVarint(countRuns(bins) * 2 + delta);
  walkRuns(
    bins,
    (gap, length) => {
      putVarint(gap);
      putVarint(length + 1);
    },
    (c, prev) => putVarint(delta ? zigzag(c - prev) : c),
  );
}

/** countRuns counts the runs of sorted bins (index, count pairs): holes of up to HOLE bins stay in a run. */
function countRuns(bins: readonly number[]): number {
  let runs = 0;
  for (let k = 0; k < bins.length; k += 2) if (k === 0 || bins[k]! - bins[k - 2]! > HOLE + 1) runs++;
  return runs;
}

/**
 * walkRuns walks sorted bins run by run: run(gap, length) with the zigzag gap from the previous
 * run's end and the run's length less one, then count(c, prev) for each of its bins (0 for an empty
 * one inside it) with the previous count in the run (0 first).
 */
function walkRuns(
  bins: readonly number[],
  run: (gap: number, length: number) => void,
  count: (c: number, prev: number) => void,
): void {
  const n = bins.length >> 1;
  let end = 0; // one past the previous run's last index
  let k = 0;
  while (k < n) {
    let last = k;
    while (last + 1 < n && bins[2 * last + 2]! - bins[2 * last]! <= HOLE + 1) last++;
    const from = bins[2 * k]!;
    const to = bins[2 * last]!;
    run(zigzag(from - end), to - from);
    let at = from;
    let prev = 0;
    for (let j = k; j <= last; j++) {
      for (const i = bins[2 * j]!; at < i; at++) {
        count(0, prev);
        prev = 0;
      }
      const c = bins[2 * j + 1]!;
      count(c, prev);
      prev = c;
      at++;
    }
    end = to + 1;
    k = last + 1;
  }
}

/** pack encodes sketches by part into one byte string. */
export function pack(latency: Partial<Record<TimingPart, SketchData>>): string {
  len = 0;
  for (const part in latency) {
    const d = latency[part as TimingPart]!;
    put(TIMING_PARTS.indexOf(part as TimingPart));
    putCount(d.count);
    putCount(d.zero);
    putFloat(d.sum);
    putFloat(d.min);
    putFloat(d.max);
    putRuns(d.bins);
  }
  return Buffer.from(BUF.buffer, 0, len).toString("latin1");
}

/** byteString makes a one-byte string of bytes (each 0..255): a compact, immutable byte array. */
export function byteString(bytes: readonly number[]): string {
  let s = "";
  for (let k = 0; k < bytes.length; k += 8192) s += String.fromCharCode(...bytes.slice(k, k + 8192));
  return s;
}

// unpack's reading position in its string (module state: no closure per call).
let src = "";
let pos = 0;

function getVarint(): number {
  let v = 0;
  let scale = 1;
  for (;;) {
    const b = src.charCodeAt(pos++);
    v += (b & 0x7f) * scale;
    if (b < 0x80) return v;
    scale *= 128;
  }
}

function getFloat(): number {
  for (let k = 0; k < 8; k++) F64_BYTES[k] = src.charCodeAt(pos++);
  return F64[0]!;
}

function getCount(): number {
  const c = getVarint();
  return c === 1 ? getFloat() : c / 2;
}

// getRuns reads putRuns' bins back (empty bins inside a run left out, as toData leaves them).
function getRuns(): number[] {
  const bins: number[] = [];
  let end = 0;
  const head = getVarint();
  const delta = head % 2 === 1;
  for (let runs = Math.floor(head / 2); runs > 0; runs--) {
    const from = end + unzigzag(getVarint());
    const n = getVarint();
    let c = 0;
    for (let i = from; i < from + n; i++) {
      c = delta ? c + unzigzag(getVarint()) : getVarint();
      if (c !== 0) bins.push(i, c);
    }
    end = from + n;
  }
  return bins;
}

/**
 * squeeze shrinks pack's bytes for a cell that has closed (read again only by queries, saves and a
 * late batch): the smallest of the bytes as they are, deflated (marked by a first byte 0xff, which
 * pack never starts with: a part's index is 0–4), and as Rice codes (riceOf, marked 0xfe). unpack
 * and mergePacked take every form.
 */
export function squeeze(packed: string): string {
  if (packed === "" || packed.charCodeAt(0) >= 0xfe) return packed;
  let out = packed;
  const deflated = "\xff" + deflateRawSync(Buffer.from(packed, "latin1")).toString("latin1");
  if (deflated.length < out.length) out = deflated;
  const rice = riceOf(unpack(packed));
  if (rice !== undefined && rice.length < out.length) out = rice;
  return out;
}

// The Rice form (bits.ts: adaptive Rice codes, each context's parameter following its recent
// values): a bin costs what its count's change from the previous bin's needs, ~4–9 bits for a busy
// cell's smooth counts, where a varint takes 8 or 16 and deflate finds few repeats in them. A
// count change is coded in a context chosen by the previous count's bit length: changes scale
// with the counts around them (the body of a distribution moves by hundreds, its tail by ones).
const R_RUNS = 0;
const R_GAP = 1;
const R_LEN = 2;
const R_COUNT = 3; // + the previous count's bit length, up to R_LEVELS - 1
const R_LEVELS = 40;

/** bitLength answers the number of bits of a non-negative integer below 2^53. */
function bitLength(v: number): number {
  return v < 2 ** 31 ? 32 - Math.clz32(v) : 31 + bitLength(Math.floor(v / 2 ** 31));
}

function riceLevel(prev: number): number {
  return R_COUNT + Math.min(R_LEVELS - 1, bitLength(Math.abs(prev)));
}

/**
 * riceOf writes sketches by part as Rice codes (0xfe, then the bits): the number of parts, then per
 * part its index, count and zero, sum, min and max (Float64), and its bins as putRuns' runs, each
 * count as the zigzag change from the previous one in its run. Undefined when a count is not an
 * integer below DELTA_MAX (never a latency's; pack's own form keeps those exact).
 */
function riceOf(latency: Partial<Record<TimingPart, SketchData>>): string | undefined {
  const parts = Object.entries(latency) as [TimingPart, SketchData][];
  const exact = (v: number) => Number.isSafeInteger(v) && Math.abs(v) < DELTA_MAX && !Object.is(v, -0);
  for (const [, d] of parts) {
    if (!exact(d.count) || !exact(d.zero) || d.count < 0 || d.zero < 0) return undefined;
    for (let k = 1; k < d.bins.length; k += 2) if (!exact(d.bins[k]!)) return undefined;
  }
  const w = new BitWriter();
  w.bits(0xfe, 8);
  w.bits(parts.length, 4);
  for (const [part, d] of parts) {
    w.bits(TIMING_PARTS.indexOf(part), 4);
    w.full(d.count);
    w.full(d.zero);
    w.float(d.sum);
    w.float(d.min);
    w.float(d.max);
    w.uint(R_RUNS, countRuns(d.bins));
    walkRuns(
      d.bins,
      (gap, length) => {
        w.uint(R_GAP, gap);
        w.uint(R_LEN, length);
      },
      (c, prev) => w.uint(riceLevel(prev), zigzag(c - prev)),
    );
  }
  return w.done();
}

/** unrice reads riceOf's string back (empty bins inside a run left out, as getRuns does). */
function unrice(s: string): Partial<Record<TimingPart, SketchData>> {
  const out: Partial<Record<TimingPart, SketchData>> = {};
  const r = new BitReader(s);
  r.bits(8);
  for (let parts = r.bits(4); parts > 0; parts--) {
    const part = TIMING_PARTS[r.bits(4)]!;
    const count = r.full();
    const zero = r.full();
    const sum = r.float();
    const min = r.float();
    const max = r.float();
    const bins: number[] = [];
    let end = 0;
    for (let runs = r.uint(R_RUNS); runs > 0; runs--) {
      const from = end + unzigzag(r.uint(R_GAP));
      const to = from + r.uint(R_LEN);
      let c = 0;
      for (let i = from; i <= to; i++) {
        c += unzigzag(r.uint(riceLevel(c)));
        if (c !== 0) bins.push(i, c);
      }
      end = to + 1;
    }
    out[part] = { count, sum, min, max, zero, bins };
  }
  return out;
}

/** unpack decodes pack's bytes (or squeeze's) back into sketches by part. */
export function unpack(bytes: string): Partial<Record<TimingPart, SketchData>> {
  if (bytes.charCodeAt(0) === 0xfe) return unrice(bytes);
  const out: Partial<Record<TimingPart, SketchData>> = {};
  if (bytes.charCodeAt(0) === 0xff)
    bytes = inflateRawSync(Buffer.from(bytes.slice(1), "latin1")).toString("latin1");
  src = bytes;
  pos = 0;
  while (pos < bytes.length) {
    const part = TIMING_PARTS[bytes.charCodeAt(pos++)]!;
    const count = getCount();
    const zero = getCount();
    const sum = getFloat();
    const min = getFloat();
    const max = getFloat();
    out[part] = { count, sum, min, max, zero, bins: getRuns() };
  }
  src = "";
  return out;
}

/**
 * mergePacked answers packed (pack's bytes, "" for none) with add's sketches merged in, part by
 * part, as pack's bytes. The store keeps the sketches of buckets still filling this way too: a
 * live Sketch is a dense bin array over its whole range (~1.1 KiB a part, ~370 bytes of objects
 * beside it), a packed part the bins it holds (~100 bytes for a busy minute of the bound test's
 * history). A merge is what a live sketch's would be (the same adds, in the same order), so every
 * quantile answered is the same; it costs a decode and an encode of the cell (docs/analytics.md).
 */
export function mergePacked(packed: string, add: Partial<Record<TimingPart, SketchData>>): string {
  const all = packed === "" ? {} : unpack(packed);
  let changed = false;
  for (const [part, d] of Object.entries(add) as [TimingPart, SketchData][]) {
    if (d.count === 0) continue;
    const old = all[part];
    all[part] = old && old.count > 0 ? mergeData(old, d) : mergeData(undefined, d);
    changed = true;
  }
  return changed ? pack(all) : packed;
}

// mergeData is Sketch's merge of d into a (or into an empty sketch) and its toData, without the
// dense bin array: a's bins are sorted (toData's, pack's), and so are d's when an engine sends
// toData's; anything else goes through a Sketch.
function mergeData(a: SketchData | undefined, d: SketchData): SketchData {
  const x = d.bins;
  // Refused here, at ingest, so that only this batch is lost: stored, a bin outside binOf's range
  // would make the cell's dense array (at close, at a query) too large to allocate, every time.
  for (let k = 0; k < x.length; k += 2)
    if (!(x[k]! >= MIN_BIN && x[k]! <= MAX_BIN))
      throw new Error(`a sketch bin index ${x[k]} is outside ${MIN_BIN}..${MAX_BIN}: the batch is malformed`);
  for (let k = 2; k < x.length; k += 2) if (!(x[k]! > x[k - 2]!)) return viaSketch(a, d);
  const y = a?.bins ?? [];
  const bins: number[] = [];
  let i = 0;
  let j = 0;
  while (i + 1 < y.length || j + 1 < x.length) {
    const yi = i + 1 < y.length ? y[i]! : Infinity;
    const xj = j + 1 < x.length ? x[j]! : Infinity;
    let n: number;
    let at: number;
    if (yi === xj) {
      at = yi;
      n = y[i + 1]! + x[j + 1]!;
      i += 2;
      j += 2;
    } else if (yi < xj) {
      at = yi;
      n = y[i + 1]!;
      i += 2;
    } else {
      at = xj;
      n = x[j + 1]!;
      j += 2;
    }
    if (n !== 0) bins.push(at, n);
  }
  if (!a) return { count: d.count, sum: 0 + d.sum, min: d.min, max: d.max, zero: 0 + d.zero, bins };
  return {
    count: a.count + d.count,
    sum: a.sum + d.sum,
    min: d.min < a.min ? d.min : a.min,
    max: d.max > a.max ? d.max : a.max,
    zero: a.zero + d.zero,
    bins,
  };
}

function viaSketch(a: SketchData | undefined, d: SketchData): SketchData {
  const s = new Sketch();
  if (a) s.merge(a);
  s.merge(d);
  return s.toData();
}

/** sketchesOf unpacks pack's bytes into live sketches by part. */
export function sketchesOf(packed: string): Partial<Record<TimingPart, Sketch>> {
  const out: Partial<Record<TimingPart, Sketch>> = {};
  for (const [part, d] of Object.entries(unpack(packed)) as [TimingPart, SketchData][])
    out[part] = Sketch.fromData(d);
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
