// metrics.ts: aggregates the engine's diagnostics_channel events per VIP listener and per backend
// and renders them as Prometheus text (format 0.0.4). Cardinality is bounded: past maxListeners
// listeners, maxBackends pool/backend pairs, maxRoutes routes or maxHosts hosts, new ones are counted
// under the label "__overflow__" (the "other" bucket).
import { subscribe, unsubscribe } from "node:diagnostics_channel";
import { DNS_QUERY_CHANNEL, type DnsQueryEvent } from "./dns/events.ts";
import { HEALTH_CHANNEL, type HealthChange } from "./health/registry.ts";
import { L4_SESSION_CHANNEL, type L4SessionEvent } from "./l4/events.ts";
import { LIMIT_CHANNEL, type LimitEvent } from "./net/limit-reached.ts";
import { TLS_FAILURE_CHANNEL, type TlsFailureEvent } from "./tls/handshake-failures.ts";
import { OCSP_CHANNEL, type OcspEvent } from "./tls/ocsp/stapler.ts";
import { TLS_HANDSHAKE_CHANNEL, type TlsHandshakeEvent } from "./tls/terminate.ts";
import {
  ACCESS_DENIED_CHANNEL,
  CONNECTION_CHANNEL,
  HTTP2_CUT_CHANNEL,
  HTTP_RESPONSE_CHANNEL,
  type AccessDeniedEvent,
  type ExchangeTimings,
  type WafEvidence,
} from "./l7/events.ts";
import {
  Counter,
  DEFAULT_BUCKETS,
  Gauge,
  Histogram,
  type CounterSeries,
  type Family,
  type HistogramSeries,
} from "./prom.ts";

/** OVERFLOW_LABEL replaces label values beyond the cardinality caps. */
export const OVERFLOW_LABEL = "__overflow__";

/** HttpResponseFields are the fields of an l7 response event that metrics reads. */
interface HttpResponseFields {
  listener: string;
  route: string;
  pool: string;
  backend: string;
  status: number;
  durationMs: number;
  bytesIn: number;
  bytesOut: number;
  /** vhost is the hostname of the virtual host that routed the request, as configured ("*": any). */
  vhost?: string;
  waf?: WafEvidence;
  /** timings split durationMs by phase (analytics; filled while someone subscribes). */
  timings?: ExchangeTimings;
}

/** PHASES are the phase label values of portico_http_phase_duration_seconds, in ExchangeTimings order. */
export const PHASES = ["request", "connect", "ttfb", "transfer"] as const;

/** PHASE_BUCKETS reach below DEFAULT_BUCKETS: a pooled connect or a small request takes microseconds. */
const PHASE_BUCKETS = [0.0001, 0.00025, 0.0005, ...DEFAULT_BUCKETS];

/**
 * ListenerSeries are one listener's series, resolved once: a request then costs one Map lookup by
 * the listener's name instead of a joined label key (a new string to hash) per series it adds to.
 */
interface ListenerSeries {
  label: string;
  requests: CounterSeries;
  /** responses by class index, made on first use. */
  responses: (CounterSeries | undefined)[];
  duration: HistogramSeries;
  bytesIn: CounterSeries;
  bytesOut: CounterSeries;
  /** phases by PHASES index, made on first use. */
  phases: (HistogramSeries | undefined)[];
  /** vhosts maps a configured hostname to its request counters per class index. */
  vhosts: Map<string, (CounterSeries | undefined)[]>;
}

/** STATUS_CLASSES are the class labels by status / 100 (0: no status sent); see statusClass. */
const STATUS_CLASSES = ["none", "1xx", "2xx", "3xx", "4xx", "5xx"] as const;

function classIndex(status: number): number {
  return status >= 100 && status < 600 ? Math.floor(status / 100) : 0;
}

/** RouteSeries are one route's series, resolved once so a request costs one Map lookup. */
interface RouteSeries {
  label: string;
  duration: HistogramSeries;
  /** byClass holds the route's request counter per class index, made on first use. */
  byClass: (CounterSeries | undefined)[];
  /** vhost and hostByClass are the host series of the last virtual host seen (most routes have one). */
  vhost: string | undefined;
  hostByClass: (CounterSeries | undefined)[];
  /** hosts holds hostByClass of every virtual host seen (a route may serve several hostnames). */
  hosts: Map<string, (CounterSeries | undefined)[]>;
}

/** BackendSeries are one pool/backend pair's series, resolved once (see ListenerSeries). */
interface BackendSeries {
  requests: CounterSeries;
  /** responses by class index, made on first use. */
  responses: (CounterSeries | undefined)[];
  labels: [string, string];
  duration: HistogramSeries;
}

/** ConnectionFields are the fields of an l7 connection event. */
interface ConnectionFields {
  listener: string;
  event: "open" | "close";
}

/** Http2CutFields are the fields of an l7 HTTP/2 cut event; reason is one of a fixed few. */
interface Http2CutFields {
  listener: string;
  reason: string;
}

/** MetricsOptions cap label cardinality. */
export interface MetricsOptions {
  maxListeners?: number;
  maxBackends?: number;
  /** maxRoutes and maxHosts cap the per-route and per-host series (env PORTICO_METRICS_MAX_ROUTES/_HOSTS, default 1000). */
  maxRoutes?: number;
  maxHosts?: number;
  /** maxPolicies caps the policy label of portico_access_denied_total (default 1000). */
  maxPolicies?: number;
  /** endpoints, when given, is read at each render to set portico_backend_healthy (e.g. engine.status().endpoints). */
  endpoints?: () => Iterable<{ pool: string; backend: string; healthy: boolean }>;
  /** connections, when given, is read at each render for the engine's connection count and cap. */
  connections?: () => { active: number; max: number };
}

/** envCap reads a positive integer cap from the environment (workers inherit it), or def. */
function envCap(name: string, def: number): number {
  const n = Number(process.env[name]);
  return Number.isInteger(n) && n > 0 ? n : def;
}

/** NO_ROUTE labels requests that matched no route (route names always hold a "/"). */
export const NO_ROUTE = "none";

/** statusClass maps 404 to "4xx"; 0 (no status sent) to "none". */
export function statusClass(status: number): string {
  return STATUS_CLASSES[classIndex(status)]!;
}

/** Limiter admits up to max distinct values, then answers OVERFLOW_LABEL for new ones. */
class Limiter {
  private readonly seen = new Set<string>();
  private readonly max: number;
  constructor(max: number) {
    this.max = max;
  }
  admit(v: string): boolean {
    if (this.seen.has(v)) return true;
    if (this.seen.size >= this.max) return false;
    this.seen.add(v);
    return true;
  }
}

/** Metrics subscribes to the engine's channels and renders Prometheus text. */
export class Metrics {
  private readonly listeners: Limiter;
  private readonly backends: Limiter;
  private readonly routes: Limiter;
  private readonly hosts: Limiter;
  private readonly policies: Limiter;
  private readonly wafPolicies = new Limiter(1000);
  private readonly wafRules = new Limiter(2000);
  private readonly families: Family[] = [];
  private readonly handlers: [string, (m: unknown) => void][] = [];
  private readonly endpoints: MetricsOptions["endpoints"];
  private readonly connectionCount: MetricsOptions["connections"];

  private readonly httpRequests = this.add(
    new Counter("portico_http_requests_total", "HTTP requests per VIP listener.", ["listener"]),
  );
  private readonly httpResponses = this.add(
    new Counter("portico_http_responses_total", "HTTP responses per VIP listener by status class.", [
      "listener",
      "class",
    ]),
  );
  private readonly wafRequests = this.add(
    new Counter(
      "portico_waf_requests_total",
      "HTTP requests of routes with a WAF policy by what the WAF did (pass, detect, block, drop, bypass, error).",
      ["listener", "route", "policy", "action"],
    ),
  );
  private readonly wafRuleHits = this.add(
    new Counter("portico_waf_rule_hits_total", "WAF rule matches that log, per policy and rule id.", [
      "policy",
      "rule",
    ]),
  );
  private readonly wafDuration = this.add(
    new Histogram(
      "portico_waf_duration_seconds",
      "WAF inspection time per request, per policy.",
      ["policy"],
      [0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25],
    ),
  );
  private readonly httpDuration = this.add(
    new Histogram("portico_http_request_duration_seconds", "HTTP exchange latency per VIP listener.", [
      "listener",
    ]),
  );
  private readonly bytesIn = this.add(
    new Counter(
      "portico_received_bytes_total",
      "Bytes received from clients per VIP listener (HTTP bodies, L4 payload).",
      ["listener"],
    ),
  );
  private readonly bytesOut = this.add(
    new Counter(
      "portico_sent_bytes_total",
      "Bytes sent to clients per VIP listener (HTTP bodies, L4 payload).",
      ["listener"],
    ),
  );
  private readonly connections = this.add(
    new Counter(
      "portico_connections_total",
      "Client connections (HTTP) and sessions (L4) opened per VIP listener.",
      ["listener"],
    ),
  );
  private readonly active = this.add(
    new Gauge(
      "portico_active_connections",
      "Open client connections (HTTP) and sessions (L4) per VIP listener.",
      ["listener"],
    ),
  );
  private readonly http2Cuts = this.add(
    new Counter(
      "portico_http2_cut_connections_total",
      "HTTP/2 client connections cut with GOAWAY ENHANCE_YOUR_CALM for abuse, by reason.",
      ["listener", "reason"],
    ),
  );
  private readonly l4Rejected = this.add(
    new Counter(
      "portico_l4_rejected_total",
      "L4 connections or sessions refused for lack of a backend or the session cap.",
      ["listener"],
    ),
  );
  private readonly l4Duration = this.add(
    new Histogram(
      "portico_l4_session_duration_seconds",
      "L4 connection/session lifetime per VIP listener.",
      ["listener"],
      [0.01, 0.1, 1, 10, 60, 300, 1800, 3600],
    ),
  );
  private readonly backendRequests = this.add(
    new Counter("portico_backend_requests_total", "HTTP requests and L4 sessions sent to each backend.", [
      "pool",
      "backend",
    ]),
  );
  private readonly backendResponses = this.add(
    new Counter("portico_backend_responses_total", "HTTP responses from each backend by status class.", [
      "pool",
      "backend",
      "class",
    ]),
  );
  private readonly backendDuration = this.add(
    new Histogram("portico_backend_request_duration_seconds", "HTTP exchange latency per backend.", [
      "pool",
      "backend",
    ]),
  );
  private readonly backendHealthy = this.add(
    new Gauge(
      "portico_backend_healthy",
      "1 when the backend takes traffic, 0 when ejected or failing checks.",
      ["pool", "backend"],
    ),
  );

  // --- analytics (issue 15): phases per listener, requests per virtual service, TLS versions ---
  private readonly phaseDuration = this.add(
    new Histogram(
      "portico_http_phase_duration_seconds",
      "HTTP exchange time per phase (request received, backend connect, backend time to first byte, transfer to the client) per VIP listener.",
      ["listener", "phase"],
      PHASE_BUCKETS,
    ),
  );
  private readonly vhostRequests = this.add(
    new Counter(
      "portico_http_vhost_requests_total",
      'HTTP requests per virtual service (VIP listener and configured hostname, "*": catch-all) by status class.',
      ["listener", "vhost", "class"],
    ),
  );
  private readonly tlsHandshakes = this.add(
    new Counter(
      "portico_tls_handshakes_total",
      "Completed client TLS handshakes per VIP listener by version.",
      ["listener", "version"],
    ),
  );
  /** listenerSeries caches the ListenerSeries of admitted listeners by name. */
  private readonly listenerSeries = new Map<string, ListenerSeries>();
  /** backendSeries caches BackendSeries by pool, then backend id: no string is joined per request. */
  private readonly backendSeries = new Map<string, Map<string, BackendSeries>>();
  // The overflow's series, shared by every listener or pair past its cap (never cached by name).
  private overflowListener: ListenerSeries | undefined;
  private overflowBackend: BackendSeries | undefined;
  /** vhostPairs caps listener×vhost pairs (maxHosts); tlsVersions the version label. */
  private readonly vhostPairs: Limiter;
  private readonly tlsVersions = new Limiter(16);
  // --- end analytics ---

  // --- per-route and per-host series (issue 11.5): bounded by maxRoutes / maxHosts. ---
  private readonly routeRequests = this.add(
    new Counter("portico_http_route_requests_total", "HTTP requests per route by status class.", [
      "route",
      "class",
    ]),
  );
  private readonly routeDuration = this.add(
    new Histogram("portico_http_route_request_duration_seconds", "HTTP exchange latency per route.", [
      "route",
    ]),
  );
  private readonly hostRequests = this.add(
    new Counter(
      "portico_http_host_requests_total",
      'HTTP requests per configured hostname that routed them ("*": catch-all) by status class.',
      ["host", "class"],
    ),
  );
  /** routeSeries caches RouteSeries by route name (NO_ROUTE for unrouted), admitted routes only. */
  private readonly routeSeries = new Map<string, RouteSeries>();
  private overflowRoute: RouteSeries | undefined;
  // --- end per-route and per-host series ---
  // Limits and TLS (docs/limits.md): label values come from fixed sets, never from error texts.
  private readonly limitsReached = this.add(
    new Counter(
      "portico_limits_reached_total",
      "Times a limit was enforced: connections closed at a cap or rate, request bodies timed out (408).",
      ["listener", "limit"],
    ),
  );
  private readonly engineConnections = this.add(
    new Gauge(
      "portico_engine_connections",
      "Client connections the engine holds, all listeners together.",
      [],
    ),
  );
  private readonly engineMaxConnections = this.add(
    new Gauge(
      "portico_engine_max_connections",
      "The engine's connection cap (0: none); see docs/limits.md.",
      [],
    ),
  );
  // Access policy (docs/limits.md): reason is one of four; a listener's connection cap names no policy ("").
  private readonly accessDeniedTotal = this.add(
    new Counter(
      "portico_access_denied_total",
      "Requests an AccessPolicy refused (deny, not_allowed: 403; rate_limited: 429) and connections closed at a listener's maxConnections (connection_limit).",
      ["listener", "policy", "reason"],
    ),
  );
  private readonly tlsFailures = this.add(
    new Counter("portico_tls_handshake_failures_total", "Failed TLS handshakes of clients by reason.", [
      "listener",
      "reason",
    ]),
  );
  // OCSP stapling (docs/certificates.md): one series per served certificate naming a responder.
  private readonly ocspFetches = this.add(
    new Counter(
      "portico_ocsp_fetches_total",
      "OCSP responder fetches per certificate by result (good, revoked, unknown: a verified response; else why none).",
      ["certificate", "result"],
    ),
  );
  private readonly ocspStapling = this.add(
    new Gauge(
      "portico_ocsp_stapling",
      "1 while a verified, current OCSP response is stapled for the certificate, else 0.",
      ["certificate"],
    ),
  );
  private readonly ocspNextUpdate = this.add(
    new Gauge(
      "portico_ocsp_next_update_timestamp_seconds",
      "nextUpdate of the certificate's stapled OCSP response (Unix seconds); absent while none is.",
      ["certificate"],
    ),
  );

  // DNS (docs/dns.md): rcode and qtype come from fixed sets (wire.ts), server names are capped like listeners.
  private readonly dnsQueries = this.add(
    new Counter(
      "portico_dns_queries_total",
      "DNS queries per server by response code (DROPPED: nothing sent) and question type.",
      ["server", "rcode", "qtype"],
    ),
  );
  private readonly dnsLimited = this.add(
    new Counter(
      "portico_dns_rate_limited_total",
      "DNS responses held back by response-rate limiting: dropped, or sent truncated (slip).",
      ["server", "action"],
    ),
  );

  constructor(opts: MetricsOptions = {}) {
    this.listeners = new Limiter(opts.maxListeners ?? 1000);
    this.backends = new Limiter(opts.maxBackends ?? 5000);
    this.routes = new Limiter(opts.maxRoutes ?? envCap("PORTICO_METRICS_MAX_ROUTES", 1000));
    this.hosts = new Limiter(opts.maxHosts ?? envCap("PORTICO_METRICS_MAX_HOSTS", 1000));
    this.vhostPairs = new Limiter(opts.maxHosts ?? envCap("PORTICO_METRICS_MAX_HOSTS", 1000));
    this.policies = new Limiter(opts.maxPolicies ?? 1000);
    this.endpoints = opts.endpoints;
    this.connectionCount = opts.connections;
  }

  /** subscribe starts listening on every channel; returns this. */
  subscribe(): this {
    this.on(HTTP_RESPONSE_CHANNEL, (m) => this.onHttp(m as HttpResponseFields));
    this.on(CONNECTION_CHANNEL, (m) => this.onConnection(m as ConnectionFields));
    this.on(HTTP2_CUT_CHANNEL, (m) => {
      const e = m as Http2CutFields;
      this.http2Cuts.add([this.listener(e.listener), e.reason]);
    });
    this.on(L4_SESSION_CHANNEL, (m) => this.onL4(m as L4SessionEvent));
    this.on(HEALTH_CHANNEL, (m) => this.onHealth(m as HealthChange));
    this.on(DNS_QUERY_CHANNEL, (m) => {
      const e = m as DnsQueryEvent;
      const server = this.listener(e.server);
      this.dnsQueries.add([server, e.rcode, e.qtype]);
      if (e.limited) this.dnsLimited.add([server, e.limited]);
    });
    this.on(LIMIT_CHANNEL, (m) => {
      const e = m as LimitEvent;
      const listener = this.listener(e.listener);
      this.limitsReached.add([listener, e.limit]);
      if (e.limit === "access_max_connections")
        this.accessDeniedTotal.add([listener, "", "connection_limit"]);
    });
    this.on(ACCESS_DENIED_CHANNEL, (m) => {
      const e = m as AccessDeniedEvent;
      const policy = this.policies.admit(e.policy) ? e.policy : OVERFLOW_LABEL;
      this.accessDeniedTotal.add([this.listener(e.listener), policy, e.reason]);
    });
    this.on(TLS_FAILURE_CHANNEL, (m) => {
      const e = m as TlsFailureEvent;
      this.tlsFailures.add([this.listener(e.listener), e.reason]);
    });
    this.on(OCSP_CHANNEL, (m) => this.onOcsp(m as OcspEvent));
    this.on(TLS_HANDSHAKE_CHANNEL, (m) => {
      const e = m as TlsHandshakeEvent;
      const v = e.version || "unknown";
      this.tlsHandshakes.add([this.listener(e.listener), this.tlsVersions.admit(v) ? v : OVERFLOW_LABEL]);
    });
    return this;
  }

  /** close unsubscribes from every channel. */
  close(): void {
    for (const [name, fn] of this.handlers) unsubscribe(name, fn);
    this.handlers.length = 0;
  }

  /** render returns the exposition text (Content-Type: text/plain; version=0.0.4). */
  render(): string {
    if (this.connectionCount) {
      const c = this.connectionCount();
      this.engineConnections.set([], c.active);
      this.engineMaxConnections.set([], c.max);
    }
    if (this.endpoints) {
      for (const e of this.endpoints())
        this.backendHealthy.set(this.backend(e.pool, e.backend), e.healthy ? 1 : 0);
    }
    const out: string[] = [];
    for (const f of this.families) f.render(out);
    return out.join("\n") + "\n";
  }

  private add<T extends Family>(f: T): T {
    this.families.push(f);
    return f;
  }

  private onOcsp(e: OcspEvent): void {
    const c = [e.certificate];
    if (e.result === "removed") {
      this.ocspStapling.delete(c);
      this.ocspNextUpdate.delete(c);
      return;
    }
    if (e.result !== "expired") this.ocspFetches.add([e.certificate, e.result]);
    this.ocspStapling.set(c, e.stapling ? 1 : 0);
    if (e.nextUpdate !== undefined) this.ocspNextUpdate.set(c, Math.floor(e.nextUpdate / 1000));
    else this.ocspNextUpdate.delete(c);
  }

  private on(name: string, fn: (m: unknown) => void): void {
    subscribe(name, fn);
    this.handlers.push([name, fn]);
  }

  private listener(name: string): string {
    return this.listeners.admit(name) ? name : OVERFLOW_LABEL;
  }

  private backend(pool: string, backend: string): [string, string] {
    return this.backends.admit(`${pool}|${backend}`) ? [pool, backend] : [OVERFLOW_LABEL, OVERFLOW_LABEL];
  }

  private onHttp(e: HttpResponseFields): void {
    const ls = this.listenerSeries.get(e.listener) ?? this.resolveListener(e.listener);
    const c = classIndex(e.status);
    const seconds = e.durationMs / 1000;
    ls.requests.v++;
    (ls.responses[c] ??= this.httpResponses.child([ls.label, STATUS_CLASSES[c]!])).v++;
    this.httpDuration.record(ls.duration, seconds);
    ls.bytesIn.v += e.bytesIn;
    ls.bytesOut.v += e.bytesOut;
    this.onRoute(e, e.status, seconds);
    if (e.timings !== undefined || e.vhost) this.onVirtualService(e, ls);
    if (e.waf !== undefined) this.onWaf(e, e.waf);
    if (e.backend) {
      const b = this.backendSeries.get(e.pool)?.get(e.backend) ?? this.resolveBackend(e.pool, e.backend);
      b.requests.v++;
      (b.responses[c] ??= this.backendResponses.child([b.labels[0], b.labels[1], STATUS_CLASSES[c]!])).v++;
      this.backendDuration.record(b.duration, seconds);
    }
  }

  // resolveListener makes a listener's series once. Only an admitted listener's are cached: past
  // maxListeners every new name shares the overflow's, not kept by name (so made-up names cost no
  // memory), as resolveRoute does.
  private resolveListener(name: string): ListenerSeries {
    if (!this.listeners.admit(name)) return (this.overflowListener ??= this.makeListener(OVERFLOW_LABEL));
    const ls = this.makeListener(name);
    this.listenerSeries.set(name, ls);
    return ls;
  }

  private makeListener(label: string): ListenerSeries {
    return {
      label,
      requests: this.httpRequests.child([label]),
      responses: [],
      duration: this.httpDuration.child([label]),
      bytesIn: this.bytesIn.child([label]),
      bytesOut: this.bytesOut.child([label]),
      phases: [],
      vhosts: new Map(),
    };
  }

  // resolveBackend makes an admitted pool/backend pair's series once; past maxBackends every new
  // pair shares the overflow's, not kept by name (a churning backend set costs no memory).
  private resolveBackend(pool: string, backend: string): BackendSeries {
    if (!this.backends.admit(`${pool}|${backend}`)) {
      return (this.overflowBackend ??= this.makeBackend([OVERFLOW_LABEL, OVERFLOW_LABEL]));
    }
    const b = this.makeBackend([pool, backend]);
    let byBackend = this.backendSeries.get(pool);
    if (byBackend === undefined) this.backendSeries.set(pool, (byBackend = new Map()));
    byBackend.set(backend, b);
    return b;
  }

  private makeBackend(labels: [string, string]): BackendSeries {
    return {
      labels,
      requests: this.backendRequests.child(labels),
      responses: [],
      duration: this.backendDuration.child(labels),
    };
  }

  // The phase and class series are made once per listener.
  private onVirtualService(e: HttpResponseFields, ls: ListenerSeries): void {
    const t = e.timings;
    if (t !== undefined) {
      // Named reads, not t[PHASES[i]]: a keyed load by a varying name is a slow path in V8.
      if (t.request !== undefined) this.phase(ls, 0, t.request);
      if (t.connect !== undefined) this.phase(ls, 1, t.connect);
      if (t.ttfb !== undefined) this.phase(ls, 2, t.ttfb);
      if (t.transfer !== undefined) this.phase(ls, 3, t.transfer);
    }
    const vhost = e.vhost;
    if (!vhost) return;
    let byClass = ls.vhosts.get(vhost);
    if (byClass === undefined) ls.vhosts.set(vhost, (byClass = []));
    const c = classIndex(e.status);
    let s = byClass[c];
    if (s === undefined) {
      const host = this.vhostPairs.admit(`${ls.label} ${vhost}`) ? vhost : OVERFLOW_LABEL;
      s = byClass[c] = this.vhostRequests.child([ls.label, host, STATUS_CLASSES[c]!]);
    }
    s.v++;
  }

  // phase records ms into the listener's histogram of PHASES[i], made on first use.
  private phase(ls: ListenerSeries, i: number, ms: number): void {
    const s = (ls.phases[i] ??= this.phaseDuration.child([ls.label, PHASES[i]!]));
    this.phaseDuration.record(s, ms / 1000);
  }

  // Policies and rule ids are bounded like routes: a policy per route at most, rule ids by the
  // rule sets loaded (the CRS has ~600).
  private onWaf(e: HttpResponseFields, w: WafEvidence): void {
    const route = this.routeSeries.get(e.route) ?? this.resolveRoute(e.route);
    const policy = this.wafPolicies.admit(w.policy) ? w.policy : OVERFLOW_LABEL;
    this.wafRequests.add([this.listener(e.listener), route.label, policy, w.action]);
    if (w.action === "bypass") return;
    this.wafDuration.observe([policy], w.elapsedMs / 1000);
    for (const id of w.ruleIds) {
      const rule = String(id);
      this.wafRuleHits.add([policy, this.wafRules.admit(rule) ? rule : OVERFLOW_LABEL]);
    }
  }

  // The host label is the configured hostname of the virtual host that routed the request, never
  // the client's Host: a catch-all route must not let made-up Host values take the slots.
  private onRoute(e: HttpResponseFields, status: number, seconds: number): void {
    const r = this.routeSeries.get(e.route) ?? this.resolveRoute(e.route);
    const c = classIndex(status);
    (r.byClass[c] ??= this.routeRequests.child([r.label, STATUS_CLASSES[c]!])).v++;
    this.routeDuration.record(r.duration, seconds);
    const vhost = e.vhost;
    if (e.route === "" || vhost === undefined) return;
    if (vhost !== r.vhost) {
      let byClass = r.hosts.get(vhost);
      if (byClass === undefined) r.hosts.set(vhost, (byClass = []));
      r.vhost = vhost;
      r.hostByClass = byClass;
    }
    let hs = r.hostByClass[c];
    if (hs === undefined) {
      const host = this.hosts.admit(vhost) ? vhost : OVERFLOW_LABEL;
      hs = r.hostByClass[c] = this.hostRequests.child([host, STATUS_CLASSES[c]!]);
    }
    hs.v++;
  }

  // resolveRoute makes a route's series; past maxRoutes every new route shares the overflow's.
  private resolveRoute(route: string): RouteSeries {
    const make = (label: string): RouteSeries => ({
      label,
      duration: this.routeDuration.child([label]),
      byClass: [],
      vhost: undefined,
      hostByClass: [],
      hosts: new Map(),
    });
    if (route === "" || this.routes.admit(route)) {
      const r = make(route === "" ? NO_ROUTE : route);
      this.routeSeries.set(route, r);
      return r;
    }
    return (this.overflowRoute ??= make(OVERFLOW_LABEL));
  }

  private onConnection(e: ConnectionFields): void {
    const l = [this.listener(e.listener)];
    if (e.event === "open") {
      this.connections.add(l);
      this.active.add(l, 1);
    } else this.active.add(l, -1);
  }

  private onL4(e: L4SessionEvent): void {
    const l = [this.listener(e.listener)];
    if (e.event === "reject") {
      this.l4Rejected.add(l);
      return;
    }
    if (e.event === "open") {
      this.connections.add(l);
      this.active.add(l, 1);
      this.backendRequests.add(this.backend(e.pool, e.backend));
      return;
    }
    this.active.add(l, -1);
    this.bytesIn.add(l, e.bytesIn);
    this.bytesOut.add(l, e.bytesOut);
    this.l4Duration.observe(l, e.durationMs / 1000);
  }

  private onHealth(e: HealthChange): void {
    this.backendHealthy.set(this.backend(e.pool, e.backend), e.healthy ? 1 : 0);
  }
}
