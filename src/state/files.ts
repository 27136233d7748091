// files.ts: the files of a state directory and the steps that replace them safely. A file is never
// overwritten in place: a new one is written beside it, fsynced, and renamed over (rename is atomic
// on POSIX), then the directory is fsynced so the rename survives a power cut. Files being replaced
// or refused are renamed aside with a timestamp, never deleted. Never open portico.db with fs while
// a SQLite connection has it open: closing any descriptor of a file drops the process's POSIX
// locks on it, including SQLite's.
import { DatabaseSync } from "node:sqlite";
import { closeSync, existsSync, fsyncSync, openSync, renameSync, rmSync } from "node:fs";
import { join } from "node:path";
import { inTransaction, migrate, NOT_BACKED_UP } from "./schema.ts";

/** DB is the state database's file name. */
export const DB = "portico.db";
/** BACKUP is the copy of the database as of the last good write. */
export const BACKUP = "portico.db.bak";

/** paths names every file of a state directory. */
export function paths(dir: string) {
  const db = join(dir, DB);
  return { db, wal: `${db}-wal`, shm: `${db}-shm`, backup: join(dir, BACKUP) };
}

/** fsyncPath flushes a file or directory to disk. */
export function fsyncPath(path: string): void {
  const fd = openSync(path, "r");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** installFile renames a finished, fsynced temp file over target and makes the rename durable. */
export function installFile(tmp: string, target: string, dir: string): void {
  fsyncPath(tmp);
  renameSync(tmp, target);
  fsyncPath(dir);
}

/**
 * backupInto writes a consistent copy of db's state to dir's backup file (fsync, rename): a
 * freshly migrated database into which every table but the NOT_BACKED_UP ones (analytics history
 * and the request log: tens of MiB a restore may lose) is copied in one read transaction. The
 * backup follows every allocation change, so it must stay as small as the state it protects.
 */
export function backupInto(db: DatabaseSync, dir: string): void {
  const { backup } = paths(dir);
  const tmp = `${backup}.tmp`;
  for (const f of [tmp, `${tmp}-journal`]) rmSync(f, { force: true });
  try {
    const fresh = new DatabaseSync(tmp);
    try {
      migrate(fresh, tmp);
    } finally {
      fresh.close();
    }
    db.prepare("ATTACH DATABASE ? AS backup").run(tmp);
    try {
      const tables = (
        db
          .prepare("SELECT name FROM main.sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
          .all() as { name: string }[]
      )
        .map((r) => r.name)
        .filter((t) => !NOT_BACKED_UP.has(t));
      // Table names come from the database's own schema, quoted: no user input reaches this SQL.
      inTransaction(db, "BEGIN", () => {
        for (const t of tables) db.exec(`INSERT INTO backup."${t}" SELECT * FROM main."${t}"`);
      });
    } finally {
      db.exec("DETACH DATABASE backup");
    }
    installFile(tmp, backup, dir);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}

/** createEmpty makes a new, migrated database at dir's db path; a crash leaves no half-made file there. */
export function createEmpty(dir: string): void {
  const { db } = paths(dir);
  const tmp = `${db}.new`;
  for (const f of [tmp, `${tmp}-journal`, `${tmp}-wal`, `${tmp}-shm`]) rmSync(f, { force: true });
  // Rollback-journal mode while building, so everything is in the one file when it is renamed;
  // the store switches it to WAL when it opens it.
  const fresh = new DatabaseSync(tmp);
  try {
    migrate(fresh, tmp);
  } finally {
    fresh.close();
  }
  installFile(tmp, db, dir);
}

/** moveAside renames the named files of dir that exist to NAME.TAG-TIMESTAMP and removes the shm index. */
export function moveAside(dir: string, tag: string, names: readonly string[]): string[] {
  const stamp = new Date().toISOString().replace(/[:.]/g, "-");
  const moved: string[] = [];
  for (const name of names) {
    const from = join(dir, name);
    if (!existsSync(from)) continue;
    const to = `${from}.${tag}-${stamp}`;
    renameSync(from, to);
    moved.push(to);
  }
  // The shm file is an index SQLite rebuilds from the WAL; a stale one must not meet a new database.
  rmSync(paths(dir).shm, { force: true });
  if (moved.length > 0) fsyncPath(dir);
  return moved;
}
