// loadgen.ts: a load generator that keeps its own latency record, the reference the analytics
// figures are checked against (issue 15, "Verified by"). Closed loop: N connections each send one
// request, wait for the whole response, record it, and send the next, until a fixed number of
// requests or a duration. Every request's status and latency (process.hrtime, from the first byte
// written to the last byte read) is kept, so counts are exact and quantiles are the true ones of
// the samples, not estimates. HTTP/1.1 keep-alive is spoken directly on node:net/node:tls (a thin
// client adds less of its own time than node:http's agent); HTTP/2 goes through node:http2.
import { connect as netConnect, type Socket } from "node:net";
import { connect as tlsConnect } from "node:tls";
import { connect as h2Connect, type ClientHttp2Session } from "node:http2";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { StallMonitor } from "./stalls.ts";

/** LoadRequest is what one request asks for; keep names a response header to record. */
export interface LoadRequest {
  path: string;
  authority: string;
  method?: string;
}

/** LoadOptions say where to send what, how hard and for how long. */
export interface LoadOptions {
  host: string;
  port: number;
  /** connections run the closed loop in parallel (each one request at a time). */
  connections: number;
  /** requests stops after this many requests in all; durationMs after this long (one is needed). */
  requests?: number;
  durationMs?: number;
  /** request builds request i (0-based, in the order they are started). */
  request: (i: number) => LoadRequest;
  /** tls: connect with TLS (certificates are not verified: loopback tests with their own CA). */
  tls?: { servername?: string };
  /** http2 speaks HTTP/2 (h2 with tls, h2c without), one stream at a time per connection. */
  http2?: boolean;
  /** keepHeader records this response header's value per request (e.g. which engine answered). */
  keepHeader?: string;
  /** timeoutMs fails one request (status 0) that takes longer (default 30 s). */
  timeoutMs?: number;
}

/** RequestRecord is one finished request: its index, status (0: no response), latency, connection. */
export interface RequestRecord {
  i: number;
  path: string;
  status: number;
  ms: number;
  conn: number;
  header?: string;
}

/** Quantiles are exact order statistics of a set of latencies in milliseconds. */
export interface ExactQuantiles {
  count: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

/** LoadResult is the generator's own record of a run. */
export interface LoadResult {
  records: RequestRecord[];
  /** byStatus counts requests by status code ("200", "503"; "0": the connection broke). */
  byStatus: Record<string, number>;
  latency: ExactQuantiles;
  /**
   * loopDelay is how late the generator's own event loop ran during the load (p50/p90/p99/max of
   * a 1 ms timer's lateness): time a response waited to be read that the proxy never saw.
   */
  loopDelay: ExactQuantiles;
  /**
   * floor is the record's quantiles with the stalls of a 1 ms timer in the test process taken out
   * of the requests they overlapped (stalls.ts): the least a proxy on the same machine can have
   * seen of each request (the generator's own lateness, the machine's).
   */
  floor?: ExactQuantiles;
  elapsedMs: number;
}

/**
 * quantileOf answers the q-quantile of sorted values with the rank rule of src/analytics/sketch.ts
 * (the sample at index floor(q × (n − 1))), so a sketch and this record differ only by the
 * sketch's bin error, never by a different definition of "p99".
 */
export function quantileOf(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * (sorted.length - 1)))]!;
}

/** exactQuantiles computes p50/p90/p99/max of ms (any order). */
export function exactQuantiles(ms: readonly number[]): ExactQuantiles {
  const s = [...ms].sort((a, b) => a - b);
  return {
    count: s.length,
    p50: quantileOf(s, 0.5),
    p90: quantileOf(s, 0.9),
    p99: quantileOf(s, 0.99),
    max: s.length ? s[s.length - 1]! : NaN,
  };
}

/** countBy counts records by a key. */
export function countBy(
  records: readonly RequestRecord[],
  key: (r: RequestRecord) => string,
): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of records) out[key(r)] = (out[key(r)] ?? 0) + 1;
  return out;
}

/** statusClass names a status's class as the analytics API does ("2xx"; "none" for 0). */
export function statusClass(status: number): string {
  return status >= 100 && status < 600 ? `${Math.floor(status / 100)}xx` : "none";
}

/**
 * Exchange sends one request on an open connection and resolves with its status, header and end:
 * the clock (process.hrtime) read in the callback of the socket read that completed the response,
 * not when the promise's continuation ran (other connections' callbacks may run in between).
 */
type Exchange = (req: LoadRequest) => Promise<Answer>;

/** Answer is one response as the generator records it. */
interface Answer {
  status: number;
  header?: string;
  end: bigint;
}

/** Conn is one client connection of the loop. */
interface Conn {
  exchange: Exchange;
  close(): void;
}

/** runLoad drives the closed loop and returns the record. */
export async function runLoad(o: LoadOptions): Promise<LoadResult> {
  if (o.requests === undefined && o.durationMs === undefined)
    throw new Error("runLoad: requests or durationMs");
  const records: RequestRecord[] = [];
  // floor: each request's latency less the stalls of this process's loop while it ran.
  const floors: number[] = [];
  const stalls = new StallMonitor();
  const eld = monitorEventLoopDelay({ resolution: 1 });
  eld.enable();
  const started = performance.now();
  const deadline = o.durationMs === undefined ? Infinity : started + o.durationMs;
  let next = 0;
  const claim = (): number | undefined => {
    if (o.requests !== undefined && next >= o.requests) return undefined;
    if (performance.now() >= deadline) return undefined;
    return next++;
  };
  const loop = async (conn: number): Promise<void> => {
    let c: Conn | undefined;
    for (let i = claim(); i !== undefined; i = claim()) {
      const req = o.request(i);
      let status = 0;
      let header: string | undefined;
      let end: bigint | undefined;
      // The clock starts once the connection is up, as wrk's does: a request's latency is its
      // exchange, not the connection's setup (which Portico's "total" does not see either).
      let t0 = process.hrtime.bigint();
      let wall = performance.timeOrigin + performance.now();
      try {
        c ??= await open(o);
        t0 = process.hrtime.bigint();
        wall = performance.timeOrigin + performance.now();
        ({ status, header, end } = await c.exchange(req));
      } catch {
        // A broken exchange: counted as status 0 and the connection replaced, as a client would.
        c?.close();
        c = undefined;
      }
      const ms = Number((end ?? process.hrtime.bigint()) - t0) / 1e6;
      floors.push(ms - stalls.overlap(wall, wall + ms));
      records.push({ i, path: req.path, status, ms, conn, ...(header === undefined ? {} : { header }) });
    }
    c?.close();
  };
  await Promise.all(Array.from({ length: o.connections }, (_, k) => loop(k)));
  eld.disable();
  stalls.stop();
  records.sort((a, b) => a.i - b.i);
  // The histogram counts the timer's whole wait (1 ms resolution included): lateness is above it.
  const late = (ns: number) => Math.max(0, ns / 1e6 - 1);
  return {
    records,
    byStatus: countBy(records, (r) => String(r.status)),
    latency: exactQuantiles(records.map((r) => r.ms)),
    loopDelay: {
      count: eld.count,
      p50: late(eld.percentile(50)),
      p90: late(eld.percentile(90)),
      p99: late(eld.percentile(99)),
      max: late(eld.max),
    },
    floor: exactQuantiles(floors),
    elapsedMs: performance.now() - started,
  };
}

/** open makes one connection of the kind o asks for. */
async function open(o: LoadOptions): Promise<Conn> {
  return o.http2 ? openH2(o) : openH1(o);
}

/** openH1 connects (TCP or TLS with ALPN http/1.1) and returns an HTTP/1.1 keep-alive exchanger. */
async function openH1(o: LoadOptions): Promise<Conn> {
  const sock: Socket = o.tls
    ? tlsConnect({
        host: o.host,
        port: o.port,
        servername: o.tls.servername,
        ALPNProtocols: ["http/1.1"],
        rejectUnauthorized: false,
      })
    : netConnect({ host: o.host, port: o.port, noDelay: true });
  await new Promise<void>((res, rej) => {
    sock.once(o.tls ? "secureConnect" : "connect", () => res());
    sock.once("error", rej);
  });
  sock.setNoDelay(true);
  const reader = new ResponseReader(sock, o.keepHeader?.toLowerCase(), o.timeoutMs ?? 30_000);
  return {
    exchange: (req) => {
      sock.write(
        `${req.method ?? "GET"} ${req.path} HTTP/1.1\r\nhost: ${req.authority}\r\nuser-agent: portico-loadgen\r\n\r\n`,
      );
      return reader.next();
    },
    close: () => sock.destroy(),
  };
}

/**
 * ResponseReader parses HTTP/1.1 responses off a socket one at a time: status line, headers, then
 * a Content-Length or chunked body (or, with neither, up to the close). It only needs what a
 * proxy in front of our own backends sends; anything it cannot read fails the request.
 */
class ResponseReader {
  private buf: Buffer = Buffer.alloc(0);
  private waiting?: { res: (v: Answer) => void; rej: (e: Error) => void };
  // readAt is when the latest read arrived (its callback's clock): a response completes at it.
  private readAt = 0n;
  private closed = false;
  private timer?: NodeJS.Timeout;

  private readonly sock: Socket;
  private readonly keep: string | undefined;
  private readonly timeoutMs: number;

  constructor(sock: Socket, keep: string | undefined, timeoutMs: number) {
    this.sock = sock;
    this.keep = keep;
    this.timeoutMs = timeoutMs;
    sock.on("data", (d: Buffer) => {
      this.readAt = process.hrtime.bigint();
      this.buf = this.buf.length ? Buffer.concat([this.buf, d]) : d;
      this.pump();
    });
    const end = (): void => {
      this.closed = true;
      this.pump();
      this.fail(new Error("connection closed"));
    };
    sock.on("end", end);
    sock.on("close", end);
    sock.on("error", (e) => this.fail(e));
  }

  /** next resolves with the next complete response. */
  next(): Promise<Answer> {
    return new Promise((res, rej) => {
      this.waiting = { res, rej };
      this.timer = setTimeout(() => {
        this.fail(new Error("response timed out"));
        this.sock.destroy();
      }, this.timeoutMs);
      this.pump();
    });
  }

  private fail(e: Error): void {
    const w = this.waiting;
    this.waiting = undefined;
    clearTimeout(this.timer);
    w?.rej(e);
  }

  private pump(): void {
    if (!this.waiting) return;
    const headEnd = this.buf.indexOf("\r\n\r\n");
    if (headEnd < 0) return;
    const head = this.buf.subarray(0, headEnd).toString("latin1").split("\r\n");
    const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(head[0]!)?.[1] ?? NaN);
    if (!Number.isFinite(status)) return this.fail(new Error(`bad status line ${JSON.stringify(head[0])}`));
    const headers = new Map<string, string>();
    for (const line of head.slice(1)) {
      const c = line.indexOf(":");
      if (c > 0) headers.set(line.slice(0, c).trim().toLowerCase(), line.slice(c + 1).trim());
    }
    let bodyEnd: number;
    const start = headEnd + 4;
    const length = headers.get("content-length");
    if (status === 204 || status === 304) bodyEnd = start;
    else if (length !== undefined) {
      bodyEnd = start + Number(length);
      if (this.buf.length < bodyEnd) return;
    } else if (/chunked/i.test(headers.get("transfer-encoding") ?? "")) {
      const end = chunkedEnd(this.buf, start);
      if (end === undefined) return;
      bodyEnd = end;
    } else {
      if (!this.closed) return;
      bodyEnd = this.buf.length;
    }
    this.buf = this.buf.subarray(bodyEnd);
    const w = this.waiting;
    this.waiting = undefined;
    clearTimeout(this.timer);
    if (/close/i.test(headers.get("connection") ?? "")) this.sock.end();
    w.res({
      status,
      end: this.readAt,
      ...(this.keep && headers.has(this.keep) ? { header: headers.get(this.keep)! } : {}),
    });
  }
}

/** chunkedEnd finds where a chunked body starting at start ends (after the last CRLF), if complete. */
function chunkedEnd(buf: Buffer, start: number): number | undefined {
  let at = start;
  for (;;) {
    const eol = buf.indexOf("\r\n", at);
    if (eol < 0) return undefined;
    const size = parseInt(buf.subarray(at, eol).toString("latin1"), 16);
    if (!Number.isFinite(size)) throw new Error("bad chunk size");
    if (size === 0) {
      // Trailers (if any) end with an empty line.
      const end = buf.indexOf("\r\n\r\n", eol);
      return end < 0 ? undefined : end + 4;
    }
    at = eol + 2 + size + 2;
    if (buf.length < at) return undefined;
  }
}

/** openH2 opens an HTTP/2 session (h2 over TLS, or h2c); each exchange is one stream. */
async function openH2(o: LoadOptions): Promise<Conn> {
  const authority = `${o.tls ? "https" : "http"}://${o.host}:${o.port}`;
  const session: ClientHttp2Session = h2Connect(
    authority,
    o.tls ? { servername: o.tls.servername, rejectUnauthorized: false } : {},
  );
  await new Promise<void>((res, rej) => {
    session.once("connect", () => res());
    session.once("error", rej);
  });
  session.on("error", () => {});
  const keep = o.keepHeader?.toLowerCase();
  return {
    exchange: (req) =>
      new Promise((res, rej) => {
        const s = session.request({
          ":method": req.method ?? "GET",
          ":path": req.path,
          ":authority": req.authority,
          "user-agent": "portico-loadgen",
        });
        let status = 0;
        let header: string | undefined;
        s.setTimeout(o.timeoutMs ?? 30_000, () => s.close());
        s.on("response", (h) => {
          status = Number(h[":status"]);
          const v = keep ? h[keep] : undefined;
          if (v !== undefined) header = String(v);
        });
        s.on("data", () => {});
        s.on("end", () => {
          const end = process.hrtime.bigint();
          if (status) res({ status, end, ...(header === undefined ? {} : { header }) });
          else rej(new Error("no response"));
        });
        s.on("error", rej);
        s.end();
      }),
    close: () => session.close(),
  };
}
