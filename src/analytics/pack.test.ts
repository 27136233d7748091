// pack.test.ts: a packed cell answers exactly the sketches it was given.
import assert from "node:assert/strict";
import { deflateRawSync } from "node:zlib";
import { test } from "node:test";
import { mulberry32 } from "../ipam/testing.ts";
import { mergePacked, pack, squeeze, unpack } from "./pack.ts";
import { Sketch } from "./sketch.ts";
import { realistic } from "./testing.ts";
import type { SketchData } from "./types.ts";

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

test("runs: holes of 1–2 bins stay in a run, wider ones start a new one; delta-coded counts, and counts past 2^50 as they are", () => {
  // Bins 10–14 (a hole at 12), 17 (a hole of 2: the same run), 21 (a hole of 3: a new run), far away, negative.
  const bins = [-40, 3, 10, 5, 11, 900, 13, 1, 14, 70_000, 17, 2, 21, 9, 5_000, 1];
  const count = bins.filter((_, k) => k % 2 === 1).reduce((a, b) => a + b, 0);
  const d = { total: { count, sum: 12.5, min: 0.01, max: 9e9, zero: 0, bins } };
  assert.deepEqual(unpack(pack(d)), d);
  const huge = { ttfb: { count: 2 ** 52 + 3, sum: 1, min: 1, max: 2, zero: 0, bins: [4, 2 ** 52, 5, 3] } };
  assert.deepEqual(unpack(pack(huge)), huge);
  // A busy, smooth distribution (counts in the thousands): a bin costs at most 2 bytes beyond the
  // header (an index gap and a count of 2 varint bytes were 3).
  const s = new Sketch();
  for (let k = 0; k < 100_000; k++) s.add(20 * Math.exp(0.3 * Math.sin(k * 12.9898) * Math.cos(k * 78.233)));
  const smooth = { total: s.toData() };
  const packed = pack(smooth);
  assert.deepEqual(unpack(packed), smooth);
  assert.ok(
    packed.length < 35 + 2 * (smooth.total.bins.length / 2),
    `${packed.length} bytes for ${smooth.total.bins.length / 2} bins`,
  );
});

test("squeeze: a closed cell's bytes deflated when smaller, read back the same; merged into, they answer packed bytes", () => {
  const s = new Sketch();
  for (let k = 1; k < 5_000; k++) s.add(5 + (k % 300) / 10);
  const data = { total: s.toData(), ttfb: s.toData() };
  const packed = pack(data);
  const squeezed = squeeze(packed);
  assert.ok(squeezed.length < packed.length, `${squeezed.length} of ${packed.length}`);
  assert.equal(squeeze(squeezed), squeezed);
  assert.deepEqual(unpack(squeezed), data);
  const more = { total: { count: 1, sum: 7, min: 7, max: 7, zero: 0, bins: [99, 1] } };
  assert.deepEqual(unpack(mergePacked(squeezed, more)), unpack(mergePacked(packed, more)));
  assert.equal(squeeze(""), "");
  const tiny = pack({
    total: { count: 1, sum: Math.PI, min: Math.E, max: Math.SQRT2, zero: 0, bins: [0, 1] },
  });
  assert.equal(squeeze(tiny), tiny); // deflating would not make it smaller
});

test("squeeze's Rice form: a busy cell's sketches round-trip exactly and take less than deflate; odd counts keep another form", () => {
  const rnd = mulberry32(7);
  const latency: Record<string, SketchData> = {};
  for (const [part, level] of [
    ["total", 13],
    ["ttfb", 6.5],
    ["connect", 0.5],
    ["transfer", 1],
  ] as const) {
    const s = new Sketch();
    for (let round = 0; round < 12; round++) for (const v of realistic(level, 600, rnd)) s.add(v);
    s.add(0); // a zero count too
    latency[part] = s.toData();
  }
  const packed = pack(latency);
  const squeezed = squeeze(packed);
  assert.equal(squeezed.charCodeAt(0), 0xfe, "the Rice form is the smallest for a busy cell");
  const deflated = deflateRawSync(Buffer.from(packed, "latin1")).length + 1;
  assert.ok(squeezed.length < deflated, `${squeezed.length} bytes, ${deflated} deflated`);
  assert.deepEqual(unpack(squeezed), latency);
  assert.equal(squeeze(squeezed), squeezed);
  const more = { total: { count: 1, sum: 7, min: 7, max: 7, zero: 0, bins: [99, 1] } };
  assert.deepEqual(unpack(mergePacked(squeezed, more)), unpack(mergePacked(packed, more)));
  // Runs with holes, negative and far-apart indices, a single bin: still exact.
  const bins = [-40, 3, 10, 5, 11, 900, 13, 1, 14, 70_000, 17, 2, 21, 9, 5_000, 1];
  const count = bins.filter((_, k) => k % 2 === 1).reduce((a, b) => a + b, 0);
  const holes = { request: { count, sum: 12.5, min: 0.01, max: 9e9, zero: 3, bins } };
  const z = squeeze(pack(holes));
  assert.deepEqual(unpack(z), holes);
  // Counts past 2^50 or not integers have no Rice form: pack's own bytes (or deflated) keep them exact.
  for (const odd of [
    { ttfb: { count: 2 ** 52 + 3, sum: 1, min: 1, max: 2, zero: 0, bins: [4, 2 ** 52, 5, 3] } },
    { ttfb: { count: 2.5, sum: 1, min: 1, max: 2, zero: 0.5, bins: [4, 2] } },
  ]) {
    const sq = squeeze(pack(odd));
    assert.notEqual(sq.charCodeAt(0), 0xfe);
    assert.deepEqual(unpack(sq), odd);
  }
});
