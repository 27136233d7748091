// listeners.ts: one net.Server or dgram socket per protocol + address + port, kept open across
// snapshots while still wanted, so a swap never closes a listening socket (hitless). A server's
// 'connection' handler reads the entry's current handler at accept time. On a swap the old handler
// hands its connections over to the new one (their next requests use the new routes, requests in
// flight finish on the old) or, if it cannot, retires them (they close when idle).
// Binding errors are per listener: shown by status(), retried while the listener is wanted, and
// logged twice — when the retries start and when a retry succeeds — not on every attempt. onChange
// follows the same rule (first failure, a different error, bound, closed) and a burst of changes
// (a snapshot adding or removing many listeners, close()) makes one call, on the next turn.
import { createSocket, type Socket as UdpSocket } from "node:dgram";
import { createServer, isIPv6, type Server, type Socket } from "node:net";
import type { CompileDeps, ConnectionHandler, DatagramHandler } from "./contracts.ts";
import { UdpProxy, type UdpConfig } from "./l4/udp.ts";
import { overListenerCap, type Admission } from "./net/admission.ts";
import { LiveNode, LiveSet } from "./net/live-set.ts";
import { acceptPath } from "./net/accept-path.ts";
import { takeAccepts, type CloseTracker, type OwnSocket } from "./net/own-socket.ts";

/**
 * ListenerSpec is one compiled listener of a snapshot. A UDP listener either proxies (udp: the L4
 * UDP proxy's sessions) or answers each datagram itself (datagram: the DNS server).
 */
export type ListenerSpec =
  | {
      protocol: "TCP";
      name: string;
      address: string;
      port: number;
      handler: ConnectionHandler;
      /** maxConnections caps this listener's open connections (HttpListener.maxConnections). */
      maxConnections?: number;
    }
  | { protocol: "UDP"; name: string; address: string; port: number; udp: UdpConfig }
  | { protocol: "UDP"; name: string; address: string; port: number; datagram: DatagramHandler };

// udpKind tells the two kinds of UDP listener apart: a socket cannot turn from one into the other.
function udpKind(spec: ListenerSpec): "proxy" | "datagram" | undefined {
  if (spec.protocol !== "UDP") return undefined;
  return "udp" in spec ? "proxy" : "datagram";
}

/** ListenerState is where a listener's socket stands. */
export type ListenerState = "binding" | "bound" | "error" | "closed";

/** ListenerStatus describes one listener for status pages and tests. */
export interface ListenerStatus {
  key: string;
  name: string;
  protocol: "TCP" | "UDP";
  address: string;
  port: number;
  state: ListenerState;
  /** error is the last bind error code and message, when state is "error". */
  error?: string;
  /** code is the last bind error's errno code (EADDRINUSE, EADDRNOTAVAIL...), when state is "error". */
  code?: string;
  /** failingSince is when the current run of failed binds began (ms since the epoch). */
  failingSince?: number;
  /** attempts is how many binds failed in the current run. */
  attempts?: number;
}

/** ListenerManagerOptions: reusePort lets several engine processes bind the same VIP:port. */
export interface ListenerManagerOptions {
  reusePort?: boolean;
  /** bindRetryMs is the wait before re-trying a failed bind (default 1000). */
  bindRetryMs?: number;
  log: CompileDeps["log"];
  /** onChange runs once per burst of real changes (first failure, other error, bound, closed), e.g. to push status. */
  onChange?: () => void;
  /** admission, when set, caps TCP connections at accept (net/admission.ts). */
  admission?: Admission;
  /**
   * ownSockets (default true where this Node allows it) gives plain-TCP connections of handlers
   * that take them (ConnectionHandler.onHandle) to Portico's own socket layer (net/own-socket.ts)
   * instead of a net.Socket each. false keeps Node's accept path for every connection: the A/B
   * of docs/performance.md.
   */
  ownSockets?: boolean;
}

/** Closable is an accepted connection as the listener holds it: a net.Socket or an OwnSocket. */
interface Closable {
  destroy(): void;
}

interface Entry {
  key: string;
  spec: ListenerSpec;
  state: ListenerState;
  error?: string;
  code?: string;
  /** failingSince and attempts describe the current run of failed binds; 0 when none. */
  failingSince: number;
  attempts: number;
  server?: Server;
  udpSocket?: UdpSocket;
  udp?: UdpProxy;
  retry?: NodeJS.Timeout;
  /** sockets are the accepted connections, destroyed only by close(). */
  sockets: LiveSet<Closable>;
  /** emptied, when set, resolves a remove() waiting for the last connection to close. */
  emptied?: () => void;
  /** firstAttempt settles when the first bind attempt succeeded or failed. */
  firstAttempt: Promise<void>;
}

// replaced tells a handler a newer one took its listener: hand over its connections, or retire them.
function replaced(old: ConnectionHandler, next: ConnectionHandler): void {
  if (old === next) return;
  if (old.handOver?.(next) !== true) old.retire?.();
}

/** listenerKey identifies a socket: protocol, address and port. */
export function listenerKey(protocol: string, address: string, port: number): string {
  return `${protocol}/${isIPv6(address) ? `[${address}]` : address}:${port}`;
}

/** ListenerManager opens, keeps and closes the engine's listening sockets. */
export class ListenerManager {
  private readonly entries = new Map<string, Entry>();
  private readonly opts: ListenerManagerOptions;
  // own: plain-TCP connections go to the own socket layer (decided once: a bad setting throws here).
  private readonly own: boolean;
  private changePending = false;
  /** drained are listeners drain() closed whose connections may still be open, for close() to end. */
  private readonly drained = new Set<Entry>();

  constructor(opts: ListenerManagerOptions) {
    this.opts = opts;
    this.own = opts.ownSockets ?? acceptPath().own;
  }

  /** sync makes the open sockets match specs: new ones bind, kept ones switch handler, others close. */
  sync(specs: ListenerSpec[]): void {
    const want = new Map(specs.map((s) => [listenerKey(s.protocol, s.address, s.port), s]));
    for (const [key, e] of this.entries) if (!want.has(key)) this.remove(e);
    for (const [key, spec] of want) {
      const e = this.entries.get(key);
      if (e && udpKind(e.spec) !== udpKind(spec)) {
        // A proxy's socket becoming a DNS server's (or back): a new socket, as for a new listener.
        void this.remove(e);
        this.add(key, spec);
      } else if (e) {
        const old = e.spec;
        e.spec = spec;
        if (spec.protocol === "UDP") {
          if ("udp" in spec) e.udp?.update(spec.udp);
          else if ("datagram" in old && old.datagram !== spec.datagram) old.datagram.retire?.();
        } else if (old.protocol === "TCP") replaced(old.handler, spec.handler);
      } else this.add(key, spec);
    }
  }

  /** settled resolves when every listener made its first bind attempt. */
  async settled(): Promise<void> {
    await Promise.all([...this.entries.values()].map((e) => e.firstAttempt));
  }

  /** status lists every listener, sorted by key. */
  status(): ListenerStatus[] {
    return [...this.entries.values()]
      .map((e) => ({
        key: e.key,
        name: e.spec.name,
        protocol: e.spec.protocol,
        address: e.spec.address,
        port: e.spec.port,
        state: e.state,
        ...(e.error
          ? { error: e.error, code: e.code ?? "ERROR", failingSince: e.failingSince, attempts: e.attempts }
          : {}),
      }))
      .sort((a, b) => (a.key < b.key ? -1 : 1));
  }

  /** drain stops every listener and resolves when the connections they accepted have closed. */
  async drain(): Promise<void> {
    const entries = [...this.entries.values()];
    for (const e of entries) this.drained.add(e);
    await Promise.all(entries.map((e) => this.remove(e)));
  }

  /** close stops every listener and destroys its connections. */
  async close(): Promise<void> {
    const entries = [...this.entries.values()];
    const waits = entries.map((e) => this.remove(e));
    for (const e of [...entries, ...this.drained]) for (const s of e.sockets.values()) s.destroy();
    await Promise.all(waits);
  }

  private add(key: string, spec: ListenerSpec): void {
    let done!: () => void;
    const e: Entry = {
      key,
      spec,
      state: "binding",
      failingSince: 0,
      attempts: 0,
      sockets: new LiveSet(),
      firstAttempt: new Promise((r) => (done = r)),
    };
    this.entries.set(key, e);
    this.bind(e, done);
  }

  private bind(e: Entry, attempted: () => void): void {
    // A retry keeps state "error" (and its message) until it succeeds, so status does not flicker.
    if (e.attempts === 0) e.state = "binding";
    const live = () => this.entries.get(e.key) === e;
    const failed = (err: NodeJS.ErrnoException) => {
      attempted();
      if (!live()) return;
      const retryMs = this.opts.bindRetryMs ?? 1000;
      const error = `${err.code ?? "ERROR"}: ${err.message}`;
      // One line when the retries start (or the error changes), not one per attempt.
      const changed = e.attempts === 0 || error !== e.error;
      if (changed)
        this.opts.log("error", "listener bind failed; retrying", {
          listener: e.spec.name,
          key: e.key,
          code: err.code,
          error: err.message,
          retryMs,
        });
      if (e.attempts === 0) e.failingSince = Date.now();
      e.attempts++;
      e.state = "error";
      e.error = error;
      e.code = err.code;
      e.server = undefined;
      e.udpSocket = undefined;
      e.retry = setTimeout(() => this.bind(e, () => {}), retryMs);
      e.retry.unref();
      // A retry failing the same way is no news (attempts reach the group with the metrics push).
      if (changed) this.changed();
    };
    const bound = () => {
      attempted();
      if (!live()) {
        // Removed while binding: undo.
        e.server?.close();
        e.udp?.close();
        e.udpSocket?.close();
        return;
      }
      if (e.attempts > 0)
        this.opts.log("info", "listener bound after retry", {
          listener: e.spec.name,
          key: e.key,
          attempts: e.attempts + 1,
          failedForMs: Date.now() - e.failingSince,
        });
      else this.opts.log("info", "listener bound", { listener: e.spec.name, key: e.key });
      e.state = "bound";
      e.error = undefined;
      e.code = undefined;
      e.attempts = 0;
      e.failingSince = 0;
      this.changed();
    };
    const reusePort = this.opts.reusePort ?? false;
    if (e.spec.protocol === "TCP") {
      const server = createServer({ allowHalfOpen: true, noDelay: true });
      server.on("connection", (socket: Socket) => {
        // Past a cap the connection is closed before anything is read or allocated for it (TLS:
        // before the handshake).
        if (this.refused(e, socket)) {
          socket.destroy();
          return;
        }
        // A node and a closure per connection, young and gone with it (live-set.ts: why no Set).
        const node = new LiveNode<Closable>(socket);
        e.sockets.add(node);
        socket.on("close", () => {
          e.sockets.delete(node);
          this.opts.admission?.closed();
          emptied(e);
        });
        const spec = e.spec;
        if (spec.protocol === "TCP") spec.handler.onConnection(socket);
        else socket.destroy();
      });
      server.once("error", failed);
      server.listen(
        { host: e.spec.address, port: e.spec.port, reusePort, ipv6Only: isIPv6(e.spec.address) },
        () => {
          server.off("error", failed);
          if (this.own) this.acceptOwn(e, server);
          server.on("error", (err) =>
            this.opts.log("error", "listener error", { listener: e.spec.name, error: String(err) }),
          );
          bound();
        },
      );
      e.server = server;
    } else {
      const v6 = isIPv6(e.spec.address);
      const socket = createSocket({
        type: v6 ? "udp6" : "udp4",
        reusePort,
        ...(v6 ? { ipv6Only: true } : {}),
      });
      socket.once("error", (err) => {
        socket.close();
        failed(err);
      });
      socket.bind({ address: e.spec.address, port: e.spec.port, exclusive: !reusePort }, () => {
        socket.removeAllListeners("error");
        socket.on("error", (err) =>
          this.opts.log("warn", "udp listener error", { listener: e.spec.name, error: String(err) }),
        );
        if (e.spec.protocol === "UDP" && "udp" in e.spec) e.udp = new UdpProxy(socket, e.spec.udp);
        // The handler is read per datagram, so a new snapshot's answers start with the next one.
        else
          socket.on("message", (msg, rinfo) => {
            const spec = e.spec;
            if ("datagram" in spec) spec.datagram.onMessage(msg, rinfo, socket);
          });
        bound();
      });
      e.udpSocket = socket;
    }
  }

  // refused says whether a connection just accepted on e is past a cap (and reports it). The
  // listener's own cap first: it is not the engine's to count.
  private refused(e: Entry, socket: { readonly remoteAddress?: string | undefined }): boolean {
    const cap = e.spec.protocol === "TCP" ? e.spec.maxConnections : undefined;
    const admission = this.opts.admission;
    return (
      (cap !== undefined && overListenerCap(this.opts.log, e.spec.name, e.sockets.size, cap)) ||
      (admission !== undefined && !admission.admit(e.spec.name, e.sockets.size, socket))
    );
  }

  /**
   * acceptOwn takes server's accepted handles before Node wraps them in net.Sockets: a connection
   * whose handler takes own sockets (onHandle: plain HTTP/1.1) gets an OwnSocket on its handle;
   * any other (TLS, L4, SNI routes) goes on to Node's own accept, as before. The handler is read
   * per connection, as for 'connection', so a snapshot can switch a listener either way.
   */
  private acceptOwn(e: Entry, server: Server): void {
    const admission = this.opts.admission;
    // One tracker per listener: a connection's close costs no closure of its own.
    const tracker: CloseTracker = {
      closed(s: OwnSocket): void {
        e.sockets.delete(s);
        admission?.closed();
        emptied(e);
      },
    };
    const log = this.opts.log;
    takeAccepts(server, {
      wants: () => e.spec.protocol === "TCP" && e.spec.handler.onHandle !== undefined,
      take: (s: OwnSocket) => {
        if (this.refused(e, s)) {
          s.destroy();
          return;
        }
        const spec = e.spec;
        if (spec.protocol !== "TCP" || spec.handler.onHandle === undefined) return void s.destroy();
        e.sockets.add(s);
        s.tracker = tracker;
        spec.handler.onHandle(s);
      },
      failed: (reason: string, fellBack: boolean) =>
        log(
          fellBack ? "warn" : "error",
          fellBack ? "own socket layer off for this listener" : "connection closed",
          {
            listener: e.spec.name,
            reason,
            ...(fellBack ? { now: "Node's net.Socket accept path" } : {}),
          },
        ),
    });
  }

  // changed coalesces a burst of changes into one onChange call on the next turn of the loop.
  private changed(): void {
    if (this.opts.onChange === undefined || this.changePending) return;
    this.changePending = true;
    setImmediate(() => {
      this.changePending = false;
      this.opts.onChange?.();
    });
  }

  private remove(e: Entry): Promise<void> {
    this.entries.delete(e.key);
    // Keep-alive clients of a listener that goes away must not hold it open for ever.
    if (e.spec.protocol === "TCP") e.spec.handler.retire?.();
    else if ("datagram" in e.spec) e.spec.datagram.retire?.();
    e.state = "closed";
    clearTimeout(e.retry);
    this.changed();
    e.udp?.close();
    e.udpSocket?.close();
    const server = e.server;
    if (!server?.listening) return Promise.resolve();
    // close() stops accepting now; its callback waits for the net.Sockets it made to close, and
    // emptied for the own sockets too.
    return new Promise((resolve) =>
      server.close(() => {
        if (e.sockets.size === 0) resolve();
        else e.emptied = resolve;
      }),
    );
  }
}

// emptied resolves a remove() waiting for e's connections once the last one closed.
function emptied(e: Entry): void {
  if (e.sockets.size !== 0 || e.emptied === undefined) return;
  const done = e.emptied;
  e.emptied = undefined;
  done();
}
