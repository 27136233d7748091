// contracts.ts: the seams inside the engine, so L7 (l7/, tls/), L4 (l4/), balancing (lb/),
// health (health/) and the listener manager (engine.ts) can be built and tested apart.
import type { RemoteInfo, Socket as UdpSocket } from "node:dgram";
import type { Socket } from "node:net";
import type { EngineLimits } from "./limits.ts";
import type { OwnSocket } from "./net/own-socket.ts";
import type { StapleSource } from "./tls/ocsp/stapler.ts";
import type { EngineSnapshot, Endpoint, HttpListener, L4Listener } from "../model/ir.ts";

/** Backend is a live endpoint of a pool, as the balancer hands it out. */
export interface Backend {
  /** id is "address:port", unique within a pool. */
  readonly id: string;
  readonly address: string;
  readonly port: number;
  readonly endpoint: Endpoint;
  /**
   * healthKey is healthKey(pool, id), made once when a pool's backends are built: per-request
   * bookkeeping (in-flight counts, passive health) then hashes one stable string, not a new one.
   */
  readonly healthKey?: string;
}

/** PickContext carries what hash-based algorithms need from the client. */
export interface PickContext {
  sourceIp: string;
  /** header returns a request header value (lower-case name); absent for L4. */
  header?: (name: string) => string | undefined;
  /** cookie returns a request cookie value; absent for L4. */
  cookie?: (name: string) => string | undefined;
  /** exclude holds backend ids already tried for this request (retry/failover). */
  exclude?: ReadonlySet<string>;
  /** uri returns the request target as received (path and query); absent for L4. */
  uri?: () => string | undefined;
  /**
   * prefer is a sticky token (lb/sticky.ts) from a session-affinity cookie: the pool's backend it
   * names is picked when it may take traffic, before the pool's algorithm is asked.
   */
  prefer?: string | undefined;
}

/** Upstreams is the engine's view of every pool of the current snapshot: balancing plus health. */
export interface Upstreams {
  /** pick returns a healthy backend of pool, or undefined when none is usable. */
  pick(pool: string, ctx: PickContext): Backend | undefined;
  /** begin records a request/connection starting on a backend (least-request accounting). */
  begin(pool: string, backend: Backend): void;
  /**
   * end records its outcome: ok false on connect failure, reset or 5xx-by-timeout;
   * consecutive failures eject the backend (passive health).
   */
  end(pool: string, backend: Backend, ok: boolean): void;
}

/** ConnectionHandler takes an accepted TCP connection of one listener. */
export interface ConnectionHandler {
  onConnection(socket: Socket): void;
  /**
   * onHandle, when present, takes plain-TCP connections on Portico's own socket layer
   * (net/own-socket.ts) instead of onConnection; the listener decides per connection.
   */
  onHandle?(socket: OwnSocket): void;
  /**
   * retire, when present, is called once after a newer handler replaced this one: it closes idle
   * keep-alive connections and lets busy ones finish their exchange, then close, so clients
   * reconnect to the new configuration instead of keeping old routes forever.
   */
  retire?(): void;
  /**
   * handOver, when present, is called instead of retire when next replaces this handler on the
   * same listener: it returns true when its open connections will route their next requests with
   * next (requests in flight finish on this one), false to be retired instead.
   */
  handOver?(next: ConnectionHandler): boolean;
}

/** DatagramHandler takes the datagrams of one UDP listener (DNS); replies leave from socket, the VIP's. */
export interface DatagramHandler {
  onMessage(msg: Buffer, rinfo: RemoteInfo, socket: UdpSocket): void;
  /** retire, when present, is called once when a newer handler replaced this one or the listener closed. */
  retire?(): void;
}

/** CompileDeps are what protocol compilers get from the engine. */
export interface CompileDeps {
  snapshot: EngineSnapshot;
  upstreams: Upstreams;
  /** log writes one structured line; never pass secrets. */
  log: (level: "debug" | "info" | "warn" | "error", msg: string, fields?: Record<string, unknown>) => void;
  /** limits are the engine-wide defaults routes inherit (request-body buffering); absent: limits.ts defaults. */
  limits?: Pick<EngineLimits, "requestBodyBufferBytes" | "requestBodyTimeoutMs">;
  /** ocsp staples OCSP responses of certificates that name a responder; absent: no stapling. */
  ocsp?: StapleSource;
}

/**
 * CompileHttp builds the handler for one HTTP(S) listener of a snapshot (router, TLS contexts).
 * It throws EngineConfigError for input the IR validation let through but the engine can't use
 * (e.g. a PEM that OpenSSL rejects), so the whole snapshot is NACKed and the last good one serves.
 */
export type CompileHttp = (listener: HttpListener, deps: CompileDeps) => ConnectionHandler;

/** CompileTcp builds the handler for one L4 TCP listener. */
export type CompileTcp = (listener: L4Listener, deps: CompileDeps) => ConnectionHandler;

/** EngineConfigError rejects a snapshot; code is stable for logs and status. */
export class EngineConfigError extends Error {
  readonly code: string;
  readonly listener: string;
  constructor(code: string, listener: string, message: string) {
    super(`${listener}: ${message}`);
    this.code = code;
    this.listener = listener;
  }
}
