// token-bucket.ts: rate limits per key (an AccessPolicy's rateLimit, l7/access.ts). Each key has a
// bucket of `burst` tokens refilled at `requests` per `periodMs`; a request spends one token or is
// refused with the time until the next one. Refill is computed when a key is seen, from a clock
// read at that moment. The coarse clock (coarse-timer.ts) serves when the bucket holds a coarse
// step's refill and one more token: a token then comes at most one step (250 ms) late and the
// long-run rate does not drift, as each refill counts from the last. A smaller bucket would
// overflow at every step and lose the rest (measured: 7 requests/s with burst 1 let 4/s through),
// so it reads performance.now() instead (clockFor).
//
// Tokens are kept in integer-friendly units — one request is `periodMs` units, a millisecond adds
// `requests` units — so "5 requests per 1000 ms" is exact arithmetic, not 0.005 tokens per ms
// rounding to just under one token at the moment it should be whole.
//
// The key map is bounded (maxKeys, 100k by default: about 10 MB with 128-character keys). A new key
// first has its map swept of full buckets (they hold nothing a fresh bucket would not) — at most
// every 10 s, or every second while the map is full — and if the map is still full the key that
// came in first goes (not least-recently-used: moving a key on every hit would cost a delete and an
// insert per request); that client starts again with a full bucket. Only a flood of more than
// maxKeys distinct keys inside a refill period profits, and a header key is the client's to choose.
import { coarseNow, SWEEP_MS as COARSE_STEP_MS } from "./coarse-timer.ts";

/** TokenBucketLimit is a RateLimit's arithmetic: requests per periodMs, burst at once. */
export interface TokenBucketLimit {
  requests: number;
  periodMs: number;
  burst: number;
}

/** clockFor picks the clock of limit: the coarse one when a coarse step's refill fits its bucket. */
export function clockFor(limit: TokenBucketLimit): () => number {
  const stepRefill = (limit.requests * COARSE_STEP_MS) / limit.periodMs;
  return limit.burst >= stepRefill + 1 ? coarseNow : () => performance.now();
}

/** MAX_KEYS bounds the buckets one limiter keeps (see the file comment). */
export const MAX_KEYS = 100_000;

// SWEEP_MS and FULL_SWEEP_MS space the sweeps of full buckets: ordinary and with the map full.
const SWEEP_MS = 10_000;
const FULL_SWEEP_MS = 1000;

// Bucket is one key's units at time `at`.
interface Bucket {
  units: number;
  at: number;
}

/** TokenBuckets keeps one token bucket per key; the clock and key cap are injectable for tests. */
export class TokenBuckets {
  private readonly requests: number;
  private readonly cost: number;
  private readonly capacity: number;
  private readonly clock: () => number;
  private readonly maxKeys: number;
  private readonly buckets = new Map<string, Bucket>();
  private sweptAt: number;

  constructor(limit: TokenBucketLimit, clock: () => number = clockFor(limit), maxKeys = MAX_KEYS) {
    this.requests = limit.requests;
    this.cost = limit.periodMs;
    this.capacity = limit.burst * limit.periodMs;
    this.clock = clock;
    this.maxKeys = maxKeys;
    this.sweptAt = clock();
  }

  /** size is the number of buckets kept. */
  get size(): number {
    return this.buckets.size;
  }

  /** take spends one token of key's bucket: 0 when there was one, else the ms until there is. */
  take(key: string): number {
    const now = this.clock();
    const b = this.buckets.get(key);
    if (b === undefined) {
      this.makeRoom(now);
      this.buckets.set(key, { units: this.capacity - this.cost, at: now });
      return 0;
    }
    // A clock that stepped back (it never should) refills nothing rather than draining.
    const elapsed = now > b.at ? now - b.at : 0;
    const units = Math.min(this.capacity, b.units + elapsed * this.requests);
    b.at = now;
    if (units >= this.cost) {
      b.units = units - this.cost;
      return 0;
    }
    b.units = units;
    return (this.cost - units) / this.requests;
  }

  // makeRoom runs before a new key goes in: sweeps when due, evicts the oldest key if still full.
  private makeRoom(now: number): void {
    const full = this.buckets.size >= this.maxKeys;
    if (now - this.sweptAt >= (full ? FULL_SWEEP_MS : SWEEP_MS)) {
      this.sweptAt = now;
      for (const [k, b] of this.buckets) {
        if (b.units + (now - b.at) * this.requests >= this.capacity) this.buckets.delete(k);
      }
    }
    // A Map iterates in insertion order: its first key is the one seen first, longest ago.
    if (this.buckets.size >= this.maxKeys) this.buckets.delete(this.buckets.keys().next().value!);
  }
}
