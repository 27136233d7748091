import { test } from "node:test";
import assert from "node:assert/strict";
import { CliError, parseCommon } from "./args.ts";

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
