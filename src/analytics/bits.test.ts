// bits.test.ts: the adaptive Rice code round-trips every value a ring page writes, and is short
// where a page's values are (small, steady deltas).
import assert from "node:assert/strict";
import { test } from "node:test";
import { mulberry32 } from "../ipam/testing.ts";
import { BitReader, BitWriter } from "./bits.ts";

test("every integer below 2^53 and any Float64 round-trip, in several contexts at once", () => {
  const rnd = mulberry32(7);
  const values: [number, number | "f"][] = [];
  // Steady small values, then outliers (escapes), powers of two and their neighbours, 2^53 - 1.
  for (let i = 0; i < 2_000; i++) values.push([i % 3, Math.floor(rnd() * 40)]);
  for (let e = 0; e < 53; e++)
    for (const v of [2 ** e - 1, 2 ** e, 2 ** e + 1]) if (v < 2 ** 53) values.push([e % 5, v]);
  values.push([4, Number.MAX_SAFE_INTEGER], [4, 0], [4, 0], [1, 12_345_678_901]);
  const floats = [0.5, -0, Number.NaN, 1e300, -3.25, 2 ** 60];
  const w = new BitWriter();
  w.bits(0b101101, 6);
  for (const [ctx, v] of values) w.uint(ctx, v as number);
  for (const f of floats) w.float(f);
  w.full(0);
  w.full(2 ** 52 + 3);
  const s = w.done();
  const r = new BitReader(s);
  assert.equal(r.bits(6), 0b101101);
  for (const [ctx, v] of values) assert.equal(r.uint(ctx), v);
  for (const f of floats) assert.ok(Object.is(r.float(), f));
  assert.equal(r.full(), 0);
  assert.equal(r.full(), 2 ** 52 + 3);
});

test("steady values take a few bits each, and a writer goes on where a reader stopped", () => {
  const w = new BitWriter();
  for (let i = 0; i < 1_000; i++) w.uint(0, 20 + (i % 9));
  const s = w.done();
  // A varint takes 8 bits for each; the Rice code 5–6 (k = 4 and a unary quotient of 1 or 2).
  assert.ok(s.length * 8 < 1_000 * 7, `${s.length} bytes`);
  const r = new BitReader(s);
  for (let i = 0; i < 600; i++) assert.equal(r.uint(0), 20 + (i % 9));
  // Appending after the 600th value writes the same bits as writing everything at once.
  const again = new BitWriter(r);
  for (let i = 600; i < 1_000; i++) again.uint(0, 20 + (i % 9));
  assert.equal(again.done(), s);
});
