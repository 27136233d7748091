// tcp.ts: the L4 TCP proxy. For each accepted connection it picks a backend, connects within
// connectTimeoutMs and fails over to another backend on error or timeout, optionally writes a
// PROXY header, then pipes both ways (pipe() gives backpressure; allowHalfOpen on both sockets
// forwards a FIN in one direction while the other keeps flowing).
import { connect, type Socket } from "node:net";
import type { L4Listener } from "../../model/ir.ts";
import {
  EngineConfigError,
  type Backend,
  type CompileDeps,
  type CompileTcp,
  type ConnectionHandler,
} from "../contracts.ts";
import { l4Session, type L4SessionEvent } from "./events.ts";
import { proxyV1, proxyV2 } from "./proxy-protocol.ts";

/** MAX_CONNECT_ATTEMPTS bounds failover so a dead pool can't hold a client for long. */
export const MAX_CONNECT_ATTEMPTS = 5;

/** compileTcp builds the handler of one L4 TCP listener. */
export const compileTcp: CompileTcp = (listener: L4Listener, deps: CompileDeps): ConnectionHandler => {
  if (!deps.snapshot.pools[listener.pool]) {
    throw new EngineConfigError(
      "UNKNOWN_POOL",
      listener.name,
      `pool ${JSON.stringify(listener.pool)} is not in the snapshot`,
    );
  }
  const { upstreams, log } = deps;
  const pool = listener.pool;

  const publish = (client: Socket, backend: string, event: L4SessionEvent["event"], started: number) => {
    if (!l4Session.hasSubscribers) return;
    const ev: L4SessionEvent = {
      listener: listener.name,
      protocol: "TCP",
      pool,
      backend,
      event,
      bytesIn: client.bytesRead,
      bytesOut: client.bytesWritten,
      durationMs: Date.now() - started,
    };
    l4Session.publish(ev);
  };

  const splice = (client: Socket, up: Socket, backend: Backend, started: number) => {
    if (listener.proxyProtocol) {
      const addrs = {
        sourceAddress: client.remoteAddress,
        sourcePort: client.remotePort,
        destAddress: client.localAddress,
        destPort: client.localPort,
      };
      up.write(listener.proxyProtocol === 2 ? proxyV2(addrs) : proxyV1(addrs));
    }
    publish(client, backend.id, "open", started);
    let ok = true;
    let open = 2;
    const closed = (hadError: boolean, other: Socket) => {
      // An error (reset, timeout) on one side tears down the other; a clean close lets it drain.
      if (hadError) other.destroy();
      if (--open > 0) return;
      upstreams.end(pool, backend, ok);
      publish(client, backend.id, "close", started);
    };
    up.on("error", (err: NodeJS.ErrnoException) => {
      ok = false;
      log("debug", "tcp backend error", { listener: listener.name, backend: backend.id, code: err.code });
    });
    up.on("close", (hadError) => closed(hadError, client));
    client.on("close", (hadError) => closed(hadError, up));
    if (listener.idleTimeoutMs > 0) {
      // Socket timeouts reset on reads and writes, so the client side alone sees both directions.
      client.setTimeout(listener.idleTimeoutMs, () => {
        client.destroy();
        up.destroy();
      });
    }
    client.pipe(up);
    up.pipe(client);
  };

  return {
    onConnection(client: Socket): void {
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
            ? upstreams.pick(pool, { sourceIp: client.remoteAddress ?? "", exclude: tried })
            : undefined;
        if (!backend || client.destroyed) {
          if (!client.destroyed)
            log("warn", "tcp: no backend reachable", { listener: listener.name, pool, tried: [...tried] });
          publish(client, "", "reject", started);
          client.destroy();
          return;
        }
        tried.add(backend.id);
        upstreams.begin(pool, backend);
        const up = connect({ host: backend.address, port: backend.port, allowHalfOpen: true, noDelay: true });
        const fail = () => {
          clearTimeout(timer);
          up.destroy();
          cancel = undefined;
          upstreams.end(pool, backend, false);
          attempt();
        };
        // A client that leaves while we connect says nothing about the backend.
        cancel = () => {
          clearTimeout(timer);
          up.destroy();
          cancel = undefined;
          upstreams.end(pool, backend, true);
        };
        const timer = setTimeout(fail, listener.connectTimeoutMs);
        up.once("error", fail);
        up.once("connect", () => {
          clearTimeout(timer);
          up.off("error", fail);
          if (client.destroyed) return cancel?.();
          cancel = undefined;
          client.off("close", onEarlyClose);
          splice(client, up, backend, started);
        });
      };
      attempt();
    },
  };
};
