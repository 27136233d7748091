// abuse.ts: the counters that decide when a client connection is cut for making the server work
// for nothing — the rules of src/engine/l7/h2-guard.ts (docs/http2.md), now counted where the
// frames are read instead of inferred from node:http2's events: rapid reset (CVE-2023-44487),
// SETTINGS and PING floods (a PING counts only when no response HEADERS or DATA went out since the
// previous one: grpc-go's rule), CONTINUATION floods, refused or invalid streams in bulk, and bytes of
// frames that carry no request (WINDOW_UPDATE, PRIORITY, empty DATA, unknown types) beyond an
// allowance. Pure: time is passed in; each check answers the reason to cut, or undefined.

/** CutReason names why a connection was cut (the reasons h2-guard.ts reports). */
export type CutReason = "rapid_reset" | "settings_flood" | "ping_flood" | "frame_flood";

/** AbuseLimits bound what one connection may do (defaults: defaultAbuseLimits). */
export interface AbuseLimits {
  /** prematureResets: streams reset by the client within prematureResetMs, before their response ended, that cut (and are at least half of its streams). */
  prematureResets: number;
  prematureResetMs: number;
  /**
   * maxSettings bounds SETTINGS frames per windowMs; maxPings bounds the PING frames per windowMs
   * that came with no HEADERS or DATA sent since the PING before (see Abuse.ping).
   */
  maxSettings: number;
  maxPings: number;
  /** maxFrameBytes bounds the bytes per windowMs that carry no request content, beyond streamAllowance per stream opened. */
  maxFrameBytes: number;
  /** streamAllowance is what each stream opened adds to maxFrameBytes (its HEADERS, its WINDOW_UPDATEs). */
  streamAllowance: number;
  windowMs: number;
  /** maxContinuations bounds the CONTINUATION frames after one HEADERS. */
  maxContinuations: number;
  /** maxRejectedStreams and maxInvalidFrames bound refused streams and stream errors per connection. */
  maxRejectedStreams: number;
  maxInvalidFrames: number;
}

/** defaultAbuseLimits are h2-guard.ts's defaults; maxContinuations is nghttp2's 8 doubled. */
export const defaultAbuseLimits: AbuseLimits = {
  prematureResets: 100,
  prematureResetMs: 1000,
  maxSettings: 100,
  maxPings: 100,
  maxFrameBytes: 1 << 20,
  streamAllowance: 16 << 10,
  windowMs: 10_000,
  maxContinuations: 16,
  maxRejectedStreams: 100,
  maxInvalidFrames: 100,
};

/** Abuse counts one connection. */
export class Abuse {
  /** streams is how many streams the client opened. */
  streams = 0;
  /** resets is how many of them it reset early. */
  resets = 0;
  private readonly limits: AbuseLimits;
  private windowStart = 0;
  private settings = 0;
  private pings = 0;
  // answered: HEADERS or DATA went out since the last PING (see ping()).
  private answered = false;
  private bytes = 0;
  private windowStreams = 0;
  private rejected = 0;
  private invalid = 0;

  constructor(limits: AbuseLimits) {
    this.limits = limits;
  }

  /** tick starts a new window when the last one is over (called once per read). */
  tick(now: number): void {
    if (now - this.windowStart <= this.limits.windowMs) return;
    this.windowStart = now;
    this.settings = this.pings = this.bytes = this.windowStreams = 0;
  }

  /** overhead counts n bytes that carry no request content. */
  overhead(n: number): CutReason | undefined {
    this.bytes += n;
    if (this.bytes > this.limits.maxFrameBytes + this.limits.streamAllowance * this.windowStreams)
      return "frame_flood";
    return undefined;
  }

  /** opened counts a new stream. */
  opened(): void {
    this.streams++;
    this.windowStreams++;
  }

  /** reset counts a stream the client reset ageMs after it opened, before its response ended. */
  reset(ageMs: number): CutReason | undefined {
    if (ageMs >= this.limits.prematureResetMs) return undefined;
    this.resets++;
    if (this.resets >= this.limits.prematureResets && this.resets * 2 >= this.streams) return "rapid_reset";
    return undefined;
  }

  /** suspect: the resets look like an attack in progress (h2-guard's SUSPECT_RESETS rule). */
  suspect(): boolean {
    return this.resets >= 10 && this.resets * 2 >= this.streams;
  }

  /** settingsFrame counts a SETTINGS frame. */
  settingsFrame(): CutReason | undefined {
    return ++this.settings > this.limits.maxSettings ? "settings_flood" : undefined;
  }

  /** sent notes response HEADERS or DATA queued for the client (one store per frame). */
  sent(): void {
    this.answered = true;
  }

  /**
   * ping counts a PING frame unless HEADERS or DATA went out since the previous one. A gRPC
   * client measures bandwidth with a PING each time it received DATA and has none outstanding
   * (grpc-go's BDP estimator): thousands a second under load, each answering our own data, which
   * bounds them. grpc-go's server counts a ping strike by the same rule; a client pinging
   * a connection that sends it nothing is a flood.
   */
  ping(): CutReason | undefined {
    if (this.answered) {
      this.answered = false;
      return undefined;
    }
    return ++this.pings > this.limits.maxPings ? "ping_flood" : undefined;
  }

  /** continuation checks the count of CONTINUATION frames of the block being read. */
  continuation(count: number): CutReason | undefined {
    return count > this.limits.maxContinuations ? "frame_flood" : undefined;
  }

  /** rejectedStream counts a stream refused past SETTINGS_MAX_CONCURRENT_STREAMS. */
  rejectedStream(): CutReason | undefined {
    return ++this.rejected > this.limits.maxRejectedStreams ? "frame_flood" : undefined;
  }

  /** invalidFrame counts a frame answered with a stream error. */
  invalidFrame(): CutReason | undefined {
    return ++this.invalid > this.limits.maxInvalidFrames ? "frame_flood" : undefined;
  }

  /** detail says what was counted, for the log line of a cut. */
  detail(reason: CutReason): string {
    const w = `within ${this.limits.windowMs} ms`;
    switch (reason) {
      case "rapid_reset":
        return `${this.resets} of ${this.streams} streams reset before their response`;
      case "settings_flood":
        return `${this.settings} SETTINGS frames ${w}`;
      case "ping_flood":
        return `${this.pings} PING frames with no response sent since the one before, ${w}`;
      case "frame_flood":
        return `frame flood: ${this.bytes} bytes of empty frames ${w}, ${this.rejected} refused streams, ${this.invalid} invalid frames`;
    }
  }
}
