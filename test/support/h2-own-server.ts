// h2-own-server.ts: a test-only HTTP/2 server on src/engine/h2 (Portico's own framing and HPACK),
// over TLS with ALPN h2 and over cleartext (h2c, prior knowledge). It answers every request, once
// its body ended, with a fixed response — what h2spec and an h2load comparison need — and echoes
// the request body's length and trailers so tests can check what arrived. nodeH2Server is the
// node:http2 equivalent serving the same response, for the A/B measurement.
import net from "node:net";
import tls from "node:tls";
import http2 from "node:http2";
import { once } from "node:events";
import type { AddressInfo } from "node:net";
import { H2Connection, type H2Settings } from "../../src/engine/h2/connection.ts";
import type { AbuseLimits, CutReason } from "../../src/engine/h2/abuse.ts";
import { defaultAbuseLimits } from "../../src/engine/h2/abuse.ts";
import type { H2Stream } from "../../src/engine/h2/stream.ts";

/** OwnServerOptions shape the test server. */
export interface OwnServerOptions {
  /** tls: key and certificate (PEM) for h2 over TLS; absent: h2c. */
  tls?: { key: string; cert: string };
  /** body is the response body (default "hello\n"). */
  body?: Buffer;
  /** delayMs delays each answer (h2spec cases that need a stream to stay half-closed). */
  delayMs?: number;
  settings?: Partial<H2Settings>;
  limits?: AbuseLimits;
}

/** OwnServer is a listening test server. */
export interface OwnServer {
  port: number;
  /** cuts counts connections cut for abuse, by reason. */
  cuts: Map<CutReason, number>;
  /** connections are the live connections. */
  connections: Set<H2Connection>;
  close(): Promise<void>;
}

/** answer responds to a stream once its request ended: 200, fixed body, and what was received. */
function answer(s: H2Stream, body: Buffer, delayMs: number, received: number, trailers: string[]): void {
  const send = () => {
    const extra = trailers.length > 0 ? ["x-trailers", trailers.join(",")] : [];
    s.respond(200, ["content-type", "text/plain", "x-received", String(received), ...extra]);
    s.write(body, true);
  };
  if (delayMs > 0) setTimeout(send, delayMs);
  else send();
}

/** startOwnServer listens on 127.0.0.1 (a free port) and serves every connection with H2Connection. */
export async function startOwnServer(o: OwnServerOptions = {}): Promise<OwnServer> {
  const body = o.body ?? Buffer.from("hello\n");
  const delayMs = o.delayMs ?? 0;
  const cuts = new Map<CutReason, number>();
  const connections = new Set<H2Connection>();
  const serve = (socket: net.Socket) => {
    const c = new H2Connection(
      socket,
      {
        stream(s, _fields, end) {
          let received = 0;
          let trailers: string[] = [];
          if (end) return answer(s, body, delayMs, 0, trailers);
          s.onData = (chunk) => void (received += chunk.length);
          s.onTrailers = (f) => void (trailers = f);
          s.onEnd = () => answer(s, body, delayMs, received, trailers);
        },
        cut(reason) {
          cuts.set(reason, (cuts.get(reason) ?? 0) + 1);
        },
        closed() {
          connections.delete(c);
        },
      },
      o.settings,
      o.limits ?? defaultAbuseLimits,
    );
    connections.add(c);
  };
  const server = o.tls
    ? tls.createServer({ key: o.tls.key, cert: o.tls.cert, ALPNProtocols: ["h2"] }, serve)
    : net.createServer(serve);
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return {
    port: (server.address() as AddressInfo).port,
    cuts,
    connections,
    close: async () => {
      for (const c of connections) c.socket.destroy();
      server.close();
      await once(server, "close");
    },
  };
}

/** nodeH2Server serves the same fixed response with node:http2 (TLS with ALPN h2, or h2c). */
export async function nodeH2Server(
  o: OwnServerOptions = {},
): Promise<{ port: number; close(): Promise<void> }> {
  const body = o.body ?? Buffer.from("hello\n");
  const onStream = (stream: http2.ServerHttp2Stream) => {
    stream.on("error", () => {});
    stream.resume();
    stream.on("end", () => {
      if (stream.destroyed) return;
      stream.respond({ ":status": 200, "content-type": "text/plain", "x-received": "0" });
      stream.end(body);
    });
  };
  const server = o.tls
    ? http2.createSecureServer({ key: o.tls.key, cert: o.tls.cert, settings: { maxConcurrentStreams: 250 } })
    : http2.createServer({ settings: { maxConcurrentStreams: 250 } });
  server.on("stream", onStream);
  server.on("sessionError", () => {});
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const sessions = new Set<http2.ServerHttp2Session>();
  server.on("session", (s) => {
    sessions.add(s);
    s.on("close", () => sessions.delete(s));
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: async () => {
      for (const s of sessions) s.destroy();
      server.close();
      await once(server, "close");
    },
  };
}
