// check.ts: refuse a state file that cannot be trusted, before anything reads it. Each refusal is
// one line naming the file, what is wrong and what to do (restore the backup, or start afresh):
// before these checks a zero-length portico.db opened as a new empty database, a truncated one
// started with no allocations, and both re-addressed every Service without a word.
import type { DatabaseSync } from "node:sqlite";
import { accessSync, constants, existsSync, statSync } from "node:fs";
import { StateError, describe, freshAdvice, nextSteps } from "./errors.ts";
import { paths } from "./files.ts";
import { SchemaError } from "./schema.ts";

/** SQLite primary result codes the checks tell apart (extended codes keep them in the low byte). */
const SQLITE = { PERM: 3, READONLY: 8, IOERR: 10, CORRUPT: 11, FULL: 13, CANTOPEN: 14, NOTADB: 26 };

/** preflight looks at dir's database file before SQLite does; false means there is none yet. */
export function preflight(dir: string): boolean {
  const p = paths(dir);
  const hasBackup = existsSync(p.backup);
  let st;
  try {
    st = statSync(p.db);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw unreadable(dir, err);
    // No database, but a backup or a write-ahead log: there was state here and it has gone.
    if (hasBackup || existsSync(p.wal)) {
      throw new StateError(
        "PORTICO_STATE_MISSING",
        `state file ${p.db} is missing but this directory held state before (${hasBackup ? "portico.db.bak" : "portico.db-wal"} is there); refusing to start empty and re-address every Service: ${nextSteps(dir, hasBackup)}`,
      );
    }
    return false;
  }
  if (!st.isFile()) throw unreadable(dir, new Error("it is not a regular file"));
  // A new database is created elsewhere and renamed in whole, so zero bytes means damage.
  if (st.size === 0) {
    throw new StateError(
      "PORTICO_STATE_EMPTY",
      `state file ${p.db} is empty (0 bytes; truncated?); refusing to start with no allocations: ${nextSteps(dir, hasBackup)}`,
    );
  }
  try {
    accessSync(p.db, constants.R_OK | constants.W_OK);
  } catch (err) {
    throw unreadable(dir, err);
  }
  return true;
}

/** unreadable is the refusal of a database file Portico may not open. */
function unreadable(
  dir: string,
  err: unknown,
  file = paths(dir).db,
  advice = nextSteps(dir, existsSync(paths(dir).backup)),
): StateError {
  return new StateError(
    "PORTICO_STATE_UNREADABLE",
    `state file ${file} cannot be opened (${describe(err)}); check that it is a file owned by the user running Portico with read and write permission, or: ${advice}`,
    { cause: err },
  );
}

/** quickCheck runs SQLite's structural check and reads every row, throwing on the first problem. */
export function quickCheck(db: DatabaseSync, rows: () => unknown): void {
  const result = db.prepare("PRAGMA quick_check").all() as { quick_check: string }[];
  const first = result[0]?.quick_check ?? "no answer";
  if (first !== "ok") throw Object.assign(new Error(first), { errcode: SQLITE.CORRUPT });
  rows();
}

/** classify turns an error from opening or checking a database of dir into a one-line StateError. */
export function classify(
  err: unknown,
  dir: string,
  file = paths(dir).db,
  advice = nextSteps(dir, existsSync(paths(dir).backup)),
): StateError {
  if (err instanceof SchemaError) {
    return new StateError(
      "PORTICO_STATE_SCHEMA",
      `${describe(err)}; run the Portico that wrote it, or ${freshAdvice(dir)}`,
      { cause: err },
    );
  }
  if (err instanceof StateError) return err;
  const code = ((err as { errcode?: number }).errcode ?? -1) & 0xff;
  switch (code) {
    case SQLITE.NOTADB:
      return new StateError(
        "PORTICO_STATE_CORRUPT",
        `state file ${file} is not a SQLite database (overwritten or damaged): ${advice}`,
        { cause: err },
      );
    case SQLITE.PERM:
    case SQLITE.READONLY:
    case SQLITE.CANTOPEN:
      return unreadable(dir, err, file, advice);
    case SQLITE.FULL:
      return new StateError(
        "PORTICO_STATE_WRITE",
        `cannot write ${file}: the disk is full; free space and start again`,
        {
          cause: err,
        },
      );
    default:
      // CORRUPT, IOERR (a short read of a truncated file), a missing table or a row that does not parse.
      return new StateError(
        "PORTICO_STATE_CORRUPT",
        `state file ${file} is damaged (${describe(err)}): ${advice}`,
        { cause: err },
      );
  }
}
