// h2-guard.ts: per-connection abuse detection for the HTTP/2 front end. A client that resets
// its own streams before they are answered (rapid reset, CVE-2023-44487), floods SETTINGS or
// PING frames (a PING that follows a response of ours is free: see ping()), or trips one of node:http2's own flood limits (CONTINUATION flood, an outbound
// queue of unread ACKs, invalid frames, refused streams) is cut: GOAWAY ENHANCE_YOUR_CALM, then
// close — what nginx, Envoy and HAProxy do since 2023. Counters are plain integers per
// connection, touched once per stream or control frame; a well-behaved client pays an
// increment per stream and nothing else. docs/http2.md lists the limits and what is cut.
import type http2 from "node:http2";
import { ErrorCode } from "../h2/frames.ts";
import { LiveNode } from "../net/live-set.ts";
import { http2Cut } from "./events.ts";
import { penalties, type PenaltyLimits } from "./h2-penalty.ts";

/** ENHANCE_YOUR_CALM is the GOAWAY code of a cut connection (RFC 9113 §7). */
export const ENHANCE_YOUR_CALM = ErrorCode.ENHANCE_YOUR_CALM;

/** CutReason names why a connection was cut (the `reason` label of portico_http2_cut_connections_total). */
export type CutReason = "rapid_reset" | "settings_flood" | "ping_flood" | "frame_flood" | "penalty";

/** H2Limits bound what one HTTP/2 client connection may do before it is cut. */
export interface H2Limits extends PenaltyLimits {
  /** maxConcurrentStreams is advertised in SETTINGS; nghttp2 refuses streams beyond it. */
  maxConcurrentStreams: number;
  /**
   * prematureResets: a connection is cut once this many of its streams were reset by the client
   * within prematureResetMs of opening, before their response ended, and they are at least half
   * of its streams (Envoy's rule: a long-lived connection that cancels now and then, or a client
   * that cancels long polls, is never cut).
   */
  prematureResets: number;
  prematureResetMs: number;
  /**
   * maxSettings bounds the SETTINGS frames a client sends per windowMs; maxPings the PING frames
   * per windowMs that came when the server had written nothing but ACKs since the PING before.
   */
  maxSettings: number;
  maxPings: number;
  /**
   * maxFrameBytes bounds the bytes per windowMs a client sends beyond its request bodies (twice
   * counted), 64 KiB per stream opened (a stream's window) — WINDOW_UPDATE, PRIORITY, empty DATA
   * or unknown frames in a flood.
   */
  maxFrameBytes: number;
  windowMs: number;
  /** maxInvalidFrames and maxRejectedStreams are node:http2's session limits of the same name. */
  maxInvalidFrames: number;
  maxRejectedStreams: number;
}

/** defaultH2Limits are the engine's defaults (docs/http2.md says why each). */
export const defaultH2Limits: H2Limits = {
  maxConcurrentStreams: 250,
  prematureResets: 100,
  prematureResetMs: 1000,
  maxSettings: 100,
  maxPings: 100,
  maxFrameBytes: 1 << 20,
  windowMs: 10_000,
  penaltyCuts: 3,
  penaltyMs: 10_000,
  maxInvalidFrames: 100,
  maxRejectedStreams: 100,
};

// SUSPECT_RESETS: past this many premature resets (and at least half of the streams), a
// connection's new streams wait one turn of the event loop before they are forwarded, so a
// RST_STREAM that came in the same read cancels them before a backend connection is opened.
const SUSPECT_RESETS = 10;

// STREAM_WINDOW is node's initial stream window: what a client may send on a stream whose body
// nobody reads (a request answered by the proxy) before flow control stops it.
const STREAM_WINDOW = 65_535;

// nghttp2 errors node ends a session with when one of its own flood limits trips: an outbound
// queue of unread SETTINGS/PING ACKs (NGHTTP2_ERR_FLOODED), too many CONTINUATION frames after
// HEADERS (NGHTTP2_ERR_TOO_MANY_CONTINUATIONS), and node's maxSessionInvalidFrames or
// maxSessionRejectedStreams (a callback failure).
const FLOOD_ERRNOS = new Set([-904, -905, -902]);

// The ACKs nghttp2 writes for a client's PING and SETTINGS (frame header + payload).
const PING_ACK = 17;
const SETTINGS_ACK = 9;

/** CutLog hears of each cut (CutLogGate logs the first one of an interval and counts the rest). */
export interface CutLog {
  cut(reason: CutReason, detail: string, client: string): void;
}

/** H2Guard watches one server session. */
export class H2Guard {
  /** session is the connection watched. */
  readonly session: http2.ServerHttp2Session;
  /** live is the guard's membership of its front's sessions. */
  readonly live: LiveNode<H2Guard> = new LiveNode<H2Guard>(this);
  private readonly limits: H2Limits;
  private readonly listener: string;
  private readonly log: CutLog;
  private readonly client: string | undefined;
  private streams = 0;
  private resets = 0;
  private settings = 0;
  private pings = 0;
  private windowStart = 0;
  // The socket's bytes written at the last PING not counted, and the ACK bytes owed since.
  private writtenAtPing = 0;
  private owedAcks = 0;
  private cutDone = false;
  // peerGone: the client's side of the socket ended or failed; its open streams die with it.
  private peerGone = false;
  // Counted since the last sweep: request body bytes, and the socket's bytes read at it.
  private bodyBytes = 0;
  private sweptStreams = 0;
  private sweptRead = 0;

  constructor(session: http2.ServerHttp2Session, limits: H2Limits, listener: string, log: CutLog) {
    this.session = session;
    this.limits = limits;
    this.listener = listener;
    this.log = log;
    // Read now: once the socket is gone (the usual state of an attacker's when it is counted)
    // its address is too.
    this.client = session.socket?.remoteAddress;
    const gone = () => void (this.peerGone = true);
    session.socket?.once("end", gone).once("error", gone);
    session.on("ping", () => this.ping());
    session.on("remoteSettings", () => {
      this.owedAcks += SETTINGS_ACK;
      this.control("settings");
    });
    // node destroys a session that tripped one of its own limits with an NghttpError, which it
    // turns into GOAWAY INTERNAL_ERROR; the client did not make us fail, it flooded us. There is
    // no event before that GOAWAY goes out, so the session's destroy is wrapped to give the code.
    const destroy = session.destroy;
    session.destroy = (error?: Error | number, code?: number) => {
      const errno = (error as { errno?: unknown } | undefined)?.errno;
      if (code === undefined && typeof errno === "number" && FLOOD_ERRNOS.has(errno)) {
        this.count("frame_flood", (error as Error).message);
        code = ENHANCE_YOUR_CALM;
      }
      return destroy.call(session, error as Error, code);
    };
  }

  /** stream counts a new stream; false when the connection was cut (node still hands over the rest of its last read). */
  stream(): boolean {
    this.streams++;
    return !this.cutDone;
  }

  /** body counts request body bytes received (they are not frame overhead). */
  body(n: number): void {
    this.bodyBytes += n;
  }

  /**
   * sweep runs once per windowMs (H2Front's timer): bytes read since the last sweep beyond the
   * allowance mean the client floods frames that carry nothing node would tell us about.
   */
  sweep(): void {
    const read = this.session.socket?.bytesRead ?? 0;
    const allowed =
      this.limits.maxFrameBytes + 2 * this.bodyBytes + STREAM_WINDOW * (this.streams - this.sweptStreams);
    const extra = read - this.sweptRead - allowed;
    this.sweptRead = read;
    this.sweptStreams = this.streams;
    this.bodyBytes = 0;
    if (extra > 0)
      this.cut(
        "frame_flood",
        `${extra} bytes of frames beyond the allowance within ${this.limits.windowMs} ms`,
      );
  }

  /** suspect is true once resets look like an attack in progress (new streams then wait a turn). */
  suspect(): boolean {
    return this.resets >= SUSPECT_RESETS && this.resets * 2 >= this.streams;
  }

  /** reset counts a stream the client reset ageMs after it opened, before its response ended. */
  reset(ageMs: number): void {
    // A stream that dies with its session is no reset: the client dropped the connection (its
    // socket ended or failed) or the session is closing (a shutdown, a GOAWAY). A session cut
    // for abuse, by us or by nghttp2's own limits, is destroyed but not closed: its streams count.
    if (ageMs >= this.limits.prematureResetMs || this.peerGone || this.session.closed) return;
    this.resets++;
    if (this.resets >= this.limits.prematureResets && this.resets * 2 >= this.streams) {
      this.cut("rapid_reset", `${this.resets} of ${this.streams} streams reset before their response`);
    }
  }

  /**
   * ping counts a PING toward maxPings unless the server wrote more than the ACKs it owes since
   * the PING before: response HEADERS or DATA (or a WINDOW_UPDATE for a body the client sent).
   * A gRPC client measures bandwidth with a PING each time it received DATA and has none
   * outstanding (grpc-go's BDP estimator): thousands a second under load, each answering our
   * own writes, which bounds them. grpc-go's server counts a ping strike by the same rule; a
   * client pinging a connection that writes it nothing but ACKs is a flood. node tells of no
   * frame it writes: the socket's byte count (plaintext, also under TLS) tells instead.
   */
  private ping(): void {
    const written = this.session.socket?.bytesWritten ?? 0;
    if (written - this.writtenAtPing > this.owedAcks) {
      this.writtenAtPing = written;
      this.owedAcks = PING_ACK;
      return;
    }
    this.owedAcks += PING_ACK;
    this.control("ping");
  }

  private control(kind: "ping" | "settings"): void {
    const now = performance.now();
    if (now - this.windowStart > this.limits.windowMs) {
      this.windowStart = now;
      this.settings = 0;
      this.pings = 0;
    }
    if (kind === "ping") {
      if (++this.pings > this.limits.maxPings)
        this.cut(
          "ping_flood",
          `${this.pings} PING frames with no response sent since the one before, within ${this.limits.windowMs} ms`,
        );
    } else if (++this.settings > this.limits.maxSettings) {
      this.cut("settings_flood", `${this.settings} SETTINGS frames within ${this.limits.windowMs} ms`);
    }
  }

  // cut sends GOAWAY ENHANCE_YOUR_CALM and closes the connection: streams in flight end with it.
  // A session nghttp2 already ended (its own reset limit trips on a burst within one read,
  // before node hands the streams to us) is counted all the same: it was this abuse.
  private cut(reason: CutReason, detail: string): void {
    if (this.cutDone) return;
    this.count(reason, detail);
    // destroy(error, code): node sends GOAWAY with code, then closes the socket.
    if (!this.session.destroyed)
      this.session.destroy(new Error(`HTTP/2 connection cut: ${reason}`), ENHANCE_YOUR_CALM);
  }

  private count(reason: CutReason, detail: string): void {
    if (this.cutDone) return;
    this.cutDone = true;
    penalties.cut(this.client, this.limits);
    if (http2Cut.hasSubscribers) http2Cut.publish({ listener: this.listener, reason });
    this.log.cut(reason, detail, this.client ?? "");
  }
}

/** CutLogGate logs the first cut of each interval with how many were left unlogged before it. */
export class CutLogGate implements CutLog {
  private last = -Infinity;
  private quiet = 0;
  private readonly intervalMs: number;
  private readonly write: (fields: Record<string, unknown>) => void;

  constructor(intervalMs: number, write: (fields: Record<string, unknown>) => void) {
    this.intervalMs = intervalMs;
    this.write = write;
  }

  /** cut records one cut and writes it if the interval since the last written one has passed. */
  cut(reason: CutReason, detail: string, client: string): void {
    const now = performance.now();
    if (now - this.last < this.intervalMs) {
      this.quiet++;
      return;
    }
    this.last = now;
    this.write({ reason, detail, client, unloggedBefore: this.quiet });
    this.quiet = 0;
  }
}
