// l4-helpers.ts: real servers and snapshots for the L4 and engine end-to-end tests.
// Everything binds on 127.0.0.0/8 only.
import { subscribe, unsubscribe } from "node:diagnostics_channel";
import { createSocket } from "node:dgram";
import { once } from "node:events";
import { createServer, type Server, type Socket } from "node:net";
import type { EngineSnapshot, Endpoint, L4Listener, Pool } from "../../src/model/ir.ts";
import { L4_SESSION_CHANNEL, type L4SessionEvent } from "../../src/engine/l4/events.ts";

// Ports handed out by freePort in this process. The kernel may give the same ephemeral port
// twice once the probe socket is closed, and a test that asks for several ports before binding
// any of them would then configure two listeners on one port (seen in CI).
const handedOut = new Set<string>();

/**
 * freePort finds a port free on address for the protocol (bind 0, read, close) that this process
 * has not been given before.
 */
export async function freePort(address: string, protocol: "TCP" | "UDP" = "TCP"): Promise<number> {
  for (;;) {
    const port = await probePort(address, protocol);
    const key = `${address}:${port}/${protocol}`;
    if (handedOut.has(key)) continue;
    handedOut.add(key);
    return port;
  }
}

async function probePort(address: string, protocol: "TCP" | "UDP"): Promise<number> {
  if (protocol === "UDP") {
    const s = createSocket("udp4");
    s.bind(0, address);
    await once(s, "listening");
    const port = s.address().port;
    s.close();
    return port;
  }
  const s = createServer();
  s.listen(0, address);
  await once(s, "listening");
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

/** TcpBackend is a test server: it greets with its tag, then echoes (or runs onSocket). */
export interface TcpBackend {
  server: Server;
  address: string;
  port: number;
  sockets: Set<Socket>;
  close(): Promise<void>;
}

/** tcpBackend starts a server on address; onSocket defaults to "write tag, then echo". */
export async function tcpBackend(
  address: string,
  tag: string,
  onSocket?: (s: Socket) => void,
): Promise<TcpBackend> {
  const sockets = new Set<Socket>();
  const server = createServer({ allowHalfOpen: true }, (s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
    s.on("error", () => {});
    if (onSocket) return onSocket(s);
    s.write(tag);
    s.pipe(s);
  });
  server.listen(0, address);
  await once(server, "listening");
  const port = (server.address() as { port: number }).port;
  return {
    server,
    address,
    port,
    sockets,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}

/** endpoint builds a ready endpoint. */
export function endpoint(address: string, port: number, over: Partial<Endpoint> = {}): Endpoint {
  return { address, port, weight: 1, ready: true, serving: true, terminating: false, ...over };
}

/** pool builds a round-robin pool. */
export function pool(name: string, endpoints: Endpoint[], over: Partial<Pool> = {}): Pool {
  return { name, algorithm: { type: "RoundRobin" }, endpoints, ...over };
}

/** l4 builds an L4 listener with short timeouts. */
export function l4(
  name: string,
  address: string,
  port: number,
  poolName: string,
  over: Partial<L4Listener> = {},
): L4Listener {
  return {
    name,
    address,
    port,
    protocol: "TCP",
    pool: poolName,
    idleTimeoutMs: 10_000,
    connectTimeoutMs: 1000,
    ...over,
  };
}

/** snapshot assembles an L4-only snapshot. */
export function snapshot(version: number, listeners: L4Listener[], pools: Pool[]): EngineSnapshot {
  return {
    version,
    l4: listeners,
    http: [],
    pools: Object.fromEntries(pools.map((p) => [p.name, p])),
    certificates: {},
  };
}

/** readUntil collects data from a socket until pred holds; rejects on close first. */
export function readUntil(s: Socket, pred: (data: string) => boolean, timeoutMs = 5000): Promise<string> {
  return new Promise((resolve, reject) => {
    let buf = "";
    const timer = setTimeout(() => done(new Error(`timeout; got ${JSON.stringify(buf)}`)), timeoutMs);
    const onData = (d: Buffer) => {
      buf += d.toString("latin1");
      if (pred(buf)) done();
    };
    const onClose = () => done(new Error(`closed; got ${JSON.stringify(buf)}`));
    const done = (err?: Error) => {
      clearTimeout(timer);
      s.off("data", onData);
      s.off("close", onClose);
      if (err) reject(err);
      else resolve(buf);
    };
    s.on("data", onData);
    s.on("close", onClose);
  });
}

/** readAll collects everything a socket receives until the peer's FIN. */
export async function readAll(s: Socket): Promise<Buffer> {
  const chunks: Buffer[] = [];
  s.on("data", (d: Buffer) => chunks.push(d));
  await once(s, "end");
  return Buffer.concat(chunks);
}

/** waitL4Event resolves with the first l4.session event matching pred. */
export function waitL4Event(pred: (e: L4SessionEvent) => boolean, timeoutMs = 5000): Promise<L4SessionEvent> {
  return new Promise((resolve, reject) => {
    const on = (m: unknown) => {
      const e = m as L4SessionEvent;
      if (!pred(e)) return;
      clearTimeout(timer);
      unsubscribe(L4_SESSION_CHANNEL, on);
      resolve(e);
    };
    const timer = setTimeout(() => {
      unsubscribe(L4_SESSION_CHANNEL, on);
      reject(new Error("timeout waiting for l4 event"));
    }, timeoutMs);
    subscribe(L4_SESSION_CHANNEL, on);
  });
}

/** until polls cond every 10ms until it holds or the deadline passes. */
export async function until(cond: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timeout: ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
