// types.ts: the analytics contract. Engines (every worker process, every remote engine) aggregate
// their diagnostics_channel events into an AnalyticsBatch per interval — counters, latency sketches,
// top-N candidates and the significant requests — and ship it next to their load report; the
// controller merges batches from every engine into one time series per virtual service, route and
// backend (store), scores health, and serves both on the admin API and the console. Everything that
// crosses a process boundary is plain JSON data defined here; nothing here imports the engine.
//
// Why sketches and not averages: percentiles of several engines cannot be averaged. A DDSketch
// (relative-error quantiles, mergeable by adding bin counts) makes the merged p99 the p99 of the
// union of samples within the sketch's stated error, whatever the number of engines.

/** ANALYTICS_RELATIVE_ACCURACY is the DDSketch's relative error bound on every quantile (1%). */
export const ANALYTICS_RELATIVE_ACCURACY = 0.01;

/**
 * SketchData is a serialised DDSketch (sketch.ts) of values in milliseconds: bins are the sparse
 * positive bins as a flat [index, count, index, count, ...] array (index by the log-gamma mapping
 * of ANALYTICS_RELATIVE_ACCURACY); zero counts values below the sketch's minimum indexable value.
 */
export interface SketchData {
  count: number;
  sum: number;
  min: number;
  max: number;
  zero: number;
  bins: number[];
}

/**
 * TimingPart names one span of an exchange, split the way Avi's end-to-end timing is:
 * - total: the request's first byte read to the last byte of the response handed to the socket,
 *   sent to the kernel unless the socket is backpressured (the event's durationMs; the handshake is its own part; docs/analytics.md);
 * - request: the first byte read to the proxy asking for a backend (body when the proxy buffered
 *   it) — the client side (docs/analytics.md says what else falls in);
 * - connect: waiting for a backend connection (0 when a pooled one was reused; absent when no
 *   backend was tried);
 * - ttfb: request handed to the backend to the backend's response headers (server time);
 * - transfer: response headers from the backend to the last byte handed to the socket.
 * handshake is per connection, not per request: a TLS handshake's duration (TLS listeners only).
 */
export type TimingPart = "total" | "request" | "connect" | "ttfb" | "transfer" | "handshake";

/** TIMING_PARTS lists every TimingPart in display order. */
export const TIMING_PARTS: readonly TimingPart[] = [
  "total",
  "request",
  "connect",
  "ttfb",
  "transfer",
  "handshake",
];

/** Measures are one interval's figures for one virtual service, route or backend; all counters add. */
export interface Measures {
  /** requests finished (HTTP) or sessions closed (L4) in the interval. */
  requests: number;
  /** codes counts responses by status code ("200", "503"; "0": the connection broke before a status). */
  codes: Record<string, number>;
  bytesIn: number;
  bytesOut: number;
  /** connNew counts client connections opened in the interval (virtual service level only). */
  connNew: number;
  /** connOpen is the number open at the end of the interval (a gauge: summed across engines). */
  connOpen: number;
  /** tls counts completed handshakes by version ("TLSv1.3"); tlsFailures the failed ones. */
  tls: Record<string, number>;
  tlsFailures: number;
  /** http counts requests by protocol the client spoke ("HTTP/1.1", "HTTP/2", "HTTP/1.0"). */
  http: Record<string, number>;
  /** latency holds one sketch per timing part that had a sample, values in milliseconds. */
  latency: Partial<Record<TimingPart, SketchData>>;
  /** resets and timeouts count exchanges that ended by a reset or a timeout (client or backend). */
  resets: number;
  timeouts: number;
  /** denied counts requests refused by a policy (access, WAF block), whatever the status. */
  denied: number;
}

/** TopKind names the top-N lists kept per virtual service. */
export type TopKind = "urls" | "clients" | "userAgents" | "codes" | "backends" | "routes";

/** TopLists are approximate top-N counts (space-saving, topn.ts) per kind: value → count. */
export type TopLists = Partial<Record<TopKind, Record<string, number>>>;

/**
 * ServiceBatch is one virtual service's interval: a Service VIP:port (L4 listener), or an HTTP
 * listener's virtual host (an Ingress host, a Gateway listener's hostname). Its key is vsKey().
 */
export interface ServiceBatch {
  /** kind: "http" (an HTTP listener's virtual host), "l4" (TCP/UDP), "tls" (TLS passthrough/SNI routes). */
  kind: "http" | "l4" | "tls";
  /** listener is the IR listener name ("Service/ns/name:53/UDP", "IngressClass/portico:443"). */
  listener: string;
  /** vhost is the virtual host's configured hostname ("*": any), for kind "http". */
  vhost?: string;
  total: Measures;
  /** routes by IR route name ("Ingress/ns/name#0"); backends by "POOL BACKEND" (pool key, address:port). */
  routes: Record<string, Measures>;
  backends: Record<string, Measures>;
  top: TopLists;
}

/** LogReason says why a request was kept: significant (the first six) or a full log ("full"). */
export type LogReason = "5xx" | "reset" | "timeout" | "slow" | "policy" | "waf" | "full";

/** LogRecord is one kept request. Never holds headers other than the user agent, nor bodies. */
export interface LogRecord {
  /** at is when the exchange finished (ms since the epoch); vs is its virtual service key. */
  at: number;
  vs: string;
  reasons: LogReason[];
  engine: string;
  listener: string;
  route: string;
  backend: string;
  client: string;
  method: string;
  authority: string;
  /** path as the client sent it without the query's values (names kept: "/cb?code&state"), truncated to 1 KiB. */
  path: string;
  protocol: string;
  status: number;
  /** userAgent as sent (truncated to 256 bytes); browser and os as parsed from it (user-agent.ts). */
  userAgent: string;
  browser: string;
  os: string;
  bytesIn: number;
  bytesOut: number;
  /** timings in milliseconds, by part (absent parts did not happen). */
  timings: Partial<Record<TimingPart, number>>;
  /** error is the proxy's own reason when it answered or broke the exchange ("" otherwise). */
  error: string;
  /** waf summarises the WAF's verdict when a WafPolicy inspected the request. */
  waf?: { policy: string; action: string; ruleIds: number[] };
}

/** AnalyticsBatch is what one engine ships per interval (workers' batches merge into one first). */
export interface AnalyticsBatch {
  /** engine names the sender ("local" for the in-process engine; the engine's name in a fleet). */
  engine: string;
  /** group is the sender's EngineGroup (absent: "default"). */
  group?: string;
  /** at is the end of the interval (ms since the epoch); intervalMs its length. */
  at: number;
  intervalMs: number;
  /** services by vsKey(). */
  services: Record<string, ServiceBatch>;
  /** logs are the kept requests of the interval, oldest first; dropped counts those over the cap. */
  logs: LogRecord[];
  dropped: number;
}

/** AnalyticsSettings travel in the snapshot (EngineSnapshot.analytics); defined with the IR. */
export type { AnalyticsSettings } from "../model/ir.ts";

/** DEFAULT_LATENCY_TARGET_MS is the Apdex target of a virtual service without its own (Avi's default). */
export const DEFAULT_LATENCY_TARGET_MS = 500;

/** SLOW_FACTOR: a request slower than SLOW_FACTOR × target is "frustrated" (Apdex) and significant. */
export const SLOW_FACTOR = 4;

/** LATENCY_TARGET_ANNOTATION sets a virtual service's latency target on its Service, Ingress or Gateway ("250ms", "1s"). */
export const LATENCY_TARGET_ANNOTATION = "portico.dev/latency-target";

/** vsKey names a virtual service: the listener for L4/TLS, "LISTENER HOST" for an HTTP virtual host. */
export function vsKey(listener: string, vhost?: string): string {
  return vhost === undefined || vhost === "" ? listener : `${listener} ${vhost}`;
}

// ---------------------------------------------------------------------------------------------
// What the admin API answers (GET /api/v1/analytics/...); the console reads only these.

/** Window names a query's time range; each maps to a resolution (store.ts RESOLUTIONS). */
export type Window = "5m" | "1h" | "6h" | "24h" | "7d" | "30d";

/** Quantiles are p50/p90/p99/max in milliseconds of one timing part (absent when no sample). */
export interface Quantiles {
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

/** SeriesPoint is one bucket of a series: counters over the bucket, quantiles per timing part. */
export interface SeriesPoint {
  /** t is the bucket's start (ms since the epoch). */
  t: number;
  requests: number;
  /** classes counts responses by class ("2xx", "5xx", "none"). */
  classes: Record<string, number>;
  bytesIn: number;
  bytesOut: number;
  connNew: number;
  connOpen: number;
  latency: Partial<Record<TimingPart, Quantiles>>;
}

/** Series answers GET /api/v1/analytics/series?vs=KEY[&route=R|&backend=B]&window=W. */
export interface Series {
  vs: string;
  window: Window;
  resolutionMs: number;
  points: SeriesPoint[];
}

/** HealthReason is one thing that lowered a score, with the points it took. */
export interface HealthReason {
  /** kind: latency (Apdex), errors, backends, saturation, attacks, addresses (a pool running out),
   * engines (an engine group's engines not ready or missing). */
  kind: "latency" | "errors" | "backends" | "saturation" | "attacks" | "addresses" | "engines";
  penalty: number;
  message: string;
}

/** Health is a 0–100 score (100: nothing wrong) and why it is not 100. */
export interface Health {
  score: number;
  reasons: HealthReason[];
}

/** ServiceSummary is one row of GET /api/v1/analytics/services?window=W (the console's overview). */
export interface ServiceSummary {
  vs: string;
  kind: ServiceBatch["kind"];
  listener: string;
  vhost?: string;
  /** engines that reported traffic for it in the window. */
  engines: string[];
  requests: number;
  requestsPerSecond: number;
  /** errorRate is the share of 5xx and broken exchanges (0..1). */
  errorRate: number;
  bytesIn: number;
  bytesOut: number;
  connOpen: number;
  latency: Partial<Record<TimingPart, Quantiles>>;
  /** apdex is (satisfied + tolerating / 2) / requests against targetMs (1 when no request). */
  apdex: number;
  targetMs: number;
  health: Health;
  /** spark is requests per bucket over the window (oldest first), for a sparkline. */
  spark: number[];
}

/** AnalyticsSink receives every engine's batches in the controller (store.ts implements it). */
export interface AnalyticsSink {
  ingest(batch: AnalyticsBatch): void;
}

/** ANALYTICS_ENV turns the engines' collectors off when "off" (`portico run --analytics off`; the bench's A/B). */
export const ANALYTICS_ENV = "PORTICO_ANALYTICS";
