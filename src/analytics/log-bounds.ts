// log-bounds.ts: how many records each virtual service may keep. Each has its own quota (perVs)
// and all share one cap (total); over the cap, the services holding the most give up their oldest
// first ("water filling"), so a noisy service cannot push a quiet one's few failures out of the log.
import type { LogQuery } from "./log-query.ts";
import { isFullOnly } from "./measures.ts";
import type { LogRecord } from "./types.ts";

/** LogBounds are a backend's limits: records per virtual service, records in all. */
export interface LogBounds {
  perVs: number;
  total: number;
}

/** waterLevel is the largest L with Σ min(size, L) ≤ total (Infinity when everything fits). */
export function waterLevel(sizes: readonly number[], total: number): number {
  const s = [...sizes].sort((a, b) => b - a);
  let rest = s.reduce((a, b) => a + b, 0);
  if (rest <= total) return Infinity;
  for (let k = 1; k <= s.length; k++) {
    rest -= s[k - 1]!;
    const level = Math.floor((total - rest) / k);
    if (level >= (s[k] ?? 0)) return Math.max(level, 0);
  }
  return 0;
}

/** overflow says how many of its oldest records each service must drop to fit bounds. */
export function overflow(sizes: ReadonlyMap<string, number>, bounds: LogBounds): Map<string, number> {
  const level = Math.min(bounds.perVs, waterLevel([...sizes.values()], bounds.total));
  const out = new Map<string, number>();
  for (const [vs, n] of sizes) if (n > level) out.set(vs, n - level);
  return out;
}

/** FULL_ONLY prefixes the share of a service's full-only records (LogReason "full" alone). */
export const FULL_ONLY = "\0full\0";

/** bucketOf names the share a record counts in: its service's, or its service's full-only share. */
export function bucketOf(r: Pick<LogRecord, "vs" | "reasons">): string {
  return isFullOnly(r) ? FULL_ONLY + r.vs : r.vs;
}

/** serviceOf is the virtual service of a share's name (bucketOf). */
export function serviceOf(bucket: string): string {
  return bucket.startsWith(FULL_ONLY) ? bucket.slice(FULL_ONLY.length) : bucket;
}

/**
 * trimPlan says how many of its oldest records each share (bucketOf) must drop. Significant
 * records are bounded as before (overflow); full-only records have their own perVs share each and
 * only what the significant ones leave of the total, so they always go first: a full-log switch
 * on a busy service never pushes its 5xx, timeouts or slow requests out of the log.
 */
export function trimPlan(sizes: ReadonlyMap<string, number>, bounds: LogBounds): Map<string, number> {
  const significant = new Map<string, number>();
  const full = new Map<string, number>();
  for (const [k, n] of sizes) (k.startsWith(FULL_ONLY) ? full : significant).set(k, n);
  const out = overflow(significant, bounds);
  let kept = 0;
  for (const [k, n] of significant) kept += n - (out.get(k) ?? 0);
  for (const [k, n] of overflow(full, { perVs: bounds.perVs, total: Math.max(0, bounds.total - kept) }))
    out.set(k, n);
  return out;
}

/** LogBackend keeps records within bounds and answers queries newest first. */
export interface LogBackend {
  /** insert adds records (normalised) at once — one transaction — then drops what exceeds the bounds. */
  insert(records: readonly LogRecord[]): void;
  /** query answers q newest first; a page never ends inside a millisecond (see completeRun). */
  query(q: LogQuery): LogRecord[];
  /** expire drops records with at < before; returns how many. */
  expire(before: number): number;
  /** size is the number of records kept, and of services holding any. */
  size(): { records: number; services: number };
  close(): void;
}
