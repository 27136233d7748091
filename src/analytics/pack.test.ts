// pack.test.ts: a packed cell answers exactly the sketches it was given.
import assert from "node:assert/strict";
import { test } from "node:test";
import { pack, unpack } from "./pack.ts";
import { Sketch } from "./sketch.ts";

test("pack/unpack round-trips sketches exactly: negative and far-apart bin indices, large counts, empty parts", () => {
  const total = new Sketch();
  for (const v of [0, 0.002, 0.5, 3, 3, 250, 90_000]) total.add(v);
  const ttfb = new Sketch();
  ttfb.merge({ count: 2 ** 40, sum: 1e12, min: 1, max: 2, zero: 0, bins: [0, 2 ** 40 - 5, 35, 5] });
  // Counts past what a varint holds exactly, or not integers (a batch is only checked finite), stay Float64.
  const odd = { count: 2 ** 60, sum: 1.5, min: 0.5, max: 1, zero: 0.25, bins: [3, 7] };
  const data = { total: total.toData(), ttfb: ttfb.toData(), connect: new Sketch().toData(), request: odd };
  const bytes = pack(data);
  assert.deepEqual(unpack(bytes), data);
  assert.ok(bytes.length < 4 * 41 + 8 * 4, `${bytes.length} bytes`);
  assert.deepEqual(unpack(pack({})), {});
  // −0 passes Number.isSafeInteger and >= 0, but a varint of it answers +0: it stays Float64 too
  // (deepEqual tells −0 from +0).
  const negZero = { transfer: { count: -0, sum: -0, min: -0, max: -0, zero: -0, bins: [] } };
  assert.deepEqual(unpack(pack(negZero)), negZero);
});
