// ring.ts: fixed-size ring buffers of time buckets. Bucket number b (t / ms, floored) lives in slot
// b % slots; a slot holding an older bucket is cleared when a newer one claims it, so retention is
// the ring's size and needs no sweep. Columns are allocated on the first non-zero value, so a
// counter that never moves (1xx, new connections of a route) costs nothing. A column is as narrow
// as its values allow and widens, exactly, when one does not fit: counts start as Uint16 (a 5 s
// bucket of a service below 13 k requests/s), byte counters as Uint32 (4 GiB a bucket), and either
// widens to Uint32 and then Float64 (exact to 2^53); every column lives in one ArrayBuffer per ring.
// Latency quantiles (p50, p90, p99, max) are a Uint16 each on a log scale of 0.5% steps (relative error ≤ 0.25%, a quarter of the sketch's own; 8 bytes a part instead of 16 as
// Float32 — the quantiles are most of a virtual service's memory).
import type { Quantiles } from "./types.ts";
import type { Resolution } from "./resolutions.ts";

/** STEP is the quantile code's log step (0.5%); code 0 is "no value", 1 is 0 ms. */
const STEP = 0.005;
const ZERO_CODE = 1;
const MID = 32_768;

/** encode maps a latency (ms) to its Uint16 code. */
export function encode(v: number): number {
  if (!(v > 0)) return ZERO_CODE;
  return Math.min(0xffff, Math.max(2, Math.round(Math.log(v) / STEP) + MID));
}

/** decode maps a code back to a latency (ms), within 0.25% of the encoded one. */
export function decode(code: number): number {
  return code <= ZERO_CODE ? 0 : Math.exp((code - MID) * STEP);
}

/** Column is one counter's values per slot, in the narrowest array its values fit. */
export type Column = Uint16Array | Uint32Array | Float64Array;

/** Ring keeps counters and quantiles per bucket for one resolution. */
export class Ring {
  readonly res: Resolution;
  /** stamp[slot] is the bucket number the slot holds; -1: never written (a view into the ring's buffer). */
  stamp: Int32Array = EMPTY_STAMP;
  readonly counters = new Map<string, Column>();
  readonly quantiles = new Map<string, Uint16Array>();

  constructor(res: Resolution) {
    this.res = res;
    this.#layout();
    this.stamp.fill(-1);
  }

  /** bucket is the bucket number of time t (ms). */
  bucket(t: number): number {
    return Math.floor(t / this.res.ms);
  }

  /** claim returns b's slot, clearing an older bucket out of it; -1 when b is older than the slot's (out of the span). */
  claim(b: number): number {
    const s = b % this.res.slots;
    const held = this.stamp[s]!;
    if (held === b) return s;
    if (held > b) return -1;
    this.stamp[s] = b;
    for (const col of this.counters.values()) col[s] = 0;
    for (const col of this.quantiles.values()) col.fill(0, s * 4, s * 4 + 4);
    return s;
  }

  /** slotOf returns b's slot when the ring holds b, else -1. */
  slotOf(b: number): number {
    const s = b % this.res.slots;
    return this.stamp[s] === b ? s : -1;
  }

  /** add adds v to counter name of bucket b (ignored when b is out of the span). */
  add(b: number, name: string, v: number): void {
    if (v === 0 || !Number.isFinite(v)) return;
    const s = this.claim(b);
    if (s < 0) return;
    const col = this.column(name);
    this.#write(name, col, s, col[s]! + v);
  }

  /** set sets counter name of bucket b (a gauge). */
  set(b: number, name: string, v: number): void {
    const s = this.claim(b);
    if (s < 0) return;
    const col = v === 0 ? this.counters.get(name) : this.column(name);
    if (col) this.#write(name, col, s, v);
  }

  /** get reads counter name of bucket b (0 when absent). */
  get(b: number, name: string): number {
    const s = this.slotOf(b);
    return s < 0 ? 0 : (this.counters.get(name)?.[s] ?? 0);
  }

  /** setQuantiles stores part's quantiles for bucket b. */
  setQuantiles(b: number, part: string, q: Quantiles): void {
    const s = this.claim(b);
    if (s < 0) return;
    let col = this.quantiles.get(part);
    if (!col) {
      this.#layout(undefined, part);
      col = this.quantiles.get(part)!;
    }
    col.set([encode(q.p50), encode(q.p90), encode(q.p99), encode(q.max)], s * 4);
  }

  /** getQuantiles reads part's quantiles for bucket b; undefined when none were stored. */
  getQuantiles(b: number, part: string): Quantiles | undefined {
    const s = this.slotOf(b);
    const col = s < 0 ? undefined : this.quantiles.get(part);
    if (!col || col[s * 4] === 0) return undefined;
    const at = s * 4;
    return {
      p50: decode(col[at]!),
      p90: decode(col[at + 1]!),
      p99: decode(col[at + 2]!),
      max: decode(col[at + 3]!),
    };
  }

  /** buckets lists the bucket numbers held, oldest first. */
  buckets(): number[] {
    return [...this.stamp].filter((b) => b >= 0).sort((a, b) => a - b);
  }

  /** bytes is the memory the ring's arrays hold. */
  bytes(): number {
    return this.stamp.buffer.byteLength;
  }

  private column(name: string): Column {
    const col = this.counters.get(name);
    if (col) return col;
    this.#layout([name, name.startsWith("bytes") ? Uint32Array : Uint16Array]);
    return this.counters.get(name)!;
  }

  // #write stores v in slot s of column name, first widening the column when v does not fit it.
  #write(name: string, col: Column, s: number, v: number): void {
    const limit = col instanceof Uint16Array ? 0xffff : col instanceof Uint32Array ? 0xffff_ffff : Infinity;
    if (v > limit || v < 0 || !Number.isInteger(v)) {
      const wide = col instanceof Uint16Array && Number.isInteger(v) && v >= 0 && v <= 0xffff_ffff;
      this.#layout([name, wide ? Uint32Array : Float64Array]);
      col = this.counters.get(name)!;
    }
    col[s] = v;
  }

  // #layout puts the stamps, every column and the quantile codes in one ArrayBuffer, with a column
  // added or widened (values copied, converted exactly). One backing store a ring instead of one per
  // column: each costs ~250 bytes of bookkeeping, more than a route's 60-slot column itself. Rebuilt
  // only when a column first moves or widens, a few times in a ring's life.
  #layout(counter?: [string, ColumnType], part?: string): void {
    const slots = this.res.slots;
    const cols: [string, ColumnType, Column | undefined][] = [...this.counters].map(([n, c]) => [
      n,
      c.constructor as ColumnType,
      c,
    ]);
    if (counter) {
      const at = cols.findIndex(([n]) => n === counter[0]);
      if (at >= 0) cols[at]![1] = counter[1];
      else cols.push([counter[0], counter[1], undefined]);
    }
    const parts = [...this.quantiles.keys()];
    if (part !== undefined) parts.push(part);
    // Widest first, so every view is aligned: Float64 columns, the stamps, 4-byte then 2-byte columns.
    cols.sort((x, y) => y[1].BYTES_PER_ELEMENT - x[1].BYTES_PER_ELEMENT);
    const wide = cols.filter(([, T]) => T === Float64Array);
    const rest = cols.filter(([, T]) => T !== Float64Array);
    let size = slots * 4 + parts.length * slots * 8;
    for (const [, T] of cols) size += slots * T.BYTES_PER_ELEMENT;
    const buf = new ArrayBuffer(size);
    let at = 0;
    const place = ([name, T, old]: [string, ColumnType, Column | undefined]) => {
      const view = new T(buf, at, slots);
      if (old) view.set(old);
      this.counters.set(name, view);
      at += slots * T.BYTES_PER_ELEMENT;
    };
    wide.forEach(place);
    const stamp = new Int32Array(buf, at, slots);
    stamp.set(this.stamp);
    this.stamp = stamp;
    at += slots * 4;
    rest.forEach(place);
    for (const p of parts) {
      const view = new Uint16Array(buf, at, slots * 4);
      const old = this.quantiles.get(p);
      if (old) view.set(old);
      this.quantiles.set(p, view);
      at += slots * 8;
    }
  }
}

const EMPTY_STAMP = new Int32Array(0);

type ColumnType = Uint16ArrayConstructor | Uint32ArrayConstructor | Float64ArrayConstructor;

/** ObjectRing keeps one object per bucket (sketch and top-list cells), with the same slot rules. */
export class ObjectRing<T> {
  readonly res: Resolution;
  readonly stamp: Int32Array;
  readonly cells: (T | undefined)[];

  constructor(res: Resolution) {
    this.res = res;
    this.stamp = new Int32Array(res.slots).fill(-1);
    this.cells = new Array<T | undefined>(res.slots);
  }

  /** cell returns bucket b's object, making it with make when absent; undefined when b is out of the span. */
  cell(b: number, make: () => T): T | undefined {
    const s = b % this.res.slots;
    if (this.stamp[s] === b) return this.cells[s];
    if (this.stamp[s]! > b) return undefined;
    this.stamp[s] = b;
    return (this.cells[s] = make());
  }

  /** get returns bucket b's object when held. */
  get(b: number): T | undefined {
    const s = b % this.res.slots;
    return this.stamp[s] === b ? this.cells[s] : undefined;
  }

  /** put replaces bucket b's object (loading from disk); ignored when a newer bucket holds the slot. */
  put(b: number, v: T): void {
    const s = b % this.res.slots;
    if (this.stamp[s]! > b) return;
    this.stamp[s] = b;
    this.cells[s] = v;
  }

  /** buckets lists the bucket numbers held, oldest first. */
  buckets(): number[] {
    return [...this.stamp].filter((b) => b >= 0).sort((a, b) => a - b);
  }
}

/** SlotData is one bucket of a Ring as saved: counters by column, quantiles by part ([p50, p90, p99, max]). */
export interface SlotData {
  c: Record<string, number>;
  q?: Record<string, number[]>;
}

/** dumpSlot reads bucket b of ring for saving; undefined when the ring does not hold it. */
export function dumpSlot(ring: Ring, b: number): SlotData | undefined {
  const s = ring.slotOf(b);
  if (s < 0) return undefined;
  const c: Record<string, number> = {};
  for (const [name, col] of ring.counters) if (col[s] !== 0) c[name] = col[s]!;
  const q: Record<string, number[]> = {};
  for (const part of ring.quantiles.keys()) {
    const v = ring.getQuantiles(b, part);
    if (v) q[part] = [v.p50, v.p90, v.p99, v.max];
  }
  return Object.keys(q).length > 0 ? { c, q } : { c };
}

/** loadSlot writes a saved bucket back into ring (ignored when a newer bucket holds the slot). */
export function loadSlot(ring: Ring, b: number, d: SlotData): void {
  if (ring.claim(b) < 0) return;
  for (const [name, v] of Object.entries(d.c)) ring.set(b, name, v);
  for (const [part, [p50, p90, p99, max]] of Object.entries(d.q ?? {}))
    ring.setQuantiles(b, part, { p50: p50!, p90: p90!, p99: p99!, max: max! });
}
