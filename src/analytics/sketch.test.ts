import { test } from "node:test";
import assert from "node:assert/strict";
import { binOf, binOfByLog, Sketch, ZERO_BIN } from "./sketch.ts";
import { ANALYTICS_RELATIVE_ACCURACY as A } from "./types.ts";

// exact is the q-quantile of sorted values by the same rank rule the sketch uses (lower rank).
function exact(sorted: number[], q: number): number {
  return sorted[Math.floor(q * (sorted.length - 1))]!;
}

// A deterministic spread of latencies over four decades (a linear congruential generator).
function samples(n: number, seed: number): number[] {
  let x = seed;
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) % 2147483648;
    out.push(0.05 * Math.pow(10, (x / 2147483648) * 4));
  }
  return out;
}

test("quantiles are within the stated relative accuracy", () => {
  const values = samples(20_000, 7);
  const s = new Sketch();
  for (const v of values) s.add(v);
  const sorted = [...values].sort((a, b) => a - b);
  for (const q of [0.5, 0.9, 0.99, 0.999]) {
    const want = exact(sorted, q);
    const got = s.quantile(q);
    assert.ok(Math.abs(got - want) <= want * A + 1e-9, `q${q}: got ${got}, exact ${want}`);
  }
  assert.equal(s.quantile(1), sorted.at(-1));
  assert.equal(s.count, values.length);
});

test("merged sketches answer the quantiles of the union of their samples", () => {
  const a = samples(5_000, 1);
  const b = samples(9_000, 2).map((v) => v * 3); // a slower engine
  const sa = new Sketch();
  const sb = new Sketch();
  for (const v of a) sa.add(v);
  for (const v of b) sb.add(v);
  // One merge from live, one from serialised data (what crosses a process boundary).
  const merged = Sketch.fromData(JSON.parse(JSON.stringify(sa.toData())));
  merged.merge(sb.toData());
  const union = [...a, ...b].sort((x, y) => x - y);
  for (const q of [0.5, 0.9, 0.99]) {
    const want = exact(union, q);
    assert.ok(Math.abs(merged.quantile(q) - want) <= want * A + 1e-9, `q${q}`);
  }
  assert.equal(merged.count, union.length);
});

test("zero and tiny values, empty sketches and countBelow", () => {
  const s = new Sketch();
  assert.ok(Number.isNaN(s.quantile(0.5)));
  assert.deepEqual(s.toData(), { count: 0, sum: 0, min: 0, max: 0, zero: 0, bins: [] });
  for (const v of [0, 0.0001, -3, 10, 20, 30, 1000]) s.add(v);
  assert.equal(s.zero, 3);
  assert.equal(s.quantile(0.3), 0);
  assert.equal(s.countBelow(25), 5);
  assert.equal(s.countBelow(2000), 7);
});

test("bins grow in both directions and sketches of disjoint ranges merge", () => {
  // Grows upward then downward from the first value, far past the first array's slack.
  const up = new Sketch();
  const values = [10, 100, 1000, 10_000, 1, 0.1, 0.01];
  for (const v of values) up.add(v);
  assert.deepEqual(
    values.map((v) => up.countBelow(v)),
    [4, 5, 6, 7, 3, 2, 1],
  );
  for (const [q, want] of [
    [0, 0.01],
    [0.5, 10],
    [1, 10_000],
  ] as const)
    assert.ok(Math.abs(up.quantile(q) - want) <= want * A + 1e-9, `q${q}`);
  // Two sketches with no bin in common, merged live and from data, either way round.
  const low = new Sketch();
  const high = new Sketch();
  for (let i = 0; i < 100; i++) low.add(0.5 + i * 0.01);
  for (let i = 0; i < 300; i++) high.add(5_000 + i * 10);
  const a = Sketch.fromData(low.toData());
  a.merge(high);
  const b = Sketch.fromData(high.toData());
  b.merge(low.toData());
  for (const s of [a, b]) {
    assert.equal(s.count, 400);
    assert.deepEqual(s.toData(), a.toData());
    for (const [q, want] of [
      [0.1, 0.89], // rank 39 of the union: the 40th low value
      [0.9, 7_590], // rank 359: the 260th high value
    ] as const)
      assert.ok(Math.abs(s.quantile(q) - want) <= want * A + 1e-9, `q${q}: ${s.quantile(q)}`);
    assert.equal(s.countBelow(2), 100);
  }
  // Bins stay sorted and sparse in the serialised form.
  const idx = a.toData().bins.filter((_, k) => k % 2 === 0);
  assert.deepEqual(
    idx,
    [...idx].sort((x, y) => x - y),
  );
  assert.equal(a.toData().bins.length / 2 < 400, true);
});

test("binOf (a table) answers exactly what the logarithm does: at every bin boundary, a few ulps either side, at random, at the edges", () => {
  const gamma = 1.01 / 0.99;
  const values: number[] = [0, -1, NaN, 0.0009, 0.001, 2 ** -10, 2 ** 24, 2 ** 24 - 1e-9, 1e9, Infinity];
  for (let b = -360; b < 850; b++)
    for (const f of [1 - 1e-9, 1 - 1e-15, 1 - 2e-16, 1, 1 + 2e-16, 1 + 1e-15, 1 + 1e-9])
      values.push(gamma ** b * f);
  let x = 7;
  for (let i = 0; i < 200_000; i++) {
    x = (x * 1103515245 + 12345) % 2147483648;
    values.push(Math.exp((x / 2147483648) * 30 - 8));
  }
  // (+ 0: the logarithm answers -0 for bin 0, the table 0 — one bin.)
  for (const v of values) assert.equal(binOf(v) + 0, binOfByLog(v) + 0, `bin of ${v}`);
  assert.equal(binOf(0.0005), ZERO_BIN);
});
