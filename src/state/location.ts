// location.ts: where Portico keeps its state when no --state-dir is given. It must not depend on
// the working directory of whoever started Portico (a restart from another directory would start
// with empty allocations and re-address every Service), so it follows the usual places for a
// daemon's state: $PORTICO_STATE_DIR, /var/lib/portico for root, or the XDG state home.
import { homedir } from "node:os";
import { join, resolve } from "node:path";

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
