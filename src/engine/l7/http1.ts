// http1.ts: an HTTP/1.1 client connection at the socket level. The strict parser
// (../http/parser.ts) parses request heads and bodies straight from the socket; each request
// becomes an Exchange, routed and forwarded to a pooled backend connection. No node:http objects
// on this path. Client sockets, plain and TLS, read through one shared buffer (net/onread.ts): a
// read is parsed at once and never kept, so what outlives the read callback (body chunks, bytes
// after an Upgrade) is copied. Plain-TCP connections of a listener that takes them come on
// Portico's own socket (net/own-socket.ts: the native handle, no net.Socket); the h2c hand-off
// and a WebSocket tunnel detach it into a net.Socket when they happen.
import type { Socket } from "node:net";
import type { PickContext } from "../contracts.ts";
import { HttpParser, type MessageHead, type MessageSink, type ParseError } from "../http/parser.ts";
import { COARSE_MIN_MS, unwatch, watch, type Watcher } from "../net/coarse-timer.ts";
import { LiveNode, LiveSet, type Linked } from "../net/live-set.ts";
import { adoptReads, releaseReads } from "../net/onread.ts";
import { OwnSocket, type SocketOwner } from "../net/own-socket.ts";
import { batchWrites, flushWrites, type Batched } from "../net/write-batch.ts";
import { bitFlags } from "../net/bit-flags.ts";
import { connection, httpResponse } from "./events.ts";
import { arrival, NO_TIME } from "../net/arrival.ts";
import { Exchange } from "./exchange.ts";
import { prepare } from "./prepare.ts";
import { currentRuntime, type ListenerRuntime, type LiveConn } from "./runtime.ts";
import { copyOf } from "./upstream.ts";
import { tunnel } from "./websocket.ts";
import { tlsVersionOf } from "./tls-version.ts";
import { SharedPick } from "./shared-pick.ts";
import { performance } from "node:perf_hooks";

// Pipelined requests waiting behind the active one may buffer this much body before reading pauses.
const MAX_BUFFERED = 64 * 1024;
/** RETIRE_IDLE_MS is how long a retired (drained or reconfigured) idle keep-alive connection stays
 * open for a request already on its way; that request gets Connection: close. It is also how long a
 * retired connection whose side we shut waits for the client's FIN before letting the kernel finish
 * the close. */
export const RETIRE_IDLE_MS = 1000;

// UNSTAMPED marks a timestamp the coarse sweep has yet to take (see onBegin).
const UNSTAMPED = -1;

// Parser states of the connection: between messages, inside a head, inside a body.
const IDLE = 0;
const HEAD = 1;
const BODY = 2;

// READ_BUFFER receives every plain-TCP client read: reads are handled synchronously, one at a time.
const READ_BUFFER = Buffer.allocUnsafe(64 * 1024);

/** PriorKnowledge takes cleartext connections that open with the HTTP/2 preface. */
export interface PriorKnowledge {
  /** isPreface says whether a connection's first bytes begin the HTTP/2 preface. */
  isPreface(first: Buffer): boolean;
  /** accept takes the socket, its first bytes unshifted back into it. */
  accept(socket: Socket): void;
}

/**
 * ClientSocket is what ClientConn and its exchanges use of a client socket: a net.Socket (TLS, or
 * the Node accept path) or an OwnSocket, under the same names.
 */
export interface ClientSocket {
  write(data: string | Buffer, encoding?: "latin1"): boolean;
  cork(): void;
  uncork(): void;
  pause(): void;
  resume(): void;
  isPaused(): boolean;
  end(): void;
  destroy(): void;
  setTimeout(ms: number): void;
  readonly destroyed: boolean;
  readonly writableEnded: boolean;
  readonly writableLength: number;
  readonly encrypted?: boolean;
  readonly remoteAddress?: string | undefined;
  readonly remotePort?: number | undefined;
  readonly localAddress?: string | undefined;
  readonly localPort?: number | undefined;
}

// NO_EXCHANGES is the queue of every idle connection (ClientConn.queue): never pushed to.
const NO_EXCHANGES: Exchange[] = [];

/** ClientConn is one client TCP (or TLS) connection speaking HTTP/1.1. */
export class ClientConn implements MessageSink, Watcher, Batched, SocketOwner, Linked<LiveConn> {
  /** socket is the client's; an OwnSocket becomes the net.Socket it detached into (handOff). */
  socket: ClientSocket;
  // The booleans are bits of one field (bit-flags.ts: bitFlags, after the class), declared here.
  bits = 0;
  /** batched is true while this turn's writes are held (write-batch.ts). */
  declare batched: boolean;
  /** closing is set once the connection will close after the responses in flight. */
  declare closing: boolean;
  /** parserUsed is set on every read; the sweep releases the parser of a connection that had none. */
  declare parserUsed: boolean;
  /** coarse: the tick is long enough for the coarse sweep (coarse-timer.ts) instead of a socket timer. */
  declare coarse: boolean;
  declare closed: boolean;
  /** ended is set once our side is shut: reads are then discarded until the client's FIN. */
  declare ended: boolean;
  /** copyBody is set while reads are views of READ_BUFFER: body chunks handed on must be copies. */
  declare copyBody: boolean;
  /** failed is set once the connection answers a request it could not parse (failConnection). */
  declare failed: boolean;
  /** opened says the first bytes were HTTP/1.1 (published; h2c was asked). */
  declare opened: boolean;
  /** flushedAt is when held writes last left while a response waited for them (write-batch.ts). */
  flushedAt = NO_TIME;
  /** rt is the configuration new requests are routed with; it moves on when a snapshot replaces it. */
  rt: ListenerRuntime;
  readonly clientIp: string;
  // parser is held while the connection is busy: once it stayed idle for a sweep period
  // (parserSweep) it goes back to a shared free list, so idle keep-alive connections cost no parser,
  // and busy ones do not re-initialise a parser per request.
  private parser: HttpParser | null = null;
  // Links of the coarse sweep's list (coarse-timer.ts).
  prevWatched: Watcher | null = null;
  nextWatched: Watcher | null = null;
  // Links of this connection's membership of its runtime's conns (retire and handOver walk them):
  // the connection is its own node (live-set.ts: Linked), no node object per connection.
  prev: Linked<LiveConn> | null = null;
  next: Linked<LiveConn> | null = null;
  set: LiveSet<LiveConn> | null = null;
  // sweepNode is this connection's membership of the parser sweep's list, held with the parser.
  sweepNode: LiveNode<ClientConn> | undefined;
  // messages counts the requests read so far (up to 2: only "first or not" matters).
  private messages = 0;
  // queue holds the exchanges in order of their responses; an idle connection whose parser went
  // back to the pool gives its array back too and shares NO_EXCHANGES (push through exchanges()).
  private queue: Exchange[] = NO_EXCHANGES;
  private parsing: Exchange | null = null;
  private state = IDLE;
  private headStart = 0;
  // arrivedAt is when the current message's first byte was read (timed exchanges only, else 0).
  private arrivedAt = NO_TIME;
  private bufferedBytes = 0;
  private timeoutMs = -1;
  // tick is the socket's inactivity timeout, fixed per connection: changing it per request would
  // allocate a timer each time. onTimeout decides from timestamps what expired.
  private readonly tick: number;
  // Stamped by the coarse sweep when it is the timer (UNSTAMPED): no clock read per connection.
  private idleSince: number;
  private upgradeRest: Buffer | undefined;
  // h2c is asked about the first bytes, then dropped; opened says they were HTTP/1.1 (published).
  private h2c: PriorKnowledge | undefined;
  // tls is the negotiated TLS version, read once per connection on first use (tlsVersion).
  private tls: string | undefined = undefined;

  /**
   * ClientConn serves socket, nothing read from it yet; h2c, if given, takes it when its first
   * bytes are the HTTP/2 preface. Until the first byte the header timeout bounds a silent client.
   */
  constructor(socket: Socket | OwnSocket, rt: ListenerRuntime, h2c?: PriorKnowledge) {
    this.socket = socket;
    rt = currentRuntime(rt);
    this.rt = rt;
    this.clientIp = socket.remoteAddress ?? "";
    this.h2c = h2c;
    // No setNoDelay here: TCP_NODELAY is set at accept (listeners.ts, the server's noDelay), and a
    // TLS socket shares the accepted socket's descriptor; set again through the TLSSocket, which
    // does not know it is set, it was a setsockopt per HTTPS connection.
    const own = socket instanceof OwnSocket ? socket : undefined;
    if (socket instanceof OwnSocket) {
      // Reads are views of the own socket layer's shared buffer; its events come to this object.
      this.copyBody = true;
    } else {
      // A TLS socket's handle is the TLS stream: adopted, it delivers decrypted bytes the same way.
      this.copyBody = adoptReads(socket, READ_BUFFER, (b: Buffer) => {
        this.onData(b);
        return true;
      });
      if (!this.copyBody) socket.on("data", (b: Buffer) => this.onData(b));
      socket.on("drain", () => this.onDrain());
      socket.on("end", () => this.onEnd());
      // Listeners that need no closure are shared: every closure is ~100 bytes of each idle
      // connection (docs/performance.md, Memory).
      socket.on("error", destroyOnError);
      socket.on("close", () => this.onClose());
    }
    this.tick = Math.min(rt.listener.idleTimeoutMs, rt.limits.headerTimeoutMs);
    this.coarse = this.tick >= COARSE_MIN_MS;
    this.idleSince = this.coarse ? UNSTAMPED : performance.now();
    // Under the coarse sweep the socket's own timer never runs, so nothing listens for it (an
    // OwnSocket calls onTimeout itself).
    if (!this.coarse && !(socket instanceof OwnSocket)) socket.on("timeout", () => this.onTimeout());
    this.setTimeout(this.tick);
    rt.conns.add(this);
    if (rt.retired) this.closing = true;
    // Last: an own socket's first read happens inside start() and may serve a request, or hand the
    // connection to h2c, which must find the connection set up (and leave nothing re-armed after).
    own?.start(this);
  }

  /** value is this connection as the member of its runtime's conns (live-set.ts: Linked). */
  get value(): ClientConn {
    return this;
  }

  /** write sends bytes to the client unless the connection is gone; false asks for backpressure. */
  write(data: Buffer | string): boolean {
    if (this.closed) return true;
    batchWrites(this);
    return typeof data === "string" ? this.socket.write(data, "latin1") : this.socket.write(data);
  }

  /** tlsVersion is the connection's negotiated TLS version ("TLSv1.3"), "" on plain TCP. */
  tlsVersion(): string {
    return (this.tls ??= tlsVersionOf(this.socket));
  }

  /** destroy breaks the connection (a response could not be completed). */
  destroy(): void {
    this.socket.destroy();
  }

  /** current is the exchange whose response is due next (the one a backend is picked for). */
  current(): Exchange | undefined {
    return this.queue[0];
  }

  /**
   * pickContext gives the balancer what it needs from this client: one object for every connection,
   * pointed at this one (Upstreams.pick is synchronous and keeps nothing of it), so an idle
   * connection holds none.
   */
  pickContext(exclude: ReadonlySet<string> | undefined): PickContext {
    return PICK.of(this, exclude);
  }

  /** buffered accounts body bytes held for a waiting exchange; reading pauses beyond max. */
  buffered(n: number, max = MAX_BUFFERED): void {
    this.bufferedBytes += n;
    if (this.bufferedBytes > max) this.socket.pause();
  }

  /** released un-accounts buffered chunks once sent or dropped. */
  released(chunks: Buffer[]): void {
    for (const c of chunks) this.bufferedBytes -= c.length;
    if (this.bufferedBytes <= MAX_BUFFERED && !this.closed) this.socket.resume();
  }

  /** onDrain runs when the client socket's buffer emptied: the response waiting on it goes on. */
  onDrain(): void {
    this.queue[0]?.clientDrained();
  }

  /** onData parses one read (SocketOwner; with adopted reads a view valid during the call). */
  onData(buf: Buffer): void {
    if (this.ended) return;
    // The turn's clock starts before this read's parsing (a request's onBegin reads it after); an
    // own socket's reads come from its handle's read callback, in the poll phase (arrival.ts).
    if (httpResponse.hasSubscribers) arrival(this.socket instanceof OwnSocket);
    if (!this.opened && this.first(buf)) return;
    if (this.upgradeRest !== undefined) {
      // Bytes after an Upgrade request wait for the backend's 101.
      this.upgradeRest = Buffer.concat([this.upgradeRest, buf]);
      return;
    }
    const parser = (this.parser ??= takeParser(this, this.rt.limits.maxHeaderBytes));
    this.parserUsed = true;
    let r = parser.execute(buf);
    while (typeof r === "number" && r < buf.length) {
      // The parser stopped after an Upgrade/CONNECT head; a WebSocket hands the rest to the tunnel,
      // anything else was forwarded as a plain request and parsing goes on.
      const last = this.queue[this.queue.length - 1];
      if (last !== undefined && last.websocket) {
        this.upgradeRest = Buffer.from(buf.subarray(r));
        this.socket.pause();
        break;
      }
      buf = buf.subarray(r);
      r = parser.execute(buf);
    }
    if (typeof r !== "number") this.reject(r, buf);
    // Exchanges start only after the whole chunk parsed cleanly, so a request whose bad bytes
    // arrive with its head never reaches a backend.
    const first = this.queue[0];
    if (first !== undefined && !first.started) first.begin();
    if (typeof r !== "number") return;
    // Between messages the parser goes back to the pool: at once after a connection's first request
    // (most connections that send one and wait send no second soon), else once it stays idle.
    if (this.state === IDLE && !this.closing && this.upgradeRest === undefined && this.parser === parser) {
      if (this.messages < 2) {
        this.parser = null;
        releaseParser(parser);
      } else holdParser(this);
    }
    if (this.state === HEAD && this.headStart !== UNSTAMPED) {
      // A client trickling bytes keeps the inactivity timer quiet; the deadline is checked here.
      if (performance.now() - this.headStart > this.rt.limits.headerTimeoutMs) this.headerTimeout();
    }
  }

  // first handles a connection's first bytes: the HTTP/2 preface goes to h2c (true), anything
  // else opens the HTTP/1.1 connection.
  private first(buf: Buffer): boolean {
    const h2c = this.h2c;
    this.h2c = undefined;
    if (h2c !== undefined && h2c.isPreface(buf)) {
      const socket = this.handOff();
      socket.unshift(copyOf(buf));
      h2c.accept(socket);
      return true;
    }
    this.opened = true;
    if (connection.hasSubscribers) connection.publish({ listener: this.rt.listener.name, event: "open" });
    return false;
  }

  // handOff leaves the socket to another reader, as a net.Socket (an OwnSocket detaches into
  // one): nothing of this connection stays on it but 'error' and 'close' (which then only clean
  // up). Reading pauses until the new owner resumes.
  private handOff(): Socket {
    this.closed = true;
    let socket: Socket;
    if (this.socket instanceof OwnSocket) {
      socket = this.socket.detach();
      this.socket = socket;
      socket.on("error", destroyOnError);
      socket.on("close", () => this.onClose());
    } else {
      socket = this.socket as Socket;
      socket.pause();
      releaseReads(socket);
      for (const ev of ["data", "drain", "end", "timeout"]) socket.removeAllListeners(ev);
    }
    this.parser?.close();
    unholdParser(this);
    this.setTimeout(0);
    this.rt.conns.delete(this);
    return socket;
  }

  // reject answers a request the parser refused, after the responses already in flight.
  private reject(err: ParseError, buf: Buffer): void {
    let status = 400;
    let text = `bad request: ${err.reason} (${err.code})`;
    if (err.code === "HPE_HEADER_OVERFLOW") {
      const lineEnded = this.state === BODY || buf.subarray(0, err.bytesParsed).includes(10);
      status = lineEnded ? 431 : 414;
      text = lineEnded ? "request header fields too large" : "request URI too long";
    } else if (err.code === "HPE_INVALID_METHOD" || err.code === "HPE_INVALID_VERSION") {
      // The parser knows a fixed list of methods (llhttp's) and versions: a well-formed line
      // naming another is "not implemented" (RFC 9110 §9.1: 501) or "version not supported"
      // (RFC 9110 §15.6.6: 505: another major version; an unknown HTTP/1.x minor stays 400).
      const line = requestLine(buf, err.bytesParsed);
      if (err.code === "HPE_INVALID_METHOD" && /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+( |$)/.test(line)) {
        status = 501;
        text = "method not implemented";
      } else if (err.code === "HPE_INVALID_VERSION" && /^[^ ]+ [^ ]+ HTTP\/[02-9]\.\d$/.test(line)) {
        status = 505;
        text = "HTTP version not supported";
      }
    }
    // Its clock starts at the read that brought the refused message's first byte, as a parsed
    // request's does (onBegin); 0 (now) if the parser gave up before a message began.
    this.failConnection(status, text, undefined, this.state === IDLE ? 0 : this.arrivedAt);
  }

  private failConnection(status: number, text: string, outcome?: "timeout", arrivedAt = 0): void {
    this.socket.pause();
    this.closing = true;
    this.failed = true;
    const broken = this.parsing;
    if (broken !== null) {
      // The request the parser gave up on mid-body is dropped with its backend connection.
      const i = this.queue.indexOf(broken);
      if (i !== -1) this.queue.splice(i, 1);
      if (broken.responseStarted) {
        this.socket.destroy();
        return;
      }
      broken.abort(true);
    }
    const ex = new Exchange(this, badHead, arrivedAt);
    ex.outcome = outcome;
    ex.answer(status, text, true);
    ex.requestDone = true;
    this.parsing = null;
    this.exchanges().push(ex);
    if (this.queue.length === 1) ex.begin();
  }

  private headerTimeout(): void {
    if (this.closing) return;
    this.failConnection(408, "request header timeout", "timeout");
  }

  onBegin(): void {
    this.state = HEAD;
    // A timed exchange's clock starts at the read that brought the request's first byte, not at its
    // parsed head: a head split over reads, or parsed after pipelined ones, is the client's wait too.
    this.arrivedAt = httpResponse.hasSubscribers ? arrival() : 0;
    // Under the coarse sweep the sweep stamps it (UNSTAMPED): a clock read per request saved,
    // and the deadline counts from at most one sweep later, never earlier.
    this.headStart = this.coarse ? UNSTAMPED : performance.now();
  }

  onHead(head: MessageHead): boolean {
    this.state = BODY;
    // An exchange that ended the connection mid-read (a 413 on its body) leaves the rest of that
    // read unanswered: a request parsed out of it must not reach a backend.
    if (this.ended || this.socket.destroyed) return false;
    if (this.rt.next !== undefined) this.follow();
    const ex = new Exchange(this, head, this.arrivedAt);
    prepare(ex, this.rt, this.clientIp);
    // A retired configuration serves what it has, then sends clients to the new one.
    if (this.rt.retired) ex.closeAfter = true;
    if (ex.closeAfter) this.closing = true;
    this.parsing = ex;
    this.exchanges().push(ex);
    return false;
  }

  onBody(chunk: Buffer): void {
    const ex = this.parsing;
    if (ex === null) return;
    if (this.copyBody) {
      // The exchange may keep the chunk or leave it in a backend socket's write queue.
      chunk = copyOf(chunk);
    }
    ex.requestBody(chunk);
  }

  onTrailers(trailers: string[]): void {
    this.parsing?.requestTrailers(trailers);
  }

  onComplete(): void {
    this.state = IDLE;
    if (this.messages < 2) this.messages++;
    const ex = this.parsing;
    this.parsing = null;
    if (ex !== null) ex.requestComplete();
    // Nothing more is read on a connection that will close (Connection: close, errors).
    if (this.closing) this.socket.pause();
  }

  /**
   * releaseIdleParser gives the parser back to the pool if the connection sits between messages
   * (not once closing: the parser keeps refusing bytes after Connection: close only while it keeps
   * its state); it returns false while the parser must stay.
   */
  releaseIdleParser(): boolean {
    const p = this.parser;
    if (p === null || this.closed) return true;
    if (this.state !== IDLE || this.closing || this.upgradeRest !== undefined) return this.closed;
    this.parser = null;
    releaseParser(p);
    if (this.queue.length === 0) this.queue = NO_EXCHANGES;
    return true;
  }

  // exchanges is the connection's own queue, made when the shared empty one is in place.
  private exchanges(): Exchange[] {
    return this.queue === NO_EXCHANGES ? (this.queue = []) : this.queue;
  }

  /** follow moves the connection to the runtime serving now; exchanges in flight keep theirs. */
  follow(): void {
    this.rt.conns.delete(this);
    this.rt = currentRuntime(this.rt);
    this.rt.conns.add(this);
    if (this.rt.retired) this.closing = true;
  }

  /** exchangeDone runs when an exchange finished; the next one (pipelined) starts. */
  exchangeDone(ex: Exchange): void {
    if (this.queue[0] === ex) this.queue.shift();
    else {
      const i = this.queue.indexOf(ex);
      if (i !== -1) this.queue.splice(i, 1);
    }
    if (this.closed) return;
    if (ex.closeAfter) {
      this.closing = true;
      if (this.queue.length > 0) for (const q of this.queue.splice(0)) q.abort();
      // The response leaves now, not at the end of the turn: quickClose needs it with the kernel.
      flushWrites(this);
      if (this.quickClose(ex)) this.socket.destroy();
      else this.end();
      return;
    }
    // Request-body backpressure may have paused reading under the finished exchange.
    if (this.socket.isPaused() && !this.closing && this.upgradeRest === undefined) this.socket.resume();
    const next = this.queue[0];
    if (next !== undefined) next.begin();
    else {
      // Idle with its parser back in the pool (after a first request, onData): the array goes too.
      if (this.parser === null) this.queue = NO_EXCHANGES;
      this.idleSince = this.coarse ? UNSTAMPED : performance.now();
      this.setTimeout(this.tick);
    }
  }

  /**
   * quickClose says whether the connection may close at once after ex's response instead of
   * lingering (end(), then reading until the client's FIN): the client asked for the close (its
   * request was its last, RFC 9112 §9.6), nothing after it was read or refused, the response is
   * all with the kernel, and the socket is plain TCP (TLS owes a close_notify). close() still
   * sends the response and then a FIN; it saves a shutdown, a read of the client's FIN and Node's
   * end-of-stream work, as nginx and HAProxy close such connections. Lingering stays for every
   * other close: bytes arriving at a closed socket make the kernel reset the connection, which
   * can lose the response.
   */
  private quickClose(ex: Exchange): boolean {
    return (
      !ex.head.keepAlive &&
      ex.head.method !== "" &&
      !this.failed &&
      this.socket.encrypted !== true &&
      this.state === IDLE &&
      this.upgradeRest === undefined &&
      this.socket.writableLength === 0
    );
  }

  /** tunnel joins the client socket to a backend socket after a 101 (WebSocket). */
  tunnel(backend: Socket, rest: Buffer): void {
    const early = this.upgradeRest;
    this.upgradeRest = undefined;
    const socket = this.handOff();
    // The client is already gone (an own socket whose held write failed as it detached): nothing
    // to join; its 'close' (next tick) cleans up this connection.
    if (socket.destroyed) return void backend.destroy();
    // Still counted as this listener's connection until it closes.
    this.rt.conns.add(this);
    tunnel(socket, backend, rest, early, this.rt.listener.idleTimeoutMs);
    socket.resume();
  }

  // setTimeout arms the inactivity check: the coarse sweep for timeouts of seconds (a socket
  // timeout is refreshed by Node on every read and write), the socket's own timer otherwise.
  private setTimeout(ms: number): void {
    if (ms === this.timeoutMs) return;
    this.timeoutMs = ms;
    if (!this.coarse) this.socket.setTimeout(ms);
    else if (ms === 0) unwatch(this);
    else watch(this);
  }

  /** check is the coarse sweep's call: onTimeout decides from timestamps what expired. */
  check(now: number): void {
    if (this.headStart === UNSTAMPED) this.headStart = now;
    if (this.idleSince === UNSTAMPED) this.idleSince = now;
    this.onTimeout(now);
  }

  /** onTimeout decides from timestamps what expired (the socket's timer, or the sweep's check). */
  onTimeout(now = performance.now()): void {
    // Busy connections are bounded by the request timeout, not by client inactivity.
    if (this.queue.length > 0) return;
    let left: number;
    if (!this.opened) {
      // Nothing came yet: a silent client gets the header timeout, and no answer.
      left = this.rt.limits.headerTimeoutMs - (now - this.idleSince);
      if (left <= 1) return void this.socket.destroy();
    } else if (this.state === HEAD) {
      left = this.rt.limits.headerTimeoutMs - (now - this.headStart);
      if (left <= 1) return this.headerTimeout();
    } else {
      left = this.rt.listener.idleTimeoutMs - (now - this.idleSince);
      if (left <= 1) return void this.socket.destroy();
    }
    // Fired before the deadline (the tick is the shorter of both): wait for the rest.
    this.setTimeout(Math.ceil(left));
  }

  /** onEnd runs at the client's FIN. */
  onEnd(): void {
    // The client will send nothing more; finish what is in flight, then close.
    this.closing = true;
    if (this.socket.writableEnded) {
      // We already ended our side (Connection: close): both directions are done. A second end()
      // would only build an ERR_STREAM_ALREADY_FINISHED error with its stack trace.
      if (this.queue.length === 0) this.socket.destroy();
      return;
    }
    if (this.queue.length === 0) this.end();
    else this.queue[this.queue.length - 1]!.closeAfter = true;
  }

  /**
   * retire closes the connection when idle (after RETIRE_IDLE_MS), or after the exchanges in
   * flight. A connection that has not sent its first request yet (accepted just before a drain
   * closed the listener) is answered once if that request comes within RETIRE_IDLE_MS, else ended
   * like an idle one: a client silent that long is not sending, and waiting for it would hold a
   * drain to its deadline. One whose side is already shut gets RETIRE_IDLE_MS for the client's FIN.
   */
  retire(): void {
    if (this.closed) return;
    if (this.ended) return this.linger();
    const last = this.queue[this.queue.length - 1];
    if (last !== undefined) last.closeAfter = true;
    else if (this.state !== HEAD) {
      if (this.messages === 0) this.closing = true;
      // Idle between requests: the client may be sending its next one right now, and a FIN now
      // fails it ("socket hang up": Node's and most keep-alive pools do not retry). A request
      // that comes within RETIRE_IDLE_MS is answered with Connection: close (the runtime is
      // retired); a connection still idle then is ended.
      setTimeout(() => {
        if (!this.closed && !this.ended && this.queue.length === 0 && this.state === IDLE) this.end();
      }, RETIRE_IDLE_MS).unref();
    } else if (this.messages === 0) this.closing = true;
  }

  // end shuts our side after the last response, then reads on, discarding, until the client's
  // FIN: a paused socket would not see it (with onread, pause stops the handle reading), and
  // reading what a client still sends keeps the close from resetting the connection.
  private end(): void {
    this.ended = true;
    this.socket.end();
    this.socket.resume();
    if (this.rt.retired) this.linger();
  }

  // linger gives a retired connection whose side is shut RETIRE_IDLE_MS for the client's FIN, then
  // closes it: the kernel finishes the handshake (our FIN is sent; what is unsent still goes out),
  // and the drain is not held open by a client that will never answer here — behind a BGP router,
  // once the engine's route is withdrawn, the client's packets go to another engine.
  private linger(): void {
    setTimeout(() => {
      if (this.closed) return;
      // Bytes still queued in the process would be lost by a close: wait for them to reach the kernel.
      if (this.socket.writableLength > 0) return this.linger();
      this.socket.destroy();
    }, RETIRE_IDLE_MS).unref();
  }

  /** onClose runs once the socket closed: whatever is in flight is aborted. */
  onClose(): void {
    this.closed = true;
    unwatch(this);
    // A closed connection's parser serves the next one: reuse() re-initialises it, and a new
    // parser per connection is a large part of what a Connection: close request costs.
    const p = this.parser;
    this.parser = null;
    if (p !== null) releaseParser(p);
    unholdParser(this);
    this.rt.conns.delete(this);
    if (this.queue.length > 0) for (const q of this.queue.splice(0)) q.abort();
    if (this.opened && connection.hasSubscribers) {
      connection.publish({ listener: this.rt.listener.name, event: "close" });
    }
  }
}
bitFlags(ClientConn.prototype, [
  "batched",
  "closing",
  "parserUsed",
  "coarse",
  "closed",
  "ended",
  "copyBody",
  "failed",
  "opened",
]);

/** destroyOnError is every client socket's 'error' listener: the 'close' that follows cleans up. */
export function destroyOnError(this: Socket): void {
  this.destroy();
}

// PICK is the PickContext of HTTP/1.1 connections, reading the exchange a backend is being picked for.
const PICK = new SharedPick<ClientConn>({
  ip: (conn) => conn.clientIp,
  header: (conn, n) => conn.current()?.header(n),
  uri: (conn) => conn.current()?.head.url,
});

// requestLine returns the line of buf holding offset at (up to CR/LF, at most 256 bytes), latin1.
function requestLine(buf: Buffer, at: number): string {
  const start = at > 0 ? buf.lastIndexOf(10, Math.min(at, buf.length) - 1) + 1 : 0;
  let end = start;
  while (end < buf.length && end - start < 256 && buf[end] !== 13 && buf[end] !== 10) end++;
  return buf.toString("latin1", start, end);
}

// freeParsers are request parsers between connections' messages, ready for reuse.
const freeParsers: HttpParser[] = [];
const MAX_FREE_PARSERS = 256;

function takeParser(sink: MessageSink, maxHeaderBytes: number): HttpParser {
  const p = freeParsers.pop();
  return p === undefined ? new HttpParser("request", sink, maxHeaderBytes) : p.reuse(sink, maxHeaderBytes);
}

function releaseParser(p: HttpParser): void {
  if (freeParsers.length < MAX_FREE_PARSERS && p.usable) {
    p.detach();
    freeParsers.push(p);
  } else p.close();
}

// held are the connections keeping a parser between messages. Every SWEEP_MS a connection that
// read nothing since the last sweep gives its parser back: re-initialising a parser for every
// request of a busy keep-alive connection costs more than the memory it saves.
const SWEEP_MS = 1000;
// A LiveSet, not a Set: connections join and leave at their own rate (live-set.ts says why).
const held = new LiveSet<ClientConn>();
let sweeper: NodeJS.Timeout | undefined;

/** holdParser puts c on the sweep list (again is a no-op: it runs for every request after the first). */
function holdParser(c: ClientConn): void {
  const n = (c.sweepNode ??= new LiveNode(c));
  if (n.set !== null) return;
  held.add(n);
  if (sweeper === undefined) sweeper = setInterval(sweepParsers, SWEEP_MS).unref();
}

/** unholdParser takes a closed connection off the sweep list, so nothing keeps it reachable. */
function unholdParser(c: ClientConn): void {
  if (c.sweepNode !== undefined) held.delete(c.sweepNode);
}

function sweepParsers(): void {
  for (const c of held.values()) {
    if (c.parserUsed) c.parserUsed = false;
    else if (c.releaseIdleParser()) {
      // The node goes with the parser: an idle connection holds neither (a new one is made when
      // it reads again, at most once a sweep period).
      held.delete(c.sweepNode!);
      c.sweepNode = undefined;
    }
  }
  if (held.size === 0) {
    clearInterval(sweeper);
    sweeper = undefined;
  }
}

// badHead stands in for a request the parser could not parse.
const badHead: MessageHead = {
  versionMajor: 1,
  versionMinor: 1,
  headers: [],
  method: "",
  url: "",
  statusCode: 0,
  statusMessage: "",
  upgrade: false,
  keepAlive: false,
};
