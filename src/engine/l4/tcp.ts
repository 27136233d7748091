// tcp.ts: the L4 TCP proxy. For each accepted connection it picks a backend, connects within
// connectTimeoutMs and fails over to another backend on error or timeout, optionally writes a
// PROXY header, then relays both ways (relay.ts: backpressure, reused read buffers; allowHalfOpen on both sockets
// forwards a FIN in one direction while the other keeps flowing). forwardTcp is exported so L7
// can hand over a connection it has peeked at (TLS passthrough by SNI) with the same failover.
import { connect, type Socket } from "node:net";
import type { L4Listener } from "../../model/ir.ts";
import {
  EngineConfigError,
  type Backend,
  type CompileDeps,
  type CompileTcp,
  type ConnectionHandler,
  type Upstreams,
} from "../contracts.ts";
import { l4Session, type L4SessionEvent } from "./events.ts";
import { proxyV1, proxyV2 } from "./proxy-protocol.ts";
import { relay } from "./relay.ts";

/** MAX_CONNECT_ATTEMPTS bounds failover so a dead pool can't hold a client for long. */
export const MAX_CONNECT_ATTEMPTS = 5;

/** ForwardOptions say where and how forwardTcp relays a client connection. */
export interface ForwardOptions {
  /** listener names the connection in logs and l4.session events. */
  listener: string;
  pool: string;
  upstreams: Upstreams;
  log: CompileDeps["log"];
  connectTimeoutMs: number;
  /** idleTimeoutMs closes both sides after this long without traffic; 0 disables. */
  idleTimeoutMs: number;
  proxyProtocol?: 1 | 2;
  /** head holds bytes already read from the client (a peeked ClientHello), sent before the rest. */
  head?: Buffer;
}

/** compileTcp builds the handler of one L4 TCP listener. */
export const compileTcp: CompileTcp = (listener: L4Listener, deps: CompileDeps): ConnectionHandler => {
  if (!deps.snapshot.pools[listener.pool]) {
    throw new EngineConfigError(
      "UNKNOWN_POOL",
      listener.name,
      `pool ${JSON.stringify(listener.pool)} is not in the snapshot`,
    );
  }
  const opts: ForwardOptions = {
    listener: listener.name,
    pool: listener.pool,
    upstreams: deps.upstreams,
    log: deps.log,
    connectTimeoutMs: listener.connectTimeoutMs,
    idleTimeoutMs: listener.idleTimeoutMs,
    proxyProtocol: listener.proxyProtocol,
  };
  return { onConnection: (client) => forwardTcp(client, opts) };
};

function publish(
  o: ForwardOptions,
  client: Socket,
  backend: string,
  event: L4SessionEvent["event"],
  started: number,
) {
  if (!l4Session.hasSubscribers) return;
  const ev: L4SessionEvent = {
    listener: o.listener,
    protocol: "TCP",
    pool: o.pool,
    backend,
    event,
    bytesIn: client.bytesRead,
    bytesOut: client.bytesWritten,
    durationMs: Date.now() - started,
  };
  l4Session.publish(ev);
}

function splice(o: ForwardOptions, client: Socket, up: Socket, backend: Backend, started: number): void {
  if (o.proxyProtocol) {
    const addrs = {
      sourceAddress: client.remoteAddress,
      sourcePort: client.remotePort,
      destAddress: client.localAddress,
      destPort: client.localPort,
    };
    up.write(o.proxyProtocol === 2 ? proxyV2(addrs) : proxyV1(addrs));
  }
  if (o.head && o.head.length > 0) up.write(o.head);
  publish(o, client, backend.id, "open", started);
  let open = 2;
  const closed = (hadError: boolean, side: Socket, other: Socket) => {
    // An error (reset, timeout) on one side tears down the other, and so does a side destroyed
    // here without its peer's FIN (the engine closing at the end of a drain): nothing can be
    // relayed any more, and the other socket would stay open until its peer closed it. A clean
    // close (FIN received) lets the other side drain.
    if (hadError || !side.readableEnded) other.destroy();
    if (--open > 0) return;
    // Only connection failures count against the backend (as HAProxy's `observe layer4`): once
    // connected, a reset is the application's business — iperf3, for one, resets every data
    // stream it closes with unread bytes, and counting that ejected a healthy server.
    o.upstreams.end(o.pool, backend, true);
    publish(o, client, backend.id, "close", started);
  };
  up.on("error", (err: NodeJS.ErrnoException) => {
    o.log("debug", "tcp backend error", { listener: o.listener, backend: backend.id, code: err.code });
  });
  up.on("close", (hadError) => closed(hadError, up, client));
  client.on("close", (hadError) => closed(hadError, client, up));
  if (o.idleTimeoutMs > 0) {
    // Socket timeouts reset on reads and writes, so the client side alone sees both directions.
    client.setTimeout(o.idleTimeoutMs, () => {
      client.destroy();
      up.destroy();
    });
  }
  relay(client, up);
  relay(up, client);
}

/** forwardTcp relays client to a backend of o.pool, failing over on connect error or timeout. */
export function forwardTcp(client: Socket, o: ForwardOptions): void {
  const started = Date.now();
  const tried = new Set<string>();
  let cancel: (() => void) | undefined;
  client.setNoDelay(true);
  client.on("error", () => {}); // reported through 'close'
  const onEarlyClose = () => cancel?.();
  client.once("close", onEarlyClose);

  const attempt = () => {
    const backend =
      tried.size < MAX_CONNECT_ATTEMPTS
        ? o.upstreams.pick(o.pool, { sourceIp: client.remoteAddress ?? "", exclude: tried })
        : undefined;
    if (!backend || client.destroyed) {
      if (!client.destroyed)
        o.log("warn", "tcp: no backend reachable", { listener: o.listener, pool: o.pool, tried: [...tried] });
      publish(o, client, "", "reject", started);
      client.destroy();
      return;
    }
    tried.add(backend.id);
    o.upstreams.begin(o.pool, backend);
    const up = connect({ host: backend.address, port: backend.port, allowHalfOpen: true, noDelay: true });
    const fail = () => {
      clearTimeout(timer);
      up.destroy();
      cancel = undefined;
      o.upstreams.end(o.pool, backend, false);
      attempt();
    };
    // A client that leaves while we connect says nothing about the backend.
    cancel = () => {
      clearTimeout(timer);
      up.destroy();
      cancel = undefined;
      o.upstreams.end(o.pool, backend, true);
    };
    const timer = setTimeout(fail, o.connectTimeoutMs);
    up.once("error", fail);
    up.once("connect", () => {
      clearTimeout(timer);
      up.off("error", fail);
      if (client.destroyed) return cancel?.();
      cancel = undefined;
      client.off("close", onEarlyClose);
      splice(o, client, up, backend, started);
    });
  };
  attempt();
}
