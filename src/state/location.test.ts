import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { defaultStateDir, refuseLegacyDefault, stateDirOf } from "./location.ts";

test("defaultStateDir: the environment variable wins, then root's /var/lib, then the XDG state home", () => {
  assert.equal(defaultStateDir({ PORTICO_STATE_DIR: "/srv/p" }, 0), "/srv/p");
  assert.equal(defaultStateDir({}, 0), "/var/lib/portico");
  assert.equal(defaultStateDir({ XDG_STATE_HOME: "/x/state", HOME: "/home/a" }, 1000), "/x/state/portico");
  assert.equal(defaultStateDir({ HOME: "/home/a" }, 1000), "/home/a/.local/state/portico");
});

test("stateDirOf: a flag is resolved against the working directory; no flag gives the default", () => {
  assert.equal(stateDirOf("/abs/dir", {}), "/abs/dir");
  assert.equal(stateDirOf("rel", {}), `${process.cwd()}/rel`);
  assert.equal(stateDirOf(undefined, { PORTICO_STATE_DIR: "/srv/p" }), "/srv/p");
});

test("refuseLegacyDefault: state left in ./.portico by an older default is not silently skipped", (t) => {
  const cwd = mkdtempSync(join(tmpdir(), "portico-legacy-"));
  t.after(() => rmSync(cwd, { recursive: true, force: true }));
  const dir = join(cwd, "new-default");
  refuseLegacyDefault(undefined, dir, cwd); // nothing in ./.portico
  mkdirSync(join(cwd, ".portico"));
  writeFileSync(join(cwd, ".portico", "portico.db"), "x");
  assert.throws(() => refuseLegacyDefault(undefined, dir, cwd), {
    code: "PORTICO_STATE_MISSING",
    message: new RegExp(`pass --state-dir ${cwd}/\\.portico, or move it`),
  });
  refuseLegacyDefault("somewhere", dir, cwd); // an explicit flag is the user's choice
  refuseLegacyDefault(undefined, join(cwd, ".portico"), cwd); // PORTICO_STATE_DIR=.portico
  mkdirSync(dir);
  writeFileSync(join(dir, "portico.db"), "x");
  refuseLegacyDefault(undefined, dir, cwd); // the new default already has state
});
