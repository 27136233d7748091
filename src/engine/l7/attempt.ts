// attempt.ts: the backend-attempt step both protocol fronts share (HTTP/1.1 exchange.ts, HTTP/2
// h2-exchange.ts): pick a backend of the chosen pool, connect (a pooled HTTP/1.1 connection, or
// the h2c bridge), retry on the failures failure.ts allows, settle passive health and in-flight
// accounting exactly once per attempt, and the request timeout. The fronts supply what differs:
// how the request is written to the connection, and how an error reaches their client.
import type { Backend, PickContext } from "../contracts.ts";
import type { CookieAffinity, Route } from "../../model/ir.ts";
import { stickyToken } from "../lb/sticky.ts";
import { stickyCookieFor } from "./affinity.ts";
import type { MessageHead } from "../http/parser.ts";
import { bodyCodings, lowerName } from "../http/head.ts";
import { COARSE_MIN_MS, unwatch, watch, type Watcher } from "../net/coarse-timer.ts";
import { failureAnswer, retryReason, retryable } from "./failure.ts";
import { acquireUpstream } from "./h2c-bridge.ts";
import { httpResponse, type ExchangeTimings, type HttpResponseEvent, type WafEvidence } from "./events.ts";
import type { ListenerRuntime } from "./runtime.ts";
import type { UpstreamConn, UpstreamFailure, UpstreamOwner } from "./upstream.ts";
import { performance } from "node:perf_hooks";
import { NO_TIME } from "../net/arrival.ts";

// begunCount counts the exchanges this process made (the idle heap check's activity).
let begunCount = 0;

/** exchangesBegun is how many exchanges (HTTP/1.1 requests, HTTP/2 streams) this process began. */
export function exchangesBegun(): number {
  return begunCount;
}

/** BackendAttempt is a request forwarded to a backend pool, attempt by attempt. */
export abstract class BackendAttempt implements UpstreamOwner, Watcher {
  /** rt is the configuration the request was routed with; it finishes on it even after a swap. */
  readonly rt: ListenerRuntime;
  /**
   * start is when the request arrived (durations): for a timed exchange the read that brought its
   * first byte (net/arrival.ts), else its construction.
   */
  readonly start: number;
  /**
   * begun is when the exchange was made (HTTP/1.1: its head parsed; HTTP/2: its stream opened):
   * the request timeout and the rapid-reset guard count from it, whether or not anyone subscribes.
   */
  readonly begun: number;
  route: Route | undefined = undefined;
  /** pool is the backend pool the decision step chose. */
  pool = "";
  /** vhost is the routing virtual host's configured hostname (metrics), "" when none matched. */
  vhost = "";
  /** status is the status sent to the client; 0 while none was (or when the connection broke first). */
  status = 0;
  /** bytesIn are the request body bytes received, bytesOut the response body bytes sent. */
  bytesIn = 0;
  bytesOut = 0;
  /** error is why the proxy answered an error itself (logs and access log only, never the client). */
  error = "";
  /** outcome says how an exchange that did not complete ended (the response event's outcome). */
  outcome: "reset" | "timeout" | undefined = undefined;
  /**
   * timed: someone listened for response events when the exchange began, so it stamps its
   * timings (tAsk, tSent, tHead: performance.now(), 0 = not reached); untimed exchanges read
   * no clock beyond durationMs's. tReq is when the request was fully read, for exchanges the
   * proxy answered without a backend (fronts stamp it).
   */
  readonly timed = httpResponse.hasSubscribers;
  protected tAsk = NO_TIME;
  protected tSent = NO_TIME;
  protected tHead = NO_TIME;
  protected tReq = NO_TIME;
  /** tEnd is when the response's last bytes were handed to the socket (write-batch.ts whenSent). */
  protected tEnd = NO_TIME;
  /** wafEvidence is the WAF's logging phase, kept at the end for the response event published after. */
  protected wafEvidence: WafEvidence | undefined = undefined;
  // tTry is when the current attempt asked for its connection (tAsk for the first one).
  private tTry = NO_TIME;
  // tryId counts the timed asks: a connection that answers for an older attempt is told apart.
  private tryId = 0;
  /** atEnd runs once when the exchange ends (PhaseRequest.atEnd: a concurrency slot's release). */
  atEnd: (() => void) | undefined = undefined;
  /** stickyCookie is the Set-Cookie of a route with cookie affinity, when its pick asks for one. */
  stickyCookie: string | undefined = undefined;
  // firstToken is the sticky token of the first attempt's backend (affinity routes only).
  private firstToken: string | undefined;
  /** backend is the current (or last) attempt's backend. */
  protected backend: Backend | undefined = undefined;
  /** upstream is the current attempt's connection, null between attempts and once it ended. */
  protected upstream: UpstreamConn | null = null;
  /** done is set once the exchange finished (answered, completed or aborted). */
  protected done = false;
  // inFlight is true between upstreams.begin and upstreams.end for the current attempt.
  private inFlight = false;
  private attempts = 0;
  private tried: Set<string> | undefined;
  private lastFailure = "";
  private timer: NodeJS.Timeout | undefined;
  // deadline is when a timeout of seconds expires (checked by the coarse sweep), else 0.
  private deadline = NO_TIME;
  // Links of the coarse sweep's list (coarse-timer.ts).
  prevWatched: Watcher | null = null;
  nextWatched: Watcher | null = null;

  /**
   * The exchange arrived at arrivedAt (0: unknown) and is made at begunAt (0: now, the clock read
   * here): one clock read at most, begun, and start unless the first byte's read time is known.
   */
  constructor(rt: ListenerRuntime, arrivedAt = 0, begunAt = 0) {
    this.rt = rt;
    begunCount++;
    this.begun = begunAt !== 0 ? begunAt : performance.now();
    this.start = this.timed && arrivedAt !== 0 ? arrivedAt : this.begun;
  }

  /** method is the request's method (only idempotent ones are retried). */
  abstract readonly method: string;
  /** pickContext is what the balancer reads of the client; tried are backends that failed to connect. */
  protected abstract pickContext(tried: ReadonlySet<string> | undefined): PickContext;
  /** send writes the request (head, and what of the body arrived) to a new attempt's connection. */
  protected abstract send(up: UpstreamConn): void;
  /** responseSent tells whether any response reached the client (then nothing may be retried). */
  protected abstract responseSent(): boolean;
  /** hasRequestBody tells whether the request carries a body (not kept for a second attempt). */
  protected abstract hasRequestBody(): boolean;
  /** fail answers the client with an error status, or breaks its response when one began. */
  abstract fail(status: number, text: string): void;

  abstract onBegin(): void;
  abstract onHead(h: MessageHead): boolean;
  abstract onBody(chunk: Buffer): void;
  abstract onTrailers(t: string[]): void;
  abstract onComplete(): void;
  abstract onUpgrade(conn: UpstreamConn, rest: Buffer): void;
  abstract onUpstreamDrain(): void;

  /** requestTimeoutMs is the route's request timeout, or the listener's. */
  requestTimeoutMs(): number {
    return this.route?.timeoutMs ?? this.rt.listener.requestTimeoutMs;
  }

  /**
   * pickBackend picks a backend of the pool and counts it in flight; when none is left it fails
   * the request (after failed attempts, with the last failure, which says more than "no backend").
   */
  protected pickBackend(): Backend | undefined {
    const rt = this.rt;
    const affinity = this.route?.affinity;
    let backend: Backend | undefined;
    if (affinity === undefined) backend = rt.upstreams.pick(this.pool, this.pickContext(this.tried));
    else backend = this.pickSticky(affinity);
    if (backend === undefined) {
      if (this.lastFailure !== "") this.fail(502, this.lastFailure);
      else this.fail(503, `no healthy backend for route ${this.route?.name} (pool ${this.pool})`);
      return undefined;
    }
    this.attempts++;
    this.backend = backend;
    rt.upstreams.begin(this.pool, backend);
    this.inFlight = true;
    return backend;
  }

  /**
   * pickSticky is pickBackend's pick on a route with cookie affinity (affinity.ts): the cookie's
   * backend when it may take traffic, else the pool's pick, and the Set-Cookie the response needs.
   */
  private pickSticky(affinity: CookieAffinity): Backend | undefined {
    const ctx = this.pickContext(this.tried);
    const asked = ctx.cookie?.(affinity.cookie);
    ctx.prefer = asked;
    const backend = this.rt.upstreams.pick(this.pool, ctx);
    ctx.prefer = undefined;
    if (backend === undefined) return undefined;
    // A retry away from the cookie's backend: the first attempt went to it and failed.
    const retriedAway = this.attempts > 0 && asked !== undefined && asked === this.firstToken;
    if (this.attempts === 0) this.firstToken = stickyToken(backend.id);
    this.stickyCookie = stickyCookieFor(affinity, backend.id, asked, this.rt.proto === "https", retriedAway);
    return backend;
  }

  /** connect starts an attempt: a backend, a connection to it, and the request written to it. */
  protected connect(): void {
    const backend = this.pickBackend();
    if (backend === undefined) return;
    const rt = this.rt;
    const up = acquireUpstream(rt, this.pool, backend, this.route?.connectTimeoutMs);
    // A connection not yet connected stamps tSent when it is (onConnected); the h2c bridge says
    // so itself when it meets its session.
    if (this.timed) this.stampAsk((up as { connected?: boolean }).connected !== false);
    this.upstream = up;
    up.attach(this, this.route?.backendTimeoutMs ?? rt.listener.requestTimeoutMs);
    this.send(up);
  }

  /**
   * stampAsk marks an attempt asking for a backend connection (timed exchanges only): the first
   * one ends the request part; ready says the connection can take the request at once (pooled,
   * or a session already up), so the connect part gets no time of its own.
   */
  stampAsk(ready: boolean): void {
    const t = this.tAsk === 0 ? (this.tAsk = performance.now()) : performance.now();
    this.tTry = t;
    this.tSent = ready ? t : 0;
    this.tryId++;
  }

  /** attemptId names the current timed attempt (whenConnected hands it back to onConnected). */
  get attemptId(): number {
    return this.tryId;
  }

  /**
   * onConnected runs when the current attempt's connection became ready after a wait (fresh: a
   * new TCP/TLS connection or HTTP/2 session connected now), or at once (!fresh: it was up).
   * attemptId, when given, is the attempt that waited: an earlier attempt's session connecting
   * late (its connect timeout fired, a retry answered) must not move this attempt's tSent.
   */
  onConnected(fresh: boolean, attemptId?: number): void {
    if (attemptId !== undefined && attemptId !== this.tryId) return;
    if (this.timed && this.tTry !== 0) this.tSent = fresh ? performance.now() : this.tTry;
  }

  /** stampHead marks the backend's (final) response head: the end of ttfb. */
  stampHead(): void {
    if (this.timed && this.tHead === 0) this.tHead = performance.now();
  }

  /**
   * timings splits the exchange's total (end - start) into its parts (events.ts ExchangeTimings):
   * request to the first ask for a backend, connect to the serving connection's readiness, ttfb
   * to the response head, transfer to the end. A part still running when the exchange ended
   * runs to the end (a backend that never answered: ttfb until the timeout), so request +
   * connect + ttfb + transfer = total whenever a backend was asked. tunnel leaves transfer out
   * (a WebSocket's exchange ends at its 101; the tunnel's life is not the exchange's).
   */
  protected timings(end: number, tunnel: boolean): ExchangeTimings {
    const start = this.start;
    const ask = this.tAsk;
    if (ask === 0) {
      const req = this.tReq;
      return req === 0 ? {} : { request: span(start, Math.min(req, end)) };
    }
    const sent = this.tSent;
    if (sent === 0) return { request: span(start, ask), connect: span(ask, end) };
    const head = this.tHead;
    if (head === 0) return { request: span(start, ask), connect: span(ask, sent), ttfb: span(sent, end) };
    // One literal per shape: adding transfer afterwards would make a second map per event.
    if (tunnel) return { request: span(start, ask), connect: span(ask, sent), ttfb: span(sent, head) };
    return {
      request: span(start, ask),
      connect: span(ask, sent),
      ttfb: span(sent, head),
      transfer: span(head, end),
    };
  }

  /**
   * publishResponse publishes the exchange's response event (events.ts), its clock stopped at tEnd,
   * once every held write of its turn left (write-batch.ts depart). Both fronts build it here, so
   * every event has the same shape, and the subscribers' loads see one map; the front passes what
   * only it knows. tunnel: the exchange ended at a WebSocket's 101 (no transfer part).
   */
  protected publishResponse(
    client: string,
    method: string,
    authority: string,
    path: string,
    protocol: string,
    tls: string,
    userAgent: string,
    tunnel: boolean,
  ): void {
    const end = this.tEnd;
    const ev: HttpResponseEvent = {
      listener: this.rt.listener.name,
      route: this.route?.name ?? "",
      vhost: this.vhost,
      pool: this.pool,
      backend: this.backend?.id ?? "",
      status: this.status,
      durationMs: end - this.start,
      bytesIn: this.bytesIn,
      bytesOut: this.bytesOut,
      client,
      method,
      authority,
      path,
      protocol,
      error: this.error,
      timings: this.timings(end, tunnel),
      tls,
      userAgent,
    };
    if (this.outcome !== undefined) ev.outcome = this.outcome;
    if (this.wafEvidence !== undefined) ev.waf = this.wafEvidence;
    httpResponse.publish(ev);
  }

  onUpstreamFailure(conn: UpstreamConn, failure: UpstreamFailure, detail: string): void {
    if (this.done || conn !== this.upstream) return;
    this.upstream = null;
    this.settle(false);
    const b = this.backend!;
    const retry = retryable({
      failure,
      reused: conn.reused,
      sawResponse: conn.sawResponse,
      responseStarted: this.responseSent(),
      method: this.method,
      hasBody: this.hasRequestBody(),
      attempts: this.attempts,
      maxAttempts: this.route?.maxAttempts ?? this.rt.limits.maxAttempts,
    });
    if (retry) {
      // A reused connection closed by the backend while idle is no fault of the backend.
      if (failure === "connect") (this.tried ??= new Set()).add(b.id);
      this.lastFailure = retryReason(failure, b.id, this.route?.name, detail);
      this.connect();
      return;
    }
    if (failure === "timeout") this.outcome = "timeout";
    else if (failure === "reset") this.outcome = "reset";
    this.fail(...failureAnswer(failure, b.id, this.route?.name, detail));
  }

  /** releaseUpstream gives the current attempt's connection back to its pool (reusable: both
   * messages ended cleanly, so the pool may send it another request). */
  protected releaseUpstream(reusable: boolean): void {
    const up = this.upstream;
    this.upstream = null;
    up?.release(reusable);
  }

  /**
   * responseCodings reads the transfer codings besides chunked of a backend response's body (h:
   * one that has a body), "" when none (http/head.ts bodyCodings). refusedBy names who cannot
   * take them, undefined when the client can (an HTTP/1.1 client: the front forwards them
   * re-chunked, RFC 9112 §6.1): then, as for codings nobody can describe, the attempt ends with
   * 502 — no coding is decoded here; HAProxy, Envoy and nginx answer 502 to any coding but
   * chunked — and the result is undefined (the front's onHead returns true: the body is skipped).
   */
  protected responseCodings(h: MessageHead, refusedBy: string | undefined): string | undefined {
    const codings = bodyCodings(h.headers);
    if (codings === "" || (codings !== null && refusedBy === undefined)) return codings;
    // Not the backend's health: the same response goes to an HTTP/1.1 client.
    this.dropAttempt(true);
    const sent = `backend ${this.backend?.id} sent Transfer-Encoding: ${transferEncoding(h.headers)}`;
    this.fail(
      502,
      codings === null
        ? `${sent}, which frames no body: chunked must be the last coding, once, and every coding a token (RFC 9112 §6.1)`
        : `${sent}, and ${refusedBy} cannot take a transfer coding other than chunked: have the backend send the body without it (a Content-Encoding instead)`,
    );
    return undefined;
  }

  /** dropAttempt closes the current attempt's connection and counts the attempt as failed (ok:
   * the backend did nothing wrong — the WAF refused its response). */
  protected dropAttempt(ok = false): void {
    const up = this.upstream;
    this.upstream = null;
    // Settled even without a connection: an h2c stream (h2c.ts) is in flight without one.
    this.settle(ok);
    up?.destroy();
  }

  /** ended runs atEnd once; both fronts call it when their exchange finishes. */
  protected ended(): void {
    const f = this.atEnd;
    if (f === undefined) return;
    this.atEnd = undefined;
    f();
  }

  /** settle ends the current attempt's in-flight count and reports its outcome (passive health). */
  protected settle(ok: boolean): void {
    if (!this.inFlight) return;
    this.inFlight = false;
    this.rt.upstreams.end(this.pool, this.backend!, ok);
  }

  /**
   * armTimer arms the request timeout (or a front's body timeout): ms after `from` on the coarse
   * sweep for timeouts of seconds, a precise timer of ms from now for shorter ones.
   */
  protected armTimer(from: number, ms: number): void {
    if (ms >= COARSE_MIN_MS) {
      this.deadline = from + ms;
      watch(this);
    } else if (ms > 0) this.timer = setTimeout(onTimeout, ms, this);
  }

  /** stopTimer ends the timeout, whichever of the two kinds armTimer set. */
  protected stopTimer(): void {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (this.deadline !== 0) {
      this.deadline = 0;
      unwatch(this);
    }
  }

  /** check is the coarse sweep's call for a timeout of seconds. */
  check(now: number): void {
    if (now >= this.deadline) this.timedOut();
  }

  /** timedOut runs when the request timeout fires: the attempt is dropped, the client gets 504. */
  timedOut(): void {
    this.stopTimer();
    if (this.done) return;
    this.outcome = "timeout";
    this.dropAttempt();
    this.fail(504, `request timed out after ${this.requestTimeoutMs()} ms on route ${this.route?.name}`);
  }
}

function onTimeout(a: BackendAttempt): void {
  a.timedOut();
}

// span is the time from a to b, never negative: a backstop, should stamps ever come out of order
// (a negative part would poison a sketch's sum and a log record).
function span(a: number, b: number): number {
  return b > a ? b - a : 0;
}

// transferEncoding is a head's Transfer-Encoding fields as one list (the error's text).
function transferEncoding(hs: readonly string[]): string {
  const values: string[] = [];
  for (let i = 0; i < hs.length; i += 2)
    if (lowerName(hs[i]!) === "transfer-encoding") values.push(hs[i + 1]!);
  return values.join(", ");
}
