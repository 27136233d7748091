// frame-out.ts: the frames a connection sends in one event-loop turn, gathered for its one write
// (connection.ts flushOut). Small frames are written in place into an arena — frame header and
// payload side by side — instead of a Buffer per frame (a HEADERS frame, a 9-byte DATA header, the
// payload kept apart) joined by Buffer.concat at the flush: per HTTP/2 request that was two or three
// Buffer objects and a second copy of the header block. A payload too large to copy goes in as it
// is, between arena pieces.
//
// The arena never leaves this module: take() copies what the turn wrote into one new Buffer (as
// Buffer.concat did), so the arena is free again at once whether or not the socket's write
// completes synchronously (a TLS write never does in Node's eyes). Arenas go back to a shared free
// list at each take(), so a connection holds one only between its first frame of a turn and the
// flush: an idle connection holds none.
import { FRAME_HEADER, frameHeader } from "./frames.ts";

/** ARENA_BYTES is an arena's size: a turn's frames for ten streams of small responses fit many times. */
export const ARENA_BYTES = 16 * 1024;
/** COPY_MAX: a DATA payload up to this size is copied next to its frame header; a larger one is kept as it is. */
export const COPY_MAX = 2048;
// Free arenas kept for reuse: enough for the connections that write in one turn under load; more
// are made when needed and dropped after use (at most 2 MiB kept).
const KEPT = 128;
const free: Buffer[] = [];

/** FrameOut holds one connection's output of a turn. */
export class FrameOut {
  // Pieces in order: Buffers given as they are, and pieces of the arena (views, made only when a
  // given Buffer follows arena bytes).
  private list: Buffer[] = [];
  private arena: Buffer | undefined = undefined;
  private used = 0;
  // from: where the arena's bytes not yet in list start.
  private from = 0;

  /** empty says nothing is held. */
  get empty(): boolean {
    return this.list.length === 0 && this.used === this.from;
  }

  /** buffer appends b as it is (it must not change before take()). */
  buffer(b: Buffer): void {
    this.cut();
    this.list.push(b);
  }

  /** frame appends a frame with payload (copied). */
  frame(type: number, flags: number, stream: number, payload?: Uint8Array): void {
    const len = payload?.length ?? 0;
    const a = this.room(FRAME_HEADER + len);
    if (a === undefined) {
      const b = Buffer.allocUnsafe(FRAME_HEADER + len);
      frameHeader(b, 0, len, type, flags, stream);
      if (payload !== undefined) b.set(payload, FRAME_HEADER);
      this.buffer(b);
      return;
    }
    frameHeader(a, this.used, len, type, flags, stream);
    if (payload !== undefined) a.set(payload, this.used + FRAME_HEADER);
    this.used += FRAME_HEADER + len;
  }

  /**
   * data appends a DATA frame of chunk's first n bytes: copied when small, else the frame header
   * in the arena and the bytes as they are (chunk must then not change before take()).
   */
  data(flags: number, stream: number, chunk: Uint8Array, n: number): void {
    const copy = n <= COPY_MAX;
    const a = this.room(FRAME_HEADER + (copy ? n : 0));
    const part = n === chunk.length ? chunk : chunk.subarray(0, n);
    if (a === undefined) {
      const h = Buffer.allocUnsafe(FRAME_HEADER);
      frameHeader(h, 0, n, 0x0, flags, stream);
      this.buffer(h);
      if (n > 0) this.buffer(part as Buffer);
      return;
    }
    frameHeader(a, this.used, n, 0x0, flags, stream);
    this.used += FRAME_HEADER;
    if (n === 0) return;
    if (copy) {
      a.set(part, this.used);
      this.used += n;
    } else this.buffer(part as Buffer);
  }

  /** take returns what is held as one Buffer (undefined when nothing is) and holds nothing after. */
  take(): Buffer | undefined {
    let out: Buffer | undefined;
    const list = this.list;
    if (list.length === 0) {
      if (this.used > this.from) out = Buffer.from(this.arena!.subarray(this.from, this.used));
    } else {
      this.cut();
      out = list.length === 1 ? list[0]! : Buffer.concat(list);
      this.list = [];
    }
    this.release();
    return out;
  }

  /** clear drops what is held. */
  clear(): void {
    this.list = [];
    this.release();
  }

  // room returns the arena when n more bytes fit in it (taking one first if needed), else undefined.
  private room(n: number): Buffer | undefined {
    if (n > ARENA_BYTES) return undefined;
    let a = this.arena;
    if (a === undefined) {
      a = this.arena = free.pop() ?? Buffer.allocUnsafeSlow(ARENA_BYTES);
      this.used = this.from = 0;
    }
    if (this.used + n <= a.length) return a;
    // Full: its bytes stay in the list as a view, and another arena takes the rest of the turn. This
    // one is not given back (views in the list point into it): it is garbage once take() copied it.
    this.cut();
    a = this.arena = free.pop() ?? Buffer.allocUnsafeSlow(ARENA_BYTES);
    this.used = this.from = 0;
    return a;
  }

  // cut moves the arena's pending bytes into the list, as a view (take() copies it).
  private cut(): void {
    const a = this.arena;
    if (a === undefined || this.used === this.from) return;
    this.list.push(a.subarray(this.from, this.used));
    this.from = this.used;
  }

  // release gives the arena back (take() copied what it held).
  private release(): void {
    const a = this.arena;
    if (a === undefined) return;
    this.arena = undefined;
    this.used = this.from = 0;
    if (free.length < KEPT) free.push(a);
  }
}
