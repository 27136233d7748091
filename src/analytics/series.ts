// series.ts: one time series (a virtual service, a route or a backend) at each of its resolutions.
// Counters add into the bucket of each ring; latency merges into one sketch per ring and timing
// part for the bucket being filled (packed, pack.ts: a dense live sketch per part cost ~1.4 KiB,
// most of the live store), whose quantiles are written into the ring when the next bucket starts
// (so a closed bucket costs 16 bytes per part, not a sketch). A batch arriving after
// its bucket was closed still adds its counters; its latency is then left out of that bucket.
import { Sketch } from "./sketch.ts";
import { mergePacked, unpack } from "./pack.ts";
import { Ring } from "./ring.ts";
import type { Resolution } from "./resolutions.ts";
import type { Measures, Quantiles, SeriesPoint, SketchData, TimingPart } from "./types.ts";

/** COUNTERS are the counter columns every series keeps (classes are counted per response class). */
export const COUNTERS = ["requests", "bytesIn", "bytesOut", "connNew", "connOpen"] as const;

/** CLASSES are the response classes a bucket counts; "none": the exchange broke before a status. */
export const CLASSES = ["1xx", "2xx", "3xx", "4xx", "5xx", "none"] as const;

/** classOf maps a status code ("200", "0") to its class. */
export function classOf(code: string): (typeof CLASSES)[number] {
  const n = Number(code);
  return n >= 100 && n < 600 ? (`${Math.floor(n / 100)}xx` as "2xx") : "none";
}

/** quantilesOf answers p50/p90/p99/max of a sketch. */
export function quantilesOf(s: Sketch): Quantiles {
  return { p50: s.quantile(0.5), p90: s.quantile(0.9), p99: s.quantile(0.99), max: s.max };
}

/** Open is a bucket still filling: its number and part's sketch, packed (pack.ts). */
interface Open {
  b: number;
  part: TimingPart;
  packed: string;
}

function sketchOf(o: Open): Sketch {
  return Sketch.fromData(unpack(o.packed)[o.part]!);
}

/** SeriesData is one series' rings and the sketches of the buckets being filled. */
export class SeriesData {
  readonly rings: Ring[];
  /** parts are the timing parts whose quantiles this series keeps (none for backends). */
  readonly parts: readonly TimingPart[];
  /** latencyRings is how many rings, finest first, keep quantiles (each costs a live sketch per part). */
  readonly latencyRings: number;
  /** lastAt is the newest batch time added (ms), for dropping series silent beyond every span. */
  lastAt = 0;
  /** #open: the packed sketch per ring and part ("i part") still filling; made on first use (a backend keeps none). */
  #open: Map<string, Open> | undefined;

  constructor(
    resolutions: readonly Resolution[],
    parts: readonly TimingPart[],
    latencyRings = resolutions.length,
  ) {
    this.rings = resolutions.map((r) => new Ring(r));
    this.parts = parts;
    this.latencyRings = latencyRings;
  }

  /** add merges one interval's measures into the bucket of `at` at every resolution. */
  add(at: number, m: Measures): void {
    if (at > this.lastAt) this.lastAt = at;
    const counts: [string, number][] = [
      ["requests", m.requests],
      ["bytesIn", m.bytesIn],
      ["bytesOut", m.bytesOut],
      ["connNew", m.connNew],
    ];
    for (const [code, n] of Object.entries(m.codes)) counts.push([classOf(code), n]);
    this.rings.forEach((ring, i) => {
      const b = ring.bucket(at);
      const parts = i < this.latencyRings ? this.parts.filter((p) => (m.latency[p]?.count ?? 0) > 0) : [];
      // The quantiles of a bucket this batch ends are written before the ring moves on to the new
      // bucket, while the old one is still the ring's live bucket (not yet packed into its page).
      for (const part of parts) {
        const o = this.#open?.get(`${i} ${part}`);
        if (o && o.b < b) this.#close(`${i} ${part}`, o);
      }
      if (!ring.claim(b)) return;
      ring.addMany(b, counts);
      for (const part of parts) this.#merge(i, b, part, m.latency[part]!);
    });
  }

  /** setGauge sets a gauge column for the bucket of `at` at every resolution. */
  setGauge(at: number, name: string, value: (ring: Ring, b: number) => number): void {
    for (const ring of this.rings) {
      const b = ring.bucket(at);
      ring.set(b, name, value(ring, b));
    }
  }

  /**
   * shared, for rings past latencyRings, answers the live sketches of a bucket still filling that
   * another owner keeps (a virtual service's cells), so they are not kept twice.
   */
  shared: ((res: string, b: number) => Partial<Record<TimingPart, Sketch>> | undefined) | undefined;

  /** quantiles answers part's quantiles of bucket b of ring i (from the live sketch while it fills). */
  quantiles(i: number, b: number, part: TimingPart): Quantiles | undefined {
    const o = this.#open?.get(`${i} ${part}`);
    if (o && o.b === b) return quantilesOf(sketchOf(o));
    const stored = this.rings[i]!.getQuantiles(b, part);
    if (stored || i < this.latencyRings) return stored;
    const s = this.shared?.(this.rings[i]!.res.name, b)?.[part];
    return s && s.count > 0 ? quantilesOf(s) : undefined;
  }

  /** point reads bucket b of ring i as a SeriesPoint (zeros when the ring holds nothing for it). */
  point(i: number, b: number): SeriesPoint {
    const ring = this.rings[i]!;
    const classes: Record<string, number> = {};
    for (const c of CLASSES) {
      const n = ring.get(b, c);
      if (n > 0) classes[c] = n;
    }
    const latency: SeriesPoint["latency"] = {};
    for (const part of this.parts) {
      const q = this.quantiles(i, b, part);
      if (q) latency[part] = q;
    }
    return {
      t: b * ring.res.ms,
      requests: ring.get(b, "requests"),
      classes,
      bytesIn: ring.get(b, "bytesIn"),
      bytesOut: ring.get(b, "bytesOut"),
      connNew: ring.get(b, "connNew"),
      connOpen: ring.get(b, "connOpen"),
      latency,
    };
  }

  /** seal writes the quantiles of every live sketch whose bucket ended before `now` (before a save). */
  seal(now: number): void {
    for (const [key, o] of this.#open ?? []) {
      const i = Number(key.split(" ")[0]);
      if (o.b < this.rings[i]!.bucket(now)) this.#close(key, o);
    }
  }

  /** bytes estimates the series' memory: its arrays and live sketches (their bin arrays). */
  bytes(): number {
    let n = 0;
    for (const r of this.rings) n += r.bytes();
    for (const o of this.#open?.values() ?? []) n += 100 + o.packed.length;
    return n;
  }

  #merge(i: number, b: number, part: TimingPart, d: SketchData): void {
    const key = `${i} ${part}`;
    const open = (this.#open ??= new Map());
    const o = open.get(key);
    if (o && o.b === b) {
      o.packed = mergePacked(o.packed, { [part]: d });
      return;
    }
    if (o && o.b > b) return; // late: that bucket's quantiles are already written
    if (o) this.#close(key, o);
    open.set(key, { b, part, packed: mergePacked("", { [part]: d }) });
  }

  #close(key: string, o: Open): void {
    const [i, part] = key.split(" ") as [string, string];
    this.rings[Number(i)]!.setQuantiles(o.b, part, quantilesOf(sketchOf(o)));
    this.#open?.delete(key);
  }
}
