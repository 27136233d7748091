// events.ts: the engine's L7 diagnostics_channel events. Publishers check hasSubscribers first,
// so nothing is allocated when no one (core's metrics.ts) listens.
import type { WafHit } from "../../waf/engine/types.ts";
import diagnostics from "node:diagnostics_channel";

/** HTTP_RESPONSE_CHANNEL, CONNECTION_CHANNEL and HTTP2_CUT_CHANNEL name the channels below (subscribers). */
export const HTTP_RESPONSE_CHANNEL = "portico:http.response";
export const CONNECTION_CHANNEL = "portico:connection";
export const HTTP2_CUT_CHANNEL = "portico:http2.cut";
/** ACCESS_DENIED_CHANNEL names the channel of accessDenied (subscribers). */
export const ACCESS_DENIED_CHANNEL = "portico:access.denied";

/** httpResponse carries one finished exchange: HttpResponseEvent. */
export const httpResponse = diagnostics.channel(HTTP_RESPONSE_CHANNEL);
/** connection carries client connection open/close on an L7 listener: ConnectionEvent. */
export const connection = diagnostics.channel(CONNECTION_CHANNEL);

/** HttpResponseEvent is published when a response has been sent (or the exchange failed). */
export interface HttpResponseEvent {
  listener: string;
  /** route is the route name, or "" when no route matched. */
  route: string;
  /** vhost is the configured hostname of the virtual host that routed it ("*": any), "" when none. */
  vhost: string;
  pool: string;
  /** backend is "address:port", or "" when answered by the proxy. */
  backend: string;
  /** status sent to the client; 0 when the connection broke before a status was sent. */
  status: number;
  /** durationMs runs from the request's first byte read (ExchangeTimings) to its last response byte handed to the socket — sent to the kernel unless the socket is backpressured (net/write-batch.ts whenSent). */
  durationMs: number;
  /** bytesIn are request body bytes received; bytesOut response body bytes sent. */
  bytesIn: number;
  bytesOut: number;
  /** client is the client's address; method, authority and path are as the client sent them. */
  client: string;
  method: string;
  authority: string;
  path: string;
  /** protocol the client spoke: "HTTP/1.1", "HTTP/1.0" or "HTTP/2". */
  protocol: string;
  /** error is why the proxy answered an error itself ("" or absent otherwise); never sent to the client. */
  error?: string;
  /** waf is the WAF's evidence when the route has a WafPolicy (absent otherwise). */
  waf?: WafEvidence;
  // --- Analytics (issue 15): filled only while someone subscribes (the publisher checks) ---
  /**
   * timings split durationMs the way src/analytics/types.ts TimingPart says (request, connect,
   * ttfb, transfer; total is durationMs); a part that did not happen is absent.
   */
  timings?: ExchangeTimings;
  /** tls is the negotiated TLS version ("TLSv1.3") on a TLS listener, "" on plain HTTP. */
  tls?: string;
  /** userAgent is the request's User-Agent header as sent ("" when none). */
  userAgent?: string;
  /** outcome says how an exchange that did not complete ended ("reset", "timeout"); absent when it completed. */
  outcome?: "reset" | "timeout";
}

/**
 * ExchangeTimings are the spans of one exchange in milliseconds (analytics TimingPart), measured
 * from the same origin as durationMs — the arrival of the request's first byte: the event-loop
 * turn whose read brought it (net/arrival.ts; HTTP/1.1 the message's first byte, HTTP/2 the read
 * of its HEADERS) — with performance.now():
 * - request: to the first ask for a backend connection — the head, plus the body when the proxy
 *   held it first (HTTP/1.1 request buffering, WAF body inspection), plus any decision step that
 *   waited (external auth); with no backend asked, to the request fully read (absent if never);
 * - connect: to the serving attempt's connection being ready (0: pooled, or the h2c session was
 *   up; failed attempts before it count here); absent when no backend was asked;
 * - ttfb: to the backend's final response head (a body streamed to the backend after the ask is
 *   the backend's time: HTTP/2 and large bodies); to the end when no head came (a timeout);
 * - transfer: to the last byte handed to the socket (sent to the kernel unless backpressured; absent for a WebSocket's 101: the exchange
 *   ends there; the tunnel is not timed).
 * When a backend was asked, request + connect + ttfb + transfer = durationMs (all four or what
 * ran); otherwise the parts present are within it.
 */
export interface ExchangeTimings {
  request?: number;
  connect?: number;
  ttfb?: number;
  transfer?: number;
}

/**
 * WafEvidence is what the WAF did to one exchange. action: pass (inspected, nothing blocking),
 * detect (Detection mode: it would have blocked, see wouldBlock), block (answered by the WAF), drop
 * (connection closed by the WAF), bypass (allowlisted: not inspected), error (the budget ran out or
 * the program could not run; failurePolicy decided).
 */
export interface WafEvidence {
  policy: string;
  action: "pass" | "detect" | "block" | "drop" | "bypass" | "error";
  /** ruleIds of every logged hit, in order (what the CRS regression corpus checks). */
  ruleIds: number[];
  /** hits in detail, at most 16: values as sent, truncated by the engine, NOT redacted — the WAF
   * log (waf-log.ts) redacts credentials; the access log leaves values out. */
  hits: WafHit[];
  inbound: number;
  outbound: number;
  /** blockedBy / wouldBlock: the rule whose disruptive action took effect / would have. */
  blockedBy?: number;
  wouldBlock?: number;
  overBudget?: boolean;
  elapsedMs: number;
}

/** ConnectionEvent is published when a client connection opens or closes. */
export interface ConnectionEvent {
  listener: string;
  event: "open" | "close";
}

/** http2Cut carries one HTTP/2 connection cut for abuse (h2-guard.ts): Http2CutEvent. */
export const http2Cut = diagnostics.channel(HTTP2_CUT_CHANNEL);

/** Http2CutEvent is published when an HTTP/2 connection is cut with GOAWAY ENHANCE_YOUR_CALM. */
export interface Http2CutEvent {
  listener: string;
  /** reason is a CutReason of h2-guard.ts ("rapid_reset", "settings_flood", ...). */
  reason: string;
}

/** accessDenied carries one request or connection an access policy refused: AccessDeniedEvent. */
export const accessDenied = diagnostics.channel(ACCESS_DENIED_CHANNEL);

/**
 * AccessDeniedEvent is published when an AccessPolicy refuses a request: 403 for deny and
 * not_allowed, 429 for rate_limited. (A connection closed at a listener's maxConnections is a
 * LimitEvent "access_max_connections", net/limit-reached.ts.)
 */
export interface AccessDeniedEvent {
  listener: string;
  /** policy is AccessConfig.policy ("AccessPolicy/ns/name"). */
  policy: string;
  reason: "deny" | "not_allowed" | "rate_limited" | "concurrency";
}
