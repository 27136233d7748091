// errors.ts: the one error class of the state store. Its message is a single line that says what is
// wrong with which file and what to do next; the CLI prints it as it is, without a stack trace.
// No node:sqlite import here, so the CLI can recognise the class without loading SQLite.

/** StateErrorCode names each way the state directory can be refused or fail. */
export type StateErrorCode =
  | "PORTICO_STATE_LOCKED"
  | "PORTICO_STATE_DIR"
  | "PORTICO_STATE_EMPTY"
  | "PORTICO_STATE_CORRUPT"
  | "PORTICO_STATE_UNREADABLE"
  | "PORTICO_STATE_SCHEMA"
  | "PORTICO_STATE_MISSING"
  | "PORTICO_STATE_NO_BACKUP"
  | "PORTICO_STATE_WRITE";

/** StateError is a refused or failed state operation, with a stable code and a one-line message. */
export class StateError extends Error {
  readonly code: StateErrorCode;
  constructor(code: StateErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/** nextSteps is the advice every refused state file ends with: restore the backup, or start afresh. */
export function nextSteps(dir: string, hasBackup: boolean): string {
  return hasBackup
    ? `'portico state restore --state-dir ${dir}' brings back the last good copy (portico.db.bak); ${freshAdvice(dir)}`
    : `there is no backup; ${freshAdvice(dir)}`;
}

/** freshAdvice names the two ways to start afresh and what that costs. */
export function freshAdvice(dir: string): string {
  return `'portico state reset --state-dir ${dir}' (or 'portico run --fresh-state') starts afresh: every Service gets a new address; the old files are kept aside`;
}

/** describe is an error's message without its class name, on one line. */
export function describe(err: unknown): string {
  const e = err as { message?: unknown; code?: unknown };
  const text = typeof e?.message === "string" ? e.message : String(err);
  return text.replace(/\s+/g, " ").trim();
}
