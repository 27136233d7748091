import assert from "node:assert/strict";
import { test } from "node:test";
import { HealthRegistry, type HealthChange } from "./registry.ts";

function setup() {
  let now = 1000;
  const reg = new HealthRegistry({ now: () => now, passiveFailures: 3, ejectBaseMs: 100, ejectMaxMs: 250 });
  const changes: HealthChange[] = [];
  reg.on("change", (c) => changes.push(c));
  return { reg, changes, advance: (ms: number) => (now += ms) };
}

test("active: fall failures take an endpoint down, rise successes bring it back", () => {
  const { reg, changes } = setup();
  assert.equal(reg.usable("p", "a:1"), true);
  reg.active("p", "a:1", false, 2, 2);
  assert.equal(reg.usable("p", "a:1"), true);
  reg.active("p", "a:1", false, 2, 2);
  assert.equal(reg.usable("p", "a:1"), false);
  reg.active("p", "a:1", true, 2, 2);
  assert.equal(reg.usable("p", "a:1"), false);
  reg.active("p", "a:1", true, 2, 2);
  assert.equal(reg.usable("p", "a:1"), true);
  assert.deepEqual(
    changes.map((c) => [c.healthy, c.reason]),
    [
      [false, "active"],
      [true, "active"],
    ],
  );
});

test("passive: consecutive failures eject, backoff re-admits and doubles up to the cap", () => {
  const { reg, changes, advance } = setup();
  reg.passive("p", "a:1", false);
  reg.passive("p", "a:1", false);
  reg.passive("p", "a:1", true); // a success resets the streak
  reg.passive("p", "a:1", false);
  reg.passive("p", "a:1", false);
  assert.equal(reg.usable("p", "a:1"), true);
  reg.passive("p", "a:1", false);
  assert.equal(reg.usable("p", "a:1"), false);
  advance(99);
  assert.equal(reg.usable("p", "a:1"), false);
  advance(1);
  assert.equal(reg.usable("p", "a:1"), true);
  for (let i = 0; i < 3; i++) reg.passive("p", "a:1", false);
  advance(199);
  assert.equal(reg.usable("p", "a:1"), false, "second ejection lasts 200ms");
  advance(1);
  assert.equal(reg.usable("p", "a:1"), true);
  for (let i = 0; i < 3; i++) reg.passive("p", "a:1", false);
  advance(250);
  assert.equal(reg.usable("p", "a:1"), true, "third ejection capped at 250ms");
  assert.deepEqual(
    changes.map((c) => c.reason),
    ["passive", "readmit", "passive", "readmit", "passive", "readmit"],
  );
});

test("passive: an active pass re-admits an ejected endpoint early", () => {
  const { reg, changes } = setup();
  for (let i = 0; i < 3; i++) reg.passive("p", "a:1", false);
  assert.equal(reg.usable("p", "a:1"), false);
  reg.active("p", "a:1", true, 1, 1);
  assert.equal(reg.usable("p", "a:1"), true);
  assert.deepEqual(
    changes.map((c) => c.reason),
    ["passive", "readmit"],
  );
});

test("retain forgets endpoints that left, keeps the rest", () => {
  const { reg } = setup();
  reg.active("p", "a:1", false, 1, 1);
  reg.active("p", "b:1", false, 1, 1);
  reg.retain(new Set(["p|a:1"]));
  assert.equal(reg.usable("p", "a:1"), false);
  assert.equal(reg.usable("p", "b:1"), true);
});
