// log-query.ts: the request log's filters — parsed from the admin API's query string (with an
// error saying what to send) and matched against a record (the memory backend; the SQLite one
// says the same in SQL, and one shared suite holds both to the same answers).
import { LOG_REASONS } from "./log-record.ts";
import type { LogReason, LogRecord } from "./types.ts";

/** LogQuery selects records; every field narrows; results are newest first. */
export interface LogQuery {
  vs?: string;
  /** vsIn keeps records of these virtual services only (a tenant's view; not a query parameter). */
  vsIn?: readonly string[];
  /** reasons keeps records with any of these reasons. */
  reasons?: LogReason[];
  /** status is an exact code (503) or a class ("5xx"; status 0, a broken exchange, is class "0xx"). */
  status?: number | string;
  route?: string;
  client?: string;
  /** q is a substring of the path, authority, user agent or error (ASCII letters in either case). */
  q?: string;
  /** since and until bound `at` (ms since the epoch), since inclusive, until exclusive. */
  since?: number;
  until?: number;
  /** before pages: records with at < before (the last page's oldest `at`). */
  before?: number;
  limit: number;
}

/** LIMIT_MAX bounds one answer; DEFAULT_LIMIT is what an absent limit means. */
export const LIMIT_MAX = 1_000;
export const DEFAULT_LIMIT = 100;

/** QueryError says which parameter was wrong and what to send instead. */
export class QueryError extends Error {
  readonly code = "PORTICO_ANALYTICS_QUERY";
}

/** DURATION: "90s", "10m", "2h", "7d" (a time before now). */
const DURATION = /^(\d+)(ms|s|m|h|d)$/;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** parseTime reads a point in time: ms since the epoch, an RFC 3339 time, or a duration ago ("10m"). */
export function parseTime(name: string, v: string, now: number): number {
  const d = DURATION.exec(v);
  if (d) return now - Number(d[1]) * UNIT_MS[d[2]!]!;
  if (/^\d{1,15}$/.test(v)) return Number(v);
  const t = Date.parse(v);
  if (/^\d{4}-\d\d-\d\d/.test(v) && Number.isFinite(t)) return t;
  throw new QueryError(
    `${name}=${JSON.stringify(v)}: give a duration before now (10m, 2h, 7d), an RFC 3339 time or ms since the epoch`,
  );
}

/** STATUS: a code 0–599 or a class 1xx–5xx (0xx: no status, the exchange broke). */
const STATUS = /^(?:[0-5]xx|\d{1,3})$/;

/** parseLogQuery reads the admin API's parameters; throws QueryError naming the bad one. */
export function parseLogQuery(params: URLSearchParams, now: number): LogQuery {
  const known = new Set([
    "vs",
    "reason",
    "reasons",
    "status",
    "route",
    "client",
    "q",
    "since",
    "until",
    "before",
    "limit",
  ]);
  for (const k of params.keys())
    if (!known.has(k))
      throw new QueryError(`unknown parameter ${JSON.stringify(k)}; known: ${[...known].join(", ")}`);
  const q: LogQuery = { limit: DEFAULT_LIMIT };
  const one = (k: string) => {
    const v = params.get(k);
    return v === null || v === "" ? undefined : v;
  };
  for (const k of ["vs", "route", "client", "q"] as const) {
    const v = one(k);
    if (v !== undefined) q[k] = v;
  }
  const reasons = [...params.getAll("reason"), ...params.getAll("reasons")]
    .flatMap((v) => v.split(","))
    .filter((v) => v !== "");
  for (const r of reasons)
    if (!(LOG_REASONS as readonly string[]).includes(r))
      throw new QueryError(
        `reason=${JSON.stringify(r)}: give one or more of ${LOG_REASONS.join(", ")} (comma-separated)`,
      );
  if (reasons.length > 0) q.reasons = reasons as LogReason[];
  const status = one("status")?.toLowerCase();
  if (status !== undefined) {
    if (!STATUS.test(status) || (!status.endsWith("xx") && Number(status) > 599))
      throw new QueryError(
        `status=${JSON.stringify(status)}: give a code (503) or a class (5xx, 4xx; 0xx: no status)`,
      );
    q.status = status.endsWith("xx") ? status : Number(status);
  }
  for (const k of ["since", "until", "before"] as const) {
    const v = one(k);
    if (v !== undefined) q[k] = parseTime(k, v, now);
  }
  const limit = one("limit");
  if (limit !== undefined) {
    const n = Number(limit);
    if (!/^\d+$/.test(limit) || n < 1 || n > LIMIT_MAX)
      throw new QueryError(`limit=${JSON.stringify(limit)}: give a whole number from 1 to ${LIMIT_MAX}`);
    q.limit = n;
  }
  return q;
}

/** statusMatches says whether status fits an exact code or a class ("5xx"). */
export function statusMatches(status: number, want: number | string): boolean {
  if (typeof want === "number") return status === want;
  return Math.floor(status / 100) === Number(want[0]);
}

// A tenant may have many services and the log many records: one set per query, not a scan per record.
const sets = new WeakMap<readonly string[], ReadonlySet<string>>();
function setOf(list: readonly string[]): ReadonlySet<string> {
  let s = sets.get(list);
  if (!s) sets.set(list, (s = new Set(list)));
  return s;
}

/** matches says whether r passes every filter of q except limit and paging order. */
export function matches(r: LogRecord, q: LogQuery): boolean {
  if (q.vs !== undefined && r.vs !== q.vs) return false;
  if (q.vsIn !== undefined && !setOf(q.vsIn).has(r.vs)) return false;
  if (q.route !== undefined && r.route !== q.route) return false;
  if (q.client !== undefined && r.client !== q.client) return false;
  if (q.status !== undefined && !statusMatches(r.status, q.status)) return false;
  if (q.reasons && !q.reasons.some((x) => r.reasons.includes(x))) return false;
  if (q.since !== undefined && r.at < q.since) return false;
  if (q.until !== undefined && r.at >= q.until) return false;
  if (q.before !== undefined && r.at >= q.before) return false;
  if (q.q !== undefined) {
    const needle = asciiLower(q.q);
    const hay = [r.path, r.authority, r.userAgent, r.error];
    if (!hay.some((h) => asciiLower(h).includes(needle))) return false;
  }
  return true;
}

/** asciiLower lowercases A–Z only, as SQLite's lower() does, so both backends match alike. */
export function asciiLower(s: string): string {
  return s.replace(/[A-Z]+/g, (m) => m.toLowerCase());
}
