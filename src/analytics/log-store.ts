// log-store.ts: the controller's request log ("logs worth reading", issue 15 item 3). Engines ship
// the requests they kept — significant ones always (5xx, resets, timeouts, slow, refused by a
// policy or the WAF), every request while a full-log switch is on — in AnalyticsBatch.logs; this
// store bounds and names them (log-record.ts), keeps them within per-service and total bounds
// (log-bounds.ts) in memory or in the state database, drops what is older than the retention, and
// answers the admin API's filters newest first.
import type { DatabaseSync } from "node:sqlite";
import type { LogBackend, LogBounds } from "./log-bounds.ts";
import { MemoryLogs, MEMORY_BOUNDS } from "./log-memory.ts";
import type { LogQuery } from "./log-query.ts";
import { normalizeRecord } from "./log-record.ts";
import { SqliteLogs, SQLITE_BOUNDS } from "./log-sqlite.ts";
import type { AnalyticsBatch, AnalyticsSink, LogRecord } from "./types.ts";

/** LOG_RETENTION_MS: records older than 7 days are dropped. */
export const LOG_RETENTION_MS = 7 * 86_400_000;

/** EXPIRE_EVERY_MS: the age check runs at most this often (one indexed DELETE). */
const EXPIRE_EVERY_MS = 60_000;

/** LogStoreOptions configure a LogStore; every field has a default. */
export interface LogStoreOptions {
  /** db is an open state database (log-sqlite.ts openLogDatabase); absent: memory only. */
  db?: DatabaseSync;
  bounds?: LogBounds;
  retentionMs?: number;
  clock?: () => number;
  /** onError hears a failed write (a full disk); the records of that ingest are lost, the store goes on. */
  onError?: (err: unknown) => void;
}

/** LogStats describe what the store holds and has lost. */
export interface LogStats {
  records: number;
  services: number;
  /** dropped counts records engines could not ship (over their per-interval cap), as they reported. */
  dropped: number;
  /** writeErrors counts ingests whose records could not be written. */
  writeErrors: number;
  persistent: boolean;
  bounds: LogBounds;
  retentionMs: number;
}

/** LogStore keeps the kept requests of every engine; it is an AnalyticsSink of batch.logs. */
export class LogStore implements AnalyticsSink {
  readonly #backend: LogBackend;
  readonly #bounds: LogBounds;
  readonly #retentionMs: number;
  readonly #clock: () => number;
  readonly #onError: (err: unknown) => void;
  readonly #persistent: boolean;
  #lastExpire = -Infinity;
  #dropped = 0;
  #writeErrors = 0;

  constructor(o: LogStoreOptions = {}) {
    this.#persistent = o.db !== undefined;
    this.#bounds = o.bounds ?? (o.db ? SQLITE_BOUNDS : MEMORY_BOUNDS);
    this.#backend = o.db ? new SqliteLogs(o.db, this.#bounds) : new MemoryLogs(this.#bounds);
    this.#retentionMs = o.retentionMs ?? LOG_RETENTION_MS;
    this.#clock = o.clock ?? Date.now;
    this.#onError = o.onError ?? (() => undefined);
  }

  /** ingest keeps batch.logs (the rest of the batch is the time series' business). */
  ingest(batch: AnalyticsBatch): void {
    this.#dropped += Number.isFinite(batch.dropped) ? batch.dropped : 0;
    this.add(batch.logs ?? [], batch.engine);
  }

  /** add keeps records from engine (normalised; one write for all); returns how many were taken. */
  add(records: readonly LogRecord[], engine: string): number {
    this.#maybeExpire();
    const horizon = this.#clock() - this.#retentionMs;
    // A record already past the retention (an engine's clock far behind) would only be expired again.
    const kept = records.map((r) => normalizeRecord(r, engine)).filter((r) => r.at >= horizon && r.vs !== "");
    try {
      this.#backend.insert(kept);
    } catch (err) {
      this.#writeErrors++;
      this.#onError(err);
      return 0;
    }
    return kept.length;
  }

  /** query answers q newest first (at most q.limit, plus the rest of the last page's millisecond). */
  query(q: LogQuery): LogRecord[] {
    this.#maybeExpire();
    const horizon = this.#clock() - this.#retentionMs;
    return this.#backend.query({ ...q, since: Math.max(q.since ?? horizon, horizon) });
  }

  /** stats say what is held and lost. */
  stats(): LogStats {
    return {
      ...this.#backend.size(),
      dropped: this.#dropped,
      writeErrors: this.#writeErrors,
      persistent: this.#persistent,
      bounds: this.#bounds,
      retentionMs: this.#retentionMs,
    };
  }

  #maybeExpire(): void {
    const now = this.#clock();
    if (now - this.#lastExpire < EXPIRE_EVERY_MS) return;
    this.#lastExpire = now;
    try {
      this.#backend.expire(now - this.#retentionMs);
    } catch (err) {
      this.#onError(err);
    }
  }

  /** close releases the backend (not the database connection, which its opener closes). */
  close(): void {
    this.#backend.close();
  }
}
