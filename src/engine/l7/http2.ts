// http2.ts: the HTTP/2 front of a listener (ALPN "h2" after TLS, or cleartext prior knowledge).
// node:http2 speaks the protocol; each stream is routed with the listener's router and forwarded
// to HTTP/1.1 backends through the same upstream pool as HTTP/1.1 clients, or as HTTP/2 to pools
// whose protocol is "h2c" (gRPC; trailers pass through). Every session has an H2Guard that cuts
// abusive clients (h2-guard.ts).
import type http2 from "node:http2";
import { nodeHttp2 } from "../lazy-node.ts";
import type { Socket } from "node:net";
import { LiveSet } from "../net/live-set.ts";
import { connection, http2Cut, httpResponse } from "./events.ts";
import { arrival } from "../net/arrival.ts";
import { decide } from "./decide.ts";
import { H2Exchange } from "./h2-exchange.ts";
import { CutLogGate, H2Guard } from "./h2-guard.ts";
import { penalties } from "./h2-penalty.ts";
import { currentRuntime, type ListenerRuntime } from "./runtime.ts";
import type { H2Connection } from "../h2/connection.ts";
import { acceptOwn, fieldValue, ownCodec } from "./h2-own.ts";
import { NodeFront } from "./h2-front-stream.ts";

/** CUT_LOG_INTERVAL_MS: cuts are logged at most once per interval per listener, with a count. */
const CUT_LOG_INTERVAL_MS = 60_000;

/**
 * H2Front serves the HTTP/2 connections of one compiled listener. A snapshot that leaves the
 * listener as it was hands its sessions to the new front (follow): they stay open and route
 * their next streams with the new runtime. One that changes it retires them (GOAWAY, drain).
 */
export class H2Front {
  private readonly rt: ListenerRuntime;
  private server: http2.Http2Server | undefined;
  // A LiveSet, not a Set: sessions join and leave at their own rate (live-set.ts says why).
  private readonly sessions = new LiveSet<H2Guard>();
  // own holds the connections served by the own codec (PORTICO_H2_CODEC=own, h2-own.ts).
  private readonly own = new Set<H2Connection>();
  private retired = false;
  // next is the front these sessions were handed to; sessions accepted later join it too.
  private next: H2Front | undefined;
  private readonly cutLog: CutLogGate;
  // sweeper runs H2Guard.sweep every windowMs while this front holds sessions.
  private sweeper: NodeJS.Timeout | undefined;

  constructor(rt: ListenerRuntime) {
    this.rt = rt;
    this.cutLog = new CutLogGate(CUT_LOG_INTERVAL_MS, (fields) =>
      rt.log("warn", "HTTP/2 connection cut: GOAWAY ENHANCE_YOUR_CALM", {
        listener: rt.listener.name,
        ...fields,
      }),
    );
  }

  /** accept takes a connection whose first bytes (decrypted, or unshifted) are the HTTP/2 preface. */
  accept(socket: Socket): void {
    if (penalties.refuses(socket.remoteAddress)) return this.refuse(socket);
    if (ownCodec()) return this.acceptOwn(socket);
    // Created on first use: most listeners never see HTTP/2 cleartext.
    this.server ??= this.createServer();
    // Listening sockets allow half-open connections (HTTP/1.1 needs them), so a client's FIN would
    // leave the session open until the idle timeout, counted in portico_active_connections. HTTP/2
    // has no half-close: a client that ended its side is gone (nginx and Envoy close too).
    socket.on("end", destroySocket);
    // A TLS client that negotiated no ALPN and opened with the preface (the HTTP/1.1 connection
    // handed it on) has alpnProtocol false, which node:http2's server takes for an HTTP/1.1 client:
    // 'unknownProtocol', and the socket closed 10 s later with nothing served. The preface decided.
    const tlsSocket = socket as Socket & { alpnProtocol?: string | false | null };
    if (tlsSocket.alpnProtocol === false) tlsSocket.alpnProtocol = "h2";
    this.server.emit("connection", socket);
  }

  // acceptOwn serves the connection with the own codec (the A/B switch of h2-own.ts).
  private acceptOwn(socket: Socket): void {
    socket.on("end", destroySocket);
    const front = this.current();
    const conn = acceptOwn(this.rt, socket, this.cutLog, (stream, headers, flags, c, at) => {
      const rt = currentRuntime(this.rt);
      const host =
        headers !== undefined
          ? (headers[":authority"] ?? (headers.host as string | undefined) ?? "")
          : (fieldValue(stream.fields!, ":authority") ?? fieldValue(stream.fields!, "host") ?? "");
      // at: the read that brought the stream's first byte (0 if analytics came on since).
      const arrivedAt = httpResponse.hasSubscribers ? at || arrival() : 0;
      const ex = new H2Exchange(rt, stream, headers, flags, host, undefined, arrivedAt);
      if (c.abuse.suspect()) setImmediate(serveUnlessClosed, this, rt, ex);
      else this.serve(rt, ex);
    });
    front.own.add(conn);
    socket.once("close", () => this.current().own.delete(conn));
    if (front.retired) conn.close();
  }

  // refuse closes a connection from a boxed address before any HTTP/2 work (h2-penalty.ts).
  private refuse(socket: Socket): void {
    const name = this.rt.listener.name;
    if (http2Cut.hasSubscribers) http2Cut.publish({ listener: name, reason: "penalty" });
    this.cutLog.cut(
      "penalty",
      "address cut repeatedly: connection closed at once",
      socket.remoteAddress ?? "",
    );
    socket.destroy();
  }

  /** retire sends GOAWAY on every session: streams in flight finish, new ones go elsewhere. */
  retire(): void {
    this.retired = true;
    for (const g of this.sessions.values()) g.session.close();
    for (const c of this.own) c.close();
  }

  /** follow hands every session to next without disturbing it (the listener did not change). */
  follow(next: H2Front): void {
    this.next = next;
    for (const g of this.sessions.values()) next.sessions.add(g.live);
    for (const c of this.own) next.own.add(c);
    next.watch();
  }

  // watch starts the sweep timer if sessions are held; the timer stops when they are gone.
  private watch(): void {
    if (this.sweeper !== undefined || this.sessions.size === 0) return;
    this.sweeper = setInterval(sweep, this.rt.limits.h2.windowMs, this);
    this.sweeper.unref();
  }

  /** sweep runs every session's H2Guard.sweep; the timer stops with the last session. */
  sweep(): void {
    if (this.sessions.size === 0) {
      clearInterval(this.sweeper);
      this.sweeper = undefined;
      return;
    }
    for (const g of this.sessions.values()) g.sweep();
  }

  private current(): H2Front {
    return this.next === undefined ? this : this.next.current();
  }

  private createServer(): http2.Http2Server {
    const limits = this.rt.limits;
    const h2 = limits.h2;
    const server = nodeHttp2().createServer({
      maxSendHeaderBlockLength: limits.maxHeaderBytes,
      maxSessionInvalidFrames: h2.maxInvalidFrames,
      maxSessionRejectedStreams: h2.maxRejectedStreams,
      settings: { maxConcurrentStreams: h2.maxConcurrentStreams, maxHeaderListSize: limits.maxHeaderBytes },
    });
    server.on("session", (session: http2.ServerHttp2Session) => {
      const name = this.rt.listener.name;
      const front = this.current();
      if (front.retired) session.close();
      const guard = new H2Guard(session, h2, name, this.cutLog);
      front.sessions.add(guard.live);
      front.watch();
      session.on("close", () => guard.live.set?.delete(guard.live));
      if (connection.hasSubscribers) connection.publish({ listener: name, event: "open" });
      session.setTimeout(this.rt.listener.idleTimeoutMs, () => session.close());
      session.on("error", () => session.destroy());
      session.on("close", () => {
        if (connection.hasSubscribers) connection.publish({ listener: name, event: "close" });
      });
      session.on("stream", (stream, headers, flags) => this.onStream(stream, headers, flags, guard));
    });
    return server;
  }

  private onStream(
    stream: http2.ServerHttp2Stream,
    headers: http2.IncomingHttpHeaders,
    flags: number,
    guard: H2Guard,
  ): void {
    stream.on("error", () => stream.destroy());
    // Streams of a cut connection's last read still arrive (node hands them over after nghttp2
    // parsed the whole read): tens of thousands a second under attack, each would be routed.
    if (!guard.stream()) return void stream.destroy();
    // Sessions handed over by a snapshot that left the listener as it was route with the newest runtime.
    const rt = currentRuntime(this.rt);
    const host = headers[":authority"] ?? (headers.host as string | undefined) ?? "";
    // A timed exchange's clock starts at the read that brought its HEADERS (the turn's first read:
    // node hands a read's streams over one by one, each after the ones before it were served).
    const arrivedAt = httpResponse.hasSubscribers ? arrival() : 0;
    const ex = new H2Exchange(rt, new NodeFront(stream), headers, flags, host, guard, arrivedAt);
    // While a client resets most of its streams, a new one waits a turn: a RST_STREAM read with
    // it closes it before a backend connection is opened for nothing.
    if (guard.suspect()) setImmediate(serveUnlessClosed, this, rt, ex);
    else this.serve(rt, ex);
  }

  /** serve routes and answers or forwards one exchange. */
  serve(rt: ListenerRuntime, ex: H2Exchange): void {
    if (ex.method === "CONNECT") return ex.answer(405, "CONNECT is not supported");
    const answer = decide(rt, ex, ex.stream.socket);
    if (answer === undefined) return ex.forward(rt.pools[ex.pool]?.protocol === "h2c");
    if (!(answer instanceof Promise)) return ex.reply(answer);
    // A step that waits (external authentication): the stream's body stays unread, paced by flow
    // control, until it settled; a stream reset meanwhile aborted the exchange (H2Exchange.abort).
    answer.then(
      (a) => ex.decided(a),
      (err: unknown) => ex.decided({ status: 500, body: "Internal Server Error", error: String(err) }),
    );
  }
}

function serveUnlessClosed(front: H2Front, rt: ListenerRuntime, ex: H2Exchange): void {
  if (!ex.stream.gone) front.serve(rt, ex);
}

function sweep(front: H2Front): void {
  front.sweep();
}

function destroySocket(this: Socket): void {
  this.destroy();
}
