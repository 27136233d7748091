// collector.ts: the engine side of analytics. A Collector listens to the engine's diagnostics_channel
// events (HTTP responses, L7 connections, TLS handshakes and failures, access denials, L4 sessions)
// and adds them up per virtual service, route and backend for one interval; take() hands the
// interval over as an AnalyticsBatch (types.ts) and starts the next. Every worker process and every
// in-process engine runs one; the WorkerGroup merges its workers' batches (measures.ts mergeBatches)
// and the engine ships one batch per interval to the controller (docs/analytics.md).
//
// Where figures land (vsKey of types.ts):
// - an HTTP request: the virtual service LISTENER VHOST (the vhost that routed it; a request no
//   vhost took counts at the listener's own service, key LISTENER), its route, its backend;
// - an L7 connection, TLS handshake, TLS failure: the listener's own service (key LISTENER, kind
//   "http", no vhost). The events name only the listener, and the vhost of a connection is known
//   at its first request only (HTTP/2 and keep-alive carry several vhosts on one connection), so
//   connNew, connOpen, tls and tlsFailures of an HTTP listener live there, never on a vhost;
// - an L4 session (TCP/UDP): the listener's service, kind "l4"; a TLS passthrough SNI route's
//   session (listener "LISTENER ROUTE", sni-routes.ts) its own service, kind "tls".
//
// Latency sketches: a service keeps every timing part; a route its total; a backend its total,
// connect and ttfb (the server's side). Cost on the request path (bench/analytics-collector.ts
// measures it; docs/analytics.md "Cost"): one Map lookup for the route's Slot (its service and
// route measures, resolved once per interval and checked against the event's names), the
// backend's from the Slot's last one, four sketch bins at most (sketch.ts binOf, a table: each
// value's bin computed once for the service, route and backend sketches), nine sketch adds, and
// the top lists on a sample past TOP_EXACT requests (topn.ts TopSampler). Top lists of codes,
// routes and backends are not counted per request: the cut reads them off the exact per-route
// and per-backend counters. Memory is bounded per interval: services, routes and backends past
// their caps count under OVERFLOW_KEY, top lists keep TOP_CAPACITY entries, slots at most one
// per route cap, and at most MAX_LOGS records are kept (the rest counted in dropped).
import { subscribe, unsubscribe } from "node:diagnostics_channel";
import { L4_SESSION_CHANNEL, type L4SessionEvent } from "../engine/l4/events.ts";
import {
  ACCESS_DENIED_CHANNEL,
  CONNECTION_CHANNEL,
  HTTP_RESPONSE_CHANNEL,
  type AccessDeniedEvent,
  type ConnectionEvent,
  type HttpResponseEvent,
} from "../engine/l7/events.ts";
import { TLS_FAILURE_CHANNEL } from "../engine/tls/handshake-failures.ts";
import { TLS_HANDSHAKE_CHANNEL, type TlsHandshakeEvent } from "../engine/tls/terminate.ts";
import { isFullOnly, LiveMeasures, MAX_LOGS, OVERFLOW_KEY, PART, type Caps } from "./measures.ts";
import {
  reasonsOf,
  toLogRecord,
  truncate,
  wafBlocked,
  MAX_USER_AGENT,
  type SignificantContext,
} from "./significant.ts";
import { binOf } from "./sketch.ts";
import { samplerSeed, SpaceSaving, topOf, TopSampler } from "./topn.ts";
import { BatchQueue } from "./batch-queue.ts";
import {
  ANALYTICS_ENV,
  DEFAULT_LATENCY_TARGET_MS,
  type AnalyticsBatch,
  type AnalyticsSettings,
  type LogRecord,
  type Measures,
  type ServiceBatch,
  type TopLists,
} from "./types.ts";

/** OVERFLOW_KEY names the service, route or backend that counts everything past a cap (measures.ts). */
export { OVERFLOW_KEY };

/** MAX_TOP_KEY bounds a URL kept in a top list (the query string is left out before). */
const MAX_TOP_KEY = 256;

/** CollectorOptions: settings reads the serving snapshot's analytics settings at each event. */
export interface CollectorOptions {
  settings?: () => AnalyticsSettings | undefined;
  /** engine names the sender in batches and records ("local" by default: `portico run`'s engine). */
  engine?: string;
  group?: string;
  /** now is the wall clock (ms since the epoch); tests pass their own. */
  now?: () => number;
  /** caps per interval (defaults: 2,000 services, 5,000 routes, 5,000 backends, MAX_LOGS records). */
  maxServices?: number;
  maxRoutes?: number;
  maxBackends?: number;
  maxLogs?: number;
}

/** VsState is one virtual service's interval. */
interface VsState {
  key: string;
  kind: ServiceBatch["kind"];
  listener: string;
  vhost: string | undefined;
  total: LiveMeasures;
  routes: Map<string, LiveMeasures>;
  /** backends by pool, then "address:port": no string is joined per request. */
  backends: Map<string, Map<string, LiveMeasures>>;
  urls: SpaceSaving;
  clients: SpaceSaving;
  userAgents: SpaceSaving;
  /** sample decides which requests update the top lists (all of the first TOP_EXACT). */
  sample: TopSampler;
  /** gen is the settings generation targetMs and fullUntil were read at. */
  gen: number;
  targetMs: number;
  fullUntil: number;
}

/**
 * Slot is where one route's requests land in the current interval: its service and route
 * measures, resolved once, plus the last backend it sent to. A request uses it when listener,
 * vhost and route are the very names it was resolved for (one route name can serve several
 * listeners: next chains them); slots are dropped with their interval, so a slot never counts
 * into a batch already cut, and one resolved for a route a new snapshot moved (same name, another
 * vhost) is never used for it.
 */
interface Slot {
  listener: string;
  vhost: string;
  vs: VsState;
  route: LiveMeasures;
  pool: string;
  backend: string;
  /** bm: the measures of pool/backend, undefined until the route sent to a backend. */
  bm: LiveMeasures | undefined;
  next: Slot | undefined;
}

/**
 * Interval is one cut interval's state, detached from the collector: serialised at once by
 * take(), or a slice at a time by the Shipper (serialise()), off the data plane's critical path.
 */
export interface Interval {
  start: number;
  at: number;
  services: VsState[];
  open: Map<string, number>;
  logs: LogRecord[];
  dropped: number;
}

/** Collector accumulates the engine's events into per-interval AnalyticsBatches. */
export class Collector {
  readonly #o: CollectorOptions;
  readonly #now: () => number;
  readonly #handlers: [string, (m: unknown) => void][] = [];
  #start: number;
  /** #services: listener → vhost ("" for the listener's own service) → state. */
  #services = new Map<string, Map<string, VsState>>();
  #serviceCount = 0;
  #routeCount = 0;
  #backendCount = 0;
  #logs: LogRecord[] = [];
  #fullOnly = 0;
  #dropped = 0;
  /**
   * #open counts each listener's open connections, with the kind of service they belong to (an
   * L4 or TLS listener's long-lived sessions must not report it as "http"); it outlives intervals.
   */
  readonly #open = new Map<string, { n: number; kind: ServiceBatch["kind"] }>();
  /** #denials are the access policies that refused a request whose response event has not come yet, per listener. */
  readonly #denials = new Map<string, string[]>();
  #settingsSeen: AnalyticsSettings | undefined;
  #gen = 0;
  /** #slots by route name, for the current interval (Slot); at most caps.routes of them. */
  #slots = new Map<string, Slot>();
  #slotCount = 0;
  /** #ctx is reasonsOf's context, reused: nothing is allocated for a request not kept. */
  readonly #ctx: SignificantContext = { targetMs: 0, fullUntil: 0, now: 0, policyDenied: false };

  /** slotCount is how many route slots the current interval holds (at most caps.routes). */
  get slotCount(): number {
    return this.#slotCount;
  }

  /** caps are this collector's per-interval caps on names (its options, else the defaults). */
  readonly caps: Caps;

  constructor(o: CollectorOptions = {}) {
    this.#o = o;
    this.caps = {
      services: o.maxServices ?? 2000,
      routes: o.maxRoutes ?? 5000,
      backends: o.maxBackends ?? 5000,
    };
    this.#now = o.now ?? Date.now;
    this.#start = this.#now();
  }

  /** subscribe starts listening on the engine's channels; returns this. */
  subscribe(): this {
    this.#on(HTTP_RESPONSE_CHANNEL, (m) => this.onHttp(m as HttpResponseEvent));
    this.#on(CONNECTION_CHANNEL, (m) => this.onConnection(m as ConnectionEvent));
    this.#on(L4_SESSION_CHANNEL, (m) => this.onL4(m as L4SessionEvent));
    this.#on(TLS_HANDSHAKE_CHANNEL, (m) => this.onHandshake(m as TlsHandshakeEvent));
    this.#on(
      TLS_FAILURE_CHANNEL,
      (m) => this.#listenerState((m as { listener: string }).listener).total.tlsFailures++,
    );
    this.#on(ACCESS_DENIED_CHANNEL, (m) => this.onDenied(m as AccessDeniedEvent));
    return this;
  }

  /** close stops listening. */
  close(): void {
    for (const [name, fn] of this.#handlers) unsubscribe(name, fn);
    this.#handlers.length = 0;
  }

  /** onHttp adds one finished exchange (HTTP_RESPONSE_CHANNEL). */
  onHttp(ev: HttpResponseEvent): void {
    let vs: VsState;
    let r: LiveMeasures | undefined;
    let b: LiveMeasures | undefined;
    if (ev.route !== "") {
      const slot = this.#slot(ev);
      vs = this.#fresh(slot.vs);
      r = slot.route;
      if (ev.backend !== "") {
        if (slot.bm === undefined || slot.backend !== ev.backend || slot.pool !== ev.pool) {
          slot.bm = this.#backend(vs, ev.pool, ev.backend);
          slot.pool = ev.pool;
          slot.backend = ev.backend;
        }
        b = slot.bm;
      }
    } else {
      vs = this.#state(ev.listener, ev.vhost, "http");
      if (ev.backend !== "") b = this.#backend(vs, ev.pool, ev.backend);
    }
    const policyDenied = this.#denials.size > 0 && this.#wasDenied(ev);
    const denied = policyDenied || (ev.waf !== undefined && wafBlocked(ev) && ev.waf.action !== "detect");
    const ms = ev.durationMs;
    const bin = binOf(ms);
    addExchange(vs.total, ev, denied);
    vs.total.timeBin(PART.total, ms, bin);
    if (r !== undefined) {
      addExchange(r, ev, denied);
      r.timeBin(PART.total, ms, bin);
    }
    if (b !== undefined) {
      addExchange(b, ev, denied);
      b.timeBin(PART.total, ms, bin);
    }
    const t = ev.timings;
    if (t !== undefined) {
      if (t.request !== undefined) vs.total.timeBin(PART.request, t.request, binOf(t.request));
      // A backend's own figures: its connection wait and its time to first byte.
      if (t.connect !== undefined) {
        const c = t.connect;
        const cb = binOf(c);
        vs.total.timeBin(PART.connect, c, cb);
        b?.timeBin(PART.connect, c, cb);
      }
      if (t.ttfb !== undefined) {
        const f = t.ttfb;
        const fb = binOf(f);
        vs.total.timeBin(PART.ttfb, f, fb);
        b?.timeBin(PART.ttfb, f, fb);
      }
      if (t.transfer !== undefined) vs.total.timeBin(PART.transfer, t.transfer, binOf(t.transfer));
    }
    const w = vs.sample.next();
    if (w !== 0) {
      const path = ev.path;
      const q = path.indexOf("?");
      vs.urls.add(truncate(q < 0 ? path : path.slice(0, q), MAX_TOP_KEY), w);
      vs.clients.add(ev.client, w);
      if (ev.userAgent) vs.userAgents.add(truncate(ev.userAgent, MAX_USER_AGENT), w);
    }
    const ctx = this.#ctx;
    ctx.targetMs = vs.targetMs;
    ctx.fullUntil = vs.fullUntil;
    ctx.now = vs.fullUntil !== 0 ? this.#now() : 0;
    ctx.policyDenied = policyDenied;
    const reasons = reasonsOf(ev, ctx);
    if (reasons.length > 0)
      this.#keep(toLogRecord(ev, vs.key, reasons, this.#engine(), ctx.now || this.#now()));
  }

  /** onConnection counts an L7 client connection opening or closing at its listener. */
  onConnection(ev: ConnectionEvent): void {
    if (ev.event === "open") {
      this.#listenerState(ev.listener).total.connNew++;
      this.#opened(ev.listener, "http");
    } else this.#closed(ev.listener);
  }

  /** onL4 counts a TCP connection or UDP session: opened, refused, or closed with its bytes and duration. */
  onL4(ev: L4SessionEvent): void {
    const sni = ev.listener.indexOf(" ") >= 0;
    const vs = this.#state(ev.listener, "", sni ? "tls" : "l4");
    if (ev.event === "open") {
      vs.total.connNew++;
      this.#opened(ev.listener, vs.kind);
      return;
    }
    if (ev.event === "reject") {
      // Refused before a session began (no backend, the session cap): a broken exchange.
      vs.total.connNew++;
      vs.total.requests++;
      vs.total.code(0);
      return;
    }
    this.#closed(ev.listener);
    addSession(vs.total, ev);
    if (ev.backend !== "") addSession(this.#backend(vs, ev.pool, ev.backend), ev);
  }

  /** onHandshake counts a completed TLS handshake at its listener, by version ("TLS" when unknown), and its duration. */
  onHandshake(ev: TlsHandshakeEvent): void {
    const m = this.#listenerState(ev.listener).total;
    const v = ev.version || "TLS";
    m.tls.set(v, (m.tls.get(v) ?? 0) + 1);
    if (ev.handshakeMs !== undefined) m.time("handshake", ev.handshakeMs);
  }

  /** onDenied remembers an access policy's refusal until the refused request's response event. */
  onDenied(ev: AccessDeniedEvent): void {
    let q = this.#denials.get(ev.listener);
    if (q === undefined) this.#denials.set(ev.listener, (q = []));
    // A refusal whose response never came must not pile up: the oldest goes.
    if (q.length >= 64) q.shift();
    q.push(ev.policy);
  }

  /** takeIfAny is take(), or undefined when nothing happened in the interval (not worth shipping). */
  takeIfAny(now = this.#now()): AnalyticsBatch | undefined {
    const iv = this.detach(now);
    return iv === undefined ? undefined : this.serialise(iv, Infinity).next().value!;
  }

  /** take returns the interval's batch (ending now) and starts a new interval. */
  take(now = this.#now()): AnalyticsBatch {
    return this.serialise(this.detach(now, true)!, Infinity).next().value!;
  }

  /**
   * detach ends the interval now and hands its state over unserialised (undefined when nothing
   * happened, unless always): the next interval starts empty at once, whatever serialising the
   * detached one costs (serialise).
   */
  detach(now = this.#now(), always = false): Interval | undefined {
    // Listeners with connections open report their gauge even when nothing else happened.
    for (const [listener, o] of this.#open) if (o.n > 0) this.#state(listener, "", o.kind);
    const services: VsState[] = [];
    for (const byVhost of this.#services.values()) for (const vs of byVhost.values()) services.push(vs);
    if (!always && services.length === 0 && this.#logs.length === 0 && this.#dropped === 0) {
      this.#start = now;
      return undefined;
    }
    const open = new Map<string, number>();
    for (const [listener, o] of this.#open) open.set(listener, o.n);
    const iv: Interval = {
      start: this.#start,
      at: now,
      services,
      open,
      logs: this.#logs,
      dropped: this.#dropped,
    };
    this.#start = now;
    this.#services = new Map();
    this.#slots = new Map();
    this.#serviceCount = this.#routeCount = this.#backendCount = this.#slotCount = 0;
    this.#logs = [];
    this.#fullOnly = this.#dropped = 0;
    return iv;
  }

  /**
   * serialise turns a detached interval into its AnalyticsBatch a slice at a time: each next()
   * serialises about `slice` measures (a service's total, a route's, a backend's: one each, their
   * sketches most of the cost), then yields; the next() that finishes returns the batch.
   */
  *serialise(iv: Interval, slice: number): Generator<void, AnalyticsBatch, void> {
    const services: Record<string, ServiceBatch> = {};
    let done = 0;
    for (const vs of iv.services) {
      if (vs.vhost === undefined) vs.total.connOpen = iv.open.get(vs.listener) ?? 0;
      const routes: Record<string, Measures> = {};
      for (const [name, m] of vs.routes) {
        routes[name] = m.toData();
        if (++done >= slice) {
          done = 0;
          yield;
        }
      }
      const backends: Record<string, Measures> = {};
      for (const [pool, byAddr] of vs.backends)
        for (const [addr, m] of byAddr) {
          backends[pool === OVERFLOW_KEY ? OVERFLOW_KEY : `${pool} ${addr}`] = m.toData();
          if (++done >= slice) {
            done = 0;
            yield;
          }
        }
      services[vs.key] = serviceBatch(vs, routes, backends);
      if (++done >= slice) {
        done = 0;
        yield;
      }
    }
    return {
      engine: this.#engine(),
      ...(this.#o.group !== undefined ? { group: this.#o.group } : {}),
      at: iv.at,
      intervalMs: Math.max(0, iv.at - iv.start),
      services,
      logs: iv.logs.sort((a, b) => a.at - b.at),
      dropped: iv.dropped,
    };
  }

  #engine(): string {
    return this.#o.engine ?? "local";
  }

  #closed(listener: string): void {
    const o = this.#open.get(listener);
    if (o === undefined || o.n <= 1) this.#open.delete(listener);
    else o.n--;
  }

  #opened(listener: string, kind: ServiceBatch["kind"]): void {
    const o = this.#open.get(listener);
    if (o === undefined) this.#open.set(listener, { n: 1, kind });
    else o.n++;
  }

  // #wasDenied consumes the pending refusal ev answers: one whose policy the proxy's error names.
  #wasDenied(ev: HttpResponseEvent): boolean {
    const q = this.#denials.get(ev.listener);
    if (q === undefined || ev.error === undefined || ev.error === "") return false;
    const i = q.findIndex((p) => ev.error!.includes(p));
    if (i < 0) return false;
    q.splice(i, 1);
    if (q.length === 0) this.#denials.delete(ev.listener);
    return true;
  }

  #keep(r: LogRecord): void {
    const max = this.#o.maxLogs ?? MAX_LOGS;
    const full = isFullOnly(r);
    if (this.#logs.length < max) {
      this.#logs.push(r);
      if (full) this.#fullOnly++;
      return;
    }
    this.#dropped++;
    // Full logs never crowd out a failure: a significant record takes a full-only one's place.
    if (full || this.#fullOnly === 0) return;
    for (let i = this.#logs.length - 1; i >= 0; i--)
      if (isFullOnly(this.#logs[i]!)) {
        this.#logs[i] = r;
        this.#fullOnly--;
        return;
      }
  }

  #listenerState(listener: string): VsState {
    return this.#state(listener, "", "http");
  }

  #state(listener: string, vhost: string, kind: ServiceBatch["kind"]): VsState {
    let byVhost = this.#services.get(listener);
    let vs = byVhost?.get(vhost);
    if (vs === undefined) {
      const over = this.#serviceCount >= this.caps.services;
      if (over) {
        listener = OVERFLOW_KEY;
        vhost = "";
        byVhost = this.#services.get(listener);
        vs = byVhost?.get(vhost);
      }
      if (vs === undefined) {
        vs = newState(listener, vhost, kind);
        if (byVhost === undefined) this.#services.set(listener, (byVhost = new Map()));
        byVhost.set(vhost, vs);
        this.#serviceCount++;
      }
    }
    return this.#fresh(vs);
  }

  // #fresh is vs with the serving snapshot's settings for it (read again when they changed).
  #fresh(vs: VsState): VsState {
    const settings = this.#o.settings?.();
    if (settings !== this.#settingsSeen) {
      this.#settingsSeen = settings;
      this.#gen++;
    }
    if (vs.gen !== this.#gen) {
      vs.gen = this.#gen;
      vs.targetMs = settings?.targetsMs?.[vs.key] ?? DEFAULT_LATENCY_TARGET_MS;
      vs.fullUntil = settings?.fullLogsUntil?.[vs.key] ?? 0;
    }
    return vs;
  }

  // #slot is the Slot of ev's route in this interval, resolved (and kept) at its first request.
  #slot(ev: HttpResponseEvent): Slot {
    const head = this.#slots.get(ev.route);
    for (let s = head; s !== undefined; s = s.next)
      if (s.listener === ev.listener && s.vhost === ev.vhost) return s;
    const vs = this.#state(ev.listener, ev.vhost, "http");
    const slot: Slot = {
      listener: ev.listener,
      vhost: ev.vhost,
      vs,
      route: this.#route(vs, ev.route),
      pool: "",
      backend: "",
      bm: undefined,
      next: head,
    };
    // Past the cap (as many slots as routes may have names) a route resolves per request.
    if (this.#slotCount < this.caps.routes) {
      this.#slots.set(ev.route, slot);
      this.#slotCount++;
    }
    return slot;
  }

  #route(vs: VsState, route: string): LiveMeasures {
    let m = vs.routes.get(route);
    if (m === undefined) {
      if (this.#routeCount >= this.caps.routes) route = OVERFLOW_KEY;
      m = vs.routes.get(route);
      if (m === undefined) {
        vs.routes.set(route, (m = new LiveMeasures()));
        this.#routeCount++;
      }
    }
    return m;
  }

  #backend(vs: VsState, pool: string, backend: string): LiveMeasures {
    let byAddr = vs.backends.get(pool);
    let m = byAddr?.get(backend);
    if (m === undefined) {
      if (this.#backendCount >= this.caps.backends) {
        pool = OVERFLOW_KEY;
        backend = "";
        byAddr = vs.backends.get(pool);
        m = byAddr?.get(backend);
      }
      if (m === undefined) {
        if (byAddr === undefined) vs.backends.set(pool, (byAddr = new Map()));
        byAddr.set(backend, (m = new LiveMeasures()));
        this.#backendCount++;
      }
    }
    return m;
  }

  #on(name: string, fn: (m: unknown) => void): void {
    subscribe(name, fn);
    this.#handlers.push([name, fn]);
  }
}

/**
 * ANALYTICS_INTERVAL_MS: engines cut their batches at every multiple of 5 s of the wall clock —
 * the store's finest resolution, so each batch falls in one bucket — and ship each at their next
 * report. Serialising a cut interval is the collector's only work off the request path that grows
 * with the number of active routes (their sketches: ~1 ms for 100 active routes, ~14 ms for 1,000,
 * bench/analytics-collector.ts), so it runs every 5 s, not at every 1 s push, and in slices.
 */
export const ANALYTICS_INTERVAL_MS = 5_000;

/** SLICE_MEASURES is how many measures one serialise step does before the clock is read again. */
const SLICE_MEASURES = 32;
/** SLICE_MS bounds one turn of the event loop spent serialising a cut interval (requests run between turns). */
const SLICE_MS = 1;

/**
 * Shipper cuts a collector's interval at each wall-clock multiple of intervalMs and holds the
 * batch until take(), one per interval (batch-queue.ts): an engine whose reports stall (its
 * controller link down) ships the held intervals one per report afterwards, each to the bucket of
 * its own end; past the queue's bound the oldest merge, within the collector's caps. The timed cuts serialise in slices of at most SLICE_MS per event-loop turn (setImmediate), so a
 * thousand busy routes never hold the data plane for the whole cut; the batch is held once done.
 */
export class Shipper {
  readonly collector: Collector;
  readonly #intervalMs: number;
  // pending are the cut batches not yet taken, one per interval (batch-queue.ts).
  readonly #pending: BatchQueue;
  #timer: NodeJS.Timeout | undefined;
  /** #work is a timed cut still being serialised, #turn its next slice. */
  #work: Generator<void, AnalyticsBatch, void> | undefined;
  #turn: NodeJS.Immediate | undefined;

  constructor(collector: Collector, intervalMs = ANALYTICS_INTERVAL_MS) {
    this.collector = collector;
    this.#intervalMs = intervalMs;
    // Merged over time past the queue's bound, the names add up: the collector's caps hold.
    this.#pending = new BatchQueue(collector.caps);
    this.#schedule();
  }

  /** cut ends the collector's interval now and holds its batch (when anything happened), all at once. */
  cut(now = Date.now()): void {
    this.#finish();
    const b = this.collector.takeIfAny(now);
    if (b !== undefined) this.#pending.push(b);
  }

  /**
   * take returns the oldest batch not yet taken, undefined when none: one interval each, so after an
   * outage the held intervals go one per report, each to the bucket of its own end.
   */
  take(): AnalyticsBatch | undefined {
    return this.#pending.shift();
  }

  /** close stops cutting and the collector's subscriptions. */
  close(): void {
    clearTimeout(this.#timer);
    clearImmediate(this.#turn);
    this.#work = undefined;
    this.collector.close();
  }

  /**
   * cutInSlices ends the collector's interval now (new requests count into the next one at once)
   * and serialises it a slice per event-loop turn; take() has its batch once done.
   */
  cutInSlices(now = Date.now()): void {
    this.#finish();
    const iv = this.collector.detach(now);
    if (iv === undefined) return;
    this.#work = this.collector.serialise(iv, SLICE_MEASURES);
    this.#slice();
  }

  #slice(): void {
    const work = this.#work;
    if (work === undefined) return;
    const t0 = performance.now();
    for (;;) {
      const r = work.next();
      if (r.done) {
        this.#work = undefined;
        this.#pending.push(r.value);
        return;
      }
      if (performance.now() - t0 >= SLICE_MS) break;
    }
    this.#turn = setImmediate(() => this.#slice());
  }

  // #finish completes a cut still serialising (a new cut, or a synchronous one, comes first).
  #finish(): void {
    const work = this.#work;
    if (work === undefined) return;
    clearImmediate(this.#turn);
    this.#work = undefined;
    for (let r = work.next(); ; r = work.next())
      if (r.done) {
        this.#pending.push(r.value);
        return;
      }
  }

  // #schedule sets a timer for the next boundary, each time anew, so cuts never drift off them.
  // The batch ends at the boundary itself, not when the timer ran (always a little later): the
  // store files a batch by its end, and a few ms past the boundary would name the next bucket.
  #schedule(): void {
    const now = Date.now();
    const boundary = now - (now % this.#intervalMs) + this.#intervalMs;
    this.#timer = setTimeout(() => {
      this.cutInSlices(boundary);
      this.#schedule();
    }, boundary - now).unref();
  }
}

/**
 * startCollector subscribes a collector for an engine process reading its serving snapshot's
 * settings and cutting every ANALYTICS_INTERVAL_MS, unless analytics are off (env
 * PORTICO_ANALYTICS=off, `portico run --analytics off`): undefined then.
 */
export function startCollector(
  settings: () => AnalyticsSettings | undefined,
  env: NodeJS.ProcessEnv = process.env,
): Shipper | undefined {
  return env[ANALYTICS_ENV] === "off" ? undefined : new Shipper(new Collector({ settings }).subscribe());
}

function newState(listener: string, vhost: string, kind: ServiceBatch["kind"]): VsState {
  return {
    key: vhost === "" ? listener : `${listener} ${vhost}`,
    kind,
    listener,
    vhost: vhost === "" ? undefined : vhost,
    total: new LiveMeasures(),
    routes: new Map(),
    backends: new Map(),
    urls: new SpaceSaving(),
    clients: new SpaceSaving(),
    userAgents: new SpaceSaving(),
    sample: new TopSampler(samplerSeed(`${listener} ${vhost}`)),
    gen: -1,
    targetMs: DEFAULT_LATENCY_TARGET_MS,
    fullUntil: 0,
  };
}

// addExchange adds one HTTP exchange's counters to m: its code, protocol and bytes (timings: onHttp).
function addExchange(m: LiveMeasures, ev: HttpResponseEvent, denied: boolean): void {
  m.requests++;
  m.code(ev.status);
  m.bytesIn += ev.bytesIn;
  m.bytesOut += ev.bytesOut;
  m.protocol(ev.protocol);
  if (ev.outcome === "reset") m.resets++;
  else if (ev.outcome === "timeout") m.timeouts++;
  if (denied) m.denied++;
}

// addSession adds one closed L4 session to m: a "request" with its bytes and duration.
function addSession(m: LiveMeasures, ev: L4SessionEvent): void {
  m.requests++;
  m.bytesIn += ev.bytesIn;
  m.bytesOut += ev.bytesOut;
  m.time("total", ev.durationMs);
}

// serviceBatch completes one service's interval from its serialised routes and backends: its
// total and top lists.
function serviceBatch(
  vs: VsState,
  routes: Record<string, Measures>,
  backends: Record<string, Measures>,
): ServiceBatch {
  const total = vs.total.toData();
  const top: TopLists = {};
  if (vs.urls.total > 0) top.urls = vs.urls.top();
  if (vs.clients.total > 0) top.clients = vs.clients.top();
  if (vs.userAgents.total > 0) top.userAgents = vs.userAgents.top();
  const codes = Object.entries(total.codes);
  if (codes.length > 0) top.codes = topOf(codes);
  if (vs.routes.size > 0) top.routes = topOf(Object.entries(routes).map(([k, m]) => [k, m.requests]));
  if (vs.backends.size > 0) top.backends = topOf(Object.entries(backends).map(([k, m]) => [k, m.requests]));
  return {
    kind: vs.kind,
    listener: vs.listener,
    ...(vs.vhost !== undefined ? { vhost: vs.vhost } : {}),
    total,
    routes,
    backends,
    top,
  };
}
