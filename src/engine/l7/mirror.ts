// mirror.ts: the RequestMirror filter. A sampled copy of a request (the same upstream head and
// body the main backend gets) goes to a backend of the mirror pool over the shared keep-alive
// pool, and its answer is read and dropped. Fire and forget: a mirror never delays, fails or
// changes the main exchange — a slow mirror whose send buffer grows past MAX_BUFFERED is cut off,
// and a mirror pool without a usable backend is simply skipped.
import type { Backend, CompileDeps, Upstreams } from "../contracts.ts";
import type { Route, RouteFilter } from "../../model/ir.ts";
import { chunkHeader, lastChunk } from "../http/head.ts";
import type { MessageHead } from "../http/parser.ts";
import { acquireUpstream } from "./h2c-bridge.ts";
import type { H2Exchange } from "./h2-exchange.ts";
import type { ListenerRuntime } from "./runtime.ts";
import type { UpstreamConn, UpstreamFailure, UpstreamOwner } from "./upstream.ts";

/** MAX_BUFFERED is how much unsent request body one mirror may hold before it is dropped. */
export const MAX_BUFFERED = 1024 * 1024;

/** MirrorDeps are what a mirror needs from its listener. */
export interface MirrorDeps {
  upstreams: Upstreams;
  /** acquire opens (or reuses) a connection to a backend of pool: HTTP/1.1, or the h2c bridge. */
  acquire: (pool: string, backend: Backend) => UpstreamConn;
  /** timeoutMs bounds the mirror's inactivity, like the main request's backend timeout. */
  timeoutMs: number;
  log: CompileDeps["log"];
}

/** MirrorRequest is the request as it goes to the main backend. */
export interface MirrorRequest {
  route: Route;
  method: string;
  /** head is the upstream request head, filters applied. */
  head: string;
  framing: "length" | "chunked" | "none";
  sourceIp: string;
  /** filters are the RequestMirror filters to start (the requestHeaders phase's); absent: the route's. */
  filters?: readonly RouteFilter[];
}

/** Mirrors are the sampled mirror copies of one request; the exchange feeds them its body. */
export class Mirrors {
  private readonly list: Mirror[];

  private constructor(list: Mirror[]) {
    this.list = list;
  }

  /**
   * start opens a mirror per RequestMirror filter of the route that its percentage samples, and
   * returns undefined when there is none (the common case costs one loop over the filters).
   */
  static start(
    req: MirrorRequest,
    deps: MirrorDeps,
    random: () => number = Math.random,
  ): Mirrors | undefined {
    let list: Mirror[] | undefined;
    for (const f of req.filters ?? req.route.filters ?? []) {
      if (f.type !== "RequestMirror") continue;
      if (f.percent < 100 && !(random() * 100 < f.percent)) continue;
      const backend = deps.upstreams.pick(f.pool, { sourceIp: req.sourceIp });
      if (backend === undefined) {
        deps.log("debug", "mirror: no backend", { route: req.route.name, pool: f.pool });
        continue;
      }
      try {
        (list ??= []).push(new Mirror(f.pool, backend, req, deps));
      } catch (err) {
        deps.log("debug", "mirror: cannot start", { route: req.route.name, error: String(err) });
      }
    }
    return list === undefined ? undefined : new Mirrors(list);
  }

  /** body copies a piece of the request body to every mirror still running. */
  body(chunk: Buffer): void {
    for (const m of this.list) m.body(chunk);
  }

  /** end completes the mirrored requests (with chunked trailers, when any). */
  end(trailers?: readonly string[]): void {
    for (const m of this.list) m.end(trailers);
  }

  /** abort drops mirrors whose request is incomplete (the client went away mid-body). */
  abort(): void {
    for (const m of this.list) m.abort();
  }
}

// Mirror is one copy on one backend connection; it owns the connection like an exchange does.
class Mirror implements UpstreamOwner {
  /** transientBody: response bodies are dropped, so they need no copy. */
  readonly transientBody = true;
  private readonly poolName: string;
  private readonly backend: Backend;
  private readonly deps: MirrorDeps;
  private readonly method: string;
  private readonly chunked: boolean;
  private conn: UpstreamConn | null;
  private requestDone: boolean;
  private done = false;
  private interim = false;

  constructor(poolName: string, backend: Backend, req: MirrorRequest, deps: MirrorDeps) {
    this.poolName = poolName;
    this.backend = backend;
    this.deps = deps;
    this.method = req.method;
    this.chunked = req.framing === "chunked";
    this.requestDone = req.framing === "none";
    deps.upstreams.begin(poolName, backend);
    const conn = deps.acquire(poolName, backend);
    this.conn = conn;
    conn.attach(this, deps.timeoutMs);
    conn.socket.write(req.head, "latin1");
  }

  body(chunk: Buffer): void {
    const s = this.conn?.socket;
    if (s === undefined) return;
    if (this.chunked) {
      s.write(chunkHeader(chunk.length), "latin1");
      s.write(chunk);
      s.write("\r\n", "latin1");
    } else s.write(chunk);
    if (s.writableLength > MAX_BUFFERED) this.close(false, "mirror backend too slow");
  }

  end(trailers?: readonly string[]): void {
    if (this.requestDone) return;
    this.requestDone = true;
    if (this.chunked) this.conn?.socket.write(lastChunk(trailers), "latin1");
  }

  abort(): void {
    if (!this.requestDone) this.close(true, "client left before the request was complete");
  }

  private close(ok: boolean, why: string): void {
    const c = this.conn;
    this.conn = null;
    c?.destroy();
    this.settle(ok, why);
  }

  private settle(ok: boolean, why?: string): void {
    if (this.done) return;
    this.done = true;
    this.deps.upstreams.end(this.poolName, this.backend, ok);
    if (why !== undefined) this.deps.log("debug", "mirror ended", { backend: this.backend.id, reason: why });
  }

  onUpstreamFailure(_conn: UpstreamConn, failure: UpstreamFailure, detail: string): void {
    this.conn = null;
    this.settle(false, `${failure}: ${detail}`);
  }
  onUpgrade(conn: UpstreamConn): void {
    conn.takeSocket().destroy();
    this.conn = null;
    this.settle(false, "mirror backend upgraded the connection");
  }
  onUpstreamDrain(): void {}
  onBegin(): void {}
  onHead(h: MessageHead): boolean {
    this.interim = h.statusCode >= 100 && h.statusCode < 200;
    return this.method === "HEAD" || h.statusCode === 204 || h.statusCode === 304;
  }
  onBody(): void {}
  onTrailers(): void {}
  onComplete(): void {
    if (this.interim) {
      this.interim = false;
      return;
    }
    const c = this.conn;
    this.conn = null;
    // Reusable only if the mirrored request was sent whole.
    c?.release(this.requestDone);
    this.settle(true);
  }
}

/** mirrorsOf starts the mirrors of a routed request on listener rt (undefined: none sampled). */
export function mirrorsOf(rt: ListenerRuntime, req: MirrorRequest): Mirrors | undefined {
  return Mirrors.start(req, {
    upstreams: rt.upstreams,
    acquire: (pool, backend) => acquireUpstream(rt, pool, backend),
    timeoutMs: req.route.backendTimeoutMs ?? rt.listener.requestTimeoutMs,
    log: rt.log,
  });
}

/**
 * mirrorStream starts the mirrors the requestHeaders phase chose for an HTTP/2 stream and feeds
 * them its body: held (what the WAF read before the backend attempt) first, then the stream's.
 */
export function mirrorStream(
  rt: ListenerRuntime,
  ex: H2Exchange,
  held: readonly Buffer[] = [],
  ended = false,
): void {
  const filters = ex.edits?.mirrors;
  if (filters === undefined) return;
  const head = ex.http1Head();
  const m = mirrorsOf(rt, {
    route: ex.route!,
    method: ex.method,
    head,
    framing: ex.framing,
    sourceIp: ex.clientIp(),
    filters,
  });
  if (m === undefined || ex.framing === "none") return;
  for (let i = 0; i < held.length; i++) m.body(held[i]!);
  if (ended) return m.end();
  // The exchange tees the stream's body to the mirrors (H2Exchange.readBody).
  ex.mirror = m;
  ex.stream.onClose(() => m.abort());
}
