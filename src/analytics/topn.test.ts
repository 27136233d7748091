import assert from "node:assert/strict";
import { test } from "node:test";
import { mergeTop, samplerSeed, SpaceSaving, TOP_EXACT, TOP_MAX_STEP, topOf, TopSampler } from "./topn.ts";

// A deterministic skewed stream: value i appears about n/(i+1) times (Zipf), interleaved.
function zipf(n: number, kinds: number, seed: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < kinds; i++) for (let k = 0; k < Math.ceil(n / (i + 1)); k++) out.push(`v${i}`);
  let x = seed;
  for (let i = out.length - 1; i > 0; i--) {
    x = (x * 1103515245 + 12345) % 2147483648;
    const j = x % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

test("space-saving: exact while the values fit in its capacity", () => {
  const s = new SpaceSaving(4);
  for (const v of ["a", "b", "a", "c", "a", "b"]) s.add(v);
  assert.deepEqual(s.top(), { a: 3, b: 2, c: 1 });
  assert.equal(s.total, 6);
});

test("space-saving: bounded memory; every value above n/capacity is kept; counts over-estimate by at most n/capacity and sum to n", () => {
  const stream = zipf(2000, 500, 11);
  const truth = new Map<string, number>();
  for (const v of stream) truth.set(v, (truth.get(v) ?? 0) + 1);
  const cap = 40;
  const s = new SpaceSaving(cap);
  for (const v of stream) s.add(v);
  const n = stream.length;
  assert.equal(s.counts.size, cap);
  assert.equal(s.total, n);
  assert.equal(
    [...s.counts.values()].reduce((a, b) => a + b, 0),
    n,
  );
  for (const [v, c] of truth) if (c > n / cap) assert.ok(s.counts.has(v), `${v} (${c} of ${n}) must be kept`);
  for (const [v, c] of s.counts) {
    const t = truth.get(v)!;
    assert.ok(c >= t, `${v}: ${c} ≥ ${t}`);
    assert.ok(c - t <= n / cap, `${v}: over by ${c - t} > ${n / cap}`);
  }
  // The heavy hitters come out on top in order.
  assert.deepEqual(Object.keys(s.top(3)), ["v0", "v1", "v2"]);
});

test("topOf: largest first, ties by value, cut to n", () => {
  assert.deepEqual(
    topOf(
      [
        ["b", 2],
        ["a", 2],
        ["c", 5],
        ["d", 1],
      ],
      3,
    ),
    { c: 5, a: 2, b: 2 },
  );
});

test("mergeTop: adds counts kind by kind and keeps the largest", () => {
  const m = mergeTop(
    [
      { urls: { "/a": 3, "/b": 1 }, codes: { "200": 4 } },
      { urls: { "/b": 5, "/c": 1 }, clients: { "127.0.0.1": 6 } },
    ],
    2,
  );
  assert.deepEqual(m, { urls: { "/b": 6, "/a": 3 }, codes: { "200": 4 }, clients: { "127.0.0.1": 6 } });
});

test("TopSampler: the first TOP_EXACT requests count exactly; past them a Bernoulli sample whose weights add up to n within the stated error", () => {
  const s = new TopSampler();
  for (let i = 0; i < TOP_EXACT; i++) assert.equal(s.next(), 1);
  // A round-robin stream (a, b, a, b, c, ...): every Nth sampling would alias with it.
  const pattern = ["a", "b", "a", "b", "c"];
  const n = 200_000;
  const truth = new Map<string, number>();
  const est = new SpaceSaving();
  const sampler = new TopSampler(12345);
  let weights = 0;
  let sampled = 0;
  for (let i = 0; i < n; i++) {
    const v = pattern[i % pattern.length]!;
    truth.set(v, (truth.get(v) ?? 0) + 1);
    const w = sampler.next();
    assert.ok(w === 0 || (w >= 1 && w <= TOP_MAX_STEP && (w & (w - 1)) === 0), `weight ${w}`);
    if (w > 0) {
      sampled++;
      weights += w;
      est.add(v, w);
    }
  }
  assert.ok(sampled < n / 8, `sampled ${sampled} of ${n}: busy streams cost a fraction`);
  // Each count within 5 standard deviations (√(count × (step − 1)), step ≤ 64) — and n / 40.
  for (const [v, c] of truth) {
    const got = est.counts.get(v) ?? 0;
    const bound = Math.min(5 * Math.sqrt(c * (TOP_MAX_STEP - 1)), n / 40);
    assert.ok(Math.abs(got - c) <= bound, `${v}: ${got} for ${c} (bound ${bound.toFixed(0)})`);
  }
  assert.ok(Math.abs(weights - n) <= 5 * Math.sqrt(n * (TOP_MAX_STEP - 1)), `weights ${weights} for ${n}`);
});

test("TopSampler: samplers of the same service in two intervals, or of two services, skip different requests", () => {
  const picks = (s: TopSampler) => {
    const at: number[] = [];
    for (let i = 0; i < TOP_EXACT * 8; i++) if (s.next() > 0 && i >= TOP_EXACT) at.push(i);
    return at.join();
  };
  assert.notEqual(picks(new TopSampler()), picks(new TopSampler()));
  assert.notEqual(
    picks(new TopSampler(samplerSeed("l a.test"))),
    picks(new TopSampler(samplerSeed("l a.test"))),
  );
  // A seed given (tests) still repeats.
  assert.equal(picks(new TopSampler(7)), picks(new TopSampler(7)));
});
