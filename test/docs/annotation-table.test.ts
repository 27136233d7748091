// annotation-table.test.ts: docs/migration-annotations.md says what the registry says, row for row. When this
// fails, run `sh scripts/node.sh scripts/gen-annotation-table.ts` and commit the doc.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { KNOWN_ANNOTATIONS } from "../../src/translate/nginx/registry.ts";
import { parseTableRows, tableRow } from "../../src/translate/nginx/table.ts";

test("docs/migration-annotations.md lists every registry entry with its status, access and note", () => {
  const doc = readFileSync(join(import.meta.dirname, "../../docs/migration-annotations.md"), "utf8");
  assert.deepEqual(
    parseTableRows(doc),
    KNOWN_ANNOTATIONS.map(tableRow),
    "the doc differs from the registry: run sh scripts/node.sh scripts/gen-annotation-table.ts",
  );
});
