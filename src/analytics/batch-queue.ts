// batch-queue.ts: analytics batches waiting to be sent, one per interval. While nothing takes
// them (the controller unreachable, a fleet link down), each interval's batch keeps its own end
// (AnalyticsBatch.at), so once the way is back every interval lands in its own bucket of the store
// instead of the whole outage in the bucket of its end. Memory is bounded: past MAX_QUEUED
// intervals the two oldest merge (the oldest minutes of a long outage lose their 5 s resolution
// first; their counts never go).
import type { AnalyticsBatch } from "./types.ts";
import { mergeBatches, type Caps } from "./measures.ts";

/** MAX_QUEUED is how many intervals wait apart: 60 × 5 s, five minutes of outage at full resolution. */
export const MAX_QUEUED = 60;

/** BatchQueue holds batches oldest first, one per interval end. */
export class BatchQueue {
  readonly #queue: AnalyticsBatch[] = [];
  readonly #caps: Caps | undefined;
  readonly #max: number;

  /** BatchQueue keeps at most max batches apart; caps bound a merged one's names (the collector's). */
  constructor(caps?: Caps, max = MAX_QUEUED) {
    this.#caps = caps;
    this.#max = Math.max(1, max);
  }

  /** size is how many batches wait. */
  get size(): number {
    return this.#queue.length;
  }

  /** headAt is the oldest batch's interval end (undefined when empty). */
  headAt(): number | undefined {
    return this.#queue[0]?.at;
  }

  /** push adds an interval's batch; one ending where the newest does merges into it. */
  push(b: AnalyticsBatch): void {
    const q = this.#queue;
    const last = q[q.length - 1];
    if (last !== undefined && last.at >= b.at) {
      q[q.length - 1] = this.#merge([last, b]);
      return;
    }
    q.push(b);
    if (q.length > this.#max) q.splice(0, 2, this.#merge([q[0]!, q[1]!]));
  }

  /** shift takes the oldest batch (undefined when none waits). */
  shift(): AnalyticsBatch | undefined {
    return this.#queue.shift();
  }

  #merge(bs: AnalyticsBatch[]): AnalyticsBatch {
    return mergeBatches(bs, { over: "time", ...(this.#caps ? { caps: this.#caps } : {}) })!;
  }
}
