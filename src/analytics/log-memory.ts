// log-memory.ts: the request log in memory — one ring per virtual service, within LogBounds. Used
// where no state database is open (the kube controller, tests); the SQLite backend persists.
import { bucketOf, FULL_ONLY, serviceOf, trimPlan, type LogBackend, type LogBounds } from "./log-bounds.ts";
import { LIMIT_MAX, matches, type LogQuery } from "./log-query.ts";
import type { LogRecord } from "./types.ts";

/** MEMORY_BOUNDS: 2,000 records per virtual service, 20,000 in all: 19.7 MiB of heap measured for
 * typical records, 42 MiB when every path is 1 KiB (docs/analytics.md). */
export const MEMORY_BOUNDS: LogBounds = { perVs: 2_000, total: 20_000 };

/** Entry is a kept record with its arrival number (the order within one millisecond). */
interface Entry {
  seq: number;
  r: LogRecord;
}

/** Ring is a FIFO of entries that drops from the old end. */
class Ring {
  #buf: (Entry | undefined)[] = [];
  #head = 0;
  size = 0;

  push(e: Entry): void {
    // Grow by doubling; a ring never holds more than perVs (plus one batch) for long.
    if (this.size === this.#buf.length) {
      const old = this.#buf;
      this.#buf = new Array<Entry | undefined>(Math.max(16, old.length * 2));
      for (let i = 0; i < this.size; i++) this.#buf[i] = old[(this.#head + i) % old.length];
      this.#head = 0;
    }
    this.#buf[(this.#head + this.size) % this.#buf.length] = e;
    this.size++;
  }

  /** drop removes the n oldest entries. */
  drop(n: number): void {
    for (let i = 0; i < n && this.size > 0; i++) {
      this.#buf[this.#head] = undefined;
      this.#head = (this.#head + 1) % this.#buf.length;
      this.size--;
    }
  }

  /** oldest is the oldest entry, if any. */
  oldest(): Entry | undefined {
    return this.size > 0 ? this.#buf[this.#head] : undefined;
  }

  *entries(): Generator<Entry> {
    for (let i = 0; i < this.size; i++) yield this.#buf[(this.#head + i) % this.#buf.length]!;
  }
}

/** newestFirst orders entries by time, then arrival, newest first. */
function newestFirst(a: Entry, b: Entry): number {
  return b.r.at - a.r.at || b.seq - a.seq;
}

/** MemoryLogs is a LogBackend in memory. */
export class MemoryLogs implements LogBackend {
  readonly #rings = new Map<string, Ring>();
  readonly #bounds: LogBounds;
  #seq = 0;

  constructor(bounds: LogBounds = MEMORY_BOUNDS) {
    this.#bounds = bounds;
  }

  insert(records: readonly LogRecord[]): void {
    for (const r of records) {
      // One ring per share (bucketOf): a service's full-only records are dropped before the rest.
      const key = bucketOf(r);
      let ring = this.#rings.get(key);
      if (!ring) this.#rings.set(key, (ring = new Ring()));
      ring.push({ seq: ++this.#seq, r });
    }
    const sizes = new Map([...this.#rings].map(([vs, ring]) => [vs, ring.size]));
    for (const [key, n] of trimPlan(sizes, this.#bounds)) this.#rings.get(key)!.drop(n);
  }

  query(q: LogQuery): LogRecord[] {
    const wanted = q.vs !== undefined ? [q.vs] : q.vsIn;
    const rings =
      wanted !== undefined
        ? wanted
            .flatMap((vs) => [this.#rings.get(vs), this.#rings.get(FULL_ONLY + vs)])
            .filter((x) => x !== undefined)
        : [...this.#rings.values()];
    const hits: Entry[] = [];
    for (const ring of rings) for (const e of ring.entries()) if (matches(e.r, q)) hits.push(e);
    hits.sort(newestFirst);
    // A page never ends inside a millisecond, so `before` = its oldest at loses nothing — up to
    // LIMIT_MAX more records: a burst of one millisecond must not make one answer unbounded.
    let n = Math.min(q.limit, hits.length);
    const most = n + LIMIT_MAX;
    while (n > 0 && n < hits.length && n < most && hits[n]!.r.at === hits[n - 1]!.r.at) n++;
    return hits.slice(0, n).map((e) => e.r);
  }

  expire(before: number): number {
    let dropped = 0;
    for (const [vs, ring] of this.#rings) {
      // Records arrive about in time order; one late record delays its older neighbours' expiry
      // by at most an interval, which retention measured in days does not notice.
      while ((ring.oldest()?.r.at ?? Infinity) < before) {
        ring.drop(1);
        dropped++;
      }
      if (ring.size === 0) this.#rings.delete(vs);
    }
    return dropped;
  }

  size(): { records: number; services: number } {
    let records = 0;
    for (const ring of this.#rings.values()) records += ring.size;
    return { records, services: new Set([...this.#rings.keys()].map(serviceOf)).size };
  }

  close(): void {
    this.#rings.clear();
  }
}
