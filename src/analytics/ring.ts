// ring.ts: ring buffers of time buckets, kept in pages. Bucket number b (t / ms, floored) lives in
// page floor(b / PAGE); a ring keeps enough pages to hold its last `slots` buckets (one more than
// slots / PAGE, so the oldest bucket of the span is never in a page already dropped), and a page is
// dropped whole when a newer page claims its place, so retention needs no sweep. The buckets that
// fell out of the span are cut from the oldest page a few at a time as the live bucket moves on (a
// 1 min ring of 60 would hold up to 119 buckets at minute 59 otherwise): a ring holds at most its
// span plus trimStep(slots) - 1 buckets, and a bucket older than the span is refused. Only the newest
// bucket written is held as numbers; every other bucket sits in its page, packed into a one-byte
// string (varint deltas: counters and quantile codes change little from bucket to bucket), so a
// quiet hour costs nothing and a busy one a few bytes a bucket instead of 66. A page is decoded on
// read (one decoded page is cached for the whole process) and rewritten when a bucket joins it.
// Counters are exact (integers to 2^53 as varints, anything else as a Float64). Latency quantiles
// (p50, p90, p99, max) are a code each on a log scale of 0.5% steps (relative error ≤ 0.25%, a
// quarter of the sketch's own). Measured costs: docs/analytics.md.
import type { Quantiles } from "./types.ts";
import type { Resolution } from "./resolutions.ts";
import { BitReader, BitWriter } from "./bits.ts";
import { unzigzag, zigzag } from "./pack.ts";

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

/** PAGE is how many buckets a page holds. */
export const PAGE = 60;

/**
 * trimStep is how many buckets out of the span a ring lets pile up in its oldest page before it
 * cuts them (a page rewrite): a quarter of the span, at most a quarter of a page.
 */
export function trimStep(slots: number): number {
  return Math.max(1, Math.min(PAGE / 4, Math.ceil(slots / 4)));
}

/** Bucket is one bucket's values: counters by column id, quantile codes by part id × 4 (absent: 0). */
interface Bucket {
  c: number[];
  q: number[] | undefined;
}

// Registry of column and part names, shared by every ring: ids index a bucket's arrays and the
// masks of a packed record (at most 30 of each; the store uses 11 columns and 5 parts).
class Names {
  readonly list: string[] = [];
  readonly #ids = new Map<string, number>();
  id(name: string): number {
    let id = this.#ids.get(name);
    if (id === undefined) {
      if (this.list.length >= 30) throw new Error(`ring: too many names (${name})`);
      id = this.list.push(name) - 1;
      this.#ids.set(name, id);
    }
    return id;
  }
  find(name: string): number | undefined {
    return this.#ids.get(name);
  }
}
const COLUMNS = new Names();
const PARTS = new Names();

/** Ring keeps counters and quantiles per bucket for one resolution, in pages (see the top). */
export class Ring {
  readonly res: Resolution;
  /** #pages[k] is the packed page held at place k (undefined: none yet), #held[k] its page number (-1: none). */
  readonly #pages: (string | undefined)[];
  readonly #held: number[];
  /** #cutB: the newest bucket cut (every older one is gone too; -1: none). */
  #cutB = -1;
  #liveB = -1;
  #live: Bucket | undefined;

  constructor(res: Resolution) {
    this.res = res;
    const n = Math.ceil((res.slots - 1) / PAGE) + 1;
    this.#pages = new Array<string | undefined>(n).fill(undefined);
    this.#held = new Array<number>(n).fill(-1);
  }

  /** bucket is the bucket number of time t (ms). */
  bucket(t: number): number {
    return Math.floor(t / this.res.ms);
  }

  /**
   * claim makes b writable (its page dropping an older page from its place); false when b is older
   * than what its place holds (out of the span). The newest bucket claimed is the live one.
   */
  claim(b: number): boolean {
    if (b === this.#liveB) return true;
    if (b <= this.#liveB - this.res.slots) return false;
    const pg = Math.floor(b / PAGE);
    const at = pg % this.#pages.length;
    const held = this.#held[at]!;
    if (held > pg) return false;
    if (held < pg) {
      if (this.#live && Math.floor(this.#liveB / PAGE) === held) this.#live = undefined;
      this.#held[at] = pg;
      this.#pages[at] = undefined;
    }
    if (b > this.#liveB) {
      this.#flush();
      this.#liveB = b;
      // Sized to the columns known: an array grown from empty reserves 17 slots.
      this.#live = { c: new Array<number>(COLUMNS.list.length).fill(0), q: undefined };
      this.#trim();
    } else this.#edit(b, () => {});
    return true;
  }

  // #trim cuts the buckets out of the span (b <= liveB - slots) from the pages holding them: a
  // page wholly out is dropped at once; the one partly out is rewritten each trimStep buckets.
  #trim(): void {
    const last = this.#liveB - this.res.slots; // the newest bucket out of the span
    const whole = Math.floor((last + 1) / PAGE) > Math.floor((this.#cutB + 1) / PAGE);
    if (!whole && last - this.#cutB < trimStep(this.res.slots)) return;
    this.#cutB = last;
    this.#held.forEach((pg, at) => {
      const out = last - pg * PAGE + 1; // how many of the page's buckets are out
      const page = this.#pages[at];
      if (!page || out <= 0) return;
      const recs = out >= PAGE ? [] : unpackPage(page).fill(undefined, 0, out);
      this.#pages[at] = recs.some((r) => r) ? remember(packPage(recs), recs) : undefined;
    });
  }

  /** holds tells whether bucket b was written (within what the ring keeps). */
  holds(b: number): boolean {
    return this.#read(b) !== undefined;
  }

  /** add adds v to counter name of bucket b (ignored when b is out of the span). */
  add(b: number, name: string, v: number): void {
    this.addMany(b, [[name, v]]);
  }

  /** addMany adds several counters to bucket b at once (one page rewrite for a late bucket). */
  addMany(b: number, values: readonly (readonly [string, number])[]): void {
    const ok = values.filter(([, v]) => v !== 0 && Number.isFinite(v));
    if (ok.length === 0 || !this.claim(b)) return;
    this.#write(b, (r) => {
      for (const [name, v] of ok) {
        const id = COLUMNS.id(name);
        r.c[id] = (r.c[id] ?? 0) + v;
      }
    });
  }

  /** set sets counter name of bucket b (a gauge). */
  set(b: number, name: string, v: number): void {
    if (!this.claim(b)) return;
    const id = COLUMNS.id(name);
    this.#write(b, (r) => {
      r.c[id] = v;
    });
  }

  /** get reads counter name of bucket b (0 when absent). */
  get(b: number, name: string): number {
    const id = COLUMNS.find(name);
    return id === undefined ? 0 : (this.#read(b)?.c[id] ?? 0);
  }

  /** setQuantiles stores part's quantiles for bucket b. */
  setQuantiles(b: number, part: string, q: Quantiles): void {
    if (!this.claim(b)) return;
    const at = PARTS.id(part) * 4;
    this.#write(b, (r) => {
      // One part (a route's) or every known part (a service's): exact sizes, not a grown array's 17.
      let codes = (r.q ??= new Array<number>(at === 0 ? 4 : PARTS.list.length * 4).fill(0));
      if (codes.length < at + 4)
        r.q = codes = [...codes, ...new Array<number>(at + 4 - codes.length).fill(0)];
      codes[at] = encode(q.p50);
      codes[at + 1] = encode(q.p90);
      codes[at + 2] = encode(q.p99);
      codes[at + 3] = encode(q.max);
    });
  }

  /** getQuantiles reads part's quantiles for bucket b; undefined when none were stored. */
  getQuantiles(b: number, part: string): Quantiles | undefined {
    const id = PARTS.find(part);
    const codes = id === undefined ? undefined : this.#read(b)?.q;
    const at = (id ?? 0) * 4;
    if (!codes || !codes[at]) return undefined;
    return {
      p50: decode(codes[at]!),
      p90: decode(codes[at + 1]!),
      p99: decode(codes[at + 2]!),
      max: decode(codes[at + 3]!),
    };
  }

  /** slot reads bucket b for saving: non-zero counters by name, quantiles by part; undefined when not held. */
  slot(b: number): SlotData | undefined {
    const r = this.#read(b);
    if (!r) return undefined;
    const c: Record<string, number> = {};
    r.c.forEach((v, id) => {
      if (v) c[COLUMNS.list[id]!] = v;
    });
    const q: Record<string, number[]> = {};
    for (let id = 0; r.q && id * 4 < r.q.length; id++) {
      const v = this.getQuantiles(b, PARTS.list[id]!);
      if (v) q[PARTS.list[id]!] = [v.p50, v.p90, v.p99, v.max];
    }
    return Object.keys(q).length > 0 ? { c, q } : { c };
  }

  /** buckets lists the bucket numbers held, oldest first. */
  buckets(): number[] {
    const out: number[] = [];
    this.#held.forEach((pg, at) => {
      const page = this.#pages[at];
      if (page) unpackPage(page).forEach((r, s) => r && out.push(pg * PAGE + s));
    });
    if (this.#live) out.push(this.#liveB);
    return out.sort((a, b) => a - b);
  }

  /** bytes estimates the memory the ring holds: its packed pages and the live bucket. */
  bytes(): number {
    let n = 64 + this.#pages.length * 16;
    for (const p of this.#pages) if (p) n += 16 + p.length;
    if (this.#live) n += 48 + 8 * (this.#live.c.length + (this.#live.q?.length ?? 0));
    return n;
  }

  // #read answers bucket b's values: the live bucket, or the record in its (decoded, cached) page.
  #read(b: number): Bucket | undefined {
    if (b === this.#liveB) return this.#live;
    const pg = Math.floor(b / PAGE);
    const at = pg % this.#pages.length;
    const page = this.#held[at] === pg ? this.#pages[at] : undefined;
    return page ? decoded(page)[b - pg * PAGE] : undefined;
  }

  #write(b: number, fn: (r: Bucket) => void): void {
    if (b === this.#liveB && this.#live) fn(this.#live);
    else this.#edit(b, fn);
  }

  // #edit changes a bucket kept in its page: decode, change, pack again (a late batch: rare).
  #edit(b: number, fn: (r: Bucket) => void): void {
    const pg = Math.floor(b / PAGE);
    const at = pg % this.#pages.length;
    if (this.#held[at] !== pg) return;
    const page = this.#pages[at];
    const recs = page ? unpackPage(page) : new Array<Bucket | undefined>(PAGE);
    fn((recs[b - pg * PAGE] ??= { c: [], q: undefined }));
    this.#pages[at] = remember(packPage(recs), recs);
  }

  // #flush moves the live bucket into its page (when a newer bucket becomes the live one).
  #flush(): void {
    const live = this.#live;
    if (!live) return;
    this.#live = undefined;
    const b = this.#liveB;
    const pg = Math.floor(b / PAGE);
    const at = pg % this.#pages.length;
    const page = this.#held[at] === pg ? this.#pages[at] : undefined;
    // The usual case: the bucket is the page's newest, so only its bits are written.
    const appended = page ? appendPage(page, b - pg * PAGE, { c: live.c, q: live.q }) : undefined;
    if (appended) {
      this.#pages[at] = remember(appended.page, appended.recs);
      return;
    }
    this.#edit(b, (r) => {
      r.c = live.c;
      r.q = live.q;
    });
  }
}

/** SlotData is one bucket of a Ring as saved: counters by column, quantiles by part ([p50, p90, p99, max]). */
export interface SlotData {
  c: Record<string, number>;
  q?: Record<string, number[]>;
}

/** dumpSlot reads bucket b of ring for saving; undefined when the ring does not hold it. */
export function dumpSlot(ring: Ring, b: number): SlotData | undefined {
  return ring.slot(b);
}

/** loadSlot writes a saved bucket back into ring (ignored when a newer bucket holds its place). */
export function loadSlot(ring: Ring, b: number, d: SlotData): void {
  if (!ring.claim(b)) return;
  for (const [name, v] of Object.entries(d.c)) ring.set(b, name, v);
  for (const [part, [p50, p90, p99, max]] of Object.entries(d.q ?? {}))
    ring.setQuantiles(b, part, { p50: p50!, p90: p90!, p99: p99!, max: max! });
}

// The last page decoded or packed, by content: reads walk a ring's buckets in order, so one page
// decoded serves PAGE reads. Records in it are never changed (an edit decodes its own copy).
let cached: { page: string; recs: (Bucket | undefined)[] } | undefined;

function decoded(page: string): (Bucket | undefined)[] {
  if (cached?.page !== page) cached = { page, recs: unpackPage(page) };
  return cached.recs;
}

function remember(page: string, recs: (Bucket | undefined)[]): string {
  cached = { page, recs };
  return page;
}

// A packed page is the number of its records, then its records in bucket order, each: a head
// (the gap from the previous record's place, times 4, plus 2 when the column mask is the previous
// record's and 1 when the part mask is), the mask of the non-zero columns unless the same, their
// values (an integer as 1 + the zigzag delta from the column's previous value; anything else as
// 0 and a Float64), the mask of the parts with quantiles unless the same, and their four codes
// (p50 and the steps p90 - p50, p99 - p90, max - p99, each as the zigzag delta from the part's
// previous record). Every value is an adaptive Rice code (bits.ts) in a context of its own (the
// head, each column, each part's four codes): a minute's deltas need 4–7 bits, where a varint took
// 8 or 16 (a dense day's 1 min record: ~37 bytes as varints, ~27 as Rice codes). The masks rarely
// change from one bucket to the next: leaving them out saves most of their bits.
const MAX_DELTA = 2 ** 50;
/** Contexts of a page's values: the head, then each column's, then each part's four codes. */
const HEAD = 0;
const COLUMN_CTX = 1;
const CODE_CTX = 31;

/** Cursor is where a page's codec stands after a record: what the next record's deltas start from. */
interface Cursor {
  prevC: number[];
  /**
   * prevQ: per code, what its next value is predicted to be, times 4: p50's previous value (a
   * service's level moves), each step's running mean (its shape is steady and its noise is not:
   * a minute's p99 - p90 jumps by 10–50%, and the mean of the last few predicts it better than the
   * last alone, ~1 byte a record of a dense day's 1 min ring).
   */
  prevQ: number[];
  /** prev: the last record's place (-1: none); count: the records so far. */
  prev: number;
  count: number;
  mask: number;
  qmask: number;
}

function cursor(): Cursor {
  return { prevC: [], prevQ: [], prev: -1, count: 0, mask: 0, qmask: 0 };
}

// COUNT_BITS: a page starts with its record count (PAGE < 64) in a fixed width, so that an append
// rewrites it in place.
const COUNT_BITS = 6;

function packPage(recs: readonly (Bucket | undefined)[]): string {
  const w = new BitWriter();
  const cur = cursor();
  w.bits(0, COUNT_BITS);
  recs.forEach((r, s) => r && writeRecord(w, cur, s, r));
  w.patch((b) => (cur.count << 2) | (b & 3));
  return w.done();
}

/** readPage decodes a page: its records by place, and the reader and cursor after the last one. */
function readPage(page: string): { recs: (Bucket | undefined)[]; reader: BitReader; cur: Cursor } {
  const recs = new Array<Bucket | undefined>(PAGE);
  const reader = new BitReader(page);
  const cur = cursor();
  for (let left = reader.bits(COUNT_BITS); left > 0; left--) {
    const r = readRecord(reader, cur);
    recs[cur.prev] = r;
  }
  return { recs, reader, cur };
}

function unpackPage(page: string): (Bucket | undefined)[] {
  return readPage(page).recs;
}

/**
 * appendPage adds record r at place s after every record of page, writing only r's bits after the
 * page's (the page is read once, for the cursor); undefined when s is not after them all.
 */
function appendPage(
  page: string,
  s: number,
  r: Bucket,
): { page: string; recs: (Bucket | undefined)[] } | undefined {
  const { recs, reader, cur } = readPage(page);
  if (s <= cur.prev) return undefined;
  const w = new BitWriter(reader);
  writeRecord(w, cur, s, r);
  w.patch((b) => (cur.count << 2) | (b & 3));
  recs[s] = r;
  return { page: w.done(), recs };
}

/** predicted answers code k's expected value (an integer: the codes are exact). */
function predicted(cur: Cursor, k: number): number {
  return Math.round((cur.prevQ[k] ?? 0) / 4);
}

/** learnCode takes code k's value into its prediction: p50's last, a step's mean of about 4. */
function learnCode(cur: Cursor, k: number, x: number): void {
  const m = cur.prevQ[k];
  cur.prevQ[k] = m === undefined || k % 4 === 0 ? 4 * x : m + x - Math.round(m / 4);
}

function writeRecord(w: BitWriter, cur: Cursor, s: number, r: Bucket): void {
  let mask = 0;
  r.c.forEach((v, id) => {
    if (v) mask |= 1 << id;
  });
  const q = r.q ?? [];
  let qmask = 0;
  for (let id = 0; id * 4 < q.length; id++) if (q[id * 4]) qmask |= 1 << id;
  // The gap and two flags in one value: a mask the same as the previous record's is left out.
  w.uint(HEAD, (s - cur.prev - 1) * 4 + (mask === cur.mask ? 2 : 0) + (qmask === cur.qmask ? 1 : 0));
  cur.prev = s;
  cur.count++;
  if (mask !== cur.mask) w.full(mask);
  cur.mask = mask;
  for (let id = 0; id < r.c.length; id++) {
    const v = r.c[id];
    if (!v) continue;
    const d = v - (cur.prevC[id] ?? 0);
    if (Number.isSafeInteger(v) && Number.isSafeInteger(d) && Math.abs(d) < MAX_DELTA)
      w.uint(COLUMN_CTX + id, zigzag(d) + 1);
    else {
      w.uint(COLUMN_CTX + id, 0);
      w.float(v);
    }
    cur.prevC[id] = v;
  }
  if (qmask !== cur.qmask) w.full(qmask);
  cur.qmask = qmask;
  for (let id = 0; id * 4 < q.length; id++) {
    if (!q[id * 4]) continue;
    for (let k = id * 4; k < id * 4 + 4; k++) {
      // p50 itself, then each quantile's step from the one before: a latency's shape changes
      // less from bucket to bucket than its level, so the steps' deltas are small.
      const x = k === id * 4 ? q[k]! : q[k]! - q[k - 1]!;
      w.uint(CODE_CTX + k, zigzag(x - predicted(cur, k)));
      learnCode(cur, k, x);
    }
  }
}

function readRecord(r: BitReader, cur: Cursor): Bucket {
  const head = r.uint(HEAD);
  cur.prev += Math.floor(head / 4) + 1;
  cur.count++;
  if (!(head & 2)) cur.mask = r.full();
  const mask = cur.mask;
  const c: number[] = [];
  for (let id = 0; 1 << id <= mask && id < 31; id++) {
    if (!(mask & (1 << id))) {
      c.push(0);
      continue;
    }
    const z = r.uint(COLUMN_CTX + id);
    const v = z === 0 ? r.float() : (cur.prevC[id] ?? 0) + unzigzag(z - 1);
    c.push(v);
    cur.prevC[id] = v;
  }
  if (!(head & 1)) cur.qmask = r.full();
  const qmask = cur.qmask;
  let q: number[] | undefined;
  for (let id = 0; 1 << id <= qmask && id < 31; id++) {
    q ??= [];
    for (let k = id * 4; k < id * 4 + 4; k++) {
      if (!(qmask & (1 << id))) {
        q.push(0);
        continue;
      }
      const x = predicted(cur, k) + unzigzag(r.uint(CODE_CTX + k));
      q.push(k === id * 4 ? x : q[k - 1]! + x);
      learnCode(cur, k, x);
    }
  }
  return { c, q };
}

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
