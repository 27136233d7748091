// store.ts: Portico's embedded state for standalone mode — one SQLite file, <dir>/portico.db, in
// WAL mode so readers (CLI, admin API) never block the controller's writes. One process owns a
// state directory (lock.ts); the file is checked before it is read (check.ts) and copied to
// portico.db.bak after every write that changed it (files.ts), which `portico state restore` puts back. It uses Node's built-in
// node:sqlite: no native addon to build, and no addon finaliser racing Node's teardown (better-sqlite3
// 12 on Node 24 aborted in Statement::~Statement when a GC ran without an entered context).
import { DatabaseSync } from "node:sqlite";
import { existsSync, mkdirSync } from "node:fs";
import { pathToFileURL } from "node:url";
import type { AllocationState, Assignment, PortClaim } from "../ipam/types.ts";
import { classify, preflight, quickCheck } from "./check.ts";
import { StateError, describe } from "./errors.ts";
import { BACKUP, DB, backupInto, createEmpty, moveAside, paths } from "./files.ts";
import { lockStateDir } from "./lock.ts";
import { inTransaction, knownVersion, migrate } from "./schema.ts";

/** Row is an allocations row as stored. */
interface Row {
  key: string;
  addresses: string;
  pools: string;
  sharing_key: string | null;
  ports: string;
}

/** SELECT_ALL reads every allocations row, ordered by key. */
const SELECT_ALL = "SELECT key, addresses, pools, sharing_key, ports FROM allocations ORDER BY key";

/** SaveStats says how many rows one save wrote and deleted (unchanged rows are not touched). */
export interface SaveStats {
  written: number;
  deleted: number;
}

/** StateStore is the open state database. */
export interface StateStore {
  /** file is the database path. */
  readonly file: string;
  /** version is the schema version (PRAGMA user_version) after migrations. */
  readonly version: number;
  /** created is true when this open made a new, empty database (first start, or --fresh-state). */
  readonly created: boolean;
  /** keptAside lists the files --fresh-state renamed aside. */
  readonly keptAside: readonly string[];
  /** loadAllocations reads every VIP assignment. */
  loadAllocations(): AllocationState;
  /**
   * saveAllocations makes the table equal `state` in one transaction, writing only changed rows,
   * then refreshes the backup if anything changed (or the last backup failed). Throws
   * PORTICO_STATE_WRITE; the database then still holds the last good write.
   */
  saveAllocations(state: AllocationState): SaveStats;
  /** loadFirstSeen reads when the file source first saw each object (key → RFC 3339). */
  loadFirstSeen(): Record<string, string>;
  /** saveFirstSeen makes the first-seen table equal `times`, in one transaction; the next save refreshes the backup. */
  saveFirstSeen(times: Record<string, string>): void;
  /**
   * bumpEpoch raises the engine link's epoch by one and returns it (1 on a new database): called
   * once per start, so every run of the controller outranks the previous one on its engines.
   */
  bumpEpoch(): number;
  /** loadAcme reads the ACME issuer's saved rows (key → JSON; controller/acme/store.ts). */
  loadAcme(): Record<string, string>;
  /** saveAcme writes one ACME row (undefined deletes it); throws PORTICO_STATE_WRITE. */
  saveAcme(key: string, value: string | undefined): void;
  /** loadTenantMemory reads what the tenant rules admitted last (JSON), or undefined before any. */
  loadTenantMemory(): string | undefined;
  /** saveTenantMemory replaces it (undefined deletes it: no Tenants any more); throws PORTICO_STATE_WRITE. */
  saveTenantMemory(json: string | undefined): void;
  /** loadAnalytics reads every saved analytics bucket, oldest first per family (analytics/persist.ts). */
  loadAnalytics(): AnalyticsRow[];
  /**
   * saveAnalytics writes buckets and deletes each family's rows older than its cutoff (ms), in one
   * transaction; throws PORTICO_STATE_WRITE. Not followed by a backup: analytics is history, rewritten
   * every minute, and copying a growing file that often would cost more than the history is worth.
   */
  saveAnalytics(rows: readonly AnalyticsRow[], cutoffs: Record<string, number>): void;
  /** close checkpoints and closes the database and gives up the directory's lock. */
  close(): void;
}

/** toRow serialises an assignment; field order is fixed so equal assignments give equal text. */
function toRow(key: string, a: Assignment): Row {
  const ports: PortClaim[] = a.ports.map((p) => ({ port: p.port, protocol: p.protocol }));
  return {
    key,
    addresses: JSON.stringify(a.addresses),
    pools: JSON.stringify(a.pools),
    sharing_key: a.sharingKey ?? null,
    ports: JSON.stringify(ports),
  };
}

/** fromRow parses a stored row back into an assignment. */
function fromRow(r: Row): Assignment {
  const a: Assignment = {
    addresses: JSON.parse(r.addresses) as string[],
    pools: JSON.parse(r.pools) as string[],
    ports: JSON.parse(r.ports) as PortClaim[],
  };
  if (r.sharing_key !== null) a.sharingKey = r.sharing_key;
  return a;
}

/** sameRow compares two rows column by column. */
function sameRow(a: Row, b: Row): boolean {
  return (
    a.addresses === b.addresses &&
    a.pools === b.pools &&
    a.sharing_key === b.sharing_key &&
    a.ports === b.ports
  );
}

/** AnalyticsRow is one saved analytics bucket: its ring family, start (ms) and deflated JSON. */
export interface AnalyticsRow {
  family: string;
  t: number;
  data: Uint8Array;
}

/** OpenOptions change how openStateStore treats what it finds. */
export interface OpenOptions {
  /** fresh renames the database and its backup aside and starts empty (`--fresh-state`). */
  fresh?: boolean;
}

/**
 * openStateStore locks dir, checks <dir>/portico.db and opens it, creating it on a first start.
 * Throws a StateError with a one-line message when the directory is in use or the file cannot be
 * trusted (empty, truncated, corrupt, unreadable, from a newer Portico, or missing where state was).
 */
export function openStateStore(dir: string, opts: OpenOptions = {}): StateStore {
  try {
    mkdirSync(dir, { recursive: true });
  } catch (err) {
    throw new StateError("PORTICO_STATE_DIR", `cannot create the state directory ${dir}: ${describe(err)}`, {
      cause: err,
    });
  }
  const lock = lockStateDir(dir);
  try {
    // The engine link's epoch survives --fresh-state: engines that saw it refuse any lower one.
    const epoch = opts.fresh ? savedEpoch(dir) : undefined;
    const keptAside = opts.fresh ? moveAside(dir, "reset", [DB, `${DB}-wal`, BACKUP]) : [];
    const created = !preflight(dir);
    if (created) createEmpty(dir);
    return openChecked(dir, { created, keptAside, release: lock.release, epoch });
  } catch (err) {
    lock.release();
    throw classify(err, dir);
  }
}

/** readOnly runs read on dir's database without the lock (offline commands); empty if none. */
function readOnly<T>(dir: string, empty: T, read: (db: DatabaseSync) => T): T {
  if (!preflight(dir)) return empty;
  const { db: file } = paths(dir);
  let db: DatabaseSync | undefined;
  try {
    db = new DatabaseSync(file, { readOnly: true });
    if (knownVersion(db, file) === 0) return empty;
    return read(db);
  } catch (err) {
    throw classify(err, dir);
  } finally {
    db?.close();
  }
}

/** readAllocations reads dir's saved allocations without the lock (offline commands); {} if none. */
export function readAllocations(dir: string): AllocationState {
  return readOnly(dir, {}, (db) => {
    const rows = db.prepare(SELECT_ALL).all() as unknown as Row[];
    return Object.fromEntries(rows.map((r) => [r.key, fromRow(r)]));
  });
}

/** readFirstSeen reads dir's first-seen times (key → RFC 3339) without the lock (offline commands),
 * so an offline answer ages objects as the running Portico does; {} if none. */
export function readFirstSeen(dir: string): Record<string, string> {
  return readOnly(dir, {}, (db) => {
    // A database from before first-seen times has no such table: nothing saved, not an error.
    const table = db
      .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'first_seen'")
      .get();
    if (table === undefined) return {};
    const rows = db.prepare("SELECT key, time FROM first_seen").all() as { key: string; time: string }[];
    return Object.fromEntries(rows.map((r) => [r.key, r.time]));
  });
}

/** openChecked opens a database preflight accepted, checks it whole and prepares the statements. */
function openChecked(
  dir: string,
  o: { created: boolean; keptAside: readonly string[]; release: () => void; epoch?: number | undefined },
): StateStore {
  const { db: file, backup } = paths(dir);
  const db = new DatabaseSync(file);
  try {
    db.exec("PRAGMA journal_mode = WAL");
    // NORMAL is durable across application crashes in WAL mode; only power loss can drop the last commit.
    db.exec("PRAGMA synchronous = NORMAL");
    db.exec("PRAGMA busy_timeout = 5000");
    const version = migrate(db, file);
    if (o.epoch !== undefined)
      db.prepare(
        "INSERT INTO epoch (id, value) VALUES (1, ?) ON CONFLICT(id) DO UPDATE SET value = MAX(value, excluded.value)",
      ).run(o.epoch);
    const selectAll = db.prepare(SELECT_ALL);
    const upsert = db.prepare(
      `INSERT INTO allocations (key, addresses, pools, sharing_key, ports)
       VALUES (@key, @addresses, @pools, @sharing_key, @ports)
       ON CONFLICT(key) DO UPDATE SET addresses = excluded.addresses, pools = excluded.pools,
         sharing_key = excluded.sharing_key, ports = excluded.ports`,
    );
    const remove = db.prepare("DELETE FROM allocations WHERE key = ?");
    const seenAll = db.prepare("SELECT key, time FROM first_seen ORDER BY key");
    const seenClear = db.prepare("DELETE FROM first_seen");
    const seenPut = db.prepare("INSERT INTO first_seen (key, time) VALUES (?, ?)");
    const acmeAll = db.prepare("SELECT key, value FROM acme ORDER BY key");
    const acmePut = db.prepare("INSERT OR REPLACE INTO acme (key, value) VALUES (?, ?)");
    const acmeDel = db.prepare("DELETE FROM acme WHERE key = ?");
    const epochBump = db.prepare(
      "INSERT INTO epoch (id, value) VALUES (1, 1) ON CONFLICT(id) DO UPDATE SET value = value + 1 RETURNING value",
    );
    const tenantGet = db.prepare("SELECT value FROM tenant_memory WHERE id = 1");
    const tenantPut = db.prepare("INSERT OR REPLACE INTO tenant_memory (id, value) VALUES (1, ?)");
    const tenantDel = db.prepare("DELETE FROM tenant_memory");
    const anaAll = db.prepare("SELECT family, t, data FROM analytics ORDER BY family, t");
    const anaPut = db.prepare("INSERT OR REPLACE INTO analytics (family, t, data) VALUES (?, ?, ?)");
    const anaPrune = db.prepare("DELETE FROM analytics WHERE family = ? AND t < ?");
    const rows = (): Row[] => selectAll.all() as unknown as Row[];
    const save = (state: AllocationState): SaveStats => {
      const stored = new Map(rows().map((r) => [r.key, r]));
      const stats: SaveStats = { written: 0, deleted: 0 };
      for (const [key, a] of Object.entries(state)) {
        const row = toRow(key, a);
        const old = stored.get(key);
        stored.delete(key);
        if (old && sameRow(old, row)) continue;
        upsert.run({ ...row });
        stats.written++;
      }
      for (const key of stored.keys()) {
        remove.run(key);
        stats.deleted++;
      }
      return stats;
    };
    const load = (): AllocationState => Object.fromEntries(rows().map((r) => [r.key, fromRow(r)]));
    quickCheck(db, load);
    // A first start, or a store from before backups existed, gets its backup on the first save.
    let backupStale = !existsSync(backup);
    return {
      file,
      version,
      created: o.created,
      keptAside: o.keptAside,
      loadAllocations: load,
      saveAllocations: (state) => {
        let stats: SaveStats;
        try {
          // IMMEDIATE takes the write lock before the read, so two writers cannot interleave.
          stats = inTransaction(db, "BEGIN IMMEDIATE", () => save(state));
        } catch (err) {
          throw new StateError(
            "PORTICO_STATE_WRITE",
            `cannot save VIP allocations to ${file}: ${describe(err)}`,
            {
              cause: err,
            },
          );
        }
        if (stats.written + stats.deleted > 0) backupStale = true;
        if (!backupStale) return stats;
        try {
          backupInto(db, dir);
          backupStale = false;
        } catch (err) {
          throw new StateError(
            "PORTICO_STATE_WRITE",
            `VIP allocations saved to ${file}, but its backup ${backup} could not be written: ${describe(err)}`,
            { cause: err },
          );
        }
        return stats;
      },
      loadFirstSeen: () =>
        Object.fromEntries((seenAll.all() as { key: string; time: string }[]).map((r) => [r.key, r.time])),
      // Written only when the set of objects changed (rare), so a full rewrite is cheap enough.
      saveFirstSeen: (times) => {
        try {
          inTransaction(db, "BEGIN IMMEDIATE", () => {
            seenClear.run();
            for (const [key, time] of Object.entries(times)) seenPut.run(key, time);
          });
        } catch (err) {
          throw new StateError(
            "PORTICO_STATE_WRITE",
            `cannot save first-seen times to ${file}: ${describe(err)}`,
            {
              cause: err,
            },
          );
        }
        backupStale = true;
      },
      loadAcme: () =>
        Object.fromEntries((acmeAll.all() as { key: string; value: string }[]).map((r) => [r.key, r.value])),
      saveAcme: (key, value) => {
        try {
          if (value === undefined) acmeDel.run(key);
          else acmePut.run(key, value);
        } catch (err) {
          throw new StateError("PORTICO_STATE_WRITE", `cannot save ACME state to ${file}: ${describe(err)}`, {
            cause: err,
          });
        }
        backupStale = true;
      },
      loadTenantMemory: () => (tenantGet.get() as { value: string } | undefined)?.value,
      saveTenantMemory: (json) => {
        try {
          if (json === undefined) tenantDel.run();
          else tenantPut.run(json);
        } catch (err) {
          throw new StateError(
            "PORTICO_STATE_WRITE",
            `cannot save the tenant admissions to ${file}: ${describe(err)}`,
            { cause: err },
          );
        }
        backupStale = true;
      },
      loadAnalytics: () => anaAll.all() as unknown as AnalyticsRow[],
      saveAnalytics: (rows, cutoffs) => {
        try {
          inTransaction(db, "BEGIN IMMEDIATE", () => {
            for (const r of rows) anaPut.run(r.family, r.t, r.data);
            for (const [family, before] of Object.entries(cutoffs)) anaPrune.run(family, before);
          });
        } catch (err) {
          throw new StateError("PORTICO_STATE_WRITE", `cannot save analytics to ${file}: ${describe(err)}`, {
            cause: err,
          });
        }
      },
      bumpEpoch: () => {
        let value: number;
        try {
          value = inTransaction(db, "BEGIN IMMEDIATE", () => (epochBump.get() as { value: number }).value);
        } catch (err) {
          throw new StateError(
            "PORTICO_STATE_WRITE",
            `cannot save the engine link epoch to ${file}: ${describe(err)}`,
            {
              cause: err,
            },
          );
        }
        // The backup follows at once: a restored backup with an older epoch would make engines
        // that saw the newer one refuse this controller's snapshots.
        try {
          backupInto(db, dir);
        } catch {
          backupStale = true;
        }
        return value;
      },
      close: () => {
        if (db.isOpen) db.close();
        o.release();
      },
    };
  } catch (err) {
    db.close();
    throw err;
  }
}

// savedEpoch is the highest engine link epoch the database or its backup in dir holds, read
// before --fresh-state sets them aside; undefined when neither can be read (best effort: a
// damaged file is what --fresh-state is for).
function savedEpoch(dir: string): number | undefined {
  const { db: file, backup } = paths(dir);
  let best: number | undefined;
  for (const f of [file, backup]) {
    if (!existsSync(f)) continue;
    try {
      // immutable: read without creating the -wal and -shm files a WAL database opens with.
      const url = pathToFileURL(f);
      url.searchParams.set("immutable", "1");
      const db = new DatabaseSync(url, { readOnly: true });
      try {
        const row = db.prepare("SELECT value FROM epoch WHERE id = 1").get() as
          { value?: unknown } | undefined;
        if (typeof row?.value === "number" && Number.isSafeInteger(row.value))
          best = Math.max(best ?? 0, row.value);
      } finally {
        db.close();
      }
    } catch {
      // No epoch table (an older database), or a file that does not open: nothing to carry.
    }
  }
  return best;
}
