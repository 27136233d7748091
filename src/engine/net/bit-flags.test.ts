import { test } from "node:test";
import assert from "node:assert/strict";
import { bitFlags } from "./bit-flags.ts";

test("bitFlags: each name is its own bit of bits, false at first, set and cleared alone", () => {
  class Flagged {
    bits = 0;
    declare a: boolean;
    declare b: boolean;
    declare c: boolean;
  }
  bitFlags(Flagged.prototype, ["a", "b", "c"]);
  const f = new Flagged();
  assert.deepEqual([f.a, f.b, f.c], [false, false, false]);
  f.b = true;
  f.c = true;
  assert.equal(f.bits, 0b110);
  assert.deepEqual([f.a, f.b, f.c], [false, true, true]);
  f.b = false;
  f.b = false; // clearing twice leaves the others
  assert.deepEqual([f.a, f.b, f.c], [false, false, true]);
  assert.deepEqual(Object.keys(f), ["bits"], "the flags are no fields of the object");
  assert.equal(new Flagged().c, false, "objects do not share their flags");
});
