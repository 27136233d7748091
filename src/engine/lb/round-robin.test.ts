import assert from "node:assert/strict";
import { test } from "node:test";
import { backendsOf, inputOf, runBalancerSuite } from "./common.suite.ts";
import { RoundRobin } from "./round-robin.ts";

runBalancerSuite("RoundRobin", (b) => new RoundRobin(b));

test("RoundRobin: smooth interleaving as nginx (5,1,1 → a a b a c a a)", () => {
  const backends = backendsOf([5, 1, 1]);
  const lb = new RoundRobin(backends);
  const names = Array.from({ length: 7 }, (_, i) => "abc"[backends.indexOf(lb.pick(inputOf(i))!)]).join("");
  assert.equal(names, "aabacaa");
});

test("RoundRobin: exact proportions over a full cycle", () => {
  const backends = backendsOf([3, 2, 1]);
  const lb = new RoundRobin(backends);
  const counts = [0, 0, 0];
  for (let i = 0; i < 60; i++) counts[backends.indexOf(lb.pick(inputOf(i))!)]!++;
  assert.deepEqual(counts, [30, 20, 10]);
});
