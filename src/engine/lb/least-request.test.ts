import assert from "node:assert/strict";
import { test } from "node:test";
import type { Backend } from "../contracts.ts";
import { backendsOf, inputOf, runBalancerSuite, seeded } from "./common.suite.ts";
import { LeastRequest } from "./least-request.ts";

runBalancerSuite("LeastRequest", (b) => new LeastRequest(b, { random: seeded(42) }));

test("LeastRequest: of the two drawn, the less loaded wins", () => {
  const backends = backendsOf([1, 1]);
  // draws 0.1 → backend 0, then 0.9 → backend 1
  const draws = [0.1, 0.9];
  let i = 0;
  const lb = new LeastRequest(backends, { random: () => draws[i++ % 2]! });
  const load = (b: Backend) => (b === backends[0] ? 5 : 1);
  assert.equal(lb.pick(inputOf(0, () => true, load)), backends[1]);
  const load2 = (b: Backend) => (b === backends[0] ? 0 : 1);
  assert.equal(lb.pick(inputOf(0, () => true, load2)), backends[0]);
});

test("LeastRequest: a loaded backend gets less traffic", () => {
  const backends = backendsOf([1, 1, 1]);
  const lb = new LeastRequest(backends, { random: seeded(7) });
  const inflight = new Map<Backend, number>([[backends[0]!, 50]]);
  let busy = 0;
  for (let i = 0; i < 1000; i++) {
    if (
      lb.pick(
        inputOf(
          i,
          () => true,
          (b) => inflight.get(b) ?? 0,
        ),
      ) === backends[0]
    )
      busy++;
  }
  // backend 0 only wins when both draws hit it: about 1/9 of picks
  assert.ok(busy < 180, `busy backend got ${busy}`);
});
