// runtime.ts: what one compiled HTTP listener shares between its connections.
import type { Http01Table } from "../acme/http01.ts";
import type { CompileDeps, Upstreams } from "../contracts.ts";
import { DEFAULT_BODY_BUFFER_BYTES, DEFAULT_BODY_TIMEOUT_MS } from "../limits.ts";
import type { LiveSet } from "../net/live-set.ts";
import type { HttpListener, Pool } from "../../model/ir.ts";
import { defaultH2Limits, type H2Limits } from "./h2-guard.ts";
import type { Router } from "./router/router.ts";
import type { UpstreamPool } from "./upstream.ts";

/** LiveConn is what a runtime's conns need of an HTTP/1.1 connection. */
export interface LiveConn {
  retire(): void;
  follow(): void;
}

/** Limits bound what a client may send before the proxy answers 4xx. */
export interface Limits {
  /** maxHeaderBytes bounds request line plus headers (414/431 beyond). */
  maxHeaderBytes: number;
  /** maxHeaders bounds the number of header fields (431 beyond). */
  maxHeaders: number;
  /** headerTimeoutMs bounds the time from a request's first byte to its complete head (408). */
  headerTimeoutMs: number;
  /** connectTimeoutMs bounds each backend connect attempt. */
  connectTimeoutMs: number;
  /** maxAttempts bounds backend attempts for a retryable request. */
  maxAttempts: number;
  /** requestBodyBufferBytes and requestBodyTimeoutMs are the defaults of the routes' own (ir.ts Route). */
  requestBodyBufferBytes: number;
  requestBodyTimeoutMs: number;
  /** h2 bounds what an HTTP/2 client connection may do before it is cut (h2-guard.ts). */
  h2: H2Limits;
}

/** defaultLimits are the engine's defaults. */
export const defaultLimits: Limits = {
  maxHeaderBytes: 16 * 1024,
  maxHeaders: 100,
  headerTimeoutMs: 10_000,
  connectTimeoutMs: 5_000,
  maxAttempts: 3,
  requestBodyBufferBytes: DEFAULT_BODY_BUFFER_BYTES,
  requestBodyTimeoutMs: DEFAULT_BODY_TIMEOUT_MS,
  h2: defaultH2Limits,
};

/** ListenerRuntime is one compiled HttpListener. */
export interface ListenerRuntime {
  listener: HttpListener;
  /** pools are the snapshot's pools (protocol and upstream TLS per pool). */
  pools: Record<string, Pool>;
  router: Router;
  upstreams: Upstreams;
  pool: UpstreamPool;
  proto: "http" | "https";
  /** authority is the listener's address:port, the Host of HTTP/1.0 requests that carry none. */
  authority: string;
  limits: Limits;
  log: CompileDeps["log"];
  /** retired is set when a newer snapshot replaced this listener's handler. */
  retired: boolean;
  /** conns are the live HTTP/1.1 connections, so retire() can drain them. */
  conns: LiveSet<LiveConn>;
  /**
   * next is the runtime that replaced this one (handOver): connections follow the chain before
   * routing each new request, so keep-alive clients see new routes without reconnecting.
   */
  next: ListenerRuntime | undefined;
  /** acmeHttp01 are the snapshot's pending HTTP-01 tokens, answered before routing (acme/http01.ts). */
  acmeHttp01?: Http01Table | undefined;
}

/** currentRuntime follows rt's successor chain to the runtime serving now. */
export function currentRuntime(rt: ListenerRuntime): ListenerRuntime {
  while (rt.next !== undefined) rt = rt.next;
  return rt;
}
