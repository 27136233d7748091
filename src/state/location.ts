// location.ts: where Portico keeps its state when no --state-dir is given. It must not depend on
// the working directory of whoever started Portico (a restart from another directory would start
// with empty allocations and re-address every Service), so it follows the usual places for a
// daemon's state: $PORTICO_STATE_DIR, /var/lib/portico for root, or the XDG state home.
import { existsSync } from "node:fs";
import { homedir } from "node:os";
import { join, resolve } from "node:path";
import { StateError } from "./errors.ts";

/** defaultStateDir is the state directory `portico run`, `translate`, `explain` and `validate` share. */
export function defaultStateDir(
  env: NodeJS.ProcessEnv = process.env,
  uid = process.getuid?.() ?? -1,
): string {
  if (env.PORTICO_STATE_DIR) return resolve(env.PORTICO_STATE_DIR);
  if (uid === 0) return "/var/lib/portico";
  const base = env.XDG_STATE_HOME
    ? resolve(env.XDG_STATE_HOME)
    : join(env.HOME ?? homedir(), ".local", "state");
  return join(base, "portico");
}

/** stateDirOf resolves a --state-dir flag, or the default when it is absent. */
export function stateDirOf(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  return flag ? resolve(flag) : defaultStateDir(env);
}

/**
 * refuseLegacyDefault stops a start without --state-dir that would begin empty while ./.portico,
 * the default of older Portico versions, holds state: every Service would get a new address.
 */
export function refuseLegacyDefault(flag: string | undefined, dir: string, cwd = process.cwd()): void {
  const old = join(cwd, ".portico");
  if (flag || resolve(dir) === old) return;
  if (!existsSync(join(old, "portico.db")) || existsSync(join(dir, "portico.db"))) return;
  throw new StateError(
    "PORTICO_STATE_MISSING",
    `no state in ${dir} (the default state directory), but ${old} holds state from an older Portico, whose default was ./.portico; pass --state-dir ${old}, or move it: mkdir -p ${dir} && mv ${old}/portico.db* ${dir}/`,
  );
}
