// h2-front-stream.ts: the client's HTTP/2 stream as H2Exchange and h2c.ts use it, whichever codec
// carries it — node:http2 (NodeFront, over ServerHttp2Stream) or Portico's own (OwnFront in
// h2-own.ts, over H2Stream's callbacks, no Duplex). One small interface instead of two exchanges:
// the request body goes to one sink at a time, the response is a head, body writes with a drain,
// and an end that carries the trailers when the head said it would wait for them.
import type http2 from "node:http2";
import type { Socket } from "node:net";
import { sessionTlsVersion } from "./tls-version.ts";

/** BodySink receives the request body: data for each chunk, end once it ended. */
export interface BodySink {
  data(chunk: Buffer): void;
  end(): void;
}

/** Ending says what ends a response's stream: its head, its body, or trailers after the body. */
export type Ending = "head" | "body" | "trailers";

/** FrontStream is one client stream: the request's body in, the response out. */
export interface FrontStream {
  /** headersSent: the response head went out. */
  readonly headersSent: boolean;
  /** gone: the stream closed or was reset; nothing more can be sent. */
  readonly gone: boolean;
  /** requestEnded: the request body ended (the client's END_STREAM was read). */
  readonly requestEnded: boolean;
  /**
   * fields, where the codec has them (the own one), are the request's fields as decoded, pseudo-
   * headers first, [name, value, ...] — only when no name repeats, so that they say exactly what
   * the exchange's headers object says.
   */
  readonly fields?: readonly string[];
  /** socket is the client connection's socket (undefined once node's session is gone). */
  readonly socket: Socket | undefined;
  /**
   * timeSend asks for the time just before the stream's held frames are written — the own codec
   * holds a turn's frames until write-batch.ts's release — for sendNow to return; false when none
   * are held: node:http2 writes its frames in a native immediate, ahead of the release, so its
   * exchanges stop the clock at their last write.
   */
  timeSend(): boolean;
  /** sendNow writes the held frames timeSend waits for (the release) and returns that time. */
  sendNow(): number;
  /** tlsVersion is the connection's negotiated TLS version, "" for h2c. */
  tlsVersion(): string;
  /** body sends the request body to sink from now on (undefined: nobody reads; see the codecs for what happens to it). */
  body(sink: BodySink | undefined): void;
  /** pause and resume the request body: its flow-control window is held while paused. */
  pause(): void;
  resume(): void;
  /** onClose runs cb once when the stream closes, normally or by a reset from either side. */
  onClose(cb: () => void): void;
  /** respond sends the response head; ending says what ends the stream. */
  respond(headers: http2.OutgoingHttpHeaders, ending: Ending): void;
  /**
   * respondFields, where the codec has it (the own one), is respond with the head as status and
   * lower-case fields [name, value, ...]: the backend's head goes to HPACK with no object between.
   */
  respondFields?(status: number, fields: readonly string[], ending: Ending): void;
  /** write sends body bytes; false: wait for onceDrain before writing more. */
  write(chunk: Buffer): boolean;
  onceDrain(cb: () => void): void;
  /** end ends the response: after text if given, with trailers [name, value, ...] if the head waits for them. */
  end(text?: string, trailers?: readonly string[]): void;
  /** reset ends the stream with RST_STREAM code. */
  reset(code: number): void;
}

/** NodeFront is a node:http2 ServerHttp2Stream as a FrontStream. */
export class NodeFront implements FrontStream {
  private readonly stream: http2.ServerHttp2Stream;
  // session is the stream's, kept: a destroyed stream forgets it (the response event's tls).
  private readonly session: http2.Http2Session | undefined;
  private sink: BodySink | undefined;
  private reading = false;
  private trailers: readonly string[] | undefined;

  constructor(stream: http2.ServerHttp2Stream) {
    this.stream = stream;
    this.session = stream.session;
  }

  timeSend(): boolean {
    return false;
  }

  sendNow(): number {
    return performance.now();
  }

  get headersSent(): boolean {
    return this.stream.headersSent;
  }

  get gone(): boolean {
    return this.stream.destroyed;
  }

  get requestEnded(): boolean {
    return this.stream.readableEnded;
  }

  get socket(): Socket | undefined {
    return this.stream.session?.socket;
  }

  tlsVersion(): string {
    return sessionTlsVersion(this.session);
  }

  body(sink: BodySink | undefined): void {
    this.sink = sink;
    if (sink === undefined || this.reading) return;
    // The first sink starts the flow; node drops chunks read while no sink is set (the exchange
    // swaps sinks synchronously, and sets none only once it stopped caring about the body).
    this.reading = true;
    this.stream.on("data", (chunk: Buffer) => this.sink?.data(chunk));
    this.stream.on("end", () => this.sink?.end());
  }

  pause(): void {
    this.stream.pause();
  }

  resume(): void {
    this.stream.resume();
  }

  onClose(cb: () => void): void {
    this.stream.on("close", cb);
  }

  respond(headers: http2.OutgoingHttpHeaders, ending: Ending): void {
    if (ending === "head") return this.stream.respond(headers, { endStream: true });
    if (ending === "body") return this.stream.respond(headers);
    // node:http2 then sends END_STREAM in a frame of its own, from a write it schedules once
    // 'wantTrailers' was answered — a turn after the body's: only bodies that can end in
    // trailers wait for them.
    this.stream.respond(headers, { waitForTrailers: true });
    this.stream.on("wantTrailers", () => this.sendTrailers());
  }

  // sendTrailers ends the stream with the trailers, if any. Not close(): that ends the stream with
  // RST_STREAM, and clients that read it as an abort (node:http2, browsers) drop the body. Empty
  // trailers make node send END_STREAM on an empty DATA frame instead.
  private sendTrailers(): void {
    const t = this.trailers;
    const obj: http2.OutgoingHttpHeaders = {};
    if (t !== undefined) for (let i = 0; i + 1 < t.length; i += 2) obj[t[i]!.toLowerCase()] = t[i + 1]!;
    this.stream.sendTrailers(obj);
  }

  write(chunk: Buffer): boolean {
    return this.stream.write(chunk);
  }

  onceDrain(cb: () => void): void {
    this.stream.once("drain", cb);
  }

  end(text?: string, trailers?: readonly string[]): void {
    this.trailers = trailers;
    if (text === undefined) this.stream.end();
    else this.stream.end(text);
  }

  reset(code: number): void {
    this.stream.close(code);
  }
}
