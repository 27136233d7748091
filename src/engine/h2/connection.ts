// connection.ts: the server side of one HTTP/2 connection (RFC 9113) on a socket Portico owns — a
// TLS socket from node:tls for h2, a plain socket for h2c. It reads frames (frames.ts), decodes
// header blocks (hpack-decoder.ts), keeps stream states and both directions of flow control, and
// hands requests to a handler as H2Streams; responses are encoded (hpack-encoder.ts) and leave in
// one write per event-loop turn (flushOut). The abuse rules of h2-guard.ts are counted here
// (abuse.ts) and cut the connection with GOAWAY ENHANCE_YOUR_CALM.
//
// Errors follow RFC 9113 §5.4: a connection error sends GOAWAY with the code and closes; a stream
// error sends RST_STREAM and the connection goes on. Which is which for each frame is written
// where the frame is read, with its section.
import type { Socket } from "node:net";
import { Abuse, type AbuseLimits, type CutReason, defaultAbuseLimits } from "./abuse.ts";
import {
  ErrorCode,
  FRAME_HEADER,
  Flag,
  FrameReader,
  type FrameSink,
  FrameType,
  MAX_WINDOW,
  PREFACE,
  Setting,
  goawayFrame,
  settingsFrame,
  u32Frame,
} from "./frames.ts";
import { HpackDecoder, HpackError } from "./hpack-decoder.ts";
import { HpackEncoder } from "./hpack-encoder.ts";
import { FrameOut } from "./frame-out.ts";
import { flushAtRelease, type Flushing } from "../net/write-batch.ts";
import { adoptReads } from "../net/onread.ts";
import { checkRequest, checkTrailers } from "./request.ts";
import { H2Stream, NO_QUEUE, type StreamOwner } from "./stream.ts";
import { performance } from "node:perf_hooks";

/** H2Settings are what the server advertises and keeps to. */
export interface H2Settings {
  /** maxConcurrentStreams: SETTINGS_MAX_CONCURRENT_STREAMS; streams beyond it are refused. */
  maxConcurrentStreams: number;
  /** streamWindow: SETTINGS_INITIAL_WINDOW_SIZE, what a client may send on a stream before its body is read. */
  streamWindow: number;
  /** connectionWindow: what a client may send on the connection in all (raised with WINDOW_UPDATE at start). */
  connectionWindow: number;
  /** maxHeaderListSize: SETTINGS_MAX_HEADER_LIST_SIZE; a larger request is answered 431. */
  maxHeaderListSize: number;
  /** encoderTableSize: the dynamic table used for responses (0: static table only). */
  encoderTableSize: number;
  /** highWater: bytes queued on a stream beyond which write() returns false. */
  highWater: number;
}

/** defaultH2Settings: node:http2's stream window and concurrency as Portico sets them, 1 MiB for the connection. */
export const defaultH2Settings: H2Settings = {
  maxConcurrentStreams: 250,
  streamWindow: 65_535,
  connectionWindow: 1 << 20,
  maxHeaderListSize: 64 << 10,
  encoderTableSize: 4096,
  highWater: 64 << 10,
};

/** H2Handler is the exchange side of a connection. */
export interface H2Handler {
  /** stream: a request's head arrived (fields [name, value, ...], pseudo-headers first); end: it has no body. */
  stream(s: H2Stream, fields: string[], end: boolean): void;
  /** cut: the connection was cut for abuse (GOAWAY ENHANCE_YOUR_CALM already queued). */
  cut?(reason: CutReason, detail: string): void;
  /** closed: the socket closed; every open stream had onReset first. */
  closed?(): void;
  /**
   * arrival is read once per read, before its bytes are parsed: the time the read's bytes arrived
   * (net/arrival.ts). A stream's arrivedAt is that of the read that brought its HEADERS frame's
   * first byte. Absent: streams carry 0.
   */
  arrival?(): number;
}

// The defaults a peer's settings start from (RFC 9113 §6.5.2).
const DEFAULT_WINDOW = 65_535;
const DEFAULT_FRAME = 16_384;
const DEFAULT_TABLE = 4096;
// Closed stream ids remembered to tell "closed" (STREAM_CLOSED) from "never opened" (PROTOCOL_ERROR).
const RECENT = 256;
// Streams we reset, remembered so that what the client sent before it saw the RST_STREAM is
// ignored rather than counted as invalid: at least two bursts of refused or reset streams.
const OUR_RESETS_MIN = 64;
// Output the socket holds unsent beyond which the connection stops reading: every frame we send is
// caused by one read, so a client that does not read stops being read (pause until 'drain').
const OUT_PAUSE = 1 << 20;
// Output held unsent beyond which the client is cut: what one read or the open streams' answers
// can add after the pause; more means it never reads.
const OUT_CUT = 16 << 20;

const EMPTY = new Uint8Array(0);

// READS receives the reads of every connection whose socket lets the codec adopt them
// (net/onread.ts): one read at a time, handled synchronously; a request body chunk handed on is a
// copy (data()), every other frame is done with before the read returns.
const READS = Buffer.allocUnsafe(64 * 1024);

class ConnectionError extends Error {
  readonly code: number;
  constructor(code: number, message: string) {
    super(message);
    this.code = code;
  }
}

/** H2Connection serves HTTP/2 on one socket. */
export class H2Connection implements FrameSink, StreamOwner, Flushing {
  readonly socket: Socket;
  readonly frameSizeLimit = DEFAULT_FRAME;
  /** abuse holds the connection's counters (suspect() tells an exchange to wait a turn). */
  readonly abuse: Abuse;
  private readonly handler: H2Handler;
  private readonly settings: H2Settings;
  private readonly reader: FrameReader;
  private readonly decoder: HpackDecoder;
  private readonly encoder: HpackEncoder;
  private readonly streams = new Map<number, H2Stream>();
  private readonly recent = new Int32Array(RECENT);
  // Streams we reset lately: frames the client sent before it saw our RST_STREAM are ignored (§5.4.2).
  private readonly ourResets: Int32Array;
  private ourResetAt = 0;
  private recentAt = 0;
  private lastPeerStream = 0;
  private preface = 0;
  private gotSettings = false;
  // A header block in progress: HEADERS without END_HEADERS, then CONTINUATION frames.
  private cont:
    { id: number; flags: number; parts: Buffer[]; bytes: number; frames: number; at: number } | undefined;
  // readAt: the current read's arrival (handler.arrival); frameAt: that of the read that brought
  // the first byte of the next frame to complete — an earlier read when a read cut that frame.
  private readAt = 0;
  private frameAt = 0;
  // timed: streams whose clock stops just before the next write (timeWrite).
  private timed: H2Stream[] = [];
  // Flow control: what we may send (peer's windows) and what the peer may send us.
  private sendWindow = DEFAULT_WINDOW;
  private peerStreamWindow = DEFAULT_WINDOW;
  private peerMaxFrame = DEFAULT_FRAME;
  private recvUnacked = 0;
  private readonly blocked = new Set<H2Stream>();
  // Output held for this turn's write.
  private readonly out = new FrameOut();
  private outQueued = false;
  // framing: streams whose body or end waits to be framed at this turn's flush (frameLater says why).
  private framing: H2Stream[] = [];
  private socketBlocked = false;
  private goawaySent = false;
  // The last-stream-id of the first GOAWAY we sent: streams above it are never served, and no later GOAWAY names a larger one (§6.8).
  private goawayLast = 0;
  // Reading stopped because the client does not read what we send (OUT_PAUSE).
  private readPaused = false;
  // adopted: reads are views of READS, valid during read() only (net/onread.ts).
  private readonly adopted: boolean;
  private peerGoaway = false;
  private ended = false;
  private readonly head = { method: "", scheme: "", path: "", authority: "", contentLength: -1 };

  constructor(
    socket: Socket,
    handler: H2Handler,
    settings: Partial<H2Settings> = {},
    limits: AbuseLimits = defaultAbuseLimits,
  ) {
    this.socket = socket;
    this.handler = handler;
    this.settings = { ...defaultH2Settings, ...settings };
    this.abuse = new Abuse(limits);
    this.ourResets = new Int32Array(Math.max(OUR_RESETS_MIN, 2 * this.settings.maxConcurrentStreams));
    this.reader = new FrameReader(this);
    this.decoder = new HpackDecoder({
      tableSize: DEFAULT_TABLE,
      maxListSize: this.settings.maxHeaderListSize,
    });
    this.encoder = new HpackEncoder(this.settings.encoderTableSize);
    socket.setNoDelay(true);
    // Reads come straight from the handle into READS, one callback per read — no 64 KiB buffer and
    // Readable push per read before the codec (and the exchange's clock, H2Handler.arrival) sees
    // them, as HTTP/1.1's client connections read; where the socket does not allow it, 'data'.
    this.adopted = adoptReads(socket, READS, (b: Buffer) => {
      this.read(b);
      return true;
    });
    if (!this.adopted) socket.on("data", (chunk: Buffer) => this.read(chunk));
    // What the stream buffered before (a sniffer's bytes, unshifted) is taken now — resume() would
    // emit it to no listener — and read once the constructor is done.
    const early = this.adopted && socket.readableLength > 0 ? (socket.read() as Buffer | null) : null;
    if (early !== null) process.nextTick(() => this.read(early));
    // HTTP/2 has no half-close: a client that ends its side is gone.
    socket.on("end", () => socket.destroy());
    socket.on("error", () => socket.destroy());
    socket.on("close", () => this.onClose());
    socket.on("drain", () => this.onDrain());
    // A socket handed over by a protocol sniffer (the h2c preface seen by HTTP/1.1) comes paused.
    socket.resume();
    const s = this.settings;
    this.push(
      settingsFrame([
        [Setting.MAX_CONCURRENT_STREAMS, s.maxConcurrentStreams],
        [Setting.INITIAL_WINDOW_SIZE, s.streamWindow],
        [Setting.MAX_HEADER_LIST_SIZE, s.maxHeaderListSize],
        [Setting.ENABLE_PUSH, 0],
      ]),
    );
    if (s.connectionWindow > DEFAULT_WINDOW)
      this.push(u32Frame(FrameType.WINDOW_UPDATE, 0, s.connectionWindow - DEFAULT_WINDOW));
  }

  /** streamCount is the number of open streams. */
  get streamCount(): number {
    return this.streams.size;
  }

  /** read takes bytes from the socket (also the first bytes a protocol sniffer already read). */
  read(chunk: Buffer): void {
    if (this.ended) return;
    const at = this.handler.arrival?.() ?? 0;
    this.readAt = at;
    if (!this.reader.cut) this.frameAt = at;
    this.abuse.tick(performance.now());
    if (this.preface < PREFACE.length) {
      const n = Math.min(PREFACE.length - this.preface, chunk.length);
      for (let i = 0; i < n; i++) {
        if (chunk[i] !== PREFACE[this.preface + i]) {
          this.fail(new ConnectionError(ErrorCode.PROTOCOL_ERROR, "invalid connection preface"));
          return;
        }
      }
      this.preface += n;
      if (n === chunk.length) return;
      chunk = chunk.subarray(n);
    }
    try {
      this.reader.push(chunk);
    } catch (e) {
      this.abort(e);
    }
  }

  // abort ends the connection on what a read threw. A bug (in the codec or the handler) costs this
  // connection, never the process: thrown out of a socket's 'data' handler it would be uncaught.
  private abort(e: unknown): void {
    if (!(e instanceof ConnectionError)) bugLog(e);
    try {
      this.fail(
        e instanceof ConnectionError ? e : new ConnectionError(ErrorCode.INTERNAL_ERROR, "internal error"),
      );
    } catch (again) {
      // A stream's onReset threw as well: drop the socket without ceremony.
      bugLog(again);
      this.ended = true;
      this.socket.destroy();
    }
  }

  /** close ends the connection gracefully: GOAWAY NO_ERROR, open streams finish, then the socket closes. */
  close(): void {
    if (this.goawaySent || this.ended) return;
    this.goawaySent = true;
    this.goawayLast = this.lastPeerStream;
    this.push(goawayFrame(this.goawayLast, ErrorCode.NO_ERROR));
    if (this.streams.size === 0) this.finish();
  }

  // ---- reading (FrameSink) ----

  oversized(type: number, _stream: number, length: number): void {
    // §4.2: a frame larger than SETTINGS_MAX_FRAME_SIZE; any frame may alter connection state here.
    this.fail(new ConnectionError(ErrorCode.FRAME_SIZE_ERROR, `frame of type ${type} has ${length} bytes`));
  }

  frame(type: number, flags: number, id: number, payload: Buffer): boolean {
    if (this.ended) return false;
    // This frame's first byte came with frameAt's read; the next frame's, with this read at the latest.
    const at = this.frameAt;
    this.frameAt = this.readAt;
    // §6.10: nothing may come between HEADERS and the CONTINUATION that ends its block.
    if (this.cont !== undefined && type !== FrameType.CONTINUATION)
      throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, "frame inside a header block");
    // §3.4: the client's preface ends with a SETTINGS frame.
    if (!this.gotSettings && (type !== FrameType.SETTINGS || flags & Flag.ACK))
      throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, "the first frame is not SETTINGS");
    switch (type) {
      case FrameType.DATA:
        this.data(flags, id, payload);
        break;
      case FrameType.HEADERS:
        this.headers(flags, id, payload, at);
        break;
      case FrameType.PRIORITY:
        this.priority(id, payload);
        break;
      case FrameType.RST_STREAM:
        this.rstStream(id, payload);
        break;
      case FrameType.SETTINGS:
        this.settingsFrame(flags, id, payload);
        break;
      case FrameType.PUSH_PROMISE:
        throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, "PUSH_PROMISE from a client"); // §8.4
      case FrameType.PING:
        this.ping(flags, id, payload);
        break;
      case FrameType.GOAWAY:
        this.goaway(id, payload);
        break;
      case FrameType.WINDOW_UPDATE:
        this.windowUpdate(id, payload);
        break;
      case FrameType.CONTINUATION:
        this.continuation(flags, id, payload);
        break;
      default:
        // §5.5: unknown frame types are ignored (and counted: they carry nothing).
        this.count(this.abuse.overhead(FRAME_HEADER + payload.length));
    }
    return !this.ended;
  }

  private data(flags: number, id: number, payload: Buffer): void {
    if (id === 0) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, "DATA on stream 0"); // §6.1
    if ((id & 1) === 0)
      throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, `DATA on even stream id ${id} (no pushes)`); // §5.1.1
    const body = this.unpad(flags, payload);
    // §6.9: the whole frame counts against both windows, padding included.
    this.recvUnacked += payload.length;
    if (this.recvUnacked > this.settings.connectionWindow)
      throw new ConnectionError(ErrorCode.FLOW_CONTROL_ERROR, "DATA beyond the connection window");
    if (this.afterGoaway(id)) {
      // A stream our GOAWAY refused, sent before the client saw it: dropped (§6.8), window returned.
      this.ackConnection();
      this.count(this.abuse.overhead(FRAME_HEADER));
      return;
    }
    this.count(this.abuse.overhead(FRAME_HEADER + payload.length - body.length));
    const s = this.streams.get(id);
    if (s === undefined || s.remoteEnded) {
      this.ackConnection();
      if (s === undefined && id > this.lastPeerStream)
        throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, `DATA on idle stream ${id}`); // §5.1
      // In flight when we reset the stream: ignored (§5.4.2), its window already returned.
      if (s === undefined && this.resetByUs(id)) return;
      // §5.1: DATA on a half-closed (remote) or closed stream is STREAM_CLOSED.
      this.streamError(id, ErrorCode.STREAM_CLOSED, s);
      return;
    }
    s.recvWindow -= payload.length;
    if (s.recvWindow < 0) {
      this.ackConnection();
      this.streamError(id, ErrorCode.FLOW_CONTROL_ERROR, s); // §6.9.1
      return;
    }
    s.received += body.length;
    const end = (flags & Flag.END_STREAM) !== 0;
    // §8.1.1: content-length must match the DATA received.
    if (s.contentLength >= 0 && (s.received > s.contentLength || (end && s.received !== s.contentLength))) {
      this.ackConnection();
      this.streamError(id, ErrorCode.PROTOCOL_ERROR, s);
      return;
    }
    this.ackConnection();
    // Padding is never delivered: its window comes back at once.
    const pad = payload.length - body.length;
    if (pad > 0) this.ackStream(s, pad);
    if (body.length > 0) {
      s.onData?.(this.adopted ? Buffer.from(body) : body);
      if (!s.holdWindow) this.ackStream(s, body.length);
    }
    if (end) this.remoteEnd(s);
  }

  private headers(flags: number, id: number, payload: Buffer, at: number): void {
    if (id === 0) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, "HEADERS on stream 0"); // §6.2
    if ((id & 1) === 0)
      throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, `even stream id ${id} from a client`); // §5.1.1
    let block = this.unpad(flags, payload);
    // Padding carries nothing: counted as such (a frame of padding is a cheap way to make us read).
    if (block.length < payload.length) this.count(this.abuse.overhead(payload.length - block.length));
    if (this.ended) return;
    let selfDependent = false;
    if (flags & Flag.PRIORITY) {
      if (block.length < 5)
        throw new ConnectionError(ErrorCode.FRAME_SIZE_ERROR, "HEADERS priority fields cut short");
      selfDependent = (block.readUInt32BE(0) & 0x7fffffff) === id;
      block = block.subarray(5);
    }
    if (flags & Flag.END_HEADERS) {
      this.headerBlock(flags, id, block, selfDependent, at);
      return;
    }
    // Copied: the block waits for its CONTINUATION frames beyond this read.
    this.cont = {
      id,
      flags: selfDependent ? flags | 0x100 : flags,
      parts: [Buffer.from(block)],
      bytes: block.length,
      frames: 0,
      at,
    };
  }

  private continuation(flags: number, id: number, payload: Buffer): void {
    const c = this.cont;
    if (c === undefined || c.id !== id)
      throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, "CONTINUATION without a header block"); // §6.10
    c.frames++;
    c.bytes += payload.length;
    this.count(this.abuse.continuation(c.frames));
    if (this.ended) return;
    if (c.bytes > 2 * this.settings.maxHeaderListSize) this.count("frame_flood");
    if (this.ended) return;
    if (!(flags & Flag.END_HEADERS)) {
      c.parts.push(Buffer.from(payload));
      return;
    }
    c.parts.push(payload);
    this.cont = undefined;
    this.headerBlock(c.flags & 0xff, id, Buffer.concat(c.parts), (c.flags & 0x100) !== 0, c.at);
  }

  // headerBlock handles a complete header block: a new request, or trailers.
  private headerBlock(flags: number, id: number, block: Buffer, selfDependent: boolean, at: number): void {
    const fields: string[] = [];
    try {
      this.decoder.decode(block, 0, block.length, fields);
    } catch (e) {
      // §4.3: a header block that cannot be decoded is a COMPRESSION_ERROR of the connection.
      if (e instanceof HpackError) throw new ConnectionError(ErrorCode.COMPRESSION_ERROR, e.message);
      throw e;
    }
    const end = (flags & Flag.END_STREAM) !== 0;
    const s = this.streams.get(id);
    if (s !== undefined) {
      // A second HEADERS: trailers (§8.1), which must end the stream.
      if (s.remoteEnded) return this.streamError(id, ErrorCode.STREAM_CLOSED, s); // §5.1 half-closed (remote)
      if (!end || this.decoder.tooLarge || checkTrailers(fields) !== "" || selfDependent)
        return this.streamError(id, ErrorCode.PROTOCOL_ERROR, s);
      if (s.contentLength >= 0 && s.received !== s.contentLength)
        return this.streamError(id, ErrorCode.PROTOCOL_ERROR, s);
      s.onTrailers?.(fields);
      this.remoteEnd(s);
      return;
    }
    if (this.afterGoaway(id)) {
      // §6.8: a stream opened after our GOAWAY is ignored — decoded above (HPACK state), then
      // dropped: no RST, no lastPeerStream move, but its bytes count as work for nothing.
      this.count(this.abuse.overhead(FRAME_HEADER + block.length));
      return;
    }
    if (id <= this.lastPeerStream) {
      // Trailers in flight when we reset the stream: ignored (§5.4.2; the block was decoded above).
      if (this.resetByUs(id)) return;
      // §5.1: HEADERS on a closed stream is STREAM_CLOSED; §5.1.1: a smaller id never used is PROTOCOL_ERROR.
      if (this.wasOpen(id))
        throw new ConnectionError(ErrorCode.STREAM_CLOSED, `HEADERS on closed stream ${id}`);
      throw new ConnectionError(
        ErrorCode.PROTOCOL_ERROR,
        `stream id ${id} is not above ${this.lastPeerStream}`,
      );
    }
    this.lastPeerStream = id;
    this.abuse.opened();
    if (selfDependent) return this.streamError(id, ErrorCode.PROTOCOL_ERROR, undefined); // §5.3.1
    if (this.streams.size >= this.settings.maxConcurrentStreams) {
      this.remember(id);
      this.markReset(id);
      this.push(u32Frame(FrameType.RST_STREAM, id, ErrorCode.REFUSED_STREAM)); // §5.1.2
      this.count(this.abuse.rejectedStream());
      return;
    }
    const st = new H2Stream(this, id, this.peerStreamWindow, this.settings.streamWindow);
    st.openedAt = performance.now();
    st.arrivedAt = at;
    if (this.decoder.tooLarge) {
      // §10.5.1: a header list above the advertised limit; answered, not reset, so the client sees why.
      this.streams.set(id, st);
      st.remoteEnded = end;
      this.respond(st, 431, [], true);
      return;
    }
    const why = checkRequest(fields, this.head);
    if (why !== "" || (end && this.head.contentLength > 0))
      return this.streamError(id, ErrorCode.PROTOCOL_ERROR, undefined); // §8.1.1
    st.method = this.head.method;
    st.scheme = this.head.scheme;
    st.path = this.head.path;
    st.authority = this.head.authority;
    st.contentLength = this.head.contentLength;
    st.remoteEnded = end;
    this.streams.set(id, st);
    this.handler.stream(st, fields, end);
  }

  private priority(id: number, payload: Buffer): void {
    if (id === 0) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, "PRIORITY on stream 0"); // §6.3
    this.count(this.abuse.overhead(FRAME_HEADER + payload.length));
    if (this.afterGoaway(id)) return;
    if (payload.length !== 5) return this.streamError(id, ErrorCode.FRAME_SIZE_ERROR, this.streams.get(id));
    // §5.3.1: a stream cannot depend on itself. Otherwise PRIORITY is accepted and ignored (RFC 9113 §5.3.2).
    if ((payload.readUInt32BE(0) & 0x7fffffff) === id)
      this.streamError(id, ErrorCode.PROTOCOL_ERROR, this.streams.get(id));
  }

  private rstStream(id: number, payload: Buffer): void {
    if (id === 0) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, "RST_STREAM on stream 0"); // §6.4
    if (payload.length !== 4)
      throw new ConnectionError(ErrorCode.FRAME_SIZE_ERROR, "RST_STREAM of other than 4 bytes");
    this.count(this.abuse.overhead(FRAME_HEADER + 4));
    if (this.afterGoaway(id)) return;
    if (id > this.lastPeerStream)
      throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, `RST_STREAM on idle stream ${id}`); // §5.1
    const s = this.streams.get(id);
    if (s === undefined) return;
    const early = !s.localEnded || s.queued > 0;
    this.closeStream(s, payload.readUInt32BE(0));
    if (early) this.count(this.abuse.reset(performance.now() - s.openedAt));
  }

  private settingsFrame(flags: number, id: number, payload: Buffer): void {
    if (id !== 0) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, "SETTINGS on a stream"); // §6.5
    if (flags & Flag.ACK) {
      if (payload.length !== 0)
        throw new ConnectionError(ErrorCode.FRAME_SIZE_ERROR, "SETTINGS ACK with a payload");
      // We send one SETTINGS: its ACK is expected once, any more are work for nothing.
      this.count(this.abuse.overhead(FRAME_HEADER));
      return;
    }
    if (payload.length % 6 !== 0)
      throw new ConnectionError(ErrorCode.FRAME_SIZE_ERROR, "SETTINGS not a multiple of 6 bytes");
    this.gotSettings = true;
    this.count(this.abuse.settingsFrame());
    if (this.ended) return;
    let grown = false;
    for (let i = 0; i < payload.length; i += 6) {
      const key = payload.readUInt16BE(i);
      const v = payload.readUInt32BE(i + 2);
      switch (key) {
        case Setting.HEADER_TABLE_SIZE:
          this.encoder.setPeerTableSize(v);
          break;
        case Setting.ENABLE_PUSH:
          if (v > 1) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, "SETTINGS_ENABLE_PUSH not 0 or 1");
          break;
        case Setting.INITIAL_WINDOW_SIZE:
          if (v > MAX_WINDOW)
            throw new ConnectionError(
              ErrorCode.FLOW_CONTROL_ERROR,
              "SETTINGS_INITIAL_WINDOW_SIZE above 2^31-1",
            );
          grown = this.newStreamWindow(v) || grown;
          break;
        case Setting.MAX_FRAME_SIZE:
          if (v < DEFAULT_FRAME || v > 0xffffff)
            throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, `SETTINGS_MAX_FRAME_SIZE ${v} out of range`);
          this.peerMaxFrame = v;
          break;
        // MAX_CONCURRENT_STREAMS bounds pushes, which a server here never makes; others are ignored (§6.5.2).
      }
    }
    this.pushFrame(FrameType.SETTINGS, Flag.ACK, 0);
    // Data a larger window lets out goes after the ACK: a client reads the ACK as the point from
    // which its settings hold (h2spec 6.9.2/1 waits for the ACK, then for the DATA).
    if (grown) for (const s of this.streams.values()) if (s.queue.length > 0 || s.endQueued) this.pump(s);
  }

  // newStreamWindow applies a new SETTINGS_INITIAL_WINDOW_SIZE to every stream (§6.9.2): windows
  // may go negative. Returns whether they grew (queued data may now leave).
  private newStreamWindow(v: number): boolean {
    const delta = v - this.peerStreamWindow;
    this.peerStreamWindow = v;
    for (const s of this.streams.values()) {
      s.sendWindow += delta;
      if (s.sendWindow > MAX_WINDOW)
        throw new ConnectionError(ErrorCode.FLOW_CONTROL_ERROR, "a stream window above 2^31-1");
    }
    return delta > 0;
  }

  private ping(flags: number, id: number, payload: Buffer): void {
    if (id !== 0) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, "PING on a stream"); // §6.7
    if (payload.length !== 8)
      throw new ConnectionError(ErrorCode.FRAME_SIZE_ERROR, "PING of other than 8 bytes");
    if (flags & Flag.ACK) {
      // We send no PING: an ACK answers nothing and is counted as work for nothing.
      this.count(this.abuse.overhead(FRAME_HEADER + 8));
      return;
    }
    this.count(this.abuse.ping());
    if (!this.ended) this.pushFrame(FrameType.PING, Flag.ACK, 0, payload);
  }

  private goaway(id: number, payload: Buffer): void {
    if (id !== 0) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, "GOAWAY on a stream"); // §6.8
    // §6.8: last-stream-id and error code; §4.2: a frame too short for its fields is FRAME_SIZE_ERROR.
    if (payload.length < 8)
      throw new ConnectionError(ErrorCode.FRAME_SIZE_ERROR, "GOAWAY shorter than 8 bytes");
    this.count(this.abuse.overhead(FRAME_HEADER + payload.length));
    if (this.ended) return;
    this.peerGoaway = true;
    if (this.streams.size === 0) this.finish();
  }

  private windowUpdate(id: number, payload: Buffer): void {
    if (payload.length !== 4)
      throw new ConnectionError(ErrorCode.FRAME_SIZE_ERROR, "WINDOW_UPDATE of other than 4 bytes"); // §6.9
    this.count(this.abuse.overhead(FRAME_HEADER + 4));
    const inc = payload.readUInt32BE(0) & 0x7fffffff;
    if (id === 0) {
      if (inc === 0)
        throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, "WINDOW_UPDATE of 0 on the connection");
      this.sendWindow += inc;
      if (this.sendWindow > MAX_WINDOW)
        throw new ConnectionError(ErrorCode.FLOW_CONTROL_ERROR, "connection window above 2^31-1"); // §6.9.1
      this.pumpBlocked();
      return;
    }
    if (this.afterGoaway(id)) return;
    if (id > this.lastPeerStream)
      throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, `WINDOW_UPDATE on idle stream ${id}`); // §5.1
    const s = this.streams.get(id);
    if (s === undefined) return; // closed: allowed for a while after (§6.9)
    if (inc === 0) return this.streamError(id, ErrorCode.PROTOCOL_ERROR, s);
    s.sendWindow += inc;
    if (s.sendWindow > MAX_WINDOW) return this.streamError(id, ErrorCode.FLOW_CONTROL_ERROR, s);
    this.pump(s);
  }

  // unpad returns the content of a frame with the PADDED flag (§6.1, §6.2).
  private unpad(flags: number, payload: Buffer): Buffer {
    if (!(flags & Flag.PADDED)) return payload;
    if (payload.length === 0)
      throw new ConnectionError(ErrorCode.FRAME_SIZE_ERROR, "padded frame without a pad length");
    const pad = payload[0]!;
    if (pad >= payload.length)
      throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, "padding as long as the frame");
    return payload.subarray(1, payload.length - pad);
  }

  // ---- stream and connection errors ----

  private streamError(id: number, code: number, s: H2Stream | undefined): void {
    this.push(u32Frame(FrameType.RST_STREAM, id, code));
    this.markReset(id);
    if (s !== undefined && !s.closed) this.closeStream(s, code);
    else this.remember(id);
    this.count(this.abuse.invalidFrame());
  }

  // count cuts the connection when a counter says so.
  private count(reason: CutReason | undefined): void {
    if (reason === undefined || this.ended) return;
    this.handler.cut?.(reason, this.abuse.detail(reason));
    this.fail(new ConnectionError(ErrorCode.ENHANCE_YOUR_CALM, `connection cut: ${reason}`));
  }

  // fail sends GOAWAY with the error's code and closes the connection.
  private fail(e: ConnectionError): void {
    if (this.ended) return;
    this.reader.stop();
    this.cont = undefined;
    if (!this.goawaySent) this.goawayLast = this.lastPeerStream;
    this.push(goawayFrame(this.goawayLast, e.code, e.message));
    this.goawaySent = true;
    this.resetAll(e.code);
    this.finish();
  }

  private resetAll(code: number): void {
    for (const s of [...this.streams.values()]) this.closeStream(s, code);
  }

  // finish flushes what is held and ends the socket.
  private finish(): void {
    if (this.ended) return;
    this.ended = true;
    this.flushOut();
    this.socket.end();
    // A client that never closes its side is not waited for.
    setTimeout(() => this.socket.destroy(), 1000).unref();
  }

  private onClose(): void {
    this.ended = true;
    this.reader.stop();
    this.out.clear();
    this.resetAll(ErrorCode.CANCEL);
    this.handler.closed?.();
  }

  // ---- stream life ----

  private remoteEnd(s: H2Stream): void {
    s.remoteEnded = true;
    s.onEnd?.();
    if (!s.closed && s.localEnded) this.closeStream(s, -1);
  }

  // closeStream removes a stream; code -1 is a normal end (both sides ended), else onReset(code).
  private closeStream(s: H2Stream, code: number): void {
    if (s.closed) return;
    s.closed = true;
    this.streams.delete(s.id);
    this.blocked.delete(s);
    this.remember(s.id);
    s.queue = NO_QUEUE;
    s.queued = 0;
    if (code >= 0) s.onReset?.(code);
    else s.onClose?.();
    if ((this.goawaySent || this.peerGoaway) && this.streams.size === 0) this.finish();
  }

  private remember(id: number): void {
    this.recent[this.recentAt] = id;
    this.recentAt = (this.recentAt + 1) % RECENT;
  }

  private markReset(id: number): void {
    this.ourResets[this.ourResetAt] = id;
    this.ourResetAt = (this.ourResetAt + 1) % this.ourResets.length;
  }

  private resetByUs(id: number): boolean {
    return this.ourResets.includes(id);
  }

  // afterGoaway: id is a stream the client opened after our GOAWAY's last-stream-id (§6.8).
  private afterGoaway(id: number): boolean {
    return this.goawaySent && id > this.goawayLast;
  }

  private wasOpen(id: number): boolean {
    for (let i = 0; i < RECENT; i++) if (this.recent[i] === id) return true;
    return false;
  }

  // ackConnection returns window to the client once half of it is used: few frames, no stall.
  private ackConnection(): void {
    if (this.recvUnacked >= this.settings.connectionWindow / 2) {
      this.push(u32Frame(FrameType.WINDOW_UPDATE, 0, this.recvUnacked));
      this.recvUnacked = 0;
    }
  }

  private ackStream(s: H2Stream, n: number): void {
    s.unacked += n;
    if (s.remoteEnded || s.unacked < this.settings.streamWindow / 2) return;
    s.recvWindow += s.unacked;
    this.push(u32Frame(FrameType.WINDOW_UPDATE, s.id, s.unacked));
    s.unacked = 0;
  }

  // ---- sending (StreamOwner) ----

  respond(s: H2Stream, status: number, fields: readonly string[], end: boolean): void {
    if (s.closed || s.headersSent) return;
    s.headersSent = true;
    // block() is a view of the encoder's buffer: headerFrames copies it into the frames.
    this.headerFrames(s.id, this.encoder.block(status, fields), end);
    if (end) this.localEnd(s);
  }

  write(s: H2Stream, chunk: Uint8Array, end: boolean): boolean {
    if (s.closed || s.endQueued || s.localEnded) return false;
    if (!s.headersSent) this.respond(s, 200, [], false);
    if (chunk.length > 0) {
      if (s.queue.length === 0) s.queue = [chunk];
      else s.queue.push(chunk);
      s.queued += chunk.length;
    }
    if (end) s.endQueued = true;
    // A stream past its high-water mark is framed now (as much as the windows allow), so that
    // write() returns false only for bytes that really wait; below it, framing waits for the flush.
    if (s.queued >= this.settings.highWater) this.pump(s);
    else this.frameLater(s);
    if (s.queued >= this.settings.highWater || this.socketBlocked) {
      s.needDrain = true;
      return false;
    }
    return true;
  }

  end(s: H2Stream, trailers: readonly string[] | undefined): void {
    if (s.closed || s.endQueued || s.localEnded) return;
    if (!s.headersSent) this.respond(s, 200, [], trailers === undefined);
    if (s.closed || s.localEnded) return;
    s.trailers = trailers;
    s.endQueued = true;
    this.frameLater(s);
  }

  /**
   * frameLater frames s's queue at this turn's flush instead of now: a body written and then
   * ended in the same turn (the backend's last chunk, then its end) leaves as DATA frames the last
   * of which carries END_STREAM — not a DATA frame and an empty one after it — and several small
   * writes of one turn become one DATA frame per window's worth rather than one each.
   */
  private frameLater(s: H2Stream): void {
    if (s.framing) return;
    s.framing = true;
    this.framing.push(s);
    if (this.outQueued) return;
    this.outQueued = true;
    flushAtRelease(this);
  }

  reset(s: H2Stream, code: number): void {
    if (s.closed) return;
    // A response ended and then reset with NO_ERROR (RFC 9113 §8.1: "stop sending the request")
    // goes out whole first: its frames were waiting for the flush (frameLater).
    if (code === 0 && s.framing) {
      this.pump(s);
      if (s.closed) return;
    }
    this.push(u32Frame(FrameType.RST_STREAM, s.id, code));
    this.markReset(s.id);
    s.onReset = undefined;
    this.closeStream(s, code);
  }

  consume(s: H2Stream, n: number): void {
    if (!s.closed) this.ackStream(s, n);
  }

  // pump sends what flow control allows of s's queue, then its end.
  private pump(s: H2Stream): void {
    if (this.ended) return;
    while (s.queue.length > 0) {
      if (this.socketBlocked) return;
      const chunk = s.queue[0]!;
      const room = Math.min(this.sendWindow, s.sendWindow, this.peerMaxFrame);
      if (room <= 0) {
        if (this.sendWindow <= 0) this.blocked.add(s);
        return;
      }
      const n = Math.min(room, chunk.length);
      const last = n === chunk.length && s.queue.length === 1 && s.endQueued && s.trailers === undefined;
      this.pushData(last ? Flag.END_STREAM : 0, s.id, chunk, n);
      this.abuse.sent();
      if (n === chunk.length) s.queue.shift();
      else s.queue[0] = chunk.subarray(n);
      s.queued -= n;
      this.sendWindow -= n;
      s.sendWindow -= n;
      if (last) {
        this.localEnd(s);
        return;
      }
    }
    if (s.endQueued && !s.localEnded) {
      if (s.trailers !== undefined) this.headerFrames(s.id, this.encoder.block(-1, s.trailers), true);
      else {
        this.pushData(Flag.END_STREAM, s.id, EMPTY, 0);
        this.abuse.sent();
      }
      this.localEnd(s);
      return;
    }
    if (s.needDrain) {
      s.needDrain = false;
      s.onDrain?.();
    }
  }

  private pumpBlocked(): void {
    if (this.blocked.size === 0) return;
    const list = [...this.blocked];
    this.blocked.clear();
    for (const s of list) this.pump(s);
  }

  // headerFrames sends a header block as HEADERS and, beyond the peer's frame size, CONTINUATION.
  private headerFrames(id: number, block: Buffer, end: boolean): void {
    this.abuse.sent();
    const max = this.peerMaxFrame;
    let flags = end ? Flag.END_STREAM : 0;
    if (block.length <= max) {
      this.pushFrame(FrameType.HEADERS, flags | Flag.END_HEADERS, id, block);
      return;
    }
    let type: number = FrameType.HEADERS;
    for (let at = 0; at < block.length; at += max) {
      const part = block.subarray(at, Math.min(at + max, block.length));
      if (at + max >= block.length) flags |= Flag.END_HEADERS;
      this.pushFrame(type, flags, id, part);
      type = FrameType.CONTINUATION;
      flags = 0;
    }
  }

  private localEnd(s: H2Stream): void {
    s.localEnded = true;
    s.endQueued = false;
    if (s.remoteEnded) this.closeStream(s, -1);
  }

  // ---- output ----

  private push(b: Buffer): void {
    if (this.ended) return;
    this.out.buffer(b);
    this.queueOut();
  }

  // pushFrame holds a frame built in place (frame-out.ts); payload is copied.
  private pushFrame(type: number, flags: number, id: number, payload?: Uint8Array): void {
    if (this.ended) return;
    this.out.frame(type, flags, id, payload);
    this.queueOut();
  }

  // pushData holds a DATA frame of chunk's first n bytes (a large chunk is kept, not copied).
  private pushData(flags: number, id: number, chunk: Uint8Array, n: number): void {
    if (this.ended) return;
    this.out.data(flags, id, chunk, n);
    this.queueOut();
  }

  private queueOut(): void {
    if (this.outQueued) return;
    this.outQueued = true;
    flushAtRelease(this);
  }

  /**
   * flushOut frames the streams that wait (frameLater), then writes what this turn produced in one
   * write. write-batch.ts's release calls it, so HTTP/1.1's held writes and HTTP/2's frames leave in
   * one setImmediate, before that turn's response events are published (an exchange's analytics
   * event follows its bytes, whichever protocol carried them); holding a turn's frames wakes the
   * reader once (see write-batch.ts for the measurements). One Buffer.concat and one write rather
   * than a writev of many small buffers: the frames are small and the copy is cheaper than the iovecs.
   */
  flushOut(): void {
    // A drain callback run by pump may write again (more streams to frame): loop until none is left.
    while (this.framing.length > 0) {
      const list = this.framing;
      this.framing = [];
      for (let i = 0; i < list.length; i++) {
        const s = list[i]!;
        s.framing = false;
        if (!s.closed) this.pump(s);
      }
    }
    this.outQueued = false;
    if (this.out.empty) return this.stamp();
    if (this.socket.destroyed) {
      this.out.clear();
      return this.stamp();
    }
    const buf = this.out.take()!;
    this.stamp();
    const ok = this.socket.write(buf);
    if (!ok) this.socketBlocked = true;
    const held = this.socket.writableLength;
    if (held > OUT_CUT && !this.ended) {
      this.handler.cut?.("frame_flood", `${held} bytes unsent: the client does not read what it asks for`);
      this.fail(new ConnectionError(ErrorCode.ENHANCE_YOUR_CALM, "connection cut: frame_flood"));
      return;
    }
    if (held > OUT_PAUSE && !this.readPaused) {
      this.readPaused = true;
      this.socket.pause();
    }
  }

  /**
   * timeWrite asks for s.sentAt, the time just before the write of the frames this turn holds
   * (flushOut); false when nothing is held, so there is no such write to wait for.
   */
  timeWrite(s: H2Stream): boolean {
    if (!this.outQueued) return false;
    this.timed.push(s);
    return true;
  }

  // stamp reads the clock for the streams timeWrite listed: just before the write, or now when
  // there is nothing to write (frames waiting for window leave later, at a time no clock here sees).
  private stamp(): void {
    const list = this.timed;
    if (list.length === 0) return;
    const t = performance.now();
    for (let i = 0; i < list.length; i++) list[i]!.sentAt = t;
    // Emptied in place, kept for the next write (no array a write): no one else holds the list —
    // it is private, timeWrite only pushes to it, and the loop above calls nothing that could.
    list.length = 0;
  }

  private onDrain(): void {
    if (this.readPaused && !this.ended) {
      this.readPaused = false;
      this.socket.resume();
    }
    if (!this.socketBlocked) return;
    this.socketBlocked = false;
    for (const s of this.streams.values()) if (s.queue.length > 0 || s.needDrain || s.endQueued) this.pump(s);
  }
}

// bugLog reports an exception the codec did not expect, in the engine's JSON log line format.
function bugLog(e: unknown): void {
  const line = {
    time: new Date().toISOString(),
    level: "error",
    msg: "HTTP/2 connection closed with INTERNAL_ERROR after an unexpected exception (a bug: please report it with this line)",
    error: e instanceof Error ? (e.stack ?? e.message) : String(e),
  };
  process.stderr.write(JSON.stringify(line) + "\n");
}
