// sni-routes.ts: TLS connections routed by server name before any HTTP is read (Gateway API
// TLSRoute). The ClientHello is peeked, not answered: a name an SniRoute wins is relayed as bytes
// to its TCP pool — untouched (Passthrough, the backend terminates) or decrypted with the
// listener's certificate (Terminate) — and any other name is handed back, bytes intact, to the
// listener's own HTTPS termination. One port can so carry HTTPS and passthrough side by side.
import type { Socket } from "node:net";
import type { HttpListener, SniRoute } from "../../model/ir.ts";
import { EngineConfigError, type CompileDeps } from "../contracts.ts";
import { forwardTcp, type ForwardOptions } from "../l4/tcp.ts";
import { HostMap } from "../l7/router/host-map.ts";
import { pickPool } from "../l7/decide.ts";
import { parseClientHello } from "./client-hello.ts";
import { answerPlainHttp, handshakeFailed, looksLikeHttp } from "./handshake-failures.ts";
import { NO_ALPN, type TlsTerminator } from "./terminate.ts";

/** SniDecision is what a server name gets: an SniRoute, or the listener's HTTPS. */
export type SniDecision = { kind: "route"; route: SniRoute } | { kind: "https" };

/** SniOptions wire the dispatcher into its listener. */
export interface SniOptions {
  /** tls terminates HTTPS names and Terminate routes; undefined: only Passthrough routes serve. */
  tls: TlsTerminator | undefined;
  /** https serves a connection as the listener's HTTPS; the peeked bytes are back in the socket. */
  https: (socket: Socket) => void;
  /** helloTimeoutMs bounds the wait for a complete ClientHello. */
  helloTimeoutMs: number;
  connectTimeoutMs: number;
}

/** SniDispatcher takes the accepted connections of a listener with sniRoutes. */
export interface SniDispatcher {
  accept(socket: Socket): void;
  /** decide says who serves a server name (undefined: a client without SNI). */
  decide(servername: string | undefined): SniDecision | undefined;
}

/** compileSniRoutes builds the dispatcher; a Terminate route on a listener without TLS is refused. */
export function compileSniRoutes(listener: HttpListener, deps: CompileDeps, opts: SniOptions): SniDispatcher {
  const names = new HostMap<SniDecision>();
  // SniRoutes first: HostMap keeps the first registration of a name, so a route wins a tie.
  for (const route of listener.sniRoutes ?? []) {
    if (route.mode === "Terminate" && opts.tls === undefined) {
      throw new EngineConfigError(
        "MissingCertificate",
        listener.name,
        `SNI route ${route.name} terminates TLS but the listener has no certificates`,
      );
    }
    names.add(route.hostname, { kind: "route", route });
  }
  if (opts.tls !== undefined && listener.tls !== undefined) {
    for (const s of listener.tls.sni) names.add(s.hostname, { kind: "https" });
    // Any other name is HTTPS too: the default certificate (configured or generated) answers it.
    names.add("*", { kind: "https" });
  }
  const forwardOpts = (route: SniRoute, pool: string): ForwardOptions => ({
    listener: `${listener.name} ${route.name}`,
    pool,
    upstreams: deps.upstreams,
    log: deps.log,
    connectTimeoutMs: opts.connectTimeoutMs,
    idleTimeoutMs: listener.idleTimeoutMs,
  });
  const decide = (servername: string | undefined) => names.lookup(servername ?? "");

  const dispatch = (socket: Socket, hello: Buffer, servername: string | undefined) => {
    const d = decide(servername);
    if (d === undefined) {
      deps.log("debug", "tls: no route or certificate for server name", {
        listener: listener.name,
        servername,
      });
      socket.destroy();
      return;
    }
    if (d.kind === "https") {
      socket.unshift(hello);
      opts.https(socket);
      return;
    }
    const pool = pickPool(d.route.backends);
    if (pool === undefined) {
      deps.log("debug", "tls: SNI route has no backends", { listener: listener.name, route: d.route.name });
      socket.destroy();
      return;
    }
    if (d.route.mode === "Passthrough") {
      forwardTcp(socket, { ...forwardOpts(d.route, pool), head: hello });
      return;
    }
    socket.unshift(hello);
    // The relayed bytes are opaque to us, so no ALPN is offered: the client must not pick h2 here.
    opts.tls!.wrap(socket, (secure) => forwardTcp(secure, forwardOpts(d.route, pool)), NO_ALPN, false);
  };

  return {
    decide,
    accept(socket) {
      let buf: Buffer | undefined;
      const onTimeout = () => {
        handshakeFailed(listener.name, "timeout");
        socket.destroy();
      };
      const onEnd = () => socket.destroy();
      const onData = (chunk: Buffer) => {
        buf = buf === undefined ? chunk : Buffer.concat([buf, chunk]);
        const r = parseClientHello(buf);
        if (r.type === "more") return;
        socket.pause();
        socket.off("data", onData);
        socket.off("end", onEnd);
        socket.off("timeout", onTimeout);
        socket.setTimeout(0);
        if (r.type === "invalid") {
          deps.log("debug", "tls: not a ClientHello", { listener: listener.name, reason: r.reason });
          const http = looksLikeHttp(buf);
          handshakeFailed(listener.name, http ? "plain_http" : "not_tls");
          if (http) answerPlainHttp(socket);
          else socket.destroy();
          return;
        }
        dispatch(socket, buf, r.servername);
      };
      socket.setTimeout(opts.helloTimeoutMs);
      socket.on("timeout", onTimeout);
      socket.on("end", onEnd);
      socket.on("data", onData);
    },
  };
}
