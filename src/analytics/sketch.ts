// sketch.ts: DDSketch (Masson, Rim, Lee: "DDSketch: A fast and fully-mergeable quantile sketch with
// relative-error guarantees", VLDB 2019) for latencies in milliseconds. A value v lands in bin
// ceil(log_gamma(v)) with gamma = (1 + a) / (1 - a); every quantile answered is within a relative
// error a of a value of the exact quantile's rank, and two sketches merge exactly by adding bin
// counts — so the p99 of several engines is the p99 of all their samples, never an average of
// percentiles. Written here rather than taken from @datadog/sketches-js: what crosses processes is
// a small JSON of sparse bins (SketchData), and the library's wire format is protobuf.
import { ANALYTICS_RELATIVE_ACCURACY, type SketchData } from "./types.ts";

const GAMMA = (1 + ANALYTICS_RELATIVE_ACCURACY) / (1 - ANALYTICS_RELATIVE_ACCURACY);
const LOG_GAMMA = Math.log(GAMMA);
/** MIN_VALUE_MS: values below one microsecond count in the zero bin (answered as 0). */
const MIN_VALUE_MS = 0.001;

/** MAX_U32 is where a Uint32 bin count would overflow (the bins then widen to Float64). */
const MAX_U32 = 0xffff_ffff;
/** SLACK is how many bins a growth adds beyond the one asked for, so a spreading sketch grows a few times only. */
const SLACK = 8;

/**
 * Sketch is a live DDSketch; add values, merge others, ask quantiles, serialise with toData. Its
 * bins are a dense array of counts over [offset, offset + length): a latency's bins span a few
 * hundred indices (1 ms to 10 s is 456 bins at 1%), so a Uint32 a bin (~0.5–2 KiB a sketch) is far
 * smaller than a Map entry a bin (~80 B) and an add is one array write. Counts widen to Float64 past
 * 2^32 - 1 (a day's cell of a very busy service).
 */
export class Sketch {
  count = 0;
  sum = 0;
  min = Infinity;
  max = -Infinity;
  zero = 0;
  /** #offset is the bin index of #counts[0]. */
  #offset = 0;
  #counts: Uint32Array | Float64Array = EMPTY;

  /** add records one value in milliseconds (negative and NaN values count as 0). */
  add(v: number): void {
    this.addBin(v, binOf(v));
  }

  /**
   * addBin records v whose bin binOf(v) the caller computed: the collector adds one value to up
   * to three sketches (service, route, backend), and the logarithm is most of an add's cost.
   */
  addBin(v: number, bin: number): void {
    if (!(v > 0)) v = 0;
    this.count++;
    this.sum += v;
    if (v < this.min) this.min = v;
    if (v > this.max) this.max = v;
    if (bin === ZERO_BIN) this.zero++;
    else this.#bump(bin, 1);
  }

  /** merge adds another sketch's samples (live or serialised) to this one. */
  merge(o: Sketch | SketchData): void {
    if (o.count === 0) return;
    this.count += o.count;
    this.sum += o.sum;
    this.zero += o.zero;
    if (o.min < this.min) this.min = o.min;
    if (o.max > this.max) this.max = o.max;
    if (o instanceof Sketch) {
      const c = o.#counts;
      let first = 0;
      let last = c.length - 1;
      while (first <= last && c[first] === 0) first++;
      while (last >= first && c[last] === 0) last--;
      if (first > last) return;
      // Grow once to cover the other's whole range, then add bin by bin.
      this.#cover(o.#offset + first, o.#offset + last);
      for (let k = first; k <= last; k++) if (c[k] !== 0) this.#bump(o.#offset + k, c[k]!);
    } else if (o.bins.length > 1) {
      let lo = Infinity;
      let hi = -Infinity;
      for (let k = 0; k + 1 < o.bins.length; k += 2) {
        if (o.bins[k]! < lo) lo = o.bins[k]!;
        if (o.bins[k]! > hi) hi = o.bins[k]!;
      }
      this.#cover(lo, hi);
      for (let k = 0; k + 1 < o.bins.length; k += 2) this.#bump(o.bins[k]!, o.bins[k + 1]!);
    }
  }

  /** quantile answers the q-quantile (0..1) within the relative accuracy; NaN when empty. */
  quantile(q: number): number {
    if (this.count === 0) return NaN;
    if (q <= 0) return this.min;
    if (q >= 1) return this.max;
    const rank = q * (this.count - 1);
    let seen = this.zero;
    if (seen > rank) return 0;
    const c = this.#counts;
    for (let k = 0; k < c.length; k++) {
      seen += c[k]!;
      if (seen > rank) return clamp(binValue(this.#offset + k), this.min, this.max);
    }
    return this.max;
  }

  /** countBelow estimates how many samples are ≤ v (within the relative accuracy): Apdex counts. */
  countBelow(v: number): number {
    if (v < MIN_VALUE_MS) return v >= 0 ? this.zero : 0;
    const top = Math.ceil(Math.log(v) / LOG_GAMMA) - this.#offset;
    const c = this.#counts;
    let n = this.zero;
    for (let k = 0; k <= top && k < c.length; k++) n += c[k]!;
    return n;
  }

  /** toData serialises the sketch (bins sorted by index). */
  toData(): SketchData {
    const bins: number[] = [];
    const c = this.#counts;
    for (let k = 0; k < c.length; k++) if (c[k] !== 0) bins.push(this.#offset + k, c[k]!);
    return {
      count: this.count,
      sum: this.sum,
      min: this.count ? this.min : 0,
      max: this.count ? this.max : 0,
      zero: this.zero,
      bins,
    };
  }

  /** bytes is the memory of the sketch's bin array (what grows with its range). */
  bytes(): number {
    return this.#counts.byteLength;
  }

  /** fromData rebuilds a live sketch from its serialised form. */
  static fromData(d: SketchData): Sketch {
    const s = new Sketch();
    s.merge(d);
    return s;
  }

  #bump(i: number, n: number): void {
    let k = i - this.#offset;
    if (k < 0 || k >= this.#counts.length) {
      this.#cover(i, i);
      k = i - this.#offset;
    }
    const v = this.#counts[k]! + n;
    if (v > MAX_U32 && this.#counts instanceof Uint32Array) this.#counts = Float64Array.from(this.#counts);
    this.#counts[k] = v;
  }

  // #cover grows the bin array to hold indices lo..hi, with SLACK (or a quarter of the range) more
  // on the side that grew, so a range spreading bin by bin does not copy at every add.
  #cover(lo: number, hi: number): void {
    const c = this.#counts;
    const from = this.#offset;
    const to = from + c.length - 1;
    if (c.length > 0 && lo >= from && hi <= to) return;
    let newFrom: number;
    let newTo: number;
    if (c.length === 0) {
      newFrom = lo - SLACK;
      newTo = hi + SLACK;
    } else {
      const extra = Math.max(SLACK, c.length >> 2);
      newFrom = lo < from ? lo - extra : from;
      newTo = hi > to ? hi + extra : to;
    }
    const next =
      c instanceof Float64Array
        ? new Float64Array(newTo - newFrom + 1)
        : new Uint32Array(newTo - newFrom + 1);
    if (c.length > 0) next.set(c, from - newFrom);
    this.#counts = next;
    this.#offset = newFrom;
  }
}

const EMPTY = new Uint32Array(0);

/** ZERO_BIN is binOf's answer for a value counted in the zero bin (below MIN_VALUE_MS, negative, NaN). */
export const ZERO_BIN = -0x8000_0000;

/** exactBin is the bin of v ≥ MIN_VALUE_MS by the mapping's definition: ceil(log_gamma(v)). */
function exactBin(v: number): number {
  return Math.ceil(Math.log(v) / LOG_GAMMA);
}

// binOf's table. A double's high word holds its exponent and the top 20 bits of its mantissa;
// its top KEY_BITS of mantissa split each power of two into 1,024 buckets, each narrower (a
// ratio of 1 + 1/1024) than a bin (1.0202), so a bucket holds at most one bin boundary: its
// first value's bin (BUCKET_BIN), or the next one past that bin's largest value (UPPER). Both
// are computed with exactBin itself, so binOf answers exactly what exactBin would, about four
// times faster than a logarithm. Values from 2^-10 to 2^24 ms (4.6 hours) use the table.
const KEY_BITS = 10;
const E_MIN = -10;
const E_MAX = 24;
const KEY_BASE = (1023 + E_MIN) << KEY_BITS;
const F64 = new Float64Array(1);
const U32 = new Uint32Array(F64.buffer);
F64[0] = 1;
/** HI and LO index the high and low words of F64 in U32 (the platform's byte order). */
const HI = U32[1] === 0x3ff0_0000 ? 1 : 0;
const LO = 1 - HI;
const BUCKET_BIN = new Int16Array((E_MAX - E_MIN) << KEY_BITS);
const FIRST_BIN = exactBin(2 ** E_MIN);
/** UPPER[b - FIRST_BIN] is the largest double whose bin is b. */
const UPPER = new Float64Array(exactBin(2 ** E_MAX) - FIRST_BIN + 2);

// step moves a positive double by one unit in the last place (+1 up, -1 down): its bits as an
// integer, the low word carrying into the high one.
function step(v: number, by: 1 | -1): number {
  F64[0] = v;
  const lo = U32[LO]! + by;
  U32[LO] = lo;
  if (lo > 0xffff_ffff || lo < 0) U32[HI] = U32[HI]! + by;
  return F64[0];
}

// buildTables fills UPPER (a few ulps' search around gamma^b per bin) and then BUCKET_BIN by one
// walk over the buckets' first values in order against UPPER: no logarithm per bucket. In a
// function, not at the top level, so that it can be optimised: about 9 ms of CPU at start, cold.
function buildTables(): void {
  for (let b = FIRST_BIN; b < FIRST_BIN + UPPER.length; b++) {
    let v = Math.pow(GAMMA, b);
    while (exactBin(v) > b) v = step(v, -1);
    while (exactBin(step(v, 1)) <= b) v = step(v, 1);
    UPPER[b - FIRST_BIN] = v;
  }
  let b = FIRST_BIN;
  for (let k = 0; k < BUCKET_BIN.length; k++) {
    const first = 2 ** (E_MIN + (k >> KEY_BITS)) * (1 + (k & ((1 << KEY_BITS) - 1)) / (1 << KEY_BITS));
    while (first > UPPER[b - FIRST_BIN]!) b++;
    BUCKET_BIN[k] = b;
  }
}
buildTables();

/** binOf is the bin a value in milliseconds lands in (Sketch.addBin), ZERO_BIN for the zero bin. */
export function binOf(v: number): number {
  if (!(v >= MIN_VALUE_MS)) return ZERO_BIN;
  F64[0] = v;
  const k = (U32[HI]! >>> (20 - KEY_BITS)) - KEY_BASE;
  if (k >= BUCKET_BIN.length) return exactBin(v);
  const b = BUCKET_BIN[k]!;
  return v > UPPER[b - FIRST_BIN]! ? b + 1 : b;
}

/**
 * MIN_BIN and MAX_BIN bound the bins binOf can answer (besides ZERO_BIN): MIN_VALUE_MS's and the
 * largest double's (~36,000 bins apart). A sketch's dense bin array spans at most that, so a
 * received bin outside it is malformed: accepted, it would make a later dense array too large to
 * allocate (validate-batch, pack's mergeData refuse it).
 */
export const MIN_BIN = binOf(MIN_VALUE_MS);
export const MAX_BIN = binOf(Number.MAX_VALUE);

/** binOfByLog is binOf by its definition, a logarithm (tests check binOf against it). */
export function binOfByLog(v: number): number {
  return v >= MIN_VALUE_MS ? exactBin(v) : ZERO_BIN;
}

// binValue is the representative of bin i: the point whose relative distance to both bin bounds
// (gamma^(i-1), gamma^i] is the same, a.
function binValue(i: number): number {
  return (2 * Math.pow(GAMMA, i)) / (GAMMA + 1);
}

function clamp(v: number, lo: number, hi: number): number {
  return v < lo ? lo : v > hi ? hi : v;
}
