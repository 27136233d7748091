// lock.ts: one Portico per state directory. Two processes on one portico.db both read and write it
// (SQLite serialises their transactions, not their intent): the second one's first save deleted
// the first one's rows. The lock is an OS lock, so it dies with its process — kill -9 included —
// and a reused pid cannot hold it: SQLite takes a POSIX fcntl lock on <dir>/portico.lock with
// locking_mode=EXCLUSIVE and keeps it until the connection closes. SQLite also tracks its locks
// per inode inside one process, so a second open from another thread or module is refused too.
// The holder's pid goes in a separate file, portico.pid, only for the message: reading the lock
// file itself with fs would close a descriptor on it, and POSIX drops every lock the process holds
// on a file when any descriptor of that file closes.
import { DatabaseSync } from "node:sqlite";
import { readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { StateError } from "./errors.ts";

/** SQLITE_BUSY is the result code of a lock another connection holds. */
const SQLITE_BUSY = 5;

/** StateLock is a held lock on a state directory. */
export interface StateLock {
  /** release gives the lock up; the process ending does the same. */
  release(): void;
}

/**
 * lockStateDir takes the directory's lock or throws PORTICO_STATE_LOCKED naming the holder's pid.
 * Keep the returned lock referenced: a garbage-collected connection closes, and its lock goes with it.
 */
export function lockStateDir(dir: string): StateLock {
  const file = join(dir, "portico.lock");
  let db: DatabaseSync;
  try {
    db = new DatabaseSync(file, { timeout: 0 });
  } catch (err) {
    throw new StateError(
      "PORTICO_STATE_DIR",
      `cannot create the lock file ${file}: ${(err as Error).message}; check the state directory's owner and permissions`,
      { cause: err },
    );
  }
  try {
    db.exec("PRAGMA locking_mode = EXCLUSIVE");
    // An exclusive transaction takes the lock; EXCLUSIVE locking mode keeps it after COMMIT.
    db.exec("BEGIN EXCLUSIVE");
    db.exec("COMMIT");
  } catch (err) {
    db.close();
    if ((err as { errcode?: number }).errcode !== SQLITE_BUSY) {
      throw new StateError("PORTICO_STATE_DIR", `cannot lock ${file}: ${(err as Error).message}`, {
        cause: err,
      });
    }
    const pid = holderPid(dir);
    throw new StateError(
      "PORTICO_STATE_LOCKED",
      `state directory ${dir} is in use by another Portico (${pid ? `pid ${pid}` : "pid unknown"}); stop that one first, or give this one its own --state-dir`,
    );
  }
  writePid(dir);
  return {
    release: () => {
      if (!db.isOpen) return;
      // Still holding the lock, so no other holder can have written its pid yet.
      if (holderPid(dir) === process.pid) rmSync(join(dir, "portico.pid"), { force: true });
      db.close();
    },
  };
}

/** writePid records the holder's pid for the message a second instance prints; best effort. */
function writePid(dir: string): void {
  const file = join(dir, "portico.pid");
  try {
    writeFileSync(`${file}.tmp`, `${process.pid}\n`);
    renameSync(`${file}.tmp`, file);
  } catch {
    // A full disk must not stop the lock holder; the message then says "pid unknown".
  }
}

/** holderPid reads the pid the lock holder recorded, if any. */
export function holderPid(dir: string): number | undefined {
  try {
    const pid = Number(readFileSync(join(dir, "portico.pid"), "utf8").trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}
