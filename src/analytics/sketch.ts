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

/** Sketch is a live DDSketch; add values, merge others, ask quantiles, serialise with toData. */
export class Sketch {
  count = 0;
  sum = 0;
  min = Infinity;
  max = -Infinity;
  zero = 0;
  readonly bins = new Map<number, number>();

  /** add records one value in milliseconds (negative and NaN values count as 0). */
  add(v: number): void {
    if (!(v > 0)) v = 0;
    this.count++;
    this.sum += v;
    if (v < this.min) this.min = v;
    if (v > this.max) this.max = v;
    if (v < MIN_VALUE_MS) this.zero++;
    else {
      const i = Math.ceil(Math.log(v) / LOG_GAMMA);
      this.bins.set(i, (this.bins.get(i) ?? 0) + 1);
    }
  }

  /** merge adds another sketch's samples (live or serialised) to this one. */
  merge(o: Sketch | SketchData): void {
    if (o.count === 0) return;
    this.count += o.count;
    this.sum += o.sum;
    this.zero += o.zero;
    if (o.min < this.min) this.min = o.min;
    if (o.max > this.max) this.max = o.max;
    if (o instanceof Sketch) for (const [i, c] of o.bins) this.bins.set(i, (this.bins.get(i) ?? 0) + c);
    else
      for (let k = 0; k + 1 < o.bins.length; k += 2)
        this.bins.set(o.bins[k]!, (this.bins.get(o.bins[k]!) ?? 0) + o.bins[k + 1]!);
  }

  /** quantile answers the q-quantile (0..1) within the relative accuracy; NaN when empty. */
  quantile(q: number): number {
    if (this.count === 0) return NaN;
    if (q <= 0) return this.min;
    if (q >= 1) return this.max;
    const rank = q * (this.count - 1);
    let seen = this.zero;
    if (seen > rank) return 0;
    for (const i of [...this.bins.keys()].sort((a, b) => a - b)) {
      seen += this.bins.get(i)!;
      if (seen > rank) return clamp(binValue(i), this.min, this.max);
    }
    return this.max;
  }

  /** countBelow estimates how many samples are ≤ v (within the relative accuracy): Apdex counts. */
  countBelow(v: number): number {
    if (v < MIN_VALUE_MS) return v >= 0 ? this.zero : 0;
    const top = Math.ceil(Math.log(v) / LOG_GAMMA);
    let n = this.zero;
    for (const [i, c] of this.bins) if (i <= top) n += c;
    return n;
  }

  /** toData serialises the sketch (bins sorted by index). */
  toData(): SketchData {
    const bins: number[] = [];
    for (const i of [...this.bins.keys()].sort((a, b) => a - b)) bins.push(i, this.bins.get(i)!);
    return {
      count: this.count,
      sum: this.sum,
      min: this.count ? this.min : 0,
      max: this.count ? this.max : 0,
      zero: this.zero,
      bins,
    };
  }

  /** fromData rebuilds a live sketch from its serialised form. */
  static fromData(d: SketchData): Sketch {
    const s = new Sketch();
    s.merge(d);
    return s;
  }
}

// binValue is the representative of bin i: the point whose relative distance to both bin bounds
// (gamma^(i-1), gamma^i] is the same, a.
function binValue(i: number): number {
  return (2 * Math.pow(GAMMA, i)) / (GAMMA + 1);
}

function clamp(v: number, lo: number, hi: number): number {
  return v < lo ? lo : v > hi ? hi : v;
}
