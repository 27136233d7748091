// h2-exchange.ts: one HTTP/2 stream forwarded to a backend — over HTTP/1.1 through the shared
// upstream pool (the stream's body re-framed as Content-Length or chunked), or over HTTP/2 to
// "h2c" pools via h2c.ts. Responses go back as HTTP/2 with trailers.
import { BackendAttempt } from "./attempt.ts";
import { publicText } from "./failure.ts";
import type { Decidable } from "./decide.ts";
import { whenSent, type Departing } from "../net/write-batch.ts";
import { overBodyLimit, responseEdits, type Answer, type Phases, type RequestEdits } from "./phases.ts";
import type http2 from "node:http2";
import { ErrorCode } from "../h2/frames.ts";
import type { PickContext } from "../contracts.ts";
import type { Header } from "../../model/ir.ts";
import { chunkHeader, lastChunk } from "../http/head.ts";
import type { MessageHead } from "../http/parser.ts";
import { httpResponse } from "./events.ts";
import { addEdits, chunkedBody, responseFields, responseHeaders } from "./h2-response-head.ts";
import { buildUpstreamHead } from "./forward.ts";
import { h2cRequest } from "./h2c.ts";
import { errorPage, intercepts } from "./error-pages.ts";
import { mirrorStream } from "./mirror.ts";
import type { H2Guard } from "./h2-guard.ts";
import type { ListenerRuntime } from "./runtime.ts";
import type { UpstreamConn } from "./upstream.ts";
import { SharedPick } from "./shared-pick.ts";
import { fieldValue, headersOf } from "./h2-own.ts";
import type { BodySink, FrontStream } from "./h2-front-stream.ts";
import type { Mirrors } from "./mirror.ts";
import { fieldPairs, headerPairs, wafConn, type WafRun, type WafSubject } from "./waf.ts";
import { performance } from "node:perf_hooks";

const END_STREAM = 0x1;

/** GRPC_UNAVAILABLE is gRPC status code 14, answered for requests of an invalid backend share. */
const GRPC_UNAVAILABLE = 14;

/** H2Exchange forwards one HTTP/2 request stream. */
export class H2Exchange extends BackendAttempt implements Decidable, Departing {
  /** stream is the client's stream, whichever codec carries it (h2-front-stream.ts). */
  readonly stream: FrontStream;
  // headerObj is node's headers object of the request: given by node:http2's front (and by the own
  // codec's when a name repeats), else made from stream.fields on first use (headers).
  private headerObj: http2.IncomingHttpHeaders | undefined;
  readonly host: string;
  /** method, path and query are the request's, split from its pseudo-headers. */
  readonly method: string;
  readonly path: string;
  readonly query: string;
  /** prefixLength is how much of path the route's Prefix match covered. */
  prefixLength = 0;
  /** phases are the route's compiled filters; edits what they changed of the upstream request. */
  phases: Phases | undefined = undefined;
  edits: RequestEdits | undefined = undefined;
  /** waf is the request's WAF transaction (waf.ts), on routes with a WafPolicy. */
  waf: WafRun | undefined = undefined;
  /** held is the request body the WAF inspected before the backend attempt (sent first). */
  held: Buffer[] | undefined = undefined;
  // heldResponse is a response held for WAF phase 4: its head (not yet sent) and body so far.
  // The own codec's head is a field list (respondFields), node:http2's an object (headers).
  private heldResponse:
    | {
        status: number;
        fields?: string[];
        headers?: http2.OutgoingHttpHeaders;
        trailers: boolean;
        chunks: Buffer[];
        size: number;
      }
    | undefined;
  // guard counts this stream as reset early when it closes before its response ended.
  private readonly guard: H2Guard | undefined;
  private readonly hasBody: boolean;
  // interim: the backend's head was a 1xx (103 Early Hints, 100 Continue); its message's end is
  // not the response's (the final head follows on the same connection).
  private interim = false;
  private upstreamHead = "";
  /** framing is how the body goes to an HTTP/1.1 backend (set by http1Head). */
  framing: "length" | "chunked" | "none" = "none";
  private chunked = false;
  // tls and client are read at the end, for the response event published after the stream closed.
  private tls = "";
  private client = "";
  private trailers: string[] | undefined;
  private requestDone = false;
  private aborter: AbortController | undefined = undefined;
  /** mirror gets a copy of the request body (mirror.ts mirrorStream sets it). */
  mirror: Mirrors | undefined = undefined;

  constructor(
    rt: ListenerRuntime,
    stream: FrontStream,
    headers: http2.IncomingHttpHeaders | undefined,
    flags: number,
    host: string,
    guard?: H2Guard,
    arrivedAt = 0,
  ) {
    super(rt, arrivedAt);
    this.guard = guard;
    this.stream = stream;
    this.headerObj = headers;
    this.host = host;
    this.method = this.field(":method") ?? "GET";
    const url = this.field(":path") ?? "/";
    const q = url.indexOf("?");
    this.path = q === -1 ? url : url.slice(0, q);
    this.query = q === -1 ? "" : url.slice(q + 1);
    this.hasBody = (flags & END_STREAM) === 0;
    // A bodiless request was complete with its headers (the request part of a local answer).
    if (this.timed && !this.hasBody) this.tReq = this.start;
    stream.onClose(() => this.abort());
  }

  /**
   * headers is node's headers object of the request (made on first use when the own codec gave a
   * list in which no name repeats: most requests are routed and forwarded without it).
   */
  get headers(): http2.IncomingHttpHeaders {
    return (this.headerObj ??= headersOf(this.stream.fields!));
  }

  // field is a header's value as the object has it, read from the list while there is no object
  // (no name repeats in that list, so its value is the object's).
  private field(lowerName: string): string | undefined {
    const o = this.headerObj;
    if (o !== undefined) return o[lowerName] as string | undefined;
    return fieldValue(this.stream.fields!, lowerName);
  }

  /** header returns a request header by its lower-case name (list values joined, as in HTTP/1.1). */
  header(lowerName: string): string | undefined {
    if (this.headerObj === undefined) return fieldValue(this.stream.fields!, lowerName);
    const v = this.headerObj[lowerName];
    return Array.isArray(v) ? v.join(", ") : v;
  }

  /** headerPairs lists the request's header fields, without pseudo-headers (`:authority` is the Host). */
  headerPairs(): [string, string][] {
    return fieldPairs(this.headers);
  }

  /** wafSubject is the request as the WAF reads it (waf.ts): `:authority` given as Host. */
  wafSubject(): WafSubject {
    const h = this.headers;
    const headers = fieldPairs(h);
    if (h[":authority"] !== undefined) headers.unshift(["host", this.host]);
    return {
      conn: wafConn(this.stream.socket, this.clientIp()),
      head: { method: this.method, uri: h[":path"] ?? "/", protocol: "HTTP/2.0", headers },
    };
  }

  /** decided goes on with a decision that waited (decide.ts Decision), unless the stream is gone. */
  decided(a: Answer | undefined): void {
    if (this.done || this.stream.gone) return;
    if (a !== undefined) return this.reply(a);
    this.forward(this.rt.pools[this.pool]?.protocol === "h2c");
  }

  /** abortSignal is aborted when the stream closes before the exchange finished (made on first use). */
  abortSignal(): AbortSignal {
    return (this.aborter ??= new AbortController()).signal;
  }

  /** reply renders an answer of the decision step (or of the WAF, which may reset the stream). */
  reply(a: Answer): void {
    if (a.error !== undefined) this.error = a.error;
    if (a.drop === true) {
      this.finish(false);
      if (!this.stream.gone) this.stream.reset(ErrorCode.CANCEL);
      return;
    }
    // GRPCRoute asks UNAVAILABLE for an invalid share; an HTTP 500 would reach gRPC as UNKNOWN.
    if (a.invalidShare === true && String(this.headers["content-type"] ?? "").startsWith("application/grpc"))
      return this.answerGrpc(GRPC_UNAVAILABLE, publicText(503));
    const type = a.contentType;
    this.answer(
      a.status,
      a.body,
      type === undefined ? a.headers : [...(a.headers ?? []), { name: "content-type", value: type }],
    );
    if (a.close === true) this.stopRequest();
  }

  /** answer responds from the proxy with a short text body and extra headers (a redirect's Location). */
  answer(status: number, body: string, extra?: readonly Header[]): void {
    this.status = status;
    if (!this.stream.headersSent && !this.stream.gone) {
      const h: http2.OutgoingHttpHeaders = { ":status": status, "content-type": "text/plain; charset=utf-8" };
      for (const x of extra ?? []) h[x.name.toLowerCase()] = x.value;
      const text = body.endsWith("\n") || body === "" ? body : body + "\n";
      // A HEAD request gets the headers alone (RFC 9110 §9.3.2), with the length a GET would get.
      if (this.method === "HEAD") {
        h["content-length"] = Buffer.byteLength(text);
        this.stream.respond(h, "head");
      } else {
        this.stream.respond(h, "body");
        this.stream.end(text);
      }
    }
    this.finish(true);
  }

  /** answerGrpc responds trailers-only with a gRPC status and message (HTTP 200, as gRPC has it). */
  answerGrpc(code: number, message: string): void {
    this.status = 200;
    if (!this.stream.headersSent && !this.stream.gone) {
      this.stream.respond(
        {
          ":status": 200,
          "content-type": "application/grpc",
          "grpc-status": String(code),
          "grpc-message": encodeURIComponent(message),
        },
        "head",
      );
    }
    this.finish(true);
  }

  /** forward sends the request to the chosen pool, over HTTP/2 when the pool speaks h2c. */
  forward(h2c: boolean): void {
    this.armTimer(this.begun, this.requestTimeoutMs());
    const w = this.waf;
    if (w !== undefined && w.phase2Pending) return this.wafBody(w, h2c);
    this.forwardNow(h2c);
  }

  /**
   * wafBody holds the request body (to one byte past the WAF's limit, to see a larger body), runs
   * WAF phase 2 on it, then forwards: held bytes first, the rest (ProcessPartial) as it arrives.
   */
  private wafBody(w: WafRun, h2c: boolean): void {
    if (!this.hasBody || !w.wantsRequestBody) {
      const a = w.requestBody([], 0);
      return a === undefined ? this.forwardNow(h2c) : this.reply(a);
    }
    const held: Buffer[] = (this.held = []);
    const max = w.requestBodyLimit;
    const stream = this.stream;
    const inspect = () => {
      stream.body(undefined);
      const a = w.requestBody(held, this.bytesIn);
      if (a === undefined) this.forwardNow(h2c);
      else this.reply(a);
    };
    const onData = (chunk: Buffer) => {
      // Past the route's body limit: 413 (countIn), and the held body goes nowhere.
      if (!this.countIn(chunk.length)) return stream.body(undefined);
      held.push(chunk);
      if (this.bytesIn > max) inspect();
    };
    const onEnd = () => {
      this.requestDone = true;
      inspect();
    };
    stream.body({ data: onData, end: onEnd });
  }

  // forwardNow starts the backend attempt (after WAF phase 2 when the WAF held the body).
  private forwardNow(h2c: boolean): void {
    if (this.done) return;
    // Mirrors start here, once WAF phase 2 (if any) let the request through, with the held body.
    mirrorStream(this.rt, this, this.held ?? [], this.requestDone);
    if (h2c) {
      // One attempt, no retry: the stream's body is piped to the backend as it arrives (h2c.ts
      // stamps the ask).
      const backend = this.pickBackend();
      if (backend !== undefined) h2cRequest(this, backend);
      return;
    }
    this.http1Head();
    if (!this.hasBody) this.requestDone = true;
    this.connect();
    if (this.hasBody && !this.requestDone)
      this.readBody({ data: (chunk) => this.requestBody(chunk), end: () => this.requestEnd() });
  }

  /** readBody sends the rest of the request body to sink, and a copy to the mirrors if any. */
  readBody(sink: BodySink): void {
    const m = this.mirror;
    if (m === undefined) return this.stream.body(sink);
    this.stream.body({
      data(chunk) {
        m.body(chunk);
        sink.data(chunk);
      },
      end() {
        m.end();
        sink.end();
      },
    });
  }

  /**
   * http1Head returns the request as it goes to an HTTP/1.1 backend (its body re-framed as
   * Content-Length or chunked), built once: the main attempt and the mirrors send the same.
   */
  http1Head(): string {
    if (this.upstreamHead !== "") return this.upstreamHead;
    let flat: readonly string[];
    let from = 0;
    let length = "";
    const fields = this.stream.fields;
    if (fields !== undefined) {
      // The decoded list from its first field, pseudo-headers (first, request.ts checks) left out:
      // no object walked, no copy.
      while (from < fields.length && fields[from]!.charCodeAt(0) === 58 /* : */) from += 2;
      flat = fields;
      for (let j = from; j < flat.length; j += 2) if (flat[j] === "content-length") length = flat[j + 1]!;
    } else {
      const list: string[] = [];
      flat = list;
      for (const [k, v] of Object.entries(this.headers)) {
        if (k.charCodeAt(0) === 58 /* : */ || v === undefined) continue;
        if (k === "content-length") length = String(v);
        if (Array.isArray(v)) for (const x of v) list.push(k, x);
        else list.push(k, String(v));
      }
    }
    this.framing = !this.hasBody ? "none" : length !== "" ? "length" : "chunked";
    this.chunked = this.framing === "chunked";
    this.upstreamHead = buildUpstreamHead({
      method: this.method,
      path: this.path,
      query: this.query,
      headers: flat,
      from,
      host: this.host,
      clientIp: this.clientIp(),
      proto: this.rt.proto,
      framing: this.framing,
      contentLength: length,
      websocket: false,
      route: this.route!,
      prefixLength: this.prefixLength,
      edits: this.edits,
    });
    return this.upstreamHead;
  }

  /** uri is the request target as the client sent it (`:path`). */
  uri(): string | undefined {
    return this.field(":path");
  }

  /** clientIp is the client's address. */
  clientIp(): string {
    return this.stream.socket?.remoteAddress ?? "";
  }

  protected pickContext(tried: ReadonlySet<string> | undefined): PickContext {
    return PICK.of(this, tried);
  }

  protected send(up: UpstreamConn): void {
    up.writeHead(this.upstreamHead);
    const held = this.held;
    if (held === undefined) return;
    for (let i = 0; i < held.length; i++) this.writeUp(up, held[i]!);
    if (this.requestDone && this.chunked) up.socket.write(lastChunk(undefined), "latin1");
  }

  protected responseSent(): boolean {
    return this.stream.headersSent;
  }

  protected hasRequestBody(): boolean {
    return this.hasBody;
  }

  private requestBody(chunk: Buffer): void {
    // The requestBody phase (phases.ts) will run here, from this.phases, when the WAF adds one.
    if (!this.countIn(chunk.length)) return;
    const up = this.upstream;
    if (up === null) return;
    if (!this.writeUp(up, chunk)) this.stream.pause();
  }

  // writeUp writes a piece of the body to an HTTP/1.1 backend, chunk-framed when chunked.
  private writeUp(up: UpstreamConn, chunk: Buffer): boolean {
    if (!this.chunked) return up.socket.write(chunk);
    up.socket.write(chunkHeader(chunk.length), "latin1");
    up.socket.write(chunk);
    return up.socket.write("\r\n", "latin1");
  }

  private requestEnd(): void {
    this.requestDone = true;
    if (this.chunked && this.upstream !== null) this.upstream.socket.write(lastChunk(undefined), "latin1");
  }

  onUpstreamDrain(): void {
    this.stream.resume();
  }

  /** fail answers with an error status if nothing was sent yet, else resets the stream; text is for the logs. */
  fail(status: number, text: string): void {
    if (this.done) return;
    this.error = text;
    if (this.stream.headersSent) {
      this.status ||= status;
      this.stream.reset(ErrorCode.INTERNAL_ERROR);
      this.finish(false);
      return;
    }
    this.answer(status, publicText(status));
  }

  onUpgrade(conn: UpstreamConn): void {
    conn.destroy();
    this.fail(502, "backend switched protocols on an HTTP/2 request");
  }

  onBegin(): void {}

  onHead(h: MessageHead): boolean {
    const status = h.statusCode;
    this.interim = status >= 100 && status < 200;
    if (this.interim) return false;
    this.stampHead();
    // custom-http-errors: the default backend's page instead of this answer (error-pages.ts).
    const ep = this.route?.errorPages;
    if (intercepts(ep, status)) {
      this.dropAttempt(true);
      void errorPage(this, ep, status).then((a) => {
        if (!this.done && !this.stream.gone) this.reply(a);
      });
      return true;
    }
    const isHead = this.method === "HEAD";
    // HTTP/2 has no transfer codings (RFC 9113 §8.2.2): a body with one besides chunked is a 502.
    const noBody = isHead || status === 204 || status === 304;
    if (!noBody && this.responseCodings(h, "an HTTP/2 client") === undefined) return true;
    const w = this.waf;
    if (w !== undefined) {
      const a = w.responseHeaders(status, `HTTP/1.${h.versionMinor}`, headerPairs(h.headers));
      if (a !== undefined) {
        this.dropAttempt(true);
        this.reply(a);
        return true;
      }
    }
    this.status = status;
    const rh = this.phases?.responseHeaders;
    const edits = rh === undefined ? undefined : responseEdits(rh, this);
    const stream = this.stream;
    if (stream.gone) return isHead;
    const trailers = !isHead && chunkedBody(h.headers);
    // WAF phase 4 sees the body before the client sees anything of the response.
    const held = w !== undefined && !isHead && w.wantsResponseBody;
    // The own codec takes the head as a list, straight from the backend's (no headers object),
    // a held one too.
    if (stream.respondFields !== undefined) {
      const fields = responseFields(h.headers, edits);
      if (held) {
        this.heldResponse = { status, fields, trailers, chunks: [], size: 0 };
        return false;
      }
      stream.respondFields(status, fields, trailers ? "trailers" : "body");
      return isHead;
    }
    const out = responseHeaders(h.headers, edits);
    out[":status"] = status;
    if (held) {
      this.heldResponse = { status, headers: out, trailers, chunks: [], size: 0 };
      return false;
    }
    this.respondHead(out, trailers);
    return isHead;
  }

  /**
   * respondHead sends the response head. Only a body that can end in trailers (chunked) waits for
   * them: node:http2 sends END_STREAM after trailers in a frame of its own, from a write it
   * schedules a turn after the body's, after the exchange's clock stopped (write-batch.ts's
   * release), so the client had the whole response ~0.2–0.5 ms after Portico's "total" ended.
   * Without trailers END_STREAM rides the last DATA frame, in the body's own write.
   */
  private respondHead(out: http2.OutgoingHttpHeaders, trailers: boolean): void {
    this.stream.respond(out, trailers ? "trailers" : "body");
  }

  // releaseResponse runs WAF phase 4 on the held response: sends it on, or the WAF's answer.
  private releaseResponse(complete: boolean): boolean {
    const held = this.heldResponse!;
    this.heldResponse = undefined;
    const a = this.waf!.responseBody(held.chunks, held.size);
    if (a !== undefined) {
      if (complete) this.releaseUpstream(this.requestDone);
      else this.dropAttempt(true);
      this.reply(a);
      return false;
    }
    if (this.stream.gone) return false;
    if (held.fields !== undefined)
      this.stream.respondFields!(held.status, held.fields, held.trailers ? "trailers" : "body");
    else this.respondHead(held.headers!, held.trailers);
    for (const c of held.chunks) this.onBody(c);
    return true;
  }

  /** endResponse ends the response stream, with the backend's trailers if the head waits for them. */
  endResponse(): void {
    this.stream.end(undefined, this.trailers);
  }

  onBody(chunk: Buffer): void {
    const held = this.heldResponse;
    if (held !== undefined) {
      held.chunks.push(chunk);
      held.size += chunk.length;
      if (held.size > this.waf!.responseBodyLimit) this.releaseResponse(false);
      return;
    }
    this.bytesOut += chunk.length;
    if (!this.stream.write(chunk)) {
      const up = this.upstream;
      if (up !== null) {
        up.socket.pause();
        this.stream.onceDrain(() => up.socket.resume());
      }
    }
  }

  onTrailers(t: string[]): void {
    this.trailers = t;
  }

  /** setTrailers records HTTP/2 trailers from an h2c backend. */
  setTrailers(t: string[]): void {
    this.trailers = t;
  }

  onComplete(): void {
    if (this.interim) {
      this.interim = false;
      return;
    }
    if (this.heldResponse !== undefined && !this.releaseResponse(true)) return;
    this.releaseUpstream(this.requestDone);
    this.endResponse();
    this.finish(true);
  }

  /**
   * countIn accounts n more request body bytes (forwarded here, or by h2c.ts); false once the body
   * passed the route's maxRequestBodyBytes: the exchange answered 413 and the body goes no further.
   */
  countIn(n: number): boolean {
    this.bytesIn += n;
    this.guard?.body(n);
    if (this.done || !overBodyLimit(this.route, this.bytesIn)) return !this.done;
    this.stopTimer();
    this.dropAttempt(true);
    this.fail(413, `request body passed the route's limit of ${this.route!.maxRequestBodyBytes} bytes`);
    this.stopRequest();
    return false;
  }

  // stopRequest asks the client to stop sending a body nothing will read: RST_STREAM(NO_ERROR)
  // once the response is complete (RFC 9113 §8.1), or it uploads the rest for nothing.
  private stopRequest(): void {
    if (!this.stream.gone && !this.stream.requestEnded) this.stream.reset(ErrorCode.NO_ERROR);
  }

  /** wafResponse runs WAF phase 3 on an h2c backend's response head; true when the WAF answered. */
  wafResponse(status: number, headers: http2.IncomingHttpHeaders): boolean {
    const a = this.waf?.responseHeaders(status, "HTTP/2.0", fieldPairs(headers));
    if (a === undefined) return false;
    this.settle(true);
    this.reply(a);
    return true;
  }

  /** wafResponseBody runs WAF phase 4 on an h2c backend's held response body; true when the WAF answered. */
  wafResponseBody(chunks: readonly Buffer[], size: number): boolean {
    const a = this.waf?.responseBody(chunks, size);
    if (a === undefined) return false;
    this.settle(true);
    this.reply(a);
    return true;
  }

  /**
   * editResponse applies the route's responseHeaders phase (header modifier, CORS, the affinity
   * cookie) to an h2c backend's response head, as responseHeaders does for HTTP/1.1 backends.
   */
  editResponse(resp: http2.OutgoingHttpHeaders): void {
    const rh = this.phases?.responseHeaders;
    if (rh === undefined) return;
    const edits = responseEdits(rh, this);
    if (edits === undefined) return;
    for (const x of edits.set ?? []) delete resp[x.name.toLowerCase()];
    for (const n of edits.remove ?? []) delete resp[n.toLowerCase()];
    addEdits(resp, edits);
  }

  /** countOut accounts response body bytes forwarded by h2c.ts. */
  countOut(n: number): void {
    this.bytesOut += n;
  }

  /** setStatus records the status an h2c backend answered. */
  setStatus(s: number): void {
    this.status = s;
  }

  private abort(): void {
    this.aborter?.abort();
    if (this.done) return;
    // Only the client's RST_STREAM is a reset: streams that die with their session (the client
    // dropped TCP, a shutdown) are no abuse (H2Guard.reset tells them apart).
    this.guard?.reset(performance.now() - this.begun);
    // The stream was reset, or its connection broke, before the exchange completed.
    this.outcome ??= "reset";
    const up = this.upstream;
    this.upstream = null;
    if (up !== null) up.destroy();
    this.finish(true);
  }

  /** finish settles accounting and publishes the response event (idempotent). */
  finish(ok: boolean): void {
    if (this.done) return;
    this.done = true;
    this.ended();
    this.stopTimer();
    this.settle(ok);
    // WAF phase 5 (logging) once the exchange ended, whichever way.
    this.wafEvidence = this.waf?.end();
    // node:http2 writes the stream's last bytes to the socket in this turn's check phase (a native
    // immediate, ahead of write-batch.ts's release), so its clock stops now, when they were handed
    // to it; the own codec holds them for the release, and the clock stops in sent(), just before
    // the write that carries them. The response event is published once every held write of the
    // turn left.
    if (httpResponse.hasSubscribers) {
      if (!this.stream.timeSend()) this.tEnd = performance.now();
      this.tls = this.stream.tlsVersion();
      this.client = this.clientIp();
      whenSent(this);
    }
  }

  /**
   * sent stops the own codec's clock: write-batch.ts's release runs the departures' sent() first,
   * and each writes its connection's held frames now (sendNow), the clock read just before that
   * write — not before the other connections' framing and writes of the turn, time the client
   * counts too (as the HTTP/1.1 front's, which flushes its connection there). node:http2's stopped
   * in finish(): a reading after its write came after the client's own read of the response in 52
   * of 400 requests on a loaded machine (the write wakes the client, which can take the CPU before
   * the writer reads a clock): "total" must stop before the bytes leave.
   */
  sent(): void {
    if (this.tEnd === 0) this.tEnd = this.stream.sendNow();
  }

  /** depart publishes the response event, once every held write of the turn left. */
  depart(): void {
    if (!httpResponse.hasSubscribers) return;
    this.publishResponse(
      this.client,
      this.field(":method") ?? "",
      this.host,
      this.field(":path") ?? "",
      "HTTP/2",
      this.tls,
      this.header("user-agent") ?? "",
      false,
    );
  }
}

// PICK is the balancer's view of an exchange's client: the hash keys a ConsistentHash pool may
// read, as HTTP/1.1 gives them. One for every exchange (shared-pick.ts): an object and three
// closures per stream were ~5% of the bytes an HTTP/2 request allocated.
const PICK = new SharedPick<H2Exchange>({
  ip: (ex) => ex.clientIp(),
  header: (ex, n) => ex.header(n),
  uri: (ex) => ex.uri(),
});
