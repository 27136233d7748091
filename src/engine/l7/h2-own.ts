// h2-own.ts: the switch to Portico's own HTTP/2 codec (src/engine/h2, docs/http2.md "Own codec").
// By default (PORTICO_H2_CODEC unset or "own") H2Front serves its connections with H2Connection;
// PORTICO_H2_CODEC=node keeps node:http2 for one release, as a fallback. Each stream reaches H2Exchange as an OwnFront: the
// exchange's FrontStream (h2-front-stream.ts) on H2Stream's callbacks — no Duplex, no emitter;
// request body window is returned as the exchange forwards the body (backpressure to the client).
import type http2 from "node:http2";
import type { Socket } from "node:net";
import { envChoice } from "../env-setting.ts";
import { H2Connection } from "../h2/connection.ts";
import type { AbuseLimits } from "../h2/abuse.ts";
import { defaultAbuseLimits } from "../h2/abuse.ts";
import type { H2Stream } from "../h2/stream.ts";
import { arrival } from "../net/arrival.ts";
import { connection, http2Cut, httpResponse } from "./events.ts";
import type { CutLog, H2Limits } from "./h2-guard.ts";
import { penalties } from "./h2-penalty.ts";
import type { BodySink, Ending, FrontStream } from "./h2-front-stream.ts";
import { tlsVersionOf } from "./tls-version.ts";
import type { ListenerRuntime } from "./runtime.ts";

/** H2_CODEC_ENV is the environment variable that picks the HTTP/2 codec. */
export const H2_CODEC_ENV = "PORTICO_H2_CODEC";

/**
 * codecSetting reads PORTICO_H2_CODEC: true for "own" (also the default, unset or empty), false for
 * "node" (node:http2, the fallback kept for one release); any other value throws, naming the
 * variable and the values, so that `portico run`/`engine` and new Engine() refuse to start.
 */
export function codecSetting(env: NodeJS.ProcessEnv = process.env): boolean {
  return (
    envChoice(
      env,
      H2_CODEC_ENV,
      { own: true, node: false },
      "use own (the default) or node (node:http2), or unset it for own",
    ) ?? true
  );
}

let codec: boolean | undefined;

/** ownCodec says whether this engine process serves HTTP/2 with the own codec (read once, at engine start). */
export function ownCodec(): boolean {
  return (codec ??= codecSetting());
}

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
  /** tls is the connection's TLS version, read once (tls-version.ts). */
  tls?: string;
}

/** OwnStreamSink is what acceptOwn hands each request to (H2Front's onStream path). */
export type OwnStreamSink = (
  stream: FrontStream,
  headers: http2.IncomingHttpHeaders | undefined,
  flags: number,
  conn: H2Connection,
  arrivedAt: number,
) => void;

/**
 * acceptOwn serves socket with H2Connection: cuts are counted and logged as H2Guard does, the
 * idle timeout closes the connection gracefully, each request goes to sink as a FrontStream.
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
        // A list in which no name repeats says what the object says: the exchange reads the
        // request from it and writes the HTTP/1.1 request from it, in the client's order, and
        // makes the object only if something asks for it (headersOf). Larger lists are folded at
        // once, which also tells whether a name repeats, without comparing every pair.
        if (fields.length <= 2 * UNIQUE_SCAN && namesUnique(fields)) {
          sink(new OwnFront(s, session, fields), undefined, end ? 1 : 0, conn, s.arrivedAt);
          return;
        }
        const headers = emptyHeaders();
        const unique = foldHeaders(fields, headers);
        sink(new OwnFront(s, session, unique ? fields : undefined), headers, end ? 1 : 0, conn, s.arrivedAt);
      },
      // The exchange's clock starts at the read that brought a stream's first byte, before its
      // frames are parsed and its header block decoded, as HTTP/1.1's does (net/arrival.ts).
      arrival: () => (httpResponse.hasSubscribers ? arrival() : 0),
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

// Fields node:http2 keeps once (its kSingleValueHeaders): a repeat is dropped, never ", "-joined
// into a value no sender wrote ("5, 05"). host and content-length never repeat here: the codec
// refuses such a request (request.ts).
const SINGLE_VALUE = new Set([
  "access-control-allow-credentials",
  "access-control-max-age",
  "access-control-request-method",
  "age",
  "authorization",
  "content-encoding",
  "content-language",
  "content-length",
  "content-location",
  "content-md5",
  "content-range",
  "content-type",
  "date",
  "dnt",
  "etag",
  "expires",
  "from",
  "host",
  "if-match",
  "if-modified-since",
  "if-none-match",
  "if-range",
  "if-unmodified-since",
  "last-modified",
  "location",
  "max-forwards",
  "proxy-authorization",
  "range",
  "referer",
  "retry-after",
  "tk",
  "upgrade-insecure-requests",
  "user-agent",
  "x-content-type-options",
]);

/** headersOf builds node's headers object from a flat list: cookie crumbs joined by "; " (RFC 9113 §8.2.3), set-cookie as a list, single-value fields kept once (the first, as node:http2), other repeats by ", ". */
export function headersOf(fields: readonly string[]): http2.IncomingHttpHeaders {
  const h = emptyHeaders();
  foldHeaders(fields, h);
  return h;
}

// Up to this many fields, names are compared pairwise to tell a list with no repeated name.
const UNIQUE_SCAN = 24;

// namesUnique says no name of fields [name, value, ...] repeats.
function namesUnique(fields: readonly string[]): boolean {
  for (let i = 2; i < fields.length; i += 2) {
    const k = fields[i]!;
    for (let j = 0; j < i; j += 2) if (fields[j] === k) return false;
  }
  return true;
}

/** fieldValue is the value of name in fields [name, value, ...] (the first), or undefined. */
export function fieldValue(fields: readonly string[], name: string): string | undefined {
  for (let i = 0; i < fields.length; i += 2) if (fields[i] === name) return fields[i + 1];
  return undefined;
}

function emptyHeaders(): http2.IncomingHttpHeaders {
  return Object.create(null) as http2.IncomingHttpHeaders;
}

// foldHeaders writes fields into h as headersOf says; true when no name repeated.
function foldHeaders(fields: readonly string[], headers: http2.IncomingHttpHeaders): boolean {
  const h = headers as Record<string, string | string[]>;
  let unique = true;
  for (let i = 0; i < fields.length; i += 2) {
    const k = fields[i]!;
    const v = fields[i + 1]!;
    const prev = h[k];
    if (prev === undefined) {
      h[k] = k === "set-cookie" ? [v] : v;
      continue;
    }
    unique = false;
    if (SINGLE_VALUE.has(k)) continue;
    else if (Array.isArray(prev)) prev.push(v);
    else h[k] = prev + (k === "cookie" ? "; " : ", ") + v;
  }
  return unique;
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

// lowerNames lower-cases the field names of [name, value, ...]: HTTP/1.1 trailers keep their case, HTTP/2 forbids upper case (RFC 9113 §8.2.1).
function lowerNames(fields: readonly string[]): string[] {
  const out = fields.slice();
  for (let i = 0; i < out.length; i += 2) out[i] = out[i]!.toLowerCase();
  return out;
}

/** OwnFront is an H2Stream as the exchange's FrontStream: callbacks, no Duplex. */
export class OwnFront implements FrontStream {
  private readonly s: H2Stream;
  private readonly session: OwnSession;
  private sink: BodySink | undefined;
  // held: body read while no sink was set (a decision that waits, such as external auth),
  // delivered to the next sink; its window is returned only then (flow control paces the client).
  private held: Buffer[] | undefined;
  private ended = false;
  private endSent = false;
  private paused = false;
  // owed: body bytes delivered while paused, their window returned on resume (backpressure).
  private owed = 0;
  private trailersMode = false;
  // The close callbacks: the first in a field of its own (the exchange's, the only one mostly), so
  // that a stream needs no array for it (an array grown by one push holds 17 slots).
  private closer: (() => void) | undefined;
  private closers: (() => void)[] | undefined;
  private closed = false;

  /** fields are the request's decoded fields when no name repeats (FrontStream.fields). */
  readonly fields: readonly string[] | undefined;

  constructor(s: H2Stream, session: OwnSession, fields?: readonly string[]) {
    this.s = s;
    this.session = session;
    this.fields = fields;
    s.holdWindow = true;
    // The stream calls these as its methods and finds this front in its data slot: four
    // functions for every stream instead of four closures per stream.
    s.data = this;
    s.onData = frontData;
    s.onEnd = frontEnd;
    s.onReset = frontGone;
    s.onClose = frontGone;
    if (s.remoteEnded) this.ended = true;
  }

  /** requestEnd is the stream's onEnd: the request body ended. */
  requestEnd(): void {
    this.ended = true;
    const sink = this.sink;
    if (sink === undefined || this.held !== undefined) return;
    this.endSent = true;
    sink.end();
  }

  get headersSent(): boolean {
    return this.s.headersSent;
  }

  timeSend(): boolean {
    return this.s.timeSend();
  }

  sendNow(): number {
    return this.s.sendNow();
  }

  get gone(): boolean {
    return this.s.closed;
  }

  get requestEnded(): boolean {
    return this.s.remoteEnded;
  }

  get socket(): Socket {
    return this.session.socket;
  }

  tlsVersion(): string {
    return (this.session.tls ??= tlsVersionOf(this.session.socket));
  }

  /** onData is the stream's onData: a piece of the request body. */
  onData(chunk: Buffer): void {
    const sink = this.sink;
    if (sink === undefined || this.held !== undefined) {
      // Nobody will read a body whose response already ended (a WAF or error answer while the
      // client was still sending): its window goes back and the bytes are dropped, as node:http2
      // did, so the client can finish and the stream close instead of stalling at the window.
      const s = this.s;
      if (sink === undefined && (s.localEnded || s.endQueued)) {
        let n = chunk.length;
        for (const c of this.held ?? []) n += c.length;
        this.held = undefined;
        return s.consume(n);
      }
      (this.held ??= []).push(chunk);
      return;
    }
    sink.data(chunk);
    this.taken(chunk.length);
  }

  // taken returns window for n body bytes the sink took, unless it paused meanwhile.
  private taken(n: number): void {
    if (this.paused) this.owed += n;
    else if (!this.s.closed) this.s.consume(n);
  }

  body(sink: BodySink | undefined): void {
    this.sink = sink;
    if (sink === undefined) return;
    const held = this.held;
    this.held = undefined;
    if (held !== undefined) {
      for (let i = 0; i < held.length; i++) {
        // The sink handed over to another (WAF inspection done): the rest goes to that one.
        if (this.sink !== sink) {
          this.held = held.slice(i);
          return this.body(this.sink);
        }
        sink.data(held[i]!);
        this.taken(held[i]!.length);
      }
    }
    if (this.ended && !this.endSent && this.sink === sink) {
      this.endSent = true;
      sink.end();
    }
  }

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
    const n = this.owed;
    this.owed = 0;
    if (n > 0 && !this.s.closed) this.s.consume(n);
  }

  onClose(cb: () => void): void {
    if (this.closed) return;
    if (this.closer === undefined) this.closer = cb;
    else (this.closers ??= []).push(cb);
  }

  /** close runs the close callbacks once, in the order given: the stream ended, was reset by the client, or by us. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    const first = this.closer;
    const list = this.closers;
    this.closer = undefined;
    this.closers = undefined;
    if (first !== undefined) first();
    if (list !== undefined) for (const cb of list) cb();
  }

  respond(headers: http2.OutgoingHttpHeaders, ending: Ending): void {
    const { status, fields } = flatten(headers);
    this.respondFields(status, fields, ending);
  }

  respondFields(status: number, fields: readonly string[], ending: Ending): void {
    this.trailersMode = ending === "trailers";
    this.s.respond(status, fields, ending === "head");
  }

  write(chunk: Buffer): boolean {
    return this.s.write(chunk);
  }

  onceDrain(cb: () => void): void {
    const s = this.s;
    s.onDrain = () => {
      s.onDrain = undefined;
      cb();
    };
  }

  end(text?: string, trailers?: readonly string[]): void {
    const s = this.s;
    if (text !== undefined && text !== "") s.write(Buffer.from(text), true);
    // Without trailers, END_STREAM rides the last DATA frame (connection.ts frames at the flush).
    else
      s.end(
        this.trailersMode && trailers !== undefined && trailers.length > 0 ? lowerNames(trailers) : undefined,
      );
  }

  reset(code: number): void {
    this.s.reset(code);
    // As node's 'close' after close(code): the caller finishes its own accounting first.
    queueMicrotask(() => this.close());
  }
}

function frontData(this: H2Stream, chunk: Buffer): void {
  (this.data as OwnFront).onData(chunk);
}

function frontEnd(this: H2Stream): void {
  (this.data as OwnFront).requestEnd();
}

function frontGone(this: H2Stream): void {
  (this.data as OwnFront).close();
}
