// store.ts: Portico's embedded state for standalone mode — one SQLite file, <dir>/portico.db, in
// WAL mode so readers (CLI, admin API) never block the controller's writes. It uses Node's built-in
// node:sqlite: no native addon to build, and no addon finaliser racing Node's teardown (better-sqlite3
// 12 on Node 24 aborted in Statement::~Statement when a GC ran without an entered context).
import { DatabaseSync } from "node:sqlite";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { AllocationState, Assignment, PortClaim } from "../ipam/types.ts";
import { inTransaction, migrate } from "./schema.ts";

/** Row is an allocations row as stored. */
interface Row {
  key: string;
  addresses: string;
  pools: string;
  sharing_key: string | null;
  ports: string;
}

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
  /** loadAllocations reads every VIP assignment. */
  loadAllocations(): AllocationState;
  /** saveAllocations makes the table equal `state` in one transaction, writing only changed rows. */
  saveAllocations(state: AllocationState): SaveStats;
  /** loadFirstSeen reads when the file source first saw each object (key → RFC 3339). */
  loadFirstSeen(): Record<string, string>;
  /** saveFirstSeen makes the first-seen table equal `times`, in one transaction. */
  saveFirstSeen(times: Record<string, string>): void;
  /** close checkpoints and closes the database. */
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

/** openStateStore opens (creating if needed) <dir>/portico.db and brings its schema up to date. */
export function openStateStore(dir: string): StateStore {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, "portico.db");
  const db = new DatabaseSync(file);
  try {
    db.exec("PRAGMA journal_mode = WAL");
    // NORMAL is durable across application crashes in WAL mode; only power loss can drop the last commit.
    db.exec("PRAGMA synchronous = NORMAL");
    db.exec("PRAGMA busy_timeout = 5000");
    const version = migrate(db, file);
    const selectAll = db.prepare(
      "SELECT key, addresses, pools, sharing_key, ports FROM allocations ORDER BY key",
    );
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
    return {
      file,
      version,
      loadAllocations: () => Object.fromEntries(rows().map((r) => [r.key, fromRow(r)])),
      // IMMEDIATE takes the write lock before the read, so two writers cannot interleave.
      saveAllocations: (state) => inTransaction(db, "BEGIN IMMEDIATE", () => save(state)),
      loadFirstSeen: () =>
        Object.fromEntries((seenAll.all() as { key: string; time: string }[]).map((r) => [r.key, r.time])),
      // Written only when the set of objects changed (rare), so a full rewrite is cheap enough.
      saveFirstSeen: (times) =>
        inTransaction(db, "BEGIN IMMEDIATE", () => {
          seenClear.run();
          for (const [key, time] of Object.entries(times)) seenPut.run(key, time);
        }),
      close: () => {
        if (db.isOpen) db.close();
      },
    };
  } catch (err) {
    db.close();
    throw err;
  }
}
