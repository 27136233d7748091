import { test } from "node:test";
import assert from "node:assert/strict";
import { cookieValue } from "./cookie.ts";

test("cookieValue finds one cookie by its exact name, unquoted; undefined when absent", () => {
  const h = 'xsession=no; session=abc; quoted="q v"; empty=';
  assert.equal(cookieValue(h, "session"), "abc");
  assert.equal(cookieValue(h, "quoted"), "q v");
  assert.equal(cookieValue(h, "empty"), "");
  assert.equal(cookieValue(h, "sess"), undefined);
  assert.equal(cookieValue("flag; session=1", "session"), "1");
  assert.equal(cookieValue(undefined, "session"), undefined);
});
