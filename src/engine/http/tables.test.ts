// tables.test.ts: the copied tables still equal node:http's (a Node upgrade that adds a method or
// a reason phrase fails here, not silently in the parser).
import assert from "node:assert/strict";
import { METHODS as nodeMethods, STATUS_CODES as nodeStatus } from "node:http";
import { test } from "node:test";
import { METHODS, STATUS_CODES } from "./tables.ts";

test("METHODS equals node:http's", () => {
  assert.deepEqual([...METHODS], nodeMethods);
});

test("STATUS_CODES equals node:http's", () => {
  assert.deepEqual({ ...STATUS_CODES }, { ...nodeStatus });
});
