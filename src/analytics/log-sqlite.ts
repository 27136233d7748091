// log-sqlite.ts: the request log in the state database (table analytics_logs, schema.ts migration
// 5), so it survives a restart. One transaction per ingest — a row-per-transaction write costs a
// WAL commit each — and the same LogBounds as memory, with per-service counts kept here so the
// bounds cost no COUNT(*) per ingest. The filtered columns are real columns (indexed by time, and
// by service and time); the whole record is one JSON column.
import { DatabaseSync, type StatementSync } from "node:sqlite";
import { bucketOf, FULL_ONLY, serviceOf, trimPlan, type LogBackend, type LogBounds } from "./log-bounds.ts";
import { asciiLower, LIMIT_MAX, type LogQuery } from "./log-query.ts";
import type { LogRecord } from "./types.ts";

/**
 * SQLITE_BOUNDS: 5,000 records per virtual service, 50,000 in all — about 40 MiB of database at
 * the measured ~845 bytes a row with its two index entries (log-store.test.ts; docs/analytics.md).
 */
export const SQLITE_BOUNDS: LogBounds = { perVs: 5_000, total: 50_000 };

/** LOG_TABLE is the table migration 5 creates. */
export const LOG_TABLE = "analytics_logs";

/** openLogDatabase opens a second connection to the state database for the log (WAL: it never blocks readers). */
export function openLogDatabase(file: string): DatabaseSync {
  const db = new DatabaseSync(file);
  try {
    db.exec("PRAGMA busy_timeout = 5000");
    const t = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name = ?").get(LOG_TABLE);
    if (t === undefined)
      throw new Error(`${file} has no ${LOG_TABLE} table: open it with openStateStore first (it migrates)`);
    return db;
  } catch (err) {
    db.close();
    throw err;
  }
}

/** Where is a query's WHERE clause and its parameters. */
interface Where {
  sql: string;
  args: (string | number)[];
}

/** where says q's filters in SQL; it must agree with log-query.ts matches() (log-backends.test.ts). */
function where(q: LogQuery): Where {
  const c: string[] = [];
  const args: (string | number)[] = [];
  const add = (sql: string, ...a: (string | number)[]) => {
    c.push(sql);
    args.push(...a);
  };
  if (q.vs !== undefined) add("vs = ?", q.vs);
  // One parameter whatever the number of services (SQLite caps the parameters of a statement).
  if (q.vsIn !== undefined) add("vs IN (SELECT value FROM json_each(?))", JSON.stringify(q.vsIn));
  if (q.route !== undefined) add("route = ?", q.route);
  if (q.client !== undefined) add("client = ?", q.client);
  if (typeof q.status === "number") add("status = ?", q.status);
  else if (q.status !== undefined) add("status / 100 = ?", Number(q.status[0]));
  if (q.reasons)
    add(`(${q.reasons.map(() => "instr(reasons, ?) > 0").join(" OR ")})`, ...q.reasons.map((r) => ` ${r} `));
  if (q.since !== undefined) add("at >= ?", q.since);
  if (q.until !== undefined) add("at < ?", q.until);
  if (q.before !== undefined) add("at < ?", q.before);
  if (q.q !== undefined) {
    // lower() folds ASCII only; matches() folds the same way.
    const fields = ["path", "authority", "userAgent", "error"].map(
      (f) => `instr(lower(record ->> '$.${f}'), ?) > 0`,
    );
    // The whole record first: one LIKE over the row's JSON rules out most rows before four JSON
    // reads (LIKE folds ASCII case as lower() does, without building a lowered copy). It holds a
    // needle verbatim unless JSON escapes it (quotes, backslashes, control characters): such a
    // needle skips this first test.
    const needle = asciiLower(q.q);
    if (JSON.stringify(needle) === `"${needle}"`)
      add("record LIKE ? ESCAPE '!'", `%${needle.replace(/[!%_]/g, "!$&")}%`);
    add(`(${fields.join(" OR ")})`, ...fields.map(() => needle));
  }
  return { sql: c.length > 0 ? `WHERE ${c.join(" AND ")}` : "", args };
}

/** Row is a stored record: its columns and the JSON of the rest. */
interface Row {
  id: number;
  at: number;
  vs: string;
  reasons: string;
  status: number;
  route: string;
  client: string;
  record: string;
}

/** COLUMNS are Row's columns. */
const COLUMNS = "id, at, vs, reasons, status, route, client, record";

/** fromRow rebuilds the LogRecord. */
function fromRow(r: Row): LogRecord {
  const rest = JSON.parse(r.record) as Omit<
    LogRecord,
    "at" | "vs" | "reasons" | "status" | "route" | "client"
  >;
  const reasons = r.reasons
    .trim()
    .split(" ")
    .filter((x) => x !== "") as LogRecord["reasons"];
  return { at: r.at, vs: r.vs, reasons, route: r.route, client: r.client, status: r.status, ...rest };
}

/** SqliteLogs is a LogBackend over a state database connection it does not own. */
export class SqliteLogs implements LogBackend {
  readonly #db: DatabaseSync;
  readonly #bounds: LogBounds;
  readonly #put: StatementSync;
  readonly #dropOldest: StatementSync;
  readonly #dropOldestFull: StatementSync;
  readonly #expire: StatementSync;
  readonly #counts: StatementSync;
  /** #sizes are the rows per share (bucketOf), read at open and kept in step with every change. */
  #sizes = new Map<string, number>();

  constructor(db: DatabaseSync, bounds: LogBounds = SQLITE_BOUNDS) {
    this.#db = db;
    this.#bounds = bounds;
    this.#put = db.prepare(
      `INSERT INTO ${LOG_TABLE} (at, vs, reasons, status, route, client, record) VALUES (?, ?, ?, ?, ?, ?, ?)`,
    );
    // Full-only rows (reasons " full ") are their own share, trimmed apart (log-bounds.ts trimPlan).
    this.#dropOldest = db.prepare(
      `DELETE FROM ${LOG_TABLE} WHERE id IN (SELECT id FROM ${LOG_TABLE} WHERE vs = ? AND reasons <> ' full ' ORDER BY at, id LIMIT ?)`,
    );
    this.#dropOldestFull = db.prepare(
      `DELETE FROM ${LOG_TABLE} WHERE id IN (SELECT id FROM ${LOG_TABLE} WHERE vs = ? AND reasons = ' full ' ORDER BY at, id LIMIT ?)`,
    );
    this.#expire = db.prepare(`DELETE FROM ${LOG_TABLE} WHERE at < ?`);
    this.#counts = db.prepare(
      `SELECT vs, reasons = ' full ' AS full, count(*) AS n FROM ${LOG_TABLE} GROUP BY vs, reasons = ' full '`,
    );
    this.#recount();
    // A database written with larger bounds (or by an older default) is brought within these.
    this.#trim();
  }

  #recount(): void {
    const rows = this.#counts.all() as { vs: string; full: number; n: number }[];
    this.#sizes = new Map(rows.map((r) => [r.full ? FULL_ONLY + r.vs : r.vs, r.n]));
  }

  /** #trim drops each over-quota service's oldest rows; the caller holds the transaction (or none is needed). */
  #trim(): void {
    for (const [key, n] of trimPlan(this.#sizes, this.#bounds)) {
      const vs = serviceOf(key);
      (vs === key ? this.#dropOldest : this.#dropOldestFull).run(vs, n);
      const left = this.#sizes.get(key)! - n;
      if (left > 0) this.#sizes.set(key, left);
      else this.#sizes.delete(key);
    }
  }

  insert(records: readonly LogRecord[]): void {
    if (records.length === 0) return;
    this.#db.exec("BEGIN IMMEDIATE");
    try {
      for (const r of records) {
        // The columns are not repeated in the JSON: a fifth of a row's bytes.
        const { at, vs, reasons, status, route, client, ...rest } = r;
        this.#put.run(
          Math.round(at),
          vs,
          ` ${reasons.join(" ")} `,
          Math.round(status),
          route,
          client,
          JSON.stringify(rest),
        );
        const key = bucketOf(r);
        this.#sizes.set(key, (this.#sizes.get(key) ?? 0) + 1);
      }
      this.#trim();
      this.#db.exec("COMMIT");
    } catch (err) {
      if (this.#db.isTransaction) this.#db.exec("ROLLBACK");
      // The counts may now disagree with the rolled-back table.
      this.#recount();
      throw err;
    }
  }

  query(q: LogQuery): LogRecord[] {
    const w = where(q);
    const rows = this.#db
      .prepare(`SELECT ${COLUMNS} FROM ${LOG_TABLE} ${w.sql} ORDER BY at DESC, id DESC LIMIT ?`)
      .all(...w.args, q.limit) as unknown as Row[];
    const last = rows.at(-1);
    if (last && rows.length === q.limit) {
      // A page never ends inside a millisecond, so `before` = its oldest at loses nothing — up to
      // LIMIT_MAX more rows: a burst of one millisecond must not make one answer unbounded.
      const more = where({ ...q, since: last.at, until: last.at + 1 });
      const rest = this.#db
        .prepare(`SELECT ${COLUMNS} FROM ${LOG_TABLE} ${more.sql} AND id < ? ORDER BY id DESC LIMIT ?`)
        .all(...more.args, last.id, LIMIT_MAX) as unknown as Row[];
      rows.push(...rest);
    }
    return rows.map(fromRow);
  }

  expire(before: number): number {
    const { changes } = this.#expire.run(before);
    if (Number(changes) > 0) this.#recount();
    return Number(changes);
  }

  size(): { records: number; services: number } {
    let records = 0;
    for (const n of this.#sizes.values()) records += n;
    return { records, services: new Set([...this.#sizes.keys()].map(serviceOf)).size };
  }

  close(): void {
    // The connection belongs to whoever opened it (openLogDatabase's caller).
  }
}
