// stream.ts: one request/response exchange on an HTTP/2 connection, as the exchange sees it: the
// request's head, callbacks for what the client sends, and methods to answer. No Duplex, no
// per-stream event emitter: the callbacks are plain fields an exchange sets once. States are those
// of RFC 9113 §5.1 a server can be in: open, half-closed (remote: the request ended; local: the
// response ended), closed.
import type { RequestHead } from "./request.ts";

/** StreamOwner is what a stream asks of its connection (H2Connection implements it). */
export interface StreamOwner {
  respond(s: H2Stream, status: number, fields: readonly string[], end: boolean): void;
  write(s: H2Stream, chunk: Uint8Array, end: boolean): boolean;
  end(s: H2Stream, trailers: readonly string[] | undefined): void;
  reset(s: H2Stream, code: number): void;
  consume(s: H2Stream, n: number): void;
  timeWrite(s: H2Stream): boolean;
  flushOut(): void;
}

/** NO_QUEUE is every stream's queue until its first chunk; it stays empty. */
export const NO_QUEUE: Uint8Array[] = [];

/** H2Stream is one stream opened by the client. */
export class H2Stream implements RequestHead {
  /** id is the stream identifier. */
  readonly id: number;
  method = "";
  scheme = "";
  path = "";
  authority = "";
  contentLength = -1;
  /** openedAt is performance.now() when the request's HEADERS arrived. */
  openedAt = 0;
  /**
   * arrivedAt is when the read that brought the first byte of the request's HEADERS arrived (the
   * connection handler's arrival(): the start of the exchange's clock); 0 without one.
   */
  arrivedAt = 0;
  /** sentAt is performance.now() just before the write timeSend() waited for. */
  sentAt = 0;

  /** onData gets each request body chunk, safe to keep (a copy when the connection's reads are adopted). */
  onData: ((chunk: Buffer) => void) | undefined;
  /** onEnd: the request body ended (END_STREAM, after trailers if any); not called when stream() said end. */
  onEnd: (() => void) | undefined;
  /** onTrailers gets the request's trailer fields [name, value, ...]. */
  onTrailers: ((fields: string[]) => void) | undefined;
  /** onReset: the stream ended abnormally — reset by the client, by a protocol error, or with its connection (code 8, CANCEL, then). */
  onReset: ((code: number) => void) | undefined;
  /** onClose: the stream ended normally (both sides sent END_STREAM); onReset instead otherwise. */
  onClose: (() => void) | undefined;
  /** onDrain: everything write() queued was sent, after write() returned false. */
  onDrain: (() => void) | undefined;
  /** holdWindow: the exchange calls consume() for the body bytes it took in (backpressure); else they are acknowledged as delivered. */
  holdWindow = false;
  /** data is the exchange's own slot. */
  data: unknown;

  // The fields below belong to the connection (stream state and flow control).
  /** remoteEnded: END_STREAM received (half-closed remote). */
  remoteEnded = false;
  /** localEnded: END_STREAM queued or sent; nothing more may be written. */
  localEnded = false;
  /** closed: the stream left the connection. */
  closed = false;
  /** headersSent: the response head went out. */
  headersSent = false;
  sendWindow: number;
  recvWindow: number;
  /** unacked: body bytes consumed and not yet returned in a WINDOW_UPDATE. */
  unacked = 0;
  received = 0;
  /**
   * queue: response bytes waiting for flow-control window. Starts as a shared empty list that is
   * never added to (the connection gives a stream a list of its own with its first chunk: most
   * responses have one, and an empty list grown by push holds 17 slots).
   */
  queue: Uint8Array[] = NO_QUEUE;
  queued = 0;
  /** trailers to send once the queue is empty (undefined: none). */
  trailers: readonly string[] | undefined;
  /** endQueued: end() was called; END_STREAM follows the queue. */
  endQueued = false;
  needDrain = false;
  /** framing: the stream waits in the connection's list of streams to frame at the flush. */
  framing = false;
  private readonly owner: StreamOwner;

  constructor(owner: StreamOwner, id: number, sendWindow: number, recvWindow: number) {
    this.owner = owner;
    this.id = id;
    this.sendWindow = sendWindow;
    this.recvWindow = recvWindow;
  }

  /** respond sends the response head: status and fields [name, value, ...] in lower case; end: no body. */
  respond(status: number, fields: readonly string[] = [], end = false): void {
    this.owner.respond(this, status, fields, end);
  }

  /** write sends body bytes; false when they wait for window or the socket (onDrain follows, unless end was set). */
  write(chunk: Uint8Array, end = false): boolean {
    return this.owner.write(this, chunk, end);
  }

  /** end ends the response, with trailers [name, value, ...] if given. */
  end(trailers?: readonly string[]): void {
    this.owner.end(this, trailers);
  }

  /** reset ends the stream with RST_STREAM code (CANCEL = 8, INTERNAL_ERROR = 2, ...). */
  reset(code: number): void {
    this.owner.reset(this, code);
  }

  /**
   * timeSend asks for sentAt to be read just before the connection writes the frames it holds for
   * this turn (its flush in write-batch.ts's release); false when nothing is held.
   */
  timeSend(): boolean {
    return this.owner.timeWrite(this);
  }

  /** sendNow writes what the connection holds now (the flush timeSend waits for) and returns sentAt. */
  sendNow(): number {
    this.owner.flushOut();
    return this.sentAt || performance.now();
  }

  /** consume returns n request body bytes of window to the client (with holdWindow). */
  consume(n: number): void {
    this.owner.consume(this, n);
  }
}
