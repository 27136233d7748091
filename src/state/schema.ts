// schema.ts: the state database's migrations. PRAGMA user_version records how many have run; a new
// table (certificates, analytics roll-ups) is a new entry at the end, never an edit of an old one.
import type { DatabaseSync } from "node:sqlite";
import { StateError } from "./errors.ts";

/** MIGRATIONS are applied in order; migration i brings the schema from version i to i + 1. */
export const MIGRATIONS: readonly string[] = [
  // 1: VIP allocations, one row per request key; list columns hold JSON arrays.
  `CREATE TABLE allocations (
     key         TEXT PRIMARY KEY,
     addresses   TEXT NOT NULL,
     pools       TEXT NOT NULL,
     sharing_key TEXT,
     ports       TEXT NOT NULL
   ) STRICT`,
  // 2: the time the file source first saw each object (see sources/file/first-seen.ts).
  `CREATE TABLE first_seen (
     key  TEXT PRIMARY KEY,
     time TEXT NOT NULL
   ) STRICT`,
  // 3: the controller's epoch for the engine link, one row, bumped at each start (store.ts bumpEpoch).
  `CREATE TABLE epoch (
     id    INTEGER PRIMARY KEY CHECK (id = 1),
     value INTEGER NOT NULL
   ) STRICT`,
  // 4: the built-in ACME issuer's account keys ("account/ISSUER") and issued certificates
  // ("certificate/NAMESPACE/SECRET"), JSON values holding PEM keys (src/controller/acme/store.ts).
  `CREATE TABLE acme (
     key   TEXT PRIMARY KEY,
     value TEXT NOT NULL
   ) STRICT`,
  // 5: analytics buckets (src/analytics/persist.ts): one row per ring family ("vs/1m",
  // "detail/1h", "cells/1d", ...) and bucket start (ms), holding every series' figures of that
  // bucket as deflated JSON; rows older than the family's span are deleted as they are written.
  `CREATE TABLE analytics (
     family TEXT NOT NULL,
     t      INTEGER NOT NULL,
     data   BLOB NOT NULL,
     PRIMARY KEY (family, t)
   ) STRICT, WITHOUT ROWID`,
  // 6: the request log's kept requests (src/analytics/log-sqlite.ts): the filtered fields as
  // columns, the whole LogRecord as JSON; reasons are space-framed (" 5xx slow ") for instr().
  `CREATE TABLE analytics_logs (
     id      INTEGER PRIMARY KEY,
     at      INTEGER NOT NULL,
     vs      TEXT NOT NULL,
     reasons TEXT NOT NULL,
     status  INTEGER NOT NULL,
     route   TEXT NOT NULL,
     client  TEXT NOT NULL,
     record  TEXT NOT NULL
   ) STRICT;
   CREATE INDEX analytics_logs_at ON analytics_logs (at);
   CREATE INDEX analytics_logs_vs_at ON analytics_logs (vs, at)`,
  // 7: what the tenant rules admitted last (translate TenantMemory as JSON, one row), so a restart
  // keeps the incumbents: a newcomer whose claim would win on creation order does not take a
  // hostname, a quota share or a contested namespace from what served before the restart.
  `CREATE TABLE tenant_memory (
     id    INTEGER PRIMARY KEY CHECK (id = 1),
     value TEXT NOT NULL
   ) STRICT`,
];

/**
 * NOT_BACKED_UP are the tables portico.db.bak leaves empty: derived history (analytics buckets,
 * the request log) that costs tens of MiB and that a restore may lose; the backup is rewritten
 * after every allocation change (files.ts backupInto).
 */
export const NOT_BACKED_UP: ReadonlySet<string> = new Set(["analytics", "analytics_logs"]);

/** SchemaError says the database was written by a newer Portico; it is never downgraded in place. */
export class SchemaError extends StateError {
  constructor(message: string) {
    super("PORTICO_STATE_SCHEMA", message);
  }
}

/** migrate brings a database to the latest schema, each step in its own transaction. Returns the version. */
export function migrate(db: DatabaseSync, file: string): number {
  const current = knownVersion(db, file);
  for (let v = current; v < MIGRATIONS.length; v++) {
    inTransaction(db, "BEGIN", () => {
      db.exec(MIGRATIONS[v] as string);
      // PRAGMA takes no bound parameters; v is our own integer.
      db.exec(`PRAGMA user_version = ${v + 1}`);
    });
  }
  return MIGRATIONS.length;
}

/** knownVersion is the database's schema version, or a SchemaError if a newer Portico wrote it. */
export function knownVersion(db: DatabaseSync, file: string): number {
  const current = userVersion(db);
  if (current > MIGRATIONS.length) {
    throw new SchemaError(
      `state file ${file} was written by a newer Portico (schema version ${current}; this one knows up to ${MIGRATIONS.length})`,
    );
  }
  return current;
}

/** userVersion reads PRAGMA user_version. */
export function userVersion(db: DatabaseSync): number {
  const row = db.prepare("PRAGMA user_version").get() as { user_version: number };
  return row.user_version;
}

/** inTransaction runs fn between `begin` and COMMIT, rolling back if it throws. */
export function inTransaction<T>(db: DatabaseSync, begin: "BEGIN" | "BEGIN IMMEDIATE", fn: () => T): T {
  db.exec(begin);
  try {
    const out = fn();
    db.exec("COMMIT");
    return out;
  } catch (err) {
    // SQLite may already have rolled back (SQLITE_FULL does); a second ROLLBACK would then throw
    // "no transaction is active" and hide the error that matters, as it did for a full disk.
    if (db.isTransaction) {
      try {
        db.exec("ROLLBACK");
      } catch {
        // the original error is the one to report
      }
    }
    throw err;
  }
}
