// restore.ts: the two ways out of a refused state file — put the last good copy back, or start
// afresh. Both take the directory's lock (so never under a running Portico) and rename what they
// replace aside with a timestamp instead of deleting it.
import { DatabaseSync } from "node:sqlite";
import { copyFileSync, existsSync, mkdirSync, rmSync } from "node:fs";
import { classify, quickCheck } from "./check.ts";
import { StateError, freshAdvice } from "./errors.ts";
import { BACKUP, DB, createEmpty, installFile, moveAside, paths } from "./files.ts";
import { lockStateDir } from "./lock.ts";
import { knownVersion } from "./schema.ts";

/** Restored says what restoreState put back and where the replaced files went. */
export interface Restored {
  /** allocations is the number of VIP allocations in the restored database. */
  allocations: number;
  /** keptAside lists the renamed files that were replaced. */
  keptAside: string[];
}

/** restoreState replaces dir's database with its backup, after checking the backup is sound. */
export function restoreState(dir: string): Restored {
  const p = paths(dir);
  if (!existsSync(p.backup)) {
    throw new StateError(
      "PORTICO_STATE_NO_BACKUP",
      `there is no backup ${p.backup} to restore; ${freshAdvice(dir)}`,
    );
  }
  const lock = lockStateDir(dir);
  try {
    const allocations = checkBackup(dir);
    const tmp = `${p.db}.restore`;
    rmSync(tmp, { force: true });
    copyFileSync(p.backup, tmp);
    const keptAside = moveAside(dir, "broken", [DB, `${DB}-wal`]);
    installFile(tmp, p.db, dir);
    return { allocations, keptAside };
  } finally {
    lock.release();
  }
}

/** resetState renames dir's database and backup aside and leaves a new empty database. */
export function resetState(dir: string): { keptAside: string[] } {
  mkdirSync(dir, { recursive: true });
  const lock = lockStateDir(dir);
  try {
    const keptAside = moveAside(dir, "reset", [DB, `${DB}-wal`, BACKUP]);
    createEmpty(dir);
    return { keptAside };
  } finally {
    lock.release();
  }
}

/** checkBackup opens the backup read-only and checks it whole; returns its number of allocations. */
function checkBackup(dir: string): number {
  const { backup } = paths(dir);
  let db: DatabaseSync | undefined;
  try {
    db = new DatabaseSync(backup, { readOnly: true });
    knownVersion(db, backup);
    let count = 0;
    quickCheck(db, () => {
      count = (db!.prepare("SELECT count(*) AS n FROM allocations").get() as { n: number }).n;
    });
    return count;
  } catch (err) {
    throw classify(err, dir, backup, `the backup cannot be used either; ${freshAdvice(dir)}`);
  } finally {
    db?.close();
  }
}
