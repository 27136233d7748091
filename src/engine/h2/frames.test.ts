// frames.test.ts: the frame reader yields the same frames whatever the chunk boundaries (every
// split point of a stream of frames, and one byte at a time), refuses a frame above the size
// limit before its payload arrives, and stops when the sink says so; the writers' layout.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  FrameReader,
  FrameType,
  type FrameSink,
  frame,
  goawayFrame,
  settingsFrame,
  u32Frame,
} from "./frames.ts";

type Seen = [number, number, number, string];

function sink(limit = 16_384, stopAfter = Infinity): FrameSink & { seen: Seen[]; big: number[] } {
  const seen: Seen[] = [];
  const big: number[] = [];
  return {
    seen,
    big,
    frameSizeLimit: limit,
    frame(type, flags, stream, payload) {
      seen.push([type, flags, stream, payload.toString("hex")]);
      return seen.length < stopAfter;
    },
    oversized(_type, _stream, length) {
      big.push(length);
    },
  };
}

const stream = Buffer.concat([
  settingsFrame([[4, 1 << 20]]),
  frame(FrameType.HEADERS, 0x5, 1, Buffer.from([0x82, 0x86, 0x84])),
  frame(FrameType.DATA, 0x1, 3, Buffer.alloc(300, 7)),
  u32Frame(FrameType.WINDOW_UPDATE, 0, 1000),
  frame(FrameType.SETTINGS, 0x1, 0),
  goawayFrame(0, 0, "bye"),
]);

test("frames read whole equal frames read at every split point and byte by byte", () => {
  const whole = sink();
  new FrameReader(whole).push(stream);
  assert.equal(whole.seen.length, 6);
  assert.deepEqual(whole.seen[1], [1, 5, 1, "828684"]);
  assert.deepEqual(whole.seen[3], [8, 0, 0, "000003e8"]);
  for (let cut = 1; cut < stream.length; cut++) {
    const s = sink();
    const r = new FrameReader(s);
    r.push(stream.subarray(0, cut));
    r.push(stream.subarray(cut));
    assert.deepEqual(s.seen, whole.seen, `split at ${cut}`);
  }
  const s = sink();
  const r = new FrameReader(s);
  for (let i = 0; i < stream.length; i++) r.push(stream.subarray(i, i + 1));
  assert.deepEqual(s.seen, whole.seen);
});

test("a frame above the limit is refused from its header, before its payload", () => {
  const s = sink(16_384);
  const r = new FrameReader(s);
  const big = frame(FrameType.DATA, 0, 1, Buffer.alloc(16_385));
  assert.equal(r.push(big.subarray(0, 9)), false);
  assert.deepEqual(s.big, [16_385]);
  assert.equal(r.push(Buffer.alloc(10)), false);
  // The same with the header itself cut in two.
  const s2 = sink(16_384);
  const r2 = new FrameReader(s2);
  assert.equal(r2.push(big.subarray(0, 5)), true);
  assert.equal(r2.push(big.subarray(5, 12)), false);
  assert.deepEqual(s2.big, [16_385]);
});

test("a large frame arriving in many small chunks is delivered once, whole", () => {
  const s = sink();
  const r = new FrameReader(s);
  const payload = Buffer.alloc(16_000);
  for (let i = 0; i < payload.length; i++) payload[i] = i & 0xff;
  const f = Buffer.concat([
    frame(FrameType.DATA, 1, 5, payload),
    frame(FrameType.PING, 0, 0, Buffer.alloc(8)),
  ]);
  for (let at = 0; at < f.length; at += 1000) r.push(f.subarray(at, at + 1000));
  assert.equal(s.seen.length, 2);
  assert.equal(s.seen[0]![3], payload.toString("hex"));
  assert.equal(s.seen[1]![0], FrameType.PING);
});

test("reading stops when the sink says so, the rest of the chunk unread", () => {
  const s = sink(16_384, 2);
  const r = new FrameReader(s);
  assert.equal(r.push(stream), false);
  assert.equal(s.seen.length, 2);
});

test("the stream id's reserved bit is ignored", () => {
  const s = sink();
  const f = frame(FrameType.PING, 0, 0, Buffer.alloc(8));
  f[5] = 0x80;
  new FrameReader(s).push(f);
  assert.equal(s.seen[0]![2], 0);
});
