// args.test.ts: `-o` takes table, wide, yaml or json on every command; anything else is exit 2.
import { test } from "node:test";
import assert from "node:assert/strict";
import { CliError, outputOf, parseCommon } from "./args.ts";

test("-o: the four formats parse, an unknown one is a usage error (exit 2) naming the choices", () => {
  for (const o of ["table", "wide", "yaml", "json"]) assert.equal(parseCommon(["-o", o]).output, o);
  assert.equal(parseCommon([]).output, undefined);
  assert.throws(
    () => outputOf("xml"),
    (e: unknown) =>
      e instanceof CliError && e.exitCode === 2 && /table, wide, yaml, json, not "xml"/.test(e.message),
  );
  assert.throws(() => parseCommon(["-o", "name"]), CliError);
});

test("--admin: given or defaulted, and the command can tell which", () => {
  assert.deepEqual([parseCommon([]).admin, parseCommon([]).adminGiven], ["127.0.0.1:9901", false]);
  assert.deepEqual(
    [parseCommon(["--admin", "127.0.0.1:1"]).admin, parseCommon(["--admin", "127.0.0.1:1"]).adminGiven],
    ["127.0.0.1:1", true],
  );
});
