import { test } from "node:test";
import assert from "node:assert/strict";
import { defaultStateDir, stateDirOf } from "./location.ts";

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
