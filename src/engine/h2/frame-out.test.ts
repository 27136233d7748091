// frame-out.test.ts: a turn's output built in place says, byte for byte, what the frames built one
// Buffer each and concatenated say — small and large payloads, DATA frames of part of a chunk, an
// arena that fills up mid-turn, frames larger than an arena — and what take() returned stays
// as it was while later turns reuse the arena.
import { test } from "node:test";
import assert from "node:assert/strict";
import { ARENA_BYTES, COPY_MAX, FrameOut } from "./frame-out.ts";
import { FRAME_HEADER, FrameType, frame } from "./frames.ts";
import { rand } from "../../../test/support/rand.ts";

// A FrameOut and the reference output: the same frames built with frames.ts's frame().
class Both {
  readonly out = new FrameOut();
  ref: Buffer[] = [];
  frame(type: number, flags: number, id: number, payload?: Buffer): void {
    this.out.frame(type, flags, id, payload);
    this.ref.push(frame(type, flags, id, payload));
  }
  data(flags: number, id: number, chunk: Buffer, n: number): void {
    this.out.data(flags, id, chunk, n);
    this.ref.push(frame(FrameType.DATA, flags, id, chunk.subarray(0, n)));
  }
  buffer(b: Buffer): void {
    this.out.buffer(b);
    this.ref.push(b);
  }
  take(): { got: Buffer | undefined; want: Buffer } {
    const want = Buffer.concat(this.ref);
    this.ref = [];
    return { got: this.out.take(), want };
  }
}

function bytes(n: number, seed: number): Buffer {
  const r = rand(seed);
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = Math.floor(r() * 256);
  return b;
}

test("FrameOut: nothing held gives nothing", () => {
  const o = new FrameOut();
  assert.equal(o.empty, true);
  assert.equal(o.take(), undefined);
});

test("FrameOut: small frames, DATA frames of whole and part chunks, large payloads kept between them", () => {
  const b = new Both();
  b.frame(FrameType.HEADERS, 0x4, 1, bytes(40, 1));
  b.data(0, 1, bytes(13, 2), 13);
  b.data(0x1, 3, bytes(100, 3), 60);
  b.frame(FrameType.SETTINGS, 0x1, 0);
  b.data(0, 5, bytes(COPY_MAX + 1, 4), COPY_MAX + 1);
  b.data(0x1, 5, Buffer.alloc(0), 0);
  b.buffer(bytes(17, 5));
  b.frame(FrameType.HEADERS, 0x5, 7, bytes(10, 6));
  assert.equal(b.out.empty, false);
  const { got, want } = b.take();
  assert.deepEqual(got, want);
  assert.equal(b.out.empty, true);
});

test("FrameOut: a turn larger than an arena, and frames larger than one, in order", () => {
  const b = new Both();
  let id = 1;
  for (let i = 0; i < 40; i++) {
    b.frame(FrameType.HEADERS, 0x4, id, bytes(700, 10 + i));
    b.data(0x1, id, bytes(COPY_MAX, 100 + i), COPY_MAX);
    id += 2;
  }
  b.frame(FrameType.HEADERS, 0x4, id, bytes(ARENA_BYTES + 1, 7));
  b.data(0x1, id, bytes(5, 8), 5);
  const { got, want } = b.take();
  assert.ok(want.length > 3 * ARENA_BYTES);
  assert.deepEqual(got, want);
});

test("FrameOut: what take() returned does not change when later turns write (the arena is reused, never lent)", () => {
  const b = new Both();
  const r = rand(42);
  const kept: { got: Buffer; want: Buffer }[] = [];
  for (let turn = 0; turn < 50; turn++) {
    const frames = 1 + Math.floor(r() * 20);
    for (let i = 0; i < frames; i++) {
      const id = 2 * i + 1;
      const n = Math.floor(r() * 3000);
      if (r() < 0.5) b.frame(FrameType.HEADERS, 0x4, id, bytes(n, turn * 100 + i));
      else b.data(0, id, bytes(n + 10, turn * 100 + i), n);
    }
    const { got, want } = b.take();
    kept.push({ got: got!, want });
  }
  for (const k of kept) assert.deepEqual(k.got, k.want);
});

test("FrameOut: clear drops what is held", () => {
  const b = new Both();
  b.frame(FrameType.PING, 0x1, 0, bytes(8, 9));
  b.out.clear();
  assert.equal(b.out.empty, true);
  assert.equal(b.out.take(), undefined);
  b.ref = [];
  b.data(0x1, 1, bytes(3, 10), 3);
  const { got, want } = b.take();
  assert.deepEqual(got, want);
  assert.equal(got!.length, FRAME_HEADER + 3);
});
