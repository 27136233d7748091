// refused-at-start.ts: runs `portico run` and `portico engine` with env added and asserts what a
// bad engine setting in the environment must get: nothing starts, exit status 2, and `line` alone
// on stderr (PORTICO_OWN_SOCKETS, PORTICO_H2_CODEC).
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { join } from "node:path";

const main = join(import.meta.dirname, "..", "..", "src", "cli", "main.ts");

/** assertRefusedAtStart checks both commands refuse env with `line` and exit status 2. */
export function assertRefusedAtStart(env: NodeJS.ProcessEnv, line: string): void {
  for (const cmd of ["run", "engine"]) {
    const r = spawnSync(process.execPath, [main, cmd, "/nonexistent-portico-dir"], {
      env: { ...process.env, ...env },
      encoding: "utf8",
      timeout: 60_000,
    });
    assert.equal(r.status, 2, r.stderr);
    assert.equal(r.stderr, line);
  }
}
