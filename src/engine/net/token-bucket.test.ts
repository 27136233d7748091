import { test } from "node:test";
import assert from "node:assert/strict";
import { coarseNow } from "./coarse-timer.ts";
import { clockFor, TokenBuckets } from "./token-bucket.ts";

// clock is an injected clock the test moves by hand: no sleeps.
function clock(start = 1000): { now: () => number; t: number } {
  const c = { t: start, now: () => c.t };
  return c;
}

// hammer sends 10 requests every 250 ms for 60 s (the clock moving in the coarse sweep's steps)
// and says how many were allowed.
function hammer(b: TokenBuckets, c: { t: number }): number {
  let allowed = 0;
  for (let step = 0; step <= 240; step++) {
    for (let i = 0; i < 10; i++) if (b.take("x") === 0) allowed++;
    c.t += 250;
  }
  return allowed;
}

test("a new key has its burst; then one token per period/requests; the wait says when", () => {
  const c = clock();
  const b = new TokenBuckets({ requests: 5, periodMs: 1000, burst: 3 }, c.now);
  assert.equal(b.take("a"), 0);
  assert.equal(b.take("a"), 0);
  assert.equal(b.take("a"), 0);
  // Empty: the next token comes in 1000/5 = 200 ms.
  assert.equal(b.take("a"), 200);
  c.t += 150;
  assert.equal(b.take("a"), 50, "a refused request spends nothing, the wait shrinks");
  c.t += 50;
  assert.equal(b.take("a"), 0, "exactly one token at 200 ms, no float shortfall");
  assert.equal(b.take("a"), 200);
  // Another key has its own bucket.
  assert.equal(b.take("b"), 0);
});

test("refill stops at the burst, however long the key was quiet", () => {
  const c = clock();
  const b = new TokenBuckets({ requests: 10, periodMs: 60_000, burst: 2 }, c.now);
  assert.equal(b.take("k"), 0);
  assert.equal(b.take("k"), 0);
  assert.equal(b.take("k"), 6000);
  c.t += 3_600_000;
  assert.equal(b.take("k"), 0);
  assert.equal(b.take("k"), 0);
  assert.equal(b.take("k"), 6000, "an hour of quiet gives back the burst, not 600 tokens");
});

test("the long-run rate is exact with a clock that moves in coarse steps", () => {
  const c = clock(0);
  const limit = { requests: 7, periodMs: 1000, burst: 3 };
  const allowed = hammer(new TokenBuckets(limit, c.now), c);
  // The burst at once, then 7 a second for 60 s.
  assert.equal(allowed, 3 + 7 * 60);
  assert.equal(
    clockFor(limit),
    coarseNow,
    "a bucket holding a step's refill and one more uses the coarse clock",
  );
});

test("a bucket smaller than a coarse step's refill would lose tokens: it gets the precise clock", () => {
  const c = clock(0);
  const limit = { requests: 7, periodMs: 1000, burst: 1 };
  const allowed = hammer(new TokenBuckets(limit, c.now), c);
  // One token per step at most: 4 a second instead of 7. Why clockFor does not pick the coarse clock.
  assert.equal(allowed, 241);
  assert.notEqual(clockFor(limit), coarseNow);
  assert.equal(clockFor({ requests: 1, periodMs: 1000, burst: 2 }), coarseNow);
  assert.notEqual(clockFor({ requests: 100, periodMs: 1000, burst: 20 }), coarseNow);
});

test("a clock that steps back refills nothing", () => {
  const c = clock();
  const b = new TokenBuckets({ requests: 1, periodMs: 1000, burst: 1 }, c.now);
  assert.equal(b.take("k"), 0);
  c.t -= 500;
  assert.equal(b.take("k"), 1000);
  c.t += 1000;
  assert.equal(b.take("k"), 0);
});

test("the key map stays bounded: full buckets are swept, then the first key in goes", () => {
  const c = clock();
  const b = new TokenBuckets({ requests: 1, periodMs: 1000, burst: 2 }, c.now, 3);
  for (const k of ["a", "b", "c"]) assert.equal(b.take(k), 0);
  assert.equal(b.size, 3);
  // Full, and no sweep due yet: "a" (first in) goes for "d".
  assert.equal(b.take("d"), 0);
  assert.equal(b.size, 3);
  assert.equal(b.take("a"), 0, "a came back with a fresh bucket");
  assert.equal(b.size, 3);
  // Two seconds later every bucket has refilled: the new key "e" finds the map full and sweeps it.
  c.t += 2000;
  assert.equal(b.take("e"), 0);
  assert.equal(b.size, 1, "a sweep while full drops every refilled bucket");
  for (let i = 0; i < 10; i++) b.take(`n${i}`);
  assert.equal(b.size, 3);
});

test("an idle map is swept of full buckets on the next new key after 10 s", () => {
  const c = clock();
  const b = new TokenBuckets({ requests: 1, periodMs: 1000, burst: 1 }, c.now, 100);
  for (let i = 0; i < 50; i++) b.take(`k${i}`);
  assert.equal(b.size, 50);
  c.t += 9500;
  b.take("late");
  assert.equal(b.size, 51, "no sweep before 10 s");
  c.t += 500;
  b.take("later");
  assert.equal(b.size, 2, "the 50 refilled buckets went; late's and later's stay");
});
