// ring.test.ts: the ring's slot rules and the quantile codes' precision.
import assert from "node:assert/strict";
import { test } from "node:test";
import { mulberry32 } from "../ipam/testing.ts";
import { decode, encode, PAGE, Ring, trimStep } from "./ring.ts";

test("quantile codes: within 0.25% from 1 µs to an hour, 0 stays 0, and a code decodes to itself", () => {
  for (let v = 0.001; v < 3_600_000; v *= 1.37) {
    const back = decode(encode(v));
    assert.ok(Math.abs(back - v) / v <= 0.0025, `${v} → ${back}`);
    assert.equal(encode(back), encode(v));
  }
  assert.equal(decode(encode(0)), 0);
});

test("a page is dropped when a newer page claims its place, and an older bucket is refused", () => {
  const ring = new Ring({ name: "1m", ms: 60_000, slots: 4 }); // two pages of PAGE buckets
  ring.add(10, "requests", 5);
  ring.setQuantiles(10, "total", { p50: 1, p90: 2, p99: 3, max: 4 });
  assert.equal(ring.get(10, "requests"), 5);
  ring.add(10 + 2 * PAGE, "requests", 1); // the same place, two pages later
  assert.equal(ring.get(10, "requests"), 0);
  assert.equal(ring.getQuantiles(10, "total"), undefined);
  assert.equal(ring.get(10 + 2 * PAGE, "requests"), 1);
  ring.add(10, "requests", 7); // too old now: dropped, not written over the newer page
  assert.equal(ring.get(10 + 2 * PAGE, "requests"), 1);
  assert.deepEqual(ring.buckets(), [10 + 2 * PAGE]);
});

test("counters stay exact at any size: past Uint16, past 2^32, fractions and negatives", () => {
  const ring = new Ring({ name: "5s", ms: 5_000, slots: 4 });
  ring.add(1, "requests", 60_000);
  ring.add(2, "requests", 7);
  ring.add(1, "requests", 60_000); // 120,000 in bucket 1
  ring.add(3, "bytesOut", 2 ** 32 - 1);
  ring.add(3, "bytesOut", 2 ** 40);
  ring.set(3, "connOpen", 0.5);
  ring.add(4, "requests", -3);
  assert.deepEqual([ring.get(1, "requests"), ring.get(2, "requests")], [120_000, 7]);
  assert.equal(ring.get(3, "bytesOut"), 2 ** 40 + 2 ** 32 - 1);
  assert.equal(ring.get(3, "connOpen"), 0.5);
  assert.equal(ring.get(4, "requests"), -3);
  ring.add(2, "bytesIn", 2 ** 52 + 2); // a late write into a packed page
  assert.equal(ring.get(2, "bytesIn"), 2 ** 52 + 2);
  assert.equal(ring.get(1, "requests"), 120_000);
});

test("pages: a ring keeps its whole span, drops a page at a time, and packs what is not live", () => {
  const ring = new Ring({ name: "5s", ms: 5_000, slots: 720 });
  for (let b = 0; b < 2_000; b += 3) {
    ring.add(b, "requests", b);
    ring.setQuantiles(b, "total", { p50: b, p90: 2 * b, p99: 3 * b, max: 4 * b });
  }
  const held = ring.buckets();
  // Every bucket of the last 720 is held, and fewer than trimStep(720) older ones (never read).
  for (let b = 1_999 - 719; b < 2_000; b++) assert.equal(held.includes(b), b % 3 === 0, String(b));
  for (const b of held) {
    assert.equal(ring.get(b, "requests"), b);
    assert.equal(ring.getQuantiles(b, "total")!.p99, decode(encode(3 * b)));
  }
  assert.ok(ring.bytes() < 720 * 12, String(ring.bytes())); // 66 bytes a bucket before pages
  ring.add(1_500, "requests", 1); // late, held: kept
  assert.equal(ring.get(1_500, "requests"), 1_501);
  ring.add(100, "requests", 1); // long gone: refused
  assert.equal(ring.holds(100), false);
});

test("pages written by appends and by late rewrites read back every counter and code (a model beside the ring)", () => {
  const rnd = mulberry32(11);
  const ring = new Ring({ name: "5s", ms: 5_000, slots: 180 });
  const model = new Map<number, { n: number; big: number; q: number }>();
  const put = (b: number) => {
    const n = Math.floor(rnd() * 1_000) - 100; // negatives too
    const big = rnd() < 0.05 ? rnd() * 1e6 : Math.floor(rnd() * 2 ** 40); // fractions now and then
    const q = 1 + rnd() * 50;
    ring.add(b, "requests", n);
    ring.add(b, "bytesOut", big);
    ring.setQuantiles(b, "ttfb", { p50: q, p90: 2 * q, p99: 5 * q, max: 9 * q });
    const m = model.get(b) ?? { n: 0, big: 0, q };
    model.set(b, { n: m.n + n, big: m.big + big, q });
  };
  for (let b = 0; b < 170; b++) {
    if (rnd() < 0.2) continue; // holes
    put(b);
    if (b > 10 && rnd() < 0.1) put(b - 1 - Math.floor(rnd() * 10)); // a late batch: its page rewritten
  }
  for (const [b, m] of model) {
    assert.ok(ring.holds(b), String(b)); // the span (180) covers every bucket written
    assert.equal(ring.get(b, "requests"), m.n, `requests of ${b}`);
    assert.equal(ring.get(b, "bytesOut"), m.big, `bytesOut of ${b}`);
    assert.equal(ring.getQuantiles(b, "ttfb")!.p50, decode(encode(m.q)));
  }
  assert.deepEqual(
    ring.buckets(),
    [...model.keys()].sort((a, b) => a - b),
  );
});

test("a ring holds at most its span plus trimStep - 1 buckets at every moment, and refuses what is out of it", () => {
  for (const slots of [60, 24, 30, 720]) {
    const ring = new Ring({ name: "1m", ms: 60_000, slots });
    for (let b = 0; b < 3 * PAGE + slots; b++) {
      ring.add(b, "requests", b + 1);
      const held = ring.buckets();
      assert.ok(held.length <= slots + trimStep(slots) - 1, `${slots}: ${held.length} held at ${b}`);
      for (let k = Math.max(0, b - slots + 1); k <= b; k++) assert.equal(ring.get(k, "requests"), k + 1);
    }
    const last = 3 * PAGE + slots - 1;
    ring.add(last - slots, "requests", 1); // just out of the span: refused
    assert.equal(ring.holds(last - slots), false);
  }
});
