import assert from "node:assert/strict";
import { test } from "node:test";
import { decideReplicas, SCALE_DOWN_STABLE_MS, type ReplicaInput } from "./autoscale.ts";

const MIN = 60_000;
const NOW = 10_000_000;

/** series makes one point every 10 s ending at `now`, utilizations oldest first, on `engines`. */
function series(utilizations: number[], engines: number, now = NOW) {
  return utilizations.map((utilization, k) => ({
    at: now - (utilizations.length - 1 - k) * 10_000,
    utilization,
    engines,
  }));
}

function input(over: Partial<ReplicaInput>): ReplicaInput {
  return { current: 2, min: 1, max: 10, targetUtilization: 70, history: [], now: NOW, ...over };
}

test("up: the last two reports at or above target scale up at once, by as many engines as needed", () => {
  // 2 engines at 95%: demand 1.9 engines; at 70% that is 3 (2.71 rounded up).
  const d = decideReplicas(input({ history: series([0.3, 0.95, 0.95], 2) }));
  assert.equal(d.replicas, 3);
  assert.match(
    d.reason,
    /^scaled up from 2 to 3 engines: utilization 95% and 95% .* 70% target; 3 engines run it at 63%$/,
  );
  // A surge: 2 engines at 300% (overloaded) need 9.
  assert.equal(decideReplicas(input({ history: series([3, 3], 2) })).replicas, 9);
  // Exactly at target with every engine reporting: one more.
  assert.equal(decideReplicas(input({ history: series([0.7, 0.7], 2) })).replicas, 3);
});

test("up: one report above target is not enough (a spike); the busier of the two sizes it", () => {
  assert.equal(decideReplicas(input({ history: series([0.5, 0.99], 2) })).replicas, 2);
  assert.equal(decideReplicas(input({ history: series([0.99, 0.5], 2) })).replicas, 2);
  assert.equal(decideReplicas(input({ history: series([0.8, 1.4], 2) })).replicas, 4);
});

test("up: capped at maxReplicas, and the reason says what was wanted", () => {
  const d = decideReplicas(input({ max: 4, history: series([3, 3], 2) }));
  assert.equal(d.replicas, 4);
  assert.match(d.reason, /\(9 wanted; maxReplicas is 4\)$/);
  const held = decideReplicas(input({ current: 4, max: 4, history: series([1, 1], 4) }));
  assert.equal(held.replicas, 4);
  assert.match(held.reason, /^holding 4 engines: .* but maxReplicas is 4$/);
});

test("up: reports from before the last scale-up do not scale again; new engines are awaited", () => {
  const history = series([0.95, 0.95], 2, NOW - 20_000);
  // Scaled 2 → 3 at NOW-15 s; the 2-engine reports are older: hold.
  assert.equal(decideReplicas(input({ current: 3, history, lastScaleUp: NOW - 15_000 })).replicas, 3);
  // After it, two reports from only 2 of 3 engines at 80%: demand 1.6, 3 engines suffice: hold.
  const partial = decideReplicas(
    input({ current: 3, history: [...history, ...series([0.8, 0.8], 2)], lastScaleUp: NOW - 15_000 }),
  );
  assert.equal(partial.replicas, 3);
  assert.match(partial.reason, /3 engines carry it once all of them report$/);
});

test("down: only after 5 min continuously below target, one engine at a time", () => {
  const low = (n: number, u: number) =>
    series(
      Array.from({ length: n }, () => u),
      4,
    );
  // 4 engines at 30%: demand 1.2; 3 engines would run it at 40% — below 70%.
  assert.equal(decideReplicas(input({ current: 4, history: low(20, 0.3) })).replicas, 4, "under 5 min");
  const d = decideReplicas(input({ current: 4, history: low(32, 0.3) }));
  assert.equal(d.replicas, 3, "one engine, not down to 2");
  assert.match(d.reason, /^scaled down from 4 to 3 engines: .* for 5 min and 3 engines run its peak at 40%$/);
});

test("down: not when the smaller count would be at or above target", () => {
  // 2 engines at 60%: 1 engine would run at 120%.
  const d = decideReplicas(input({ current: 2, history: series(Array(40).fill(0.6), 2) }));
  assert.equal(d.replicas, 2);
  assert.match(d.reason, /1 engines would run the last 5 min's peak at 120%$/);
  // The window's peak counts, not the latest: one 65% point among 20% ones keeps 3 (2 × 97%).
  const spiky = Array(40).fill(0.2);
  spiky[35] = 0.65;
  assert.equal(decideReplicas(input({ current: 3, history: series(spiky, 3) })).replicas, 3);
});

test("down: at most once per 5 min, and not within 5 min of a scale-up", () => {
  const history = series(Array(40).fill(0.1), 4);
  assert.equal(decideReplicas(input({ current: 4, history, lastScaleDown: NOW - 2 * MIN })).replicas, 4);
  assert.equal(decideReplicas(input({ current: 4, history, lastScaleUp: NOW - 4 * MIN })).replicas, 4);
  assert.equal(
    decideReplicas(input({ current: 4, history, lastScaleDown: NOW - SCALE_DOWN_STABLE_MS })).replicas,
    3,
  );
});

test("bounds: never below minReplicas or above maxReplicas, whatever the load", () => {
  assert.equal(
    decideReplicas(input({ current: 2, min: 2, history: series(Array(40).fill(0), 2) })).replicas,
    2,
  );
  const up = decideReplicas(input({ current: 1, min: 3, history: [] }));
  assert.deepEqual(up, { replicas: 3, reason: "scaled up from 1 to 3 engines: minReplicas is 3" });
  assert.equal(decideReplicas(input({ current: 12, max: 10, history: series([5, 5], 12) })).replicas, 10);
});

test("stale or missing reports hold the count", () => {
  assert.match(decideReplicas(input({ history: [] })).reason, /^holding 2 engines: no recent load reports$/);
  const old = series([0.99, 0.99], 2, NOW - 2 * MIN);
  assert.equal(decideReplicas(input({ history: old })).replicas, 2);
});

test("flapping input (high, low, high, ...) neither scales up nor down", () => {
  const flap = series(
    Array.from({ length: 60 }, (_, k) => (k % 2 === 0 ? 0.95 : 0.2)),
    3,
  );
  for (let end = 2; end <= flap.length; end++) {
    const now = flap[end - 1]!.at;
    const d = decideReplicas(input({ current: 3, history: flap.slice(0, end), now }));
    assert.equal(d.replicas, 3, `after ${end} points: ${d.reason}`);
  }
});

test("a story: surge, scale up, settle, slow scale down, never flapping", () => {
  // Each row: a minute passes with the group at this demand (in engines); the controller acts once
  // a minute on the points of its current count. The count must follow demand up at once and
  // come down one engine per 5 min at most.
  const demand = [
    0.5, 0.5, 2.4, 2.4, 2.4, 2.4, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6,
    0.6,
  ];
  let current = 1;
  let lastScaleUp: number | undefined;
  let lastScaleDown: number | undefined;
  const history: { at: number; utilization: number; engines: number }[] = [];
  const counts: number[] = [];
  demand.forEach((d, minute) => {
    const now = NOW + minute * MIN;
    for (let s = 50; s >= 0; s -= 10)
      history.push({ at: now - s * 1000, utilization: d / current, engines: current });
    const r = decideReplicas({
      current,
      min: 1,
      max: 5,
      targetUtilization: 70,
      history,
      now,
      lastScaleUp,
      lastScaleDown,
    });
    if (r.replicas > current) lastScaleUp = now;
    if (r.replicas < current) lastScaleDown = now;
    current = r.replicas;
    counts.push(current);
  });
  // 2.4 engines of demand at 70% needs 4 (3.43): reached in one step at the surge's first minute.
  assert.equal(counts[2], 4);
  // Down by one at a time, 5 min apart, and only while the smaller count stays below 70%.
  const downs = counts.map((c, k) => (k > 0 && c < counts[k - 1]! ? k : -1)).filter((k) => k >= 0);
  for (let k = 1; k < downs.length; k++) assert.ok(downs[k]! - downs[k - 1]! >= 5, `downs at ${downs}`);
  assert.ok(counts.every((c, k) => k === 0 || counts[k - 1]! - c <= 1));
  assert.deepEqual(counts, [1, 1, 4, 4, 4, 4, 4, 4, 4, 4, 4, 3, 3, 3, 3, 3, 2, 2, 2, 2, 2, 1]);
});
