// exchange.ts: one request/response exchange of an HTTP/1.1 client connection. It receives the
// request's body from the client parser and the response's events from the backend connection's
// parser, and forwards bytes both ways with backpressure. Exchanges of a connection run one at a
// time in arrival order (pipelining); the ones behind wait with their body bytes buffered. A body
// still arriving when its exchange starts is held, up to the route's buffer size and body timeout,
// before a backend connection is taken (docs/limits.md), so slow clients cost no backend.
import { BackendAttempt } from "./attempt.ts";
import { publicText } from "./failure.ts";
import type { PickContext } from "../contracts.ts";
import {
  chunkHeader,
  hopByHop,
  lastChunk,
  listedTokens,
  lowerName,
  mayBeSpecial,
  plainResponse,
  statusLine,
  trailerFields,
} from "../http/head.ts";
import type { MessageHead } from "../http/parser.ts";
import { httpResponse } from "./events.ts";
import { overBodyLimit, responseEdits, type Answer, type Phases, type RequestEdits } from "./phases.ts";
import { headerLines } from "./cors.ts";
import { errorPage, intercepts } from "./error-pages.ts";
import { headerPairs, wafConn, type WafRun, type WafSubject } from "./waf.ts";
import type { ClientConn } from "./http1.ts";
import { mirrorsOf, type MirrorRequest, type Mirrors } from "./mirror.ts";
import type { Decidable } from "./decide.ts";
import { copyOf, type UpstreamConn } from "./upstream.ts";
import { limitReached } from "../net/limit-reached.ts";
import { batchWrites, flushWrites, whenSent, type Departing } from "../net/write-batch.ts";
import { turnStamp } from "../net/arrival.ts";
import { performance } from "node:perf_hooks";

/** Exchange is one request on a client connection and its response; it is also the router's view of it. */
export class Exchange extends BackendAttempt implements Decidable, Departing {
  readonly conn: ClientConn;
  readonly head: MessageHead;
  readonly method: string;
  /** path and query split the request-target; host is the authority routed (set by prepare). */
  path = "";
  query = "";
  host = "";
  /** prefixLength is how much of path the route's Prefix match covered. */
  prefixLength = 0;
  /** phases are the route's compiled filters; edits what they changed of the upstream request. */
  phases: Phases | undefined = undefined;
  edits: RequestEdits | undefined = undefined;
  /** upstreamHead is the rewritten head; kept for retries. */
  upstreamHead = "";
  framing: "length" | "chunked" | "none" = "none";
  websocket = false;
  /** waf is the request's WAF transaction (waf.ts), on routes with a WafPolicy. */
  waf: WafRun | undefined = undefined;
  /** mirrors are the request's RequestMirror copies (mirror.ts); they get its body too. */
  mirrors: Mirrors | undefined = undefined;
  /** mirrorRequest is the mirrors' request while WAF phase 2 has not yet let it through. */
  mirrorRequest: MirrorRequest | undefined = undefined;
  /** local is a response the proxy answers itself (errors, redirects, direct responses). */
  local: Buffer | undefined;
  /** closeAfter closes the client connection once this exchange finished. */
  closeAfter: boolean;
  requestDone = false;
  /** started turns true when the exchange reached the head of its connection's queue. */
  started = false;
  responseStarted = false;
  private pending: Buffer[] | null = null;
  private pendingTrailers: string[] | undefined;
  private outChunked = false;
  private interim = false;
  private responseTrailers: string[] | undefined;
  // reading is true while a backend read is parsed; headOut is a response head waiting for its body.
  private reading = false;
  private headOut: string | undefined;
  /** transientBody: onBody copies what it writes (joined with the head, or alone). */
  readonly transientBody = true;
  /** expectContinue: the client sent Expect: 100-continue (set by prepare). */
  expectContinue = false;
  // holding is true while the body is buffered before connecting (holdBody); holdMax is its bound.
  private holding = false;
  private holdMax = 0;
  // held is a response held for WAF phase 4: its head (not yet sent) and body so far.
  private held: { head: string; chunks: Buffer[]; size: number } | undefined = undefined;
  // wafDrop: the WAF's drop action closes the connection instead of answering.
  private wafDrop = false;
  // continued: the proxy answered the client's 100-continue itself, so the backend's 100 is dropped.
  private continued = false;
  // deciding: a requestHeaders step is still waiting (hold); aborter aborts it if the client leaves.
  private deciding = false;
  private aborter: AbortController | undefined = undefined;
  // tunnelled: the exchange ended at a 101, its connection now a WebSocket tunnel (no transfer part).
  private tunnelled = false;

  /** Exchange starts a request on conn; arrivedAt is when its first byte was read (0: now). */
  constructor(conn: ClientConn, head: MessageHead, arrivedAt = 0) {
    // Made in the turn whose read brought its first byte (the usual case: a head in one read), it
    // takes that turn's clock for begun too (the request timeout's origin) instead of reading the
    // clock again: at most the turn's work before this read earlier, well inside the timeout's
    // own granularity (docs/limits.md). A head that trickled in over turns reads the clock now.
    super(conn.rt, arrivedAt, arrivedAt !== 0 && arrivedAt === turnStamp() ? arrivedAt : 0);
    this.conn = conn;
    this.head = head;
    this.method = head.method;
    this.closeAfter = !head.keepAlive;
  }

  /** clientIp is the client's address. */
  clientIp(): string {
    return this.conn.clientIp;
  }

  /** header returns the first value of a request header (lower-case name). */
  header(name: string): string | undefined {
    const hs = this.head.headers;
    for (let i = 0; i < hs.length; i += 2) {
      const n = hs[i]!;
      if (n.length === name.length && lowerName(n) === name) return hs[i + 1];
    }
    return undefined;
  }

  /** headerPairs lists the request's header fields as received. */
  headerPairs(): [string, string][] {
    return headerPairs(this.head.headers);
  }

  /** wafSubject is the request as the WAF reads it (waf.ts). */
  wafSubject(): WafSubject {
    const h = this.head;
    return {
      conn: wafConn(this.conn.socket, this.conn.clientIp),
      head: {
        method: h.method,
        uri: h.url,
        protocol: h.versionMinor === 0 ? "HTTP/1.0" : "HTTP/1.1",
        headers: headerPairs(h.headers),
      },
    };
  }

  /** wafAnswer gives the WAF's answer (or its drop: the connection closes) in place of the exchange. */
  wafAnswer(a: Answer): void {
    if (a.error !== undefined) this.error = a.error;
    if (a.drop === true) {
      this.wafDrop = true;
      if (!this.started) return;
      this.finish(false);
      this.conn.destroy();
      return;
    }
    this.answer(a.status, a.body, !this.requestDone, a.headers && headerLines(a.headers), a.contentType);
    if (this.started) this.sendLocal();
  }

  /** answer makes the proxy answer with a short text body; close ends the connection after it. */
  answer(status: number, body: string, close = false, extra = "", contentType?: string): void {
    this.status = status;
    if (close) this.closeAfter = true;
    this.local = plainResponse(status, body, this.closeAfter, extra, this.method === "HEAD", contentType);
  }

  /**
   * hold keeps the exchange from going further than its turn until the decision step settled (a
   * step that waits, such as external authentication), then readies it with ready and, if its
   * turn came meanwhile, goes on. Body bytes arriving meanwhile are buffered as for any exchange
   * waiting its turn; a client gone meanwhile aborts the step (abortSignal) and nothing follows.
   */
  hold(decision: Promise<Answer | undefined>, ready: (a: Answer | undefined) => void): void {
    this.deciding = true;
    const settle = (a: Answer | undefined) => {
      this.deciding = false;
      if (this.done) return;
      ready(a);
      if (this.started && !this.done) this.proceed();
    };
    decision.then(settle, (err: unknown) =>
      settle({ status: 500, body: publicText(500), error: String(err) }),
    );
  }

  /** abortSignal is aborted when the client connection closes under this exchange (made on first use). */
  abortSignal(): AbortSignal {
    return (this.aborter ??= new AbortController()).signal;
  }

  /** begin runs when the exchange reaches the head of the connection's queue. */
  begin(): void {
    this.started = true;
    if (!this.deciding) this.proceed();
  }

  // proceed answers or forwards the exchange once its turn came and its decision was made.
  private proceed(): void {
    if (this.wafDrop) {
      this.finish(false);
      this.conn.destroy();
      return;
    }
    if (this.local !== undefined) {
      this.sendLocal();
      return;
    }
    // A WAF that inspects the body sees all of it (up to its limit) before a backend is asked.
    const w = this.waf;
    if (w !== undefined && w.phase2Pending && this.wafBody(w)) return;
    this.startMirrors();
    // A body still arriving is buffered first: a slow client must not hold a backend connection.
    if (!this.requestDone && this.framing !== "none" && this.holdBody()) return;
    // From the exchange's making: no second clock read per request.
    this.armTimer(this.begun, this.requestTimeoutMs());
    this.connect();
  }

  /**
   * holdBody starts buffering an incomplete body (nginx's proxy_request_buffering, HAProxy's
   * http-buffer-request) unless the route streams bodies or enough of it arrived already; the
   * backend is connected when it completes or passes the route's buffer size. A client waiting
   * for 100 Continue gets it from the proxy, or it would wait for a backend not yet asked.
   */
  private holdBody(
    max = this.route!.requestBodyBufferBytes ?? this.rt.limits.requestBodyBufferBytes,
  ): boolean {
    const route = this.route!;
    if (max === 0 || this.bytesIn >= max) return false;
    this.holding = true;
    this.holdMax = max;
    // From now, not from the head: a pipelined request waited its turn behind others (off the
    // common path, so the clock read costs nothing there).
    this.armTimer(performance.now(), route.requestBodyTimeoutMs ?? this.rt.limits.requestBodyTimeoutMs);
    if (this.expectContinue && this.head.versionMinor >= 1 && this.bytesIn === 0) {
      this.continued = true;
      this.conn.write("HTTP/1.1 100 Continue\r\n\r\n");
    }
    return true;
  }

  /**
   * wafBody runs WAF phase 2 on the whole body, holding it first (to one byte past the WAF's limit,
   * to see a larger body) when it is still arriving; true when it took the exchange over.
   */
  private wafBody(w: WafRun): boolean {
    if (
      !w.wantsRequestBody ||
      this.requestDone ||
      this.framing === "none" ||
      !this.holdBody(w.requestBodyLimit + 1)
    ) {
      const a = w.requestBody(this.pending ?? [], this.bytesIn);
      if (a === undefined) return false;
      this.wafAnswer(a);
      return true;
    }
    return true;
  }

  // release ends the buffering: the request timeout starts now, and the backend is connected.
  private release(): void {
    this.holding = false;
    this.stopTimer();
    const w = this.waf;
    if (w !== undefined && w.phase2Pending) {
      const a = w.requestBody(this.pending ?? [], this.bytesIn);
      if (a !== undefined) return this.wafAnswer(a);
    }
    this.startMirrors();
    this.armTimer(performance.now(), this.requestTimeoutMs());
    this.connect();
  }

  // startMirrors starts the mirrors held back for WAF phase 2, with the body read so far.
  private startMirrors(): void {
    const req = this.mirrorRequest;
    if (req === undefined) return;
    this.mirrorRequest = undefined;
    const m = (this.mirrors = mirrorsOf(this.rt, req));
    if (m === undefined) return;
    const p = this.pending;
    if (p !== null) for (let i = 0; i < p.length; i++) m.body(p[i]!);
    if (this.requestDone) m.end(this.pendingTrailers);
  }

  protected pickContext(tried: ReadonlySet<string> | undefined): PickContext {
    return this.conn.pickContext(tried);
  }

  protected responseSent(): boolean {
    return this.responseStarted;
  }

  protected hasRequestBody(): boolean {
    return this.framing !== "none";
  }

  protected send(up: UpstreamConn): void {
    // A request without a body is its head alone: held to the turn's end and written on the handle.
    if (this.framing === "none" && this.pending === null && up.holdHead(this.upstreamHead)) return;
    const s = up.socket;
    // Head, buffered body and last chunk leave together at the end of the turn.
    batchWrites(up);
    s.write(this.upstreamHead, "latin1");
    const p = this.pending;
    if (p !== null) {
      this.pending = null;
      for (let i = 0; i < p.length; i++) this.writeUp(p[i]!);
      this.conn.released(p);
    }
    if (this.requestDone && this.framing === "chunked") s.write(lastChunk(this.pendingTrailers), "latin1");
  }

  /** requestBody forwards (or buffers) a piece of the request body. */
  requestBody(chunk: Buffer): void {
    // The requestBody phase (phases.ts) will run here, from this.phases, when the WAF adds one.
    this.bytesIn += chunk.length;
    this.mirrors?.body(chunk);
    if (this.local !== undefined || this.done) return;
    if (overBodyLimit(this.route, this.bytesIn)) return this.bodyTooLarge();
    if (this.upstream === null) {
      (this.pending ??= []).push(chunk);
      if (!this.holding) this.conn.buffered(chunk.length);
      else {
        // Reading goes on up to the route's buffer size, which may exceed the connection's.
        this.conn.buffered(chunk.length, this.holdMax);
        if (this.bytesIn >= this.holdMax) this.release();
      }
    } else if (!this.writeUp(chunk)) {
      this.conn.socket.pause();
    }
  }

  private writeUp(chunk: Buffer): boolean {
    const s = this.upstream!.socket;
    if (this.framing !== "chunked") return s.write(chunk);
    s.write(chunkHeader(chunk.length), "latin1");
    s.write(chunk);
    return s.write("\r\n", "latin1");
  }

  /** requestTrailers keeps chunked request trailers for the last chunk. */
  requestTrailers(t: string[]): void {
    this.pendingTrailers = trailerFields(t);
  }

  /** requestComplete runs when the whole request was read from the client. */
  requestComplete(): void {
    this.requestDone = true;
    // The request part of an exchange the proxy may answer itself (no backend asked yet); a
    // bodiless request was complete with its head.
    if (this.timed && this.tAsk === 0) this.tReq = this.framing === "none" ? this.start : performance.now();
    this.mirrors?.end(this.pendingTrailers);
    if (this.done) return;
    if (this.local !== undefined) {
      if (this.status !== 0 && this.responseStarted) this.finish(true);
      return;
    }
    // connect() sends the buffered body and, now that the request is done, its last chunk.
    if (this.holding) return this.release();
    if (this.upstream !== null && this.framing === "chunked") {
      this.upstream.socket.write(lastChunk(this.pendingTrailers), "latin1");
    }
  }

  onUpstreamDrain(): void {
    if (!this.done) this.conn.socket.resume();
  }

  /** clientDrained runs when the client socket's buffer emptied: resume reading the backend. */
  clientDrained(): void {
    this.upstream?.socket.resume();
  }

  private sendLocal(): void {
    this.responseStarted = true;
    this.bytesOut += this.local!.length;
    this.conn.write(this.local!);
    if (this.requestDone || this.closeAfter) this.finish(true);
  }

  // fail answers with an error status if nothing was sent yet, else breaks the client connection;
  // text, the detail, is kept for the logs: the client reads publicText only.
  fail(status: number, text: string): void {
    if (this.done) return;
    this.error = text;
    // A response held for WAF phase 4 has not reached the client: it can still be answered (as an
    // HTTP/2 client's is), not broken off with nothing.
    if (this.held !== undefined) {
      this.held = undefined;
      this.responseStarted = false;
      this.outChunked = false;
    }
    if (this.responseStarted) {
      this.status = this.status || status;
      this.finish(false);
      this.conn.destroy();
      return;
    }
    this.rt.log("debug", "http exchange failed", { listener: this.rt.listener.name, status, text });
    // A request whose body was not fully read leaves the connection unsynchronised.
    this.answer(status, publicText(status), !this.requestDone);
    this.sendLocal();
  }

  // bodyTooLarge ends an exchange whose streamed body passed the route's limit: 413 (the rest of
  // the body is not read; the connection closes after the answer).
  private bodyTooLarge(): void {
    const text = `request body passed the route's limit of ${this.route!.maxRequestBodyBytes} bytes`;
    if (!this.started) {
      // Not its turn yet (pipelined, or head and body in one read): begin() sends the 413 in
      // order; answering now would write it into an earlier exchange's response.
      this.error = text;
      this.answer(413, publicText(413), true);
      return;
    }
    this.holding = false;
    this.stopTimer();
    this.dropAttempt(true);
    const p = this.pending;
    this.pending = null;
    if (p !== null) this.conn.released(p);
    this.fail(413, text);
  }

  /** timedOut runs when the request timeout fires, or the body timeout while the body is buffered. */
  override timedOut(): void {
    if (!this.holding || this.done) return super.timedOut();
    this.stopTimer();
    this.holding = false;
    this.outcome = "timeout";
    const ms = this.route?.requestBodyTimeoutMs ?? this.rt.limits.requestBodyTimeoutMs;
    limitReached(this.rt.log, this.rt.listener.name, "request_body_timeout", ms);
    this.fail(408, "request body timeout");
  }

  onBegin(): void {}

  onHead(h: MessageHead): boolean {
    const status = h.statusCode;
    if (status === 101 && !this.websocket) {
      this.dropAttempt();
      this.fail(502, `backend switched protocols without a WebSocket upgrade on route ${this.route?.name}`);
      return true;
    }
    // custom-http-errors: the default backend's page instead of this answer (error-pages.ts).
    const ep = this.route?.errorPages;
    if (intercepts(ep, status)) {
      this.dropAttempt(true);
      void errorPage(this, ep, status).then((a) => {
        if (!this.done && !this.responseStarted) this.wafAnswer(a);
      });
      return true;
    }
    // The proxy said 100 Continue already (holdBody): a second one would only confuse a client.
    if (status === 100 && this.continued) {
      this.interim = true;
      return false;
    }
    const noBody =
      this.head.method === "HEAD" || status === 204 || status === 304 || (status >= 100 && status < 200);
    this.interim = status >= 100 && status < 200 && status !== 101;
    const w = this.waf;
    if (w !== undefined && !this.interim && status !== 101) {
      const a = w.responseHeaders(status, `HTTP/1.${h.versionMinor}`, headerPairs(h.headers));
      if (a !== undefined) {
        this.dropAttempt(true);
        this.wafAnswer(a);
        return true;
      }
    }
    const hs = h.headers;
    let listed: string[] | undefined;
    let te = false;
    let length = "";
    for (let i = 0; i < hs.length; i += 2) {
      const n = hs[i]!;
      if (!mayBeSpecial(n)) continue;
      const l = lowerName(n);
      if (l === "connection") listed = listedTokens(listed, hs[i + 1]!);
      else if (l === "transfer-encoding") te = true;
      else if (l === "content-length") length = hs[i + 1]!;
    }
    const http10 = this.head.versionMinor === 0;
    // A body's transfer codings besides chunked go on in the Transfer-Encoding it is re-chunked
    // with; an HTTP/1.0 client has no Transfer-Encoding, and the WAF would read coded bytes as text.
    let codings = "";
    if (te && !noBody) {
      const refusedBy = http10
        ? "an HTTP/1.0 client"
        : w?.wantsResponseBody === true
          ? "the WAF's response-body phase (responseBody.inspect)"
          : undefined;
      const c = this.responseCodings(h, refusedBy);
      if (c === undefined) return true;
      codings = c;
    }
    if (!this.interim) {
      this.status = status;
      this.responseStarted = true;
      this.stampHead();
    }
    const client = this.conn;
    let out = statusLine(status, h.statusMessage);
    const rh = this.phases?.responseHeaders;
    const edits = rh === undefined ? undefined : responseEdits(rh, this);
    let dropped: Set<string> | undefined;
    if (edits !== undefined) {
      dropped = new Set();
      for (const x of edits.set ?? []) dropped.add(x.name.toLowerCase());
      for (const n of edits.remove ?? []) dropped.add(n.toLowerCase());
    }
    // Names are lower-cased only when a rule could match them (most response headers pass as is).
    const lookAll = listed !== undefined || dropped !== undefined;
    for (let i = 0; i < hs.length; i += 2) {
      const n = hs[i]!;
      if (lookAll || mayBeSpecial(n)) {
        const l = lowerName(n);
        if (hopByHop.has(l) || (listed !== undefined && listed.includes(l))) continue;
        if (dropped !== undefined && dropped.has(l)) continue;
      }
      out += `${n}: ${hs[i + 1]}\r\n`;
    }
    if (edits !== undefined) {
      for (const x of edits.set ?? []) out += `${x.name}: ${x.value}\r\n`;
      for (const x of edits.add ?? []) out += `${x.name}: ${x.value}\r\n`;
    }
    if (status === 101) {
      out += "Connection: Upgrade\r\nUpgrade: websocket\r\n\r\n";
      client.write(out);
      return false;
    }
    this.outChunked = false;
    if (length !== "") out += `Content-Length: ${length}\r\n`;
    else if (!noBody && (te || !http10)) {
      if (http10) this.closeAfter = true;
      else {
        out +=
          codings === "" ? "Transfer-Encoding: chunked\r\n" : `Transfer-Encoding: ${codings}, chunked\r\n`;
        this.outChunked = true;
      }
    } else if (!noBody) this.closeAfter = true;
    if (!this.interim) {
      if (this.closeAfter) out += "Connection: close\r\n";
      else if (http10) out += "Connection: keep-alive\r\n";
    }
    // WAF phase 4 sees the body before the client sees anything of the response.
    if (w !== undefined && !this.interim && !noBody && w.wantsResponseBody) {
      this.held = { head: out + "\r\n", chunks: [], size: 0 };
      return false;
    }
    // Inside a backend read, the head waits for body bytes of the same read: one client write
    // instead of a writev of a string and a buffer.
    if (this.reading && !this.interim) this.headOut = out + "\r\n";
    else client.write(out + "\r\n");
    return this.head.method === "HEAD";
  }

  beforeRead(): void {
    this.reading = true;
  }

  afterRead(): void {
    this.reading = false;
    this.flushHead();
  }

  private flushHead(): void {
    const h = this.headOut;
    if (h === undefined) return;
    this.headOut = undefined;
    this.conn.write(h);
  }

  onBody(chunk: Buffer): void {
    const held = this.held;
    if (held !== undefined) {
      held.chunks.push(copyOf(chunk));
      held.size += chunk.length;
      if (held.size > this.waf!.responseBodyLimit) this.releaseResponse(false);
      return;
    }
    this.bytesOut += chunk.length;
    const c = this.conn;
    let ok: boolean;
    const h = this.headOut;
    if (h !== undefined && !this.outChunked) {
      this.headOut = undefined;
      const b = Buffer.allocUnsafe(h.length + chunk.length);
      b.write(h, 0, "latin1");
      chunk.copy(b, h.length);
      ok = c.write(b);
    } else if (this.outChunked) {
      // Chunk framing is three writes; the client's writes are batched (write-batch.ts), so
      // they leave as one.
      this.flushHead();
      c.write(chunkHeader(chunk.length));
      c.write(copyOf(chunk));
      ok = c.write("\r\n");
    } else ok = c.write(copyOf(chunk));
    if (!ok) this.upstream?.socket.pause();
  }

  // releaseResponse runs WAF phase 4 on the held response: sends it on, or the WAF's answer
  // instead (complete: the backend's message ended, its connection goes back to the pool).
  // The head and the held body leave in one buffer — a chunked body as one chunk, with its last
  // chunk when complete —, as an unheld response's head and first bytes do (onBody): written
  // apart, the batched socket sent them with writev, ~10 µs a request more (docs/waf.md).
  private releaseResponse(complete: boolean): boolean {
    const held = this.held!;
    this.held = undefined;
    const a = this.waf!.responseBody(held.chunks, held.size);
    if (a !== undefined) {
      if (complete) this.releaseUpstream(this.requestDone);
      else this.dropAttempt(true);
      this.wafAnswer(a);
      return false;
    }
    const size = held.size;
    const chunked = this.outChunked;
    const pre = chunked && size > 0 ? held.head + chunkHeader(size) : held.head;
    let post = chunked && size > 0 ? "\r\n" : "";
    if (chunked && complete) {
      post += lastChunk(this.responseTrailers);
      // Sent here: onComplete must not end the body a second time.
      this.outChunked = false;
    }
    const out = Buffer.allocUnsafe(pre.length + size + post.length);
    let at = out.write(pre, 0, "latin1");
    for (const c of held.chunks) at += c.copy(out, at);
    out.write(post, at, "latin1");
    this.bytesOut += size;
    if (!this.conn.write(out)) this.upstream?.socket.pause();
    return true;
  }

  onTrailers(t: string[]): void {
    this.responseTrailers = trailerFields(t);
  }

  onComplete(): void {
    if (this.interim) {
      this.interim = false;
      return;
    }
    if (this.held !== undefined && !this.releaseResponse(true)) return;
    this.flushHead();
    if (this.outChunked) this.conn.write(lastChunk(this.responseTrailers));
    // The backend's connection is reusable only if both messages ended cleanly.
    this.releaseUpstream(this.requestDone);
    if (!this.requestDone) this.closeAfter = true;
    this.finish(true);
  }

  onUpgrade(conn: UpstreamConn, rest: Buffer): void {
    this.upstream = null;
    this.tunnelled = true;
    const socket = conn.takeSocket();
    // Tunnel first: it detaches the client connection, so finishing starts nothing after it.
    this.conn.tunnel(socket, rest);
    this.finish(true);
  }

  /** abort runs when the client connection closed under this exchange; silent skips exchangeDone. */
  abort(silent = false): void {
    this.mirrors?.abort();
    this.aborter?.abort();
    if (this.done) return;
    // The client's connection broke (or closed) before the exchange completed.
    this.outcome ??= "reset";
    const up = this.upstream;
    this.upstream = null;
    if (up !== null) up.destroy();
    this.finish(true, silent, true);
  }

  // finish ends the exchange; aborted: it ends now, whatever its connection still holds.
  private finish(ok: boolean, silent = false, aborted = false): void {
    if (this.done) return;
    this.done = true;
    this.ended();
    // WAF phase 5 (logging) once the exchange ended, whichever way.
    this.wafEvidence = this.waf?.end();
    this.stopTimer();
    if (this.pending !== null) {
      this.conn.released(this.pending);
      this.pending = null;
    }
    this.settle(ok);
    // The clock stops when the held socket hands the response's last bytes on (its flush), not
    // when they were written to it (net/write-batch.ts): the event is published then.
    if (httpResponse.hasSubscribers) {
      // Read now: the connection may be closed (closeAfter) by the time the event is published.
      this.conn.tlsVersion();
      // Bytes that are not held (a broken connection) leave now, and an aborted exchange ends
      // now, so the clock stops now. Held ones (also those of a closing connection, which
      // exchangeDone flushes at once) stop it at their connection's flush: sent().
      const c = this.conn;
      if (aborted || !c.batched || c.socket.destroyed) this.tEnd = performance.now();
      whenSent(this);
    }
    if (!silent) this.conn.exchangeDone(this);
  }

  /**
   * sent sends what the connection holds (write-batch.ts Departing) and stops the clock at the time
   * read just before that flush (flushedAt): before the write, as a write to loopback can wake the
   * client, which on a busy machine may run before the writer returns; and for every exchange whose
   * bytes went in it, as a pipelined one's may have left in an earlier flush this turn (an exchange
   * before it, or a later request's close). Bytes still held on a destroyed socket are lost: reset.
   */
  sent(): void {
    if (this.tEnd !== 0) return;
    const c = this.conn;
    if (c.batched && c.socket.destroyed) this.outcome ??= "reset";
    flushWrites(c);
    this.tEnd = c.flushedAt;
  }

  /** depart publishes the response event, once every held write of the turn left. */
  depart(): void {
    if (!httpResponse.hasSubscribers) return;
    const h = this.head;
    this.publishResponse(
      this.conn.clientIp,
      this.method,
      this.header("host") ?? "",
      h.url,
      h.versionMinor === 0 ? "HTTP/1.0" : "HTTP/1.1",
      this.conn.tlsVersion(),
      this.header("user-agent") ?? "",
      this.tunnelled,
    );
  }
}
