// testing.ts: helpers for L7 tests — a tiny round-robin Upstreams (the real one, with balancing
// algorithms and health, is src/engine/upstreams.ts), a proxy bound on 127.0.0.1:0, a recording
// backend and a raw client. Test-only; nothing in the engine imports it.
import diagnostics from "node:diagnostics_channel";
import net from "node:net";
import { once } from "node:events";
import type { TestContext } from "node:test";
import type { Backend, ConnectionHandler, PickContext, Upstreams } from "../contracts.ts";
import type { EngineSnapshot, Header, HttpListener, Pool, Route, WafConfig } from "../../model/ir.ts";
import { compileHttpWith } from "./compile.ts";
import { HTTP_RESPONSE_CHANNEL, type HttpResponseEvent } from "./events.ts";
import { defaultLimits, type Limits } from "./runtime.ts";
import { ownSocketsWanted } from "../net/accept-path.ts";
import { takeAccepts } from "../net/own-socket.ts";
import { sharedPool } from "./upstream.ts";

/** RoundRobinUpstreams picks ready endpoints in turn and records begin/end calls. */
export class RoundRobinUpstreams implements Upstreams {
  private readonly pools: Record<string, Pool>;
  private next = 0;
  /** log records "begin pool backend" / "end pool backend ok" lines. */
  readonly log: string[] = [];
  constructor(pools: Record<string, Pool>) {
    this.pools = pools;
  }
  pick(pool: string, ctx: PickContext): Backend | undefined {
    const eps = (this.pools[pool]?.endpoints ?? []).filter(
      (e) => e.ready && !ctx.exclude?.has(`${e.address}:${e.port}`),
    );
    if (eps.length === 0) return undefined;
    const e = eps[this.next++ % eps.length]!;
    return { id: `${e.address}:${e.port}`, address: e.address, port: e.port, endpoint: e };
  }
  begin(pool: string, b: Backend): void {
    this.log.push(`begin ${pool} ${b.id}`);
  }
  end(pool: string, b: Backend, ok: boolean): void {
    this.log.push(`end ${pool} ${b.id} ${ok}`);
  }
}

/** listen binds a net.Server on 127.0.0.1:0 that hands connections to handler (allowHalfOpen and noDelay like the engine). */
export async function listen(handler: {
  current: ConnectionHandler;
}): Promise<{ server: net.Server; port: number }> {
  const server = net.createServer({ allowHalfOpen: true, noDelay: true, pauseOnConnect: false }, (s) =>
    handler.current.onConnection(s),
  );
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  // The proxy's parked backend connections go with it: they stay a minute (the pool's idle
  // timeout), and the test's in-process backend would keep the test file's process that long.
  server.once("close", () => sharedPool.close());
  // Plain HTTP/1.1 handlers take connections on the own socket layer, as the engine's listeners
  // give them (PORTICO_OWN_SOCKETS=off runs these tests on net.Sockets instead).
  if (ownSocketsWanted())
    takeAccepts(server, {
      wants: () => handler.current.onHandle !== undefined,
      take: (s) => handler.current.onHandle!(s),
      failed: (reason) => {
        throw new Error(reason);
      },
    });
  return { server, port: (server.address() as net.AddressInfo).port };
}

/** RecordingBackend is a raw TCP server that records every byte and answers with respond(). */
export class RecordingBackend {
  readonly server: net.Server;
  received = "";
  connections = 0;
  port = 0;
  private readonly respond: (data: string, socket: net.Socket) => void;
  private readonly sockets = new Set<net.Socket>();
  constructor(respond?: (data: string, socket: net.Socket) => void) {
    this.respond = respond ?? (() => {});
    this.server = net.createServer((s) => {
      this.connections++;
      this.sockets.add(s);
      s.on("close", () => this.sockets.delete(s));
      s.on("data", (d: Buffer) => {
        this.received += d.toString("latin1");
        this.respond(d.toString("latin1"), s);
      });
      s.on("error", () => {});
    });
  }
  async start(): Promise<this> {
    this.server.listen(0, "127.0.0.1");
    await once(this.server, "listening");
    this.port = (this.server.address() as net.AddressInfo).port;
    return this;
  }
  /** close stops the server and drops its connections. */
  close(): void {
    this.server.close();
    for (const s of this.sockets) s.destroy();
  }
}

/** rawExchange sends bytes on a fresh connection and resolves with everything received until close or until done(text). */
export function rawExchange(
  port: number,
  data: string | Buffer,
  done?: (text: string) => boolean,
  timeoutMs = 5000,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, "127.0.0.1");
    let got = "";
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error(`timeout; got ${JSON.stringify(got)}`));
    }, timeoutMs);
    s.on("data", (d) => {
      got += d.toString("latin1");
      if (done?.(got)) {
        clearTimeout(timer);
        s.destroy();
        resolve(got);
      }
    });
    s.on("close", () => {
      clearTimeout(timer);
      resolve(got);
    });
    s.on("error", () => {});
    s.write(data);
  });
}

/** RawAnswer is a backend's raw response (a string as latin1); close: the backend closes after it. */
export interface RawAnswer {
  raw: string | Buffer;
  close?: boolean;
}

/**
 * answeringBackend listens on 127.0.0.1:0 and answers each request head it reads with
 * answers[path] (answers[fallback] for a path with none; a HEAD gets the same head, no body).
 * Request bodies are not read: the tests send heads only.
 */
export async function answeringBackend(
  answers: Record<string, RawAnswer>,
  fallback?: string,
): Promise<{ port: number; close(): void }> {
  const server = net.createServer((sock) => {
    let buf = "";
    sock.on("error", () => {});
    sock.on("data", (d: Buffer) => {
      buf += d.toString("latin1");
      let end: number;
      while ((end = buf.indexOf("\r\n\r\n")) !== -1) {
        const [method, path] = buf.slice(0, end).split(" ") as [string, string];
        buf = buf.slice(end + 4);
        const a = answers[path] ?? answers[fallback ?? ""];
        if (a === undefined) throw new Error(`answeringBackend: no answer for ${path}`);
        const b = typeof a.raw === "string" ? Buffer.from(a.raw, "latin1") : a.raw;
        const raw = method === "HEAD" ? b.subarray(0, b.indexOf("\r\n\r\n") + 4) : b;
        if (a.close) sock.end(raw);
        else sock.write(raw);
      }
    });
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return { port: (server.address() as net.AddressInfo).port, close: () => server.close() };
}

/** snapshotOf wraps one listener and its pools into a snapshot. */
export function snapshotOf(
  listener: HttpListener,
  pools: Record<string, Pool>,
  certificates = {},
): EngineSnapshot {
  return { version: 1, l4: [], http: [listener], pools, certificates };
}

/** poolOf makes a round-robin pool of 127.0.0.1 ports. */
export function poolOf(name: string, ports: number[], protocol?: Pool["protocol"]): Pool {
  return {
    name,
    algorithm: { type: "RoundRobin" },
    endpoints: ports.map((port) => ({
      address: "127.0.0.1",
      port,
      weight: 1,
      ready: true,
      serving: true,
      terminating: false,
    })),
    ...(protocol ? { protocol } : {}),
  };
}

/** catchAllListener is a listener on 127.0.0.1:0 sending every host and path to pool "p". */
export function catchAllListener(name: string, extra: Partial<HttpListener> = {}): HttpListener {
  return {
    name,
    address: "127.0.0.1",
    port: 0,
    virtualHosts: [
      {
        hostname: "*",
        routes: [
          {
            name: "r",
            match: { path: { type: "Prefix", value: "/" } },
            action: { type: "Forward", backends: [{ pool: "p", weight: 1 }] },
          },
        ],
      },
    ],
    requestTimeoutMs: 5000,
    idleTimeoutMs: 5000,
    ...extra,
  };
}

/** proxyAll compiles catchAllListener(name) to a backend on 127.0.0.1:backendPort and listens. */
export function proxyAll(name: string, backendPort: number, limits: Partial<Limits> = {}) {
  const pools = { p: poolOf("p", [backendPort]) };
  const listener = catchAllListener(name);
  const deps = {
    snapshot: snapshotOf(listener, pools),
    upstreams: new RoundRobinUpstreams(pools),
    log: () => {},
  };
  return listen({ current: compileHttpWith(listener, deps, { ...defaultLimits, ...limits }) });
}

/**
 * headerFilterRoute is route "r" for every path to pool "p" with a ResponseHeaderModifier that sets
 * X-Set to "proxy", removes X-Remove and adds add: what a test of the response head edits sends.
 */
export function headerFilterRoute(add: Header[]): Route {
  return {
    name: "r",
    match: { path: { type: "Prefix", value: "/" } },
    filters: [
      { type: "ResponseHeaderModifier", set: [{ name: "X-Set", value: "proxy" }], add, remove: ["x-remove"] },
    ],
    action: { type: "Forward", backends: [{ pool: "p", weight: 1 }] },
  };
}

/** proxyRoute listens on 127.0.0.1:0 with route (its action's pools in pools) for every host. */
export function proxyRoute(route: Route, pools: Record<string, Pool>, certificates = {}) {
  const listener = catchAllListener("l");
  listener.virtualHosts[0]!.routes = [route];
  const deps = {
    snapshot: snapshotOf(listener, pools, certificates),
    upstreams: new RoundRobinUpstreams(pools),
    log: () => {},
  };
  return listen({ current: compileHttpWith(listener, deps, defaultLimits) });
}

/**
 * proxyErrors records the `error` of every response event (why the proxy answered an error
 * itself: kept for the logs, never sent to the client) until the returned stop runs.
 */
export function proxyErrors(): { errors: string[]; stop(): Promise<void> } {
  const errors: string[] = [];
  const onEvent = (m: unknown) => {
    const e = (m as HttpResponseEvent).error;
    if (e) errors.push(e);
  };
  diagnostics.subscribe(HTTP_RESPONSE_CHANNEL, onEvent);
  return {
    errors,
    // A response's event is published in the check phase after its bytes left (net/write-batch.ts):
    // a response flushed early (a closing connection) can reach a client in this process first.
    // The release that publishes it was scheduled before this immediate, so it has run after it.
    stop: async () => {
      await new Promise((r) => setImmediate(r));
      diagnostics.unsubscribe(HTTP_RESPONSE_CHANNEL, onEvent);
    },
  };
}

/** INTERNALS matches what a client must never read: backend addresses, route keys, error codes. */
export const INTERNALS =
  /\d+\.\d+\.\d+\.\d+|:\d{2,5}\b|Ingress\/|HTTPRoute\/|route |pool |\bE[A-Z]{3,}\b|ERR_/;

/**
 * timedClient records every response event into events, connects a raw client to port and
 * collects what it reads; after t it closes the client, unsubscribes and runs close (the proxy,
 * the backend).
 */
export async function timedClient(
  t: TestContext,
  events: HttpResponseEvent[],
  port: number,
  close: () => void,
): Promise<{ client: net.Socket; got: () => string }> {
  const onEvent = (m: unknown) => void events.push(m as HttpResponseEvent);
  diagnostics.subscribe(HTTP_RESPONSE_CHANNEL, onEvent);
  const client = net.connect(port, "127.0.0.1");
  t.after(() => {
    client.destroy();
    close();
    diagnostics.unsubscribe(HTTP_RESPONSE_CHANNEL, onEvent);
  });
  await once(client, "connect");
  let got = "";
  client.on("data", (d: Buffer) => (got += d.toString("latin1")));
  return { client, got: () => got };
}

let wafKeys = 0;
/** wafConfig is a WafConfig (Enforcement, PL1, thresholds 5/4) with a fresh key; over overrides. */
export function wafConfig(over: Partial<WafConfig> = {}): WafConfig {
  return {
    key: `test-${process.pid}-${++wafKeys}`,
    policy: "WafPolicy/default/test",
    mode: "Enforcement",
    paranoiaLevel: 1,
    inboundAnomalyThreshold: 5,
    outboundAnomalyThreshold: 4,
    exclusions: [],
    requestBodyLimitBytes: 64 * 1024,
    requestBodyLimitAction: "Reject",
    inspectResponseBody: false,
    responseBodyLimitBytes: 512 * 1024,
    budgetMs: 0,
    failurePolicy: "FailClosed",
    ...over,
  };
}
