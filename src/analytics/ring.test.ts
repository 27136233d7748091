// ring.test.ts: the ring's slot rules and the quantile codes' precision.
import assert from "node:assert/strict";
import { test } from "node:test";
import { decode, encode, Ring } from "./ring.ts";

test("quantile codes: within 0.25% from 1 µs to an hour, 0 stays 0, and a code decodes to itself", () => {
  for (let v = 0.001; v < 3_600_000; v *= 1.37) {
    const back = decode(encode(v));
    assert.ok(Math.abs(back - v) / v <= 0.0025, `${v} → ${back}`);
    assert.equal(encode(back), encode(v));
  }
  assert.equal(decode(encode(0)), 0);
});

test("a slot is cleared when a newer bucket claims it and refuses an older one", () => {
  const ring = new Ring({ name: "1m", ms: 60_000, slots: 4 });
  ring.add(10, "requests", 5);
  ring.setQuantiles(10, "total", { p50: 1, p90: 2, p99: 3, max: 4 });
  assert.equal(ring.get(10, "requests"), 5);
  ring.add(14, "requests", 1); // the same slot, one span later
  assert.equal(ring.get(10, "requests"), 0);
  assert.equal(ring.getQuantiles(14, "total"), undefined);
  assert.equal(ring.get(14, "requests"), 1);
  ring.add(10, "requests", 7); // too old now: dropped, not written over bucket 14
  assert.equal(ring.get(14, "requests"), 1);
  assert.deepEqual(ring.buckets(), [14]);
});

test("a column widens exactly when a value does not fit it: Uint16 → Uint32 → Float64", () => {
  const ring = new Ring({ name: "5s", ms: 5_000, slots: 4 });
  ring.add(1, "requests", 60_000);
  ring.add(2, "requests", 7);
  assert.ok(ring.counters.get("requests") instanceof Uint16Array);
  ring.add(1, "requests", 60_000); // 120,000 in bucket 1
  assert.ok(ring.counters.get("requests") instanceof Uint32Array);
  assert.deepEqual([ring.get(1, "requests"), ring.get(2, "requests")], [120_000, 7]);
  ring.add(3, "bytesOut", 2 ** 32 - 1);
  assert.ok(ring.counters.get("bytesOut") instanceof Uint32Array);
  ring.add(3, "bytesOut", 2 ** 40);
  assert.ok(ring.counters.get("bytesOut") instanceof Float64Array);
  assert.equal(ring.get(3, "bytesOut"), 2 ** 40 + 2 ** 32 - 1);
  assert.equal(ring.get(1, "requests"), 120_000);
});
