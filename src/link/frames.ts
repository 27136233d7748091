// frames.ts: messages on a stream as length-prefixed JSON — a 4-byte big-endian length, then that
// many bytes of UTF-8 JSON. A length over the current limit closes the link before anything is
// buffered, so an unauthenticated peer cannot make the controller hold more than a Hello's worth.
import type { Duplex } from "node:stream";

/** FrameError is a broken or oversized frame; the link is closed with it. */
export class FrameError extends Error {}

/** encodeFrame serializes one message. */
export function encodeFrame(message: unknown): Buffer {
  const body = Buffer.from(JSON.stringify(message), "utf8");
  const head = Buffer.allocUnsafe(4);
  head.writeUInt32BE(body.length, 0);
  return Buffer.concat([head, body]);
}

/**
 * FrameReader turns a stream's chunks into messages. limit() may change between frames (raised
 * once the peer authenticated). Each chunk is kept once; a frame is copied only when it spans chunks.
 */
export class FrameReader {
  #chunks: Buffer[] = [];
  #buffered = 0;
  #limit: number;

  constructor(limit: number) {
    this.#limit = limit;
  }

  /** setLimit changes the largest frame accepted from now on. */
  setLimit(limit: number): void {
    this.#limit = limit;
  }

  /** push adds a chunk and returns the complete messages it finished; throws FrameError. */
  push(chunk: Buffer): unknown[] {
    this.#chunks.push(chunk);
    this.#buffered += chunk.length;
    const out: unknown[] = [];
    for (;;) {
      if (this.#buffered < 4) return out;
      const head = this.#peek(4);
      const len = head.readUInt32BE(0);
      if (len > this.#limit)
        throw new FrameError(`frame of ${len} bytes exceeds the limit of ${this.#limit}`);
      if (this.#buffered < 4 + len) return out;
      const frame = this.#take(4 + len).subarray(4);
      try {
        out.push(JSON.parse(frame.toString("utf8")));
      } catch (e) {
        throw new FrameError(`frame is not JSON: ${(e as Error).message}`);
      }
    }
  }

  #peek(n: number): Buffer {
    const first = this.#chunks[0]!;
    if (first.length >= n) return first.subarray(0, n);
    return Buffer.concat(this.#chunks).subarray(0, n);
  }

  #take(n: number): Buffer {
    const first = this.#chunks[0]!;
    if (first.length >= n) {
      const frame = first.subarray(0, n);
      if (first.length === n) this.#chunks.shift();
      else this.#chunks[0] = first.subarray(n);
      this.#buffered -= n;
      return frame;
    }
    const all = Buffer.concat(this.#chunks);
    const frame = all.subarray(0, n);
    this.#chunks = all.length > n ? [all.subarray(n)] : [];
    this.#buffered -= n;
    return frame;
  }
}

/**
 * readFrames calls onMessage for each message arriving on stream; a broken frame destroys the
 * stream with the FrameError (its 'error' and 'close' events tell the owner). Returns the reader,
 * whose limit the owner raises after authentication.
 */
export function readFrames(stream: Duplex, limit: number, onMessage: (m: unknown) => void): FrameReader {
  const reader = new FrameReader(limit);
  stream.on("data", (chunk: Buffer) => {
    let messages: unknown[];
    try {
      messages = reader.push(chunk);
    } catch (e) {
      stream.destroy(e as Error);
      return;
    }
    for (const m of messages) {
      if (stream.destroyed) return;
      onMessage(m);
    }
  });
  return reader;
}

/** writeFrame sends one message; false when the stream is buffering (the caller may wait for 'drain'). */
export function writeFrame(stream: Duplex, message: unknown): boolean {
  if (stream.destroyed || !stream.writable) return false;
  return stream.write(encodeFrame(message));
}
