import assert from "node:assert/strict";
import { test } from "node:test";
import { PenaltyBox, type PenaltyLimits } from "./h2-penalty.ts";

const limits: PenaltyLimits = { penaltyCuts: 3, penaltyMs: 60_000, windowMs: 60_000 };

test("penalty box: the third cut of an address within the window boxes it, and only it", () => {
  const box = new PenaltyBox();
  assert.equal(box.refuses("192.0.2.1"), false);
  box.cut("192.0.2.1", limits);
  box.cut("192.0.2.1", limits);
  assert.equal(box.refuses("192.0.2.1"), false, "two cuts are not enough");
  box.cut("192.0.2.1", limits);
  assert.equal(box.refuses("192.0.2.1"), true);
  assert.equal(box.refuses("192.0.2.2"), false);
  assert.equal(box.refuses(undefined), false);
});

test("penalty box: penaltyCuts 0 turns it off; an unknown address is never counted", () => {
  const box = new PenaltyBox();
  for (let i = 0; i < 10; i++) {
    box.cut("192.0.2.1", { ...limits, penaltyCuts: 0 });
    box.cut(undefined, limits);
  }
  assert.equal(box.refuses("192.0.2.1"), false);
});

test("penalty box: a window that has passed starts the count again", () => {
  const box = new PenaltyBox();
  const short = { ...limits, windowMs: -1 };
  for (let i = 0; i < 5; i++) box.cut("192.0.2.1", short);
  assert.equal(box.refuses("192.0.2.1"), false, "every cut opened a new window");
});
