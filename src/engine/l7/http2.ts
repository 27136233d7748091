// http2.ts: the HTTP/2 front of a listener (ALPN "h2" after TLS, or cleartext prior knowledge).
// node:http2 speaks the protocol; each stream is routed with the listener's router and forwarded
// to HTTP/1.1 backends through the same upstream pool as HTTP/1.1 clients, or as HTTP/2 to pools
// whose protocol is "h2c" (gRPC; trailers pass through).
import http2 from "node:http2";
import type { Socket } from "node:net";
import type { EngineSnapshot } from "../../model/ir.ts";
import { LiveNode, LiveSet } from "../net/live-set.ts";
import { connection } from "./events.ts";
import { redirectLocation } from "./forward.ts";
import { preflightAnswer } from "./cors.ts";
import { H2Exchange } from "./h2-exchange.ts";
import { mirrorStream } from "./mirror.ts";
import { invalidBackendText, pickTarget } from "./prepare.ts";
import { publicText } from "./failure.ts";
import type { RequestView } from "./router/match.ts";
import { servernameOf } from "./router/misdirect.ts";
import type { ListenerRuntime } from "./runtime.ts";

/** GRPC_UNAVAILABLE is gRPC status code 14, answered for requests of an invalid backend share. */
const GRPC_UNAVAILABLE = 14;

/** H2Front serves the HTTP/2 connections of one compiled listener. */
export class H2Front {
  private readonly rt: ListenerRuntime;
  private readonly snapshot: EngineSnapshot;
  private server: http2.Http2Server | undefined;
  // A LiveSet, not a Set: sessions join and leave at their own rate (live-set.ts says why).
  private readonly sessions = new LiveSet<http2.ServerHttp2Session>();
  private retired = false;

  constructor(rt: ListenerRuntime, snapshot: EngineSnapshot) {
    this.rt = rt;
    this.snapshot = snapshot;
  }

  /** accept takes a connection whose first bytes (decrypted, or unshifted) are the HTTP/2 preface. */
  accept(socket: Socket): void {
    // Created on first use: most listeners never see HTTP/2 cleartext.
    this.server ??= this.createServer();
    this.server.emit("connection", socket);
  }

  /** retire sends GOAWAY on every session: streams in flight finish, new ones go elsewhere. */
  retire(): void {
    this.retired = true;
    for (const s of this.sessions.values()) s.close();
  }

  private createServer(): http2.Http2Server {
    const server = http2.createServer({
      maxSendHeaderBlockLength: this.rt.limits.maxHeaderBytes,
      settings: { maxConcurrentStreams: 250, maxHeaderListSize: this.rt.limits.maxHeaderBytes },
    });
    server.on("session", (session: http2.ServerHttp2Session) => {
      const name = this.rt.listener.name;
      if (this.retired) session.close();
      const node = new LiveNode(session);
      this.sessions.add(node);
      session.on("close", () => this.sessions.delete(node));
      if (connection.hasSubscribers) connection.publish({ listener: name, event: "open" });
      session.setTimeout(this.rt.listener.idleTimeoutMs, () => session.close());
      session.on("error", () => session.destroy());
      session.on("close", () => {
        if (connection.hasSubscribers) connection.publish({ listener: name, event: "close" });
      });
    });
    server.on("stream", (stream, headers, flags) => this.onStream(stream, headers, flags));
    return server;
  }

  private onStream(stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders, flags: number): void {
    stream.on("error", () => stream.destroy());
    const method = headers[":method"] ?? "GET";
    const url = headers[":path"] ?? "/";
    const host = headers[":authority"] ?? (headers.host as string | undefined) ?? "";
    const ex = new H2Exchange(this.rt, stream, headers, flags, host);
    if (method === "CONNECT") return ex.answer(405, "CONNECT is not supported");
    const q = url.indexOf("?");
    const path = q === -1 ? url : url.slice(0, q);
    const query = q === -1 ? "" : url.slice(q + 1);
    const view: RequestView = {
      method,
      path,
      query,
      header: (n) => {
        const v = headers[n];
        return Array.isArray(v) ? v.join(", ") : v;
      },
    };
    // HTTP/2 clients coalesce connections across names their certificate covers (RFC 9113 §9.1.1).
    if (this.rt.router.misdirected?.(servernameOf(stream.session?.socket), host))
      return ex.answer(421, `host "${host}" is not served on this connection: open one for it`);
    const hit = this.rt.router.route(host, view);
    if (hit === undefined) return ex.answer(404, `no route for host "${host}" path "${path}"`);
    const route = hit.route;
    ex.route = route;
    const preflight = preflightAnswer(route, method, ex);
    if (preflight !== undefined) return ex.answer(200, "", undefined, preflight);
    for (const f of route.filters ?? []) {
      if (f.type === "RequestRedirect") {
        const loc = redirectLocation(f, {
          path,
          query,
          host,
          proto: this.rt.proto,
          prefixLength: hit.prefixLength,
        });
        return ex.answer(f.statusCode, `redirecting to ${loc}`, loc);
      }
    }
    if (route.action.type === "DirectResponse") return ex.answer(route.action.status, route.action.body);
    const pool = pickTarget(route.action);
    if (pool === undefined) {
      ex.error = `route ${route.name} has no backends`;
      return ex.answer(500, publicText(500));
    }
    if (typeof pool !== "string") {
      // The reason is for the logs; the client reads the status in words only.
      ex.error = invalidBackendText(route.name, pool);
      // GRPCRoute asks UNAVAILABLE for an invalid share; an HTTP 500 would reach gRPC as UNKNOWN.
      const grpc = String(headers["content-type"] ?? "").startsWith("application/grpc");
      return grpc ? ex.answerGrpc(GRPC_UNAVAILABLE, publicText(503)) : ex.answer(500, publicText(500));
    }
    ex.forward(pool, path, query, hit.prefixLength, this.snapshot.pools[pool]?.protocol === "h2c");
    mirrorStream(this.rt, route, stream, headers, {
      host,
      path,
      query,
      prefixLength: hit.prefixLength,
      hasBody: (flags & 0x1) === 0,
    });
  }
}
