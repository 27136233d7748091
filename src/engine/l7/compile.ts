// compile.ts: compileHttp, the engine's entry point for one HTTP(S) listener of a snapshot. It
// compiles the router and TLS contexts up front (errors NACK the snapshot) and returns the
// ConnectionHandler that takes accepted TCP sockets: TLS first when configured, then HTTP/2
// (ALPN "h2" or the cleartext prior-knowledge preface) or HTTP/1.1.
import { compileAlpnChallenges } from "../acme/tls-alpn01.ts";
import { http01Table } from "../acme/http01.ts";
import { isIPv6, type Socket } from "node:net";
import type { TLSSocket } from "node:tls";
import type { Certificate, HttpListener } from "../../model/ir.ts";
import { EngineConfigError, type CompileHttp, type ConnectionHandler } from "../contracts.ts";
import { LiveSet } from "../net/live-set.ts";
import type { OwnSocket } from "../net/own-socket.ts";
import { AccessConfigError } from "./access.ts";
import { compileTls, type TlsTerminator } from "../tls/terminate.ts";
import { compileSniRoutes } from "../tls/sni-routes.ts";
import { ClientConn, destroyOnError, type PriorKnowledge } from "./http1.ts";
import { H2Front } from "./http2.ts";
import { Router } from "./router/router.ts";
import { defaultLimits, type Limits, type ListenerRuntime } from "./runtime.ts";
import { bindClientCertificates, sharedPool } from "./upstream.ts";

// The HTTP/2 connection preface (RFC 9113 §3.4) starts "PRI * HTTP/2.0".
const PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1");

/** compileHttp builds the handler of one HttpListener (see CompileHttp in contracts.ts). */
export const compileHttp: CompileHttp = (listener, deps) =>
  compileHttpWith(
    listener,
    deps,
    deps.limits === undefined ? defaultLimits : { ...defaultLimits, ...deps.limits },
  );

/** compileHttpWith is compileHttp with explicit limits (tests shorten the header timeout). */
export function compileHttpWith(
  listener: Parameters<CompileHttp>[0],
  deps: Parameters<CompileHttp>[1],
  limits: Limits,
): ConnectionHandler {
  let router: Router;
  try {
    router = new Router(listener.virtualHosts, listener.tls?.listenerHostnames, deps.log);
  } catch (err) {
    if (err instanceof AccessConfigError) throw new EngineConfigError(err.code, listener.name, err.message);
    throw new EngineConfigError(
      "InvalidRoute",
      listener.name,
      `cannot compile routes: ${(err as Error).message}`,
    );
  }
  const cap = listener.maxConnections;
  if (cap !== undefined && !(Number.isInteger(cap) && cap >= 1))
    throw new EngineConfigError(
      "InvalidAccessPolicy",
      listener.name,
      `maxConnections must be a whole number of at least 1, got ${cap}`,
    );
  checkFilters(listener);
  bindClientCertificates(deps.snapshot.pools, deps.snapshot.certificates, listener.name);
  const tls: TlsTerminator | undefined =
    listener.tls === undefined
      ? undefined
      : compileTls(listener.name, listener.tls, deps.snapshot.certificates, deps.ocsp);
  const rt: ListenerRuntime = {
    listener,
    pools: deps.snapshot.pools,
    router,
    upstreams: deps.upstreams,
    pool: sharedPool,
    proto: tls === undefined ? "http" : "https",
    authority: `${isIPv6(listener.address) ? `[${listener.address}]` : listener.address}:${listener.port}`,
    limits,
    log: deps.log,
    retired: false,
    conns: new LiveSet(),
    next: undefined,
    acmeHttp01: http01Table(deps.snapshot.acme),
  };
  const h2 = new H2Front(rt);
  fronts.set(rt, { front: h2, key: h2Key(listener, limits, deps.snapshot.certificates) });
  const h2c: PriorKnowledge = { isPreface, accept: (socket) => h2.accept(socket) };
  // A connection (plain, or TLS without ALPN h2) is an HTTP/1.1 ClientConn from the start: it
  // hands the socket to h2c if the first bytes are the HTTP/2 prior-knowledge preface. That
  // spares every connection a peek listener and timer of its own.
  const serve = (socket: Socket, alpn: string | false | null | undefined) => {
    if (alpn === "h2") h2.accept(socket);
    else new ClientConn(socket, rt, h2c);
  };
  // One function for every connection's completed handshake, not a closure per connection.
  const secured = (secure: TLSSocket) => serve(secure, secure.alpnProtocol);
  // TLS routes by server name (TLSRoute) claim names before the HTTPS termination sees them.
  const sni =
    listener.sniRoutes === undefined || listener.sniRoutes.length === 0
      ? undefined
      : compileSniRoutes(listener, deps, {
          tls,
          https: (s) => (tls === undefined ? s.destroy() : tls.wrap(s, secured)),
          helloTimeoutMs: limits.headerTimeoutMs,
          connectTimeoutMs: limits.connectTimeoutMs,
        });
  const route = (socket: Socket): void => {
    if (sni !== undefined) sni.accept(socket);
    else if (tls === undefined) serve(socket, undefined);
    else tls.wrap(socket, secured);
  };
  // A pending TLS-ALPN-01 challenge is answered on TLS listeners before SNI routes and termination.
  const alpnGate =
    tls === undefined && sni === undefined
      ? undefined
      : compileAlpnChallenges(listener.name, deps.snapshot.acme, limits.headerTimeoutMs);
  const handler: ConnectionHandler = {
    // Plain HTTP/1.1 also takes connections on Portico's own socket layer (listeners.ts decides).
    onHandle:
      alpnGate === undefined && sni === undefined && tls === undefined
        ? (socket: OwnSocket) => void new ClientConn(socket, rt, h2c)
        : undefined,
    onConnection(socket: Socket): void {
      // Plain HTTP/1.1 (no TLS, SNI routes or challenge gate): the ClientConn made here and now
      // adds the same 'error' listener, so the socket gets one, not two per connection.
      if (alpnGate === undefined && sni === undefined && tls === undefined) return serve(socket, undefined);
      socket.on("error", destroyOnError);
      if (alpnGate !== undefined) alpnGate.accept(socket, route);
      else route(socket);
    },
    retire(): void {
      rt.retired = true;
      for (const c of rt.conns.values()) c.retire();
      h2.retire();
    },
    handOver(next: ConnectionHandler): boolean {
      const successor = runtimes.get(next);
      if (successor === undefined || successor === rt) return false;
      // HTTP/1.1 connections route their next request with the successor; requests in flight
      // finish on this runtime. HTTP/2 sessions stay open when the listener is as it was (a
      // snapshot for another VIP, new endpoints); when it changed they get GOAWAY and drain, and
      // their clients open a new connection that negotiates with the new listener.
      rt.next = successor;
      for (const c of rt.conns.values()) c.follow();
      const mine = fronts.get(rt);
      const theirs = fronts.get(successor);
      if (theirs !== undefined && theirs.key === mine?.key) h2.follow(theirs.front);
      else h2.retire();
      return true;
    },
  };
  runtimes.set(handler, rt);
  return handler;
}

// runtimes finds the runtime behind a handler this module compiled, for handOver; fronts its HTTP/2 front.
const runtimes = new WeakMap<ConnectionHandler, ListenerRuntime>();
const fronts = new WeakMap<ListenerRuntime, { front: H2Front; key: string }>();

// h2Key says what an HTTP/2 session negotiated with: the listener, its limits and its
// certificates. Two compilations with the same key can share sessions. Snapshots are rare, and
// the JSON of one listener is cheap next to compiling its router and TLS contexts.
function h2Key(listener: HttpListener, limits: Limits, certificates: Record<string, Certificate>): string {
  const names =
    listener.tls === undefined
      ? []
      : [
          listener.tls.defaultCertificate,
          ...listener.tls.sni.map((s) => s.certificate),
          ...(listener.tls.alternates ?? []).map((a) => a.certificate),
        ];
  return JSON.stringify([
    listener,
    limits,
    names.map((n) => (n === undefined ? null : (certificates[n] ?? null))),
  ]);
}

// Header names must be tokens and values must not carry CR, LF or NUL: they go into heads verbatim,
// so anything else would let configuration split a request or response.
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const BAD_VALUE = /[\r\n\0]/;

function checkFilters(listener: Parameters<CompileHttp>[0]): void {
  for (const vh of listener.virtualHosts) {
    for (const r of vh.routes) {
      const backendFilters =
        r.action.type === "Forward" ? r.action.backends.flatMap((b) => b.filters ?? []) : [];
      for (const f of [...(r.filters ?? []), ...backendFilters]) {
        if (f.type !== "RequestHeaderModifier" && f.type !== "ResponseHeaderModifier") continue;
        for (const h of [...(f.set ?? []), ...(f.add ?? [])]) {
          if (!TOKEN.test(h.name) || BAD_VALUE.test(h.value)) {
            throw new EngineConfigError(
              "InvalidHeader",
              listener.name,
              `route ${r.name}: invalid header ${JSON.stringify(h.name)}`,
            );
          }
        }
      }
    }
  }
}

// isPreface accepts a first chunk that is the preface or a prefix of it (a short first read).
// "PRI * HTTP/2.0" is never an HTTP/1.1 request: a preface broken after it is HTTP/2's to refuse
// (a connection error, RFC 9113 §3.4), not an HTTP/1.1 400 that an HTTP/2 client cannot read.
// Byte by byte: Buffer#compare with ranges allocated two views per connection (~430 bytes, the
// largest allocation of a Connection: close request after the heads, sampled).
/** isPreface says whether a connection's first read may begin the HTTP/2 prior-knowledge preface. */
export function isPreface(b: Buffer): boolean {
  const n = Math.min(b.length, PRI_LINE);
  if (n < 4) return false;
  for (let i = 0; i < n; i++) if (b[i] !== PREFACE[i]) return false;
  return true;
}
const PRI_LINE = "PRI * HTTP/2.0".length;
