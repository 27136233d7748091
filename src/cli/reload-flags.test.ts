import { test } from "node:test";
import assert from "node:assert/strict";
import { parseDuration, parseReloadFlags, parseSize } from "./reload-flags.ts";
import { parseCommon, CliError } from "./args.ts";

test("sizes and durations parse with their units; nonsense does not", () => {
  assert.equal(parseSize("64MiB"), 64 * 1024 * 1024);
  assert.equal(parseSize("50MB"), 50e6);
  assert.equal(parseSize("1048576"), 1048576);
  assert.equal(parseSize("lots"), undefined);
  assert.equal(parseDuration("150ms"), 150);
  assert.equal(parseDuration("2s"), 2000);
  assert.equal(parseDuration("0"), 0);
  assert.equal(parseDuration("5"), undefined, "a bare number other than 0 has no unit");
});

test("reload flags reach the source's settings; a bad one is a usage error naming the flag", () => {
  assert.deepEqual(
    parseReloadFlags({
      "max-file-size": "1MiB",
      "max-objects": "10",
      "rescan-interval": "0",
      "file-settle": "50ms",
    }),
    { timing: { settleMs: 50, rescanMs: 0 }, limits: { maxFileBytes: 1 << 20, maxObjects: 10 } },
  );
  assert.deepEqual(parseCommon(["d"]).reload, { timing: {}, limits: {} });
  assert.throws(
    () => parseCommon(["d", "--max-objects", "many"]),
    (e: unknown) => e instanceof CliError && /--max-objects must look like 50000, not "many"/.test(e.message),
  );
});
