// topn.ts: space-saving top-K (Metwally, Agrawal, El Abbadi: "Efficient Computation of Frequent and
// Top-k Elements in Data Streams", 2005) for an engine's per-interval top lists (URLs, clients, user
// agents...). It keeps at most `capacity` counters whatever the stream's cardinality: a new value
// when full takes the smallest counter's place and inherits its count (+1). Guarantees, for a stream
// of n values: every value seen more than n / capacity times is in the table; a kept value's count
// over-estimates its true count by at most the count it inherited (≤ n / capacity); the counts sum
// to n. Reported lists are the top `TOP_N` by count, so the table keeps some slack below them.
import type { TopKind, TopLists } from "./types.ts";

/** TOP_N is how many entries per kind a batch carries (the console's top lists show 10–20). */
export const TOP_N = 20;
/** TOP_CAPACITY counters are kept per list: twice TOP_N, so the reported 20 are rarely victims of eviction. */
export const TOP_CAPACITY = 40;

/** SpaceSaving counts the most frequent values of a stream in bounded memory. */
export class SpaceSaving {
  readonly capacity: number;
  readonly counts = new Map<string, number>();
  /** total is every value offered (n), kept or not. */
  total = 0;
  /** #atMin are keys that had the count #min at the last scan (eviction candidates). */
  #atMin: string[] = [];
  #min = 0;

  constructor(capacity = TOP_CAPACITY) {
    this.capacity = capacity;
  }

  /** add counts value (by weight, default 1). */
  add(value: string, weight = 1): void {
    this.total += weight;
    const c = this.counts.get(value);
    if (c !== undefined) {
      this.counts.set(value, c + weight);
      return;
    }
    if (this.counts.size < this.capacity) {
      this.counts.set(value, weight);
      return;
    }
    const victim = this.#victim();
    const min = this.counts.get(victim)!;
    this.counts.delete(victim);
    this.counts.set(value, min + weight);
  }

  // #victim is a key with the smallest count. One scan collects every key at the minimum; later
  // evictions take them in turn (counts only grow, so a key still at that count is still a
  // minimum), and a new scan runs only once they are used up. A stream of ever-new values (URLs
  // with ids, client addresses) so pays a scan per many evictions, not per eviction.
  #victim(): string {
    while (this.#atMin.length > 0) {
      const k = this.#atMin.pop()!;
      if (this.counts.get(k) === this.#min) return k;
    }
    let min = Infinity;
    for (const v of this.counts.values()) if (v < min) min = v;
    this.#min = min;
    for (const [k, v] of this.counts) if (v === min) this.#atMin.push(k);
    return this.#atMin.pop()!;
  }

  /** top returns the n largest counts, value → count (ties by value, so the answer is deterministic). */
  top(n = TOP_N): Record<string, number> {
    return topOf(this.counts, n);
  }
}

/** TOP_EXACT: a service's first TOP_EXACT requests of an interval all count in its top lists. */
export const TOP_EXACT = 1600;
/** TOP_MAX_STEP caps the sampling step: past 63 × TOP_EXACT requests, one in 64 counts (64 times). */
export const TOP_MAX_STEP = 64;

// PROCESS_SEED is drawn once per process; samplers counts the TopSamplers made. A fixed seed made
// every service's sampler, interval after interval and engine after engine, skip the same requests:
// their sampling errors added up instead of averaging out over a longer window.
const PROCESS_SEED = (Math.random() * 0x1_0000_0000) >>> 0;
let samplers = 0;

/** samplerSeed is a seed for a new TopSampler of key: the process's, key's and the sampler's count mixed (FNV-1a). */
export function samplerSeed(key: string): number {
  let h = (PROCESS_SEED ^ Math.imul(++samplers, 0x9e3779b9)) >>> 0;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/**
 * TopSampler picks which requests of one service's interval update its top lists, and with what
 * weight. The first TOP_EXACT requests all count (weight 1: small services' lists are exact
 * space-saving); past that each request counts with probability 1/step and weight step (a
 * Bernoulli sample, so unbiased whatever the order of the stream — a fixed "every Nth" would alias
 * with a client's round robin). The step doubles while (2 × step − 1) × TOP_EXACT ≤ n, the
 * requests so far (2 from 1,600, 4 from 4,800, 8 from 11,200 ... 64 from 100,800): a value's
 * count then carries a sampling error of standard deviation at most √(count × (step − 1)) ≤
 * √(n × (step − 1)) ≤ n / 40 — the bound space-saving already states for its own error (n /
 * TOP_CAPACITY). Skipped requests cost one decrement: the gap to the next sampled one is drawn
 * once (geometric), not a random number per request.
 */
export class TopSampler {
  #n = 0;
  #step = 1;
  /** #weight is the step the current gap was drawn with: the next sampled request's weight. */
  #weight = 1;
  #left = 1;
  #rng: number;

  /** TopSampler draws its gaps from seed (a fixed one for tests; by default one of its own). */
  constructor(seed = samplerSeed("")) {
    this.#rng = seed | 1;
  }

  /** next answers the weight the current request counts with in the top lists (0: not counted). */
  next(): number {
    this.#n++;
    if (--this.#left > 0) return 0;
    const w = this.#weight;
    if (this.#step < TOP_MAX_STEP && this.#n >= (2 * this.#step - 1) * TOP_EXACT) this.#step *= 2;
    this.#weight = this.#step;
    this.#left = this.#step === 1 ? 1 : this.#gap(this.#step);
    return w;
  }

  // #gap draws how many requests until the next sampled one when each is sampled with p = 1/step:
  // 1 + floor(ln U / ln(1 − p)), U uniform in (0, 1] from a xorshift32 (cheap, no Math.random).
  #gap(step: number): number {
    let x = this.#rng;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.#rng = x;
    const u = ((x >>> 0) + 1) / 0x1_0000_0000;
    return 1 + Math.floor(Math.log(u) / Math.log(1 - 1 / step));
  }
}

/** topOf keeps the n largest entries of counts, as a plain record (ties broken by value). */
export function topOf(counts: Iterable<[string, number]>, n = TOP_N): Record<string, number> {
  const sorted = [...counts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  // fromEntries defines own keys: "__proto__" stays a key, as any client's value might be.
  return Object.fromEntries(sorted.slice(0, n));
}

/**
 * mergeTop adds several TopLists kind by kind and keeps the TOP_N largest of each. Counts of a
 * value present in some lists only are a lower bound of its merged count (space-saving's merge).
 */
export function mergeTop(lists: readonly TopLists[], n = TOP_N): TopLists {
  const sums = new Map<TopKind, Map<string, number>>();
  for (const l of lists)
    for (const [kind, entries] of Object.entries(l) as [TopKind, Record<string, number>][]) {
      let m = sums.get(kind);
      if (m === undefined) sums.set(kind, (m = new Map()));
      for (const [k, v] of Object.entries(entries)) m.set(k, (m.get(k) ?? 0) + v);
    }
  const out: TopLists = {};
  for (const [kind, m] of sums) out[kind] = topOf(m, n);
  return out;
}
