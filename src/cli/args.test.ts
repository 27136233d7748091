// args.test.ts: `-o` takes table, wide, yaml or json on every command; anything else is exit 2.
import { test } from "node:test";
import assert from "node:assert/strict";
import { CliError, outputOf, parseCommon, refuseFlags } from "./args.ts";

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

test("refuseFlags: a flag the command would ignore is a usage error naming it, defaults are not 'given'", () => {
  const f = parseCommon(["dir", "--http-port", "8080", "-o", "json", "--no-classless"]);
  assert.deepEqual(f.given.sort(), ["--http-port", "--no-classless", "-o"]);
  assert.deepEqual(parseCommon(["dir"]).given, []);
  assert.throws(
    () => refuseFlags(f, ["--http-port", "--state-dir"], "why"),
    (e: unknown) => e instanceof CliError && e.exitCode === 2 && e.message === "--http-port: why",
  );
  refuseFlags(f, ["--workers"], "not given, so no error");
});

test("limit flags: counts, a size and a duration; none given leaves every default", () => {
  assert.deepEqual(parseCommon(["dir"]).limits, {});
  const f = parseCommon([
    "dir",
    "--max-connections",
    "5000",
    "--max-connections-per-listener",
    "0",
    "--max-connection-rate",
    "20",
    "--request-body-buffer",
    "128Ki",
    "--request-body-timeout",
    "30s",
  ]);
  assert.deepEqual(f.limits, {
    maxConnections: 5000,
    maxConnectionsPerListener: 0,
    connectionRatePerClient: 20,
    requestBodyBufferBytes: 131072,
    requestBodyTimeoutMs: 30_000,
  });
});

test("limit flags: a bad value names the flag and what it takes", () => {
  const bad: [string[], RegExp][] = [
    [["--max-connections=-3"], /--max-connections must be a whole number/],
    [["--max-connection-rate", "fast"], /--max-connection-rate must be a whole number/],
    [["--request-body-buffer", "1Gi"], /--request-body-buffer "1Gi" must be a size from 0 to 16Mi/],
    [["--request-body-timeout", "10"], /--request-body-timeout must be a duration from 1s to 1h/],
  ];
  for (const [args, msg] of bad) {
    assert.throws(
      () => parseCommon(["dir", ...args]),
      (e: unknown) => e instanceof CliError && msg.test(e.message),
    );
  }
});

test("--analytics: on by default, on|off, anything else a usage error naming the flag", () => {
  assert.equal(parseCommon([]).analytics, true);
  assert.equal(parseCommon(["--analytics", "on"]).analytics, true);
  assert.equal(parseCommon(["--analytics", "off"]).analytics, false);
  assert.throws(
    () => parseCommon(["--analytics", "no"]),
    (e: unknown) =>
      e instanceof CliError &&
      e.exitCode === 2 &&
      /--analytics must be "on" or "off", not "no"/.test(e.message),
  );
});
