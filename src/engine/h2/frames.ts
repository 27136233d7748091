// frames.ts: HTTP/2 frame layout (RFC 9113 §4.1, §6): the constants, a reader that cuts a byte
// stream into frames whatever the chunk boundaries, and writers for the frames a server sends.
// The reader copies only a frame that straddles chunks; a frame inside one chunk is a view.

/** FrameType numbers the frame types of RFC 9113 §6. */
export const FrameType = {
  DATA: 0x0,
  HEADERS: 0x1,
  PRIORITY: 0x2,
  RST_STREAM: 0x3,
  SETTINGS: 0x4,
  PUSH_PROMISE: 0x5,
  PING: 0x6,
  GOAWAY: 0x7,
  WINDOW_UPDATE: 0x8,
  CONTINUATION: 0x9,
} as const;

/** Flag holds the frame flags (RFC 9113 §6). */
export const Flag = {
  END_STREAM: 0x1,
  ACK: 0x1,
  END_HEADERS: 0x4,
  PADDED: 0x8,
  PRIORITY: 0x20,
} as const;

/** ErrorCode holds the error codes of RFC 9113 §7. */
export const ErrorCode = {
  NO_ERROR: 0x0,
  PROTOCOL_ERROR: 0x1,
  INTERNAL_ERROR: 0x2,
  FLOW_CONTROL_ERROR: 0x3,
  SETTINGS_TIMEOUT: 0x4,
  STREAM_CLOSED: 0x5,
  FRAME_SIZE_ERROR: 0x6,
  REFUSED_STREAM: 0x7,
  CANCEL: 0x8,
  COMPRESSION_ERROR: 0x9,
  CONNECT_ERROR: 0xa,
  ENHANCE_YOUR_CALM: 0xb,
  INADEQUATE_SECURITY: 0xc,
  HTTP_1_1_REQUIRED: 0xd,
} as const;

/** Setting holds the SETTINGS identifiers of RFC 9113 §6.5.2. */
export const Setting = {
  HEADER_TABLE_SIZE: 0x1,
  ENABLE_PUSH: 0x2,
  MAX_CONCURRENT_STREAMS: 0x3,
  INITIAL_WINDOW_SIZE: 0x4,
  MAX_FRAME_SIZE: 0x5,
  MAX_HEADER_LIST_SIZE: 0x6,
} as const;

/** PREFACE is the client connection preface (RFC 9113 §3.4). */
export const PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1");

/** FRAME_HEADER is the size of a frame header. */
export const FRAME_HEADER = 9;

/** MAX_WINDOW is the largest flow-control window, 2^31 - 1 (RFC 9113 §6.9.1). */
export const MAX_WINDOW = 0x7fffffff;

/** FrameSink receives each frame read; payload is a view valid only during the call. */
export interface FrameSink {
  /** frameSizeLimit is the largest payload accepted (our SETTINGS_MAX_FRAME_SIZE). */
  readonly frameSizeLimit: number;
  /** frame handles one frame; false stops reading (the connection ended). */
  frame(type: number, flags: number, stream: number, payload: Buffer): boolean;
  /** oversized is called for a frame whose length exceeds frameSizeLimit; reading stops. */
  oversized(type: number, stream: number, length: number): void;
}

/** FrameReader cuts chunks into frames for a sink. */
export class FrameReader {
  private readonly sink: FrameSink;
  // A frame cut by a chunk boundary: its header bytes so far, then its whole buffer once the
  // length is known, filled as chunks arrive. Only that frame is copied, never the rest of a
  // chunk (copying whole chunks cost request bodies half their throughput: 16 KiB DATA frames
  // straddle nearly every read).
  private readonly head = Buffer.alloc(FRAME_HEADER);
  private headFill = 0;
  private partial: Buffer | undefined;
  private partialFill = 0;
  private stopped = false;

  constructor(sink: FrameSink) {
    this.sink = sink;
  }

  /** cut says a frame's first bytes came in an earlier chunk and its rest is awaited. */
  get cut(): boolean {
    return this.headFill > 0;
  }

  /** push reads a chunk; false once the sink stopped reading. */
  push(chunk: Buffer): boolean {
    if (this.stopped) return false;
    let pos = 0;
    const end = chunk.length;
    if (this.headFill > 0) {
      pos = this.finishPartial(chunk);
      if (pos < 0) return !this.stopped;
    }
    while (end - pos >= FRAME_HEADER) {
      const len = (chunk[pos]! << 16) | (chunk[pos + 1]! << 8) | chunk[pos + 2]!;
      const type = chunk[pos + 3]!;
      if (len > this.sink.frameSizeLimit) {
        this.stopped = true;
        this.sink.oversized(type, chunk.readUInt32BE(pos + 5) & 0x7fffffff, len);
        return false;
      }
      if (end - pos < FRAME_HEADER + len) break;
      const flags = chunk[pos + 4]!;
      const stream = chunk.readUInt32BE(pos + 5) & 0x7fffffff;
      const start = pos + FRAME_HEADER;
      pos = start + len;
      if (!this.sink.frame(type, flags, stream, chunk.subarray(start, pos))) {
        this.stopped = true;
        return false;
      }
    }
    if (pos < end) this.startPartial(chunk, pos);
    return true;
  }

  // startPartial keeps the beginning of a frame that the chunk cut.
  private startPartial(chunk: Buffer, pos: number): void {
    const n = Math.min(FRAME_HEADER, chunk.length - pos);
    chunk.copy(this.head, 0, pos, pos + n);
    this.headFill = n;
    if (n === FRAME_HEADER) this.allocPartial();
    if (this.partial !== undefined && !this.stopped) {
      const rest = chunk.subarray(pos + FRAME_HEADER);
      rest.copy(this.partial, FRAME_HEADER);
      this.partialFill = FRAME_HEADER + rest.length;
    }
  }

  // allocPartial sizes the cut frame's buffer once its header is complete (or refuses it).
  private allocPartial(): void {
    const len = (this.head[0]! << 16) | (this.head[1]! << 8) | this.head[2]!;
    if (len > this.sink.frameSizeLimit) {
      this.stopped = true;
      this.sink.oversized(this.head[3]!, this.head.readUInt32BE(5) & 0x7fffffff, len);
      return;
    }
    this.partial = Buffer.allocUnsafe(FRAME_HEADER + len);
    this.head.copy(this.partial);
    this.partialFill = FRAME_HEADER;
  }

  // finishPartial completes the cut frame from chunk; returns where the chunk's next frame
  // starts, or -1 when the chunk was used up (or reading stopped).
  private finishPartial(chunk: Buffer): number {
    let pos = 0;
    if (this.headFill < FRAME_HEADER) {
      const n = Math.min(FRAME_HEADER - this.headFill, chunk.length);
      chunk.copy(this.head, this.headFill, 0, n);
      this.headFill += n;
      pos = n;
      if (this.headFill < FRAME_HEADER) return -1;
      this.allocPartial();
      if (this.stopped) return -1;
    }
    const f = this.partial!;
    const n = Math.min(f.length - this.partialFill, chunk.length - pos);
    chunk.copy(f, this.partialFill, pos, pos + n);
    this.partialFill += n;
    pos += n;
    if (this.partialFill < f.length) return -1;
    this.partial = undefined;
    this.headFill = 0;
    const ok = this.sink.frame(f[3]!, f[4]!, f.readUInt32BE(5) & 0x7fffffff, f.subarray(FRAME_HEADER));
    if (!ok) {
      this.stopped = true;
      return -1;
    }
    return pos;
  }

  /** stop discards what is held and reads nothing more. */
  stop(): void {
    this.stopped = true;
    this.partial = undefined;
    this.headFill = 0;
  }
}

/** frameHeader writes a frame header at b[at]. */
export function frameHeader(
  b: Buffer,
  at: number,
  len: number,
  type: number,
  flags: number,
  stream: number,
): void {
  b[at] = len >>> 16;
  b[at + 1] = (len >>> 8) & 0xff;
  b[at + 2] = len & 0xff;
  b[at + 3] = type;
  b[at + 4] = flags;
  b.writeUInt32BE(stream, at + 5);
}

/** frame builds a whole frame around a payload. */
export function frame(type: number, flags: number, stream: number, payload?: Uint8Array): Buffer {
  const len = payload?.length ?? 0;
  const b = Buffer.allocUnsafe(FRAME_HEADER + len);
  frameHeader(b, 0, len, type, flags, stream);
  if (payload !== undefined) b.set(payload, FRAME_HEADER);
  return b;
}

/** settingsFrame is SETTINGS with [id, value] pairs. */
export function settingsFrame(pairs: readonly (readonly [number, number])[]): Buffer {
  const b = Buffer.allocUnsafe(FRAME_HEADER + 6 * pairs.length);
  frameHeader(b, 0, 6 * pairs.length, FrameType.SETTINGS, 0, 0);
  pairs.forEach(([id, v], i) => {
    b.writeUInt16BE(id, FRAME_HEADER + 6 * i);
    b.writeUInt32BE(v, FRAME_HEADER + 6 * i + 2);
  });
  return b;
}

/** u32Frame is a frame whose payload is one 32-bit number (RST_STREAM, WINDOW_UPDATE). */
export function u32Frame(type: number, stream: number, value: number): Buffer {
  const b = Buffer.allocUnsafe(FRAME_HEADER + 4);
  frameHeader(b, 0, 4, type, 0, stream);
  b.writeUInt32BE(value, FRAME_HEADER);
  return b;
}

/** goawayFrame is GOAWAY with the last stream processed, a code and debug text. */
export function goawayFrame(lastStream: number, code: number, debug = ""): Buffer {
  const d = Buffer.from(debug, "utf8");
  const b = Buffer.allocUnsafe(FRAME_HEADER + 8 + d.length);
  frameHeader(b, 0, 8 + d.length, FrameType.GOAWAY, 0, 0);
  b.writeUInt32BE(lastStream, FRAME_HEADER);
  b.writeUInt32BE(code, FRAME_HEADER + 4);
  d.copy(b, FRAME_HEADER + 8);
  return b;
}
