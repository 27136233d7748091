// loadgen.ts: the arithmetic of a load generator's own record, the reference the analytics figures
// are checked against (issue 15, "Verified by"): exact quantiles ranked as the sketch ranks, counts
// by status and class. The generator itself is test/peers/loadgen (Go; test/support/goload.ts runs
// it and reads its record).

/** RequestRecord is one finished request: its index, status (0: no response), latency, connection. */
export interface RequestRecord {
  i: number;
  path: string;
  status: number;
  ms: number;
  conn: number;
  header?: string;
}

/** Quantiles are exact order statistics of a set of latencies in milliseconds. */
export interface ExactQuantiles {
  count: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

/**
 * quantileOf answers the q-quantile of sorted values with the rank rule of src/analytics/sketch.ts
 * (the sample at index floor(q × (n − 1))), so a sketch and this record differ only by the
 * sketch's bin error, never by a different definition of "p99".
 */
export function quantileOf(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * (sorted.length - 1)))]!;
}

/** exactQuantiles computes p50/p90/p99/max of ms (any order). */
export function exactQuantiles(ms: readonly number[]): ExactQuantiles {
  const s = [...ms].sort((a, b) => a - b);
  return {
    count: s.length,
    p50: quantileOf(s, 0.5),
    p90: quantileOf(s, 0.9),
    p99: quantileOf(s, 0.99),
    max: s.length ? s[s.length - 1]! : NaN,
  };
}

/** countBy counts records by a key. */
export function countBy(
  records: readonly RequestRecord[],
  key: (r: RequestRecord) => string,
): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of records) out[key(r)] = (out[key(r)] ?? 0) + 1;
  return out;
}

/** statusClass names a status's class as the analytics API does ("2xx"; "none" for 0). */
export function statusClass(status: number): string {
  return status >= 100 && status < 600 ? `${Math.floor(status / 100)}xx` : "none";
}
