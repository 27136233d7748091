// dirs.ts: the directories of manifests a command was given must exist before anything opens the
// state store or starts a listener: a typo then costs one line and leaves nothing behind.
import { statSync } from "node:fs";
import { CliError } from "./args.ts";

/** requireDirs throws a one-line usage error (exit 2) naming the first path that does not exist. */
export function requireDirs(dirs: readonly string[]): void {
  for (const dir of dirs) {
    if (statSync(dir, { throwIfNoEntry: false }) === undefined)
      throw new CliError(`${dir}: no such directory; create it or pass the right path (nothing was started)`);
  }
}
