// h2c-bridge.ts: HTTP/1.1 clients routed to an "h2c" pool (gRPC backends, Gateway API
// appProtocol kubernetes.io/h2c). The exchange writes its upstream request exactly as for an
// HTTP/1.1 backend — head with filters applied, body framed — into the bridge's socket stand-in;
// the bridge parses it back with the same strict parser and sends it as one HTTP/2 stream on a
// shared cleartext session per backend. The response comes back through the exchange's usual
// UpstreamOwner events, trailers included (as chunked trailers, where gRPC-Web-ish clients look).
import type { OutgoingHttpHeaders } from "node:http";
import { STATUS_CODES } from "../http/tables.ts";
import type http2 from "node:http2";
import { ErrorCode } from "../h2/frames.ts";
import type { UpstreamTls } from "../../model/ir.ts";
import type { Backend } from "../contracts.ts";
import { hopByHop } from "../http/head.ts";
import { HttpParser, type MessageHead, type MessageSink } from "../http/parser.ts";
import { h2Session } from "./h2-sessions.ts";
import type { ListenerRuntime } from "./runtime.ts";
import type { UpstreamConn, UpstreamOwner } from "./upstream.ts";

/**
 * acquireUpstream returns the connection an HTTP/1.1 exchange writes its request to: a pooled
 * HTTP/1.1 connection, or an h2c bridge for pools that speak HTTP/2 cleartext.
 */
export function acquireUpstream(
  rt: ListenerRuntime,
  pool: string,
  backend: Backend,
  connectTimeoutMs = rt.limits.connectTimeoutMs,
): UpstreamConn {
  const p = rt.pools[pool];
  if (p?.protocol !== "h2c") return rt.pool.acquire(backend, connectTimeoutMs, p?.tls);
  // The bridge offers every member of UpstreamConn the exchange uses (socket writes, attach,
  // release, destroy, reused, sawResponse); the class itself can't be subclassed without a socket.
  return new H2cBridge(backend, p.tls) as unknown as UpstreamConn;
}

/** H2cBridge carries one exchange's request to an HTTP/2 backend. */
export class H2cBridge implements MessageSink {
  readonly backend: Backend;
  owner: UpstreamOwner | null = null;
  /** reused is always false: a bridge is never pooled, so failures are not "stale connection" retries. */
  readonly reused = false;
  /** connected is false: whether the session is up is known once the request's head is parsed
   * (onHead tells the owner, onConnected), so the exchange does not take it as ready at once. */
  readonly connected = false;
  sawResponse = false;
  /** socket is what the exchange writes its HTTP/1.1 request to. */
  readonly socket: {
    write(data: string | Buffer, enc?: BufferEncoding): boolean;
    cork(): void;
    uncork(): void;
    pause(): void;
    resume(): void;
    readonly writableLength: number;
  };
  private readonly parser: HttpParser;
  private stream: http2.ClientHttp2Stream | undefined;
  private timeoutMs = 0;
  private closed = false;

  /** tls, when the pool has it, makes the session HTTP/2 over TLS (h2-sessions.ts). */
  private readonly tls: UpstreamTls | undefined;

  constructor(backend: Backend, tls: UpstreamTls | undefined) {
    this.backend = backend;
    this.tls = tls;
    this.parser = new HttpParser("request", this, 0);
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- the getter below needs the bridge
    const bridge = this;
    this.socket = {
      write: (data, enc) => this.write(typeof data === "string" ? Buffer.from(data, enc ?? "latin1") : data),
      cork: () => {},
      uncork: () => {},
      pause: () => this.stream?.pause(),
      resume: () => this.stream?.resume(),
      get writableLength() {
        return bridge.stream?.writableLength ?? 0;
      },
    };
  }

  /** attach gives the bridge to its exchange; timeoutMs bounds the stream's inactivity. */
  attach(owner: UpstreamOwner, timeoutMs: number): void {
    this.owner = owner;
    this.timeoutMs = timeoutMs;
  }

  /** release ends the bridge after a complete response; the session stays for other streams. */
  release(): void {
    this.owner = null;
    // A response that completed before the request did leaves our half open: cancel it.
    const st = this.stream;
    if (st !== undefined && !st.closed && !st.writableEnded) st.close(ErrorCode.CANCEL);
    this.close();
  }

  /** destroy cancels the stream without telling the owner. */
  destroy(): void {
    this.owner = null;
    if (this.stream !== undefined && !this.stream.closed) this.stream.close(ErrorCode.CANCEL);
    this.close();
  }

  /** holdHead declines: the request goes through the socket stand-in, which frames it as HTTP/2. */
  holdHead(): boolean {
    return false;
  }

  /** takeSocket is never reached: an HTTP/2 backend can't answer 101 to an HTTP/1.1 upgrade. */
  takeSocket(): never {
    throw new Error("h2c bridge has no socket to hand over");
  }

  private close(): void {
    this.closed = true;
    this.parser.close();
  }

  private write(buf: Buffer): boolean {
    if (this.closed) return true;
    const r = this.parser.execute(buf);
    if (typeof r !== "number") {
      this.fail("protocol", `request not forwardable over HTTP/2: ${r.code}`);
      return true;
    }
    return this.stream === undefined || !this.stream.writableNeedDrain;
  }

  private fail(failure: "connect" | "reset" | "timeout" | "protocol", detail: string): void {
    const owner = this.owner;
    this.destroy();
    owner?.onUpstreamFailure(this as unknown as UpstreamConn, failure, detail);
  }

  // Request side: the exchange's bytes, parsed back.
  onBegin(): void {}
  onHead(h: MessageHead): boolean {
    const out: OutgoingHttpHeaders = {};
    let authority = "";
    const hs = h.headers;
    for (let i = 0; i < hs.length; i += 2) {
      const n = hs[i]!.toLowerCase();
      const v = hs[i + 1]!;
      if (n === "host") authority = v;
      if (hopByHop.has(n) || n === "host" || (n === "te" && v !== "trailers")) continue;
      const prev = out[n];
      out[n] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [String(prev), v];
    }
    // TE is hop-by-hop, so the HTTP/1.1 head lost it; gRPC servers want "te: trailers" back.
    if (String(out["content-type"] ?? "").startsWith("application/grpc")) out["te"] = "trailers";
    out[":method"] = h.method;
    out[":path"] = h.url;
    out[":scheme"] = this.tls === undefined ? "http" : "https";
    out[":authority"] = authority;
    let stream: http2.ClientHttp2Stream;
    try {
      const session = h2Session(this.backend, this.tls);
      whenConnected(session, this.owner);
      stream = session.request(out);
    } catch (err) {
      this.fail("connect", `cannot open a stream to ${this.backend.id}: ${(err as Error).message}`);
      return false;
    }
    this.stream = stream;
    if (this.timeoutMs > 0)
      stream.setTimeout(this.timeoutMs, () => this.fail("timeout", "backend timed out"));
    stream.on("drain", () => this.owner?.onUpstreamDrain());
    stream.on("response", (headers) => this.onResponse(headers));
    stream.on("data", (chunk: Buffer) => this.owner?.onBody(chunk));
    stream.on("trailers", (t) => this.owner?.onTrailers(flatten(t)));
    stream.on("end", () => this.owner?.onComplete());
    stream.on("error", (err: Error) => this.fail(this.sawResponse ? "reset" : "connect", err.message));
    stream.on("close", () => {
      if (this.owner !== null && !stream.readableEnded) this.fail("reset", "backend reset the stream");
    });
    return false;
  }
  onBody(chunk: Buffer): void {
    // The parser's chunk is a view of the exchange's buffer; the stream may queue it.
    this.stream?.write(Buffer.from(chunk));
  }
  onTrailers(): void {}
  onComplete(): void {
    this.stream?.end();
  }

  private onResponse(headers: http2.IncomingHttpHeaders): void {
    this.sawResponse = true;
    const status = Number(headers[":status"]);
    const head: MessageHead = {
      versionMajor: 1,
      versionMinor: 1,
      headers: flatten(headers),
      method: "",
      url: "",
      statusCode: status,
      statusMessage: STATUS_CODES[status] ?? "",
      upgrade: false,
      keepAlive: true,
    };
    this.owner?.onHead(head);
  }
}

// waiting are the timed owners whose streams wait for their session to connect: one 'connect'
// listener per session, not one per stream (a burst on a new session would pass the
// EventEmitter's listener limit).
// Each waiter keeps the attempt it waited for: by the time the session connects, the owner may
// have moved on to a retry on another backend (this attempt's connect timeout fired).
type Waiter = { owner: Pick<UpstreamOwner, "onConnected">; attemptId: number | undefined };
const waiting = new WeakMap<http2.ClientHttp2Session, Waiter[]>();

/**
 * whenConnected tells a timed owner when session can take its stream: at once when it is up
 * (not fresh), else when it connects (fresh) — the connect part of the exchange's timings.
 */
export function whenConnected(
  session: http2.ClientHttp2Session,
  owner: Pick<UpstreamOwner, "timed" | "onConnected" | "attemptId"> | null,
): void {
  if (owner === null || owner.timed !== true) return;
  if (!session.connecting) return owner.onConnected!(false, owner.attemptId);
  let list = waiting.get(session);
  if (list === undefined) {
    const l: Waiter[] = (list = []);
    waiting.set(session, l);
    session.once("connect", () => {
      waiting.delete(session);
      for (const w of l) w.owner.onConnected!(true, w.attemptId);
    });
  }
  list.push({ owner, attemptId: owner.attemptId });
}

// flatten turns HTTP/2 headers into name, value pairs, pseudo-headers left out.
function flatten(h: http2.IncomingHttpHeaders): string[] {
  const out: string[] = [];
  for (const [k, v] of Object.entries(h)) {
    if (k.charCodeAt(0) === 58 /* : */ || v === undefined) continue;
    if (Array.isArray(v)) for (const x of v) out.push(k, x);
    else out.push(k, String(v));
  }
  return out;
}
