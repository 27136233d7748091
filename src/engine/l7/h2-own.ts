// h2-own.ts: the A/B switch to Portico's own HTTP/2 codec (src/engine/h2, docs/http2.md "Own
// codec"). With PORTICO_H2_CODEC=own in the engine's environment, H2Front serves its connections
// with H2Connection instead of node:http2; the default stays node:http2. A first step: each stream
// is wrapped in OwnServerStream, a Duplex with the part of ServerHttp2Stream that H2Exchange and
// h2c.ts use, so the exchange runs unchanged. The Duplex gives back part of what the codec saves
// per stream; the next step moves H2Exchange onto H2Stream's callbacks and drops it.
import { Duplex } from "node:stream";
import type http2 from "node:http2";
import type { Socket } from "node:net";
import { H2Connection } from "../h2/connection.ts";
import type { AbuseLimits } from "../h2/abuse.ts";
import { defaultAbuseLimits } from "../h2/abuse.ts";
import type { H2Stream } from "../h2/stream.ts";
import { connection, http2Cut } from "./events.ts";
import type { CutLog, H2Limits } from "./h2-guard.ts";
import { penalties } from "./h2-penalty.ts";
import type { ListenerRuntime } from "./runtime.ts";

/** ownCodec says whether this engine process serves HTTP/2 with the own codec (read once). */
export const ownCodec = process.env.PORTICO_H2_CODEC === "own";

/** abuseLimitsOf maps the listener's H2Limits onto the codec's counters. */
export function abuseLimitsOf(h2: H2Limits): AbuseLimits {
  return {
    ...defaultAbuseLimits,
    prematureResets: h2.prematureResets,
    prematureResetMs: h2.prematureResetMs,
    maxSettings: h2.maxSettings,
    maxPings: h2.maxPings,
    maxFrameBytes: h2.maxFrameBytes,
    windowMs: h2.windowMs,
    maxRejectedStreams: h2.maxRejectedStreams,
    maxInvalidFrames: h2.maxInvalidFrames,
  };
}

/** OwnSession stands for node's Http2Session where H2Exchange reads it (socket, destroyed). */
export interface OwnSession {
  socket: Socket;
  destroyed: boolean;
}

/** OwnStreamSink is what acceptOwn hands each request to (H2Front's onStream path). */
export type OwnStreamSink = (
  stream: http2.ServerHttp2Stream,
  headers: http2.IncomingHttpHeaders,
  flags: number,
  conn: H2Connection,
) => void;

/**
 * acceptOwn serves socket with H2Connection: cuts are counted and logged as H2Guard does, the
 * idle timeout closes the connection gracefully, each request goes to sink as a ServerHttp2Stream.
 */
export function acceptOwn(
  rt: ListenerRuntime,
  socket: Socket,
  cutLog: CutLog,
  sink: OwnStreamSink,
): H2Connection {
  const name = rt.listener.name;
  const limits = rt.limits;
  const client = socket.remoteAddress;
  const session: OwnSession = { socket, destroyed: false };
  const conn = new H2Connection(
    socket,
    {
      stream(s, fields, end) {
        const headers = headersOf(fields);
        sink(
          new OwnServerStream(s, session) as unknown as http2.ServerHttp2Stream,
          headers,
          end ? 1 : 0,
          conn,
        );
      },
      cut(reason, detail) {
        penalties.cut(client, limits.h2);
        if (http2Cut.hasSubscribers) http2Cut.publish({ listener: name, reason });
        cutLog.cut(reason, detail, client ?? "");
      },
      closed() {
        session.destroyed = true;
        if (connection.hasSubscribers) connection.publish({ listener: name, event: "close" });
      },
    },
    { maxConcurrentStreams: limits.h2.maxConcurrentStreams, maxHeaderListSize: limits.maxHeaderBytes },
    abuseLimitsOf(limits.h2),
  );
  if (connection.hasSubscribers) connection.publish({ listener: name, event: "open" });
  socket.setTimeout(rt.listener.idleTimeoutMs, () => conn.close());
  return conn;
}

/** headersOf builds node's headers object from a flat list: cookie crumbs joined by "; " (RFC 9113 §8.2.3), set-cookie as a list, other repeats by ", ". */
export function headersOf(fields: readonly string[]): http2.IncomingHttpHeaders {
  const h: Record<string, string | string[]> = Object.create(null) as Record<string, string | string[]>;
  for (let i = 0; i < fields.length; i += 2) {
    const k = fields[i]!;
    const v = fields[i + 1]!;
    const prev = h[k];
    if (prev === undefined) h[k] = k === "set-cookie" ? [v] : v;
    else if (Array.isArray(prev)) prev.push(v);
    else h[k] = prev + (k === "cookie" ? "; " : ", ") + v;
  }
  return h as http2.IncomingHttpHeaders;
}

// flatten turns node's outgoing headers object into fields and the status.
function flatten(headers: http2.OutgoingHttpHeaders): { status: number; fields: string[] } {
  let status = 200;
  const fields: string[] = [];
  for (const k in headers) {
    const v = headers[k];
    if (v === undefined) continue;
    if (k === ":status") {
      status = Number(v);
      continue;
    }
    const name = k.toLowerCase();
    if (Array.isArray(v)) for (const x of v) fields.push(name, String(x));
    else fields.push(name, String(v));
  }
  return { status, fields };
}

/** OwnServerStream is an H2Stream seen through the part of ServerHttp2Stream the exchange uses. */
export class OwnServerStream extends Duplex {
  readonly session: OwnSession;
  rstCode: number | undefined;
  private readonly s: H2Stream;
  private waitForTrailers = false;
  private trailersSent = false;
  // Body bytes pushed while the readable side was full: window returned when it is read.
  private owed = 0;
  private finalCb: ((err?: Error | null) => void) | undefined;

  constructor(s: H2Stream, session: OwnSession) {
    super({ allowHalfOpen: true });
    this.s = s;
    this.session = session;
    s.holdWindow = true;
    s.onData = (chunk) => {
      if (this.push(chunk)) s.consume(chunk.length);
      else this.owed += chunk.length;
    };
    s.onEnd = () => this.push(null);
    s.onReset = (code) => {
      this.rstCode = code;
      this.destroy();
    };
    // Like node's stream, 'close' follows a normal end even when nobody read the (empty) request.
    s.onClose = () => this.destroy();
    if (s.remoteEnded) this.push(null);
  }

  /** headersSent says whether the response head went out. */
  get headersSent(): boolean {
    return this.s.headersSent;
  }

  /** respond sends the response head (node's signature: endStream, waitForTrailers). */
  respond(
    headers: http2.OutgoingHttpHeaders,
    opts?: { endStream?: boolean; waitForTrailers?: boolean },
  ): void {
    const { status, fields } = flatten(headers);
    const end = opts?.endStream === true;
    this.waitForTrailers = opts?.waitForTrailers === true;
    this.s.respond(status, fields, end);
    if (end) this.end();
  }

  /** sendTrailers ends the stream with trailers (none: END_STREAM on an empty DATA frame). */
  sendTrailers(headers: http2.OutgoingHttpHeaders): void {
    if (this.trailersSent) return;
    this.trailersSent = true;
    const { fields } = flatten(headers);
    this.s.end(fields.length === 0 ? undefined : fields);
    const cb = this.finalCb;
    this.finalCb = undefined;
    cb?.();
  }

  /** close resets the stream with code (node's close(code)). */
  close(code = 8): void {
    this.s.reset(code);
    this.destroy();
  }

  override _read(): void {
    if (this.owed === 0) return;
    const n = this.owed;
    this.owed = 0;
    this.s.consume(n);
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    if (this.s.write(chunk)) return cb();
    this.s.onDrain = () => {
      this.s.onDrain = undefined;
      cb();
    };
  }

  override _final(cb: (err?: Error | null) => void): void {
    if (this.s.localEnded || this.s.closed) return cb();
    if (this.waitForTrailers) {
      this.finalCb = cb;
      this.emit("wantTrailers");
      return;
    }
    this.s.end();
    cb();
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    // A stream destroyed before its response ended is reset (node: RST_STREAM CANCEL or INTERNAL_ERROR).
    // An ended response (end() queued, framed at the flush) is not cut short by the autoDestroy that follows.
    const s = this.s;
    if (!s.closed && !(err === null && (s.endQueued || s.localEnded))) s.reset(err === null ? 8 : 2);
    cb(err);
  }
}
