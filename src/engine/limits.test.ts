import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { defaultMaxConnections, openFileLimit, workerLimits } from "./limits.ts";

test("defaultMaxConnections leaves a reserve and halves the rest (client + backend descriptor)", () => {
  assert.equal(defaultMaxConnections(1024), 384);
  assert.equal(defaultMaxConnections(20_000), 9488);
  assert.equal(defaultMaxConnections(1_048_576), 523_776);
  assert.equal(defaultMaxConnections(10), 16, "never below 16");
});

test("openFileLimit reads the soft limit of /proc/self/limits", () => {
  const dir = mkdtempSync(join(tmpdir(), "limits-"));
  const f = join(dir, "limits");
  writeFileSync(
    f,
    "Limit Soft Limit Hard Limit Units\nMax open files            20000                40000                files\n",
  );
  assert.equal(openFileLimit(f), 20000);
  assert.equal(openFileLimit(join(dir, "absent")), undefined);
  assert.ok((openFileLimit() ?? 1) > 0);
});

test("workerLimits splits caps and rates over the workers; defaults and 0 stay as they are", () => {
  assert.deepEqual(
    workerLimits({ maxConnections: 1000, connectionRatePerClient: 10, requestBodyBufferBytes: 5 }, 3),
    {
      maxConnections: 334,
      connectionRatePerClient: 4,
      requestBodyBufferBytes: 5,
    },
  );
  assert.deepEqual(workerLimits({ maxConnectionsPerListener: 0 }, 4), { maxConnectionsPerListener: 0 });
  assert.deepEqual(workerLimits({ maxConnections: 2 }, 8), { maxConnections: 1 });
});
