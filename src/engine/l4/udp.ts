// udp.ts: the L4 UDP proxy. One UdpProxy lives with each VIP socket across snapshots; each client
// address:port gets a session with its own connected upstream socket (so the kernel filters
// replies), and replies leave from the VIP socket so the client sees the address it talked to.
// A session keeps the config (pool, upstreams) it started with; new clients get the current one.
import { createSocket, type RemoteInfo, type Socket } from "node:dgram";
import { isIPv6 } from "node:net";
import type { L4Listener } from "../../model/ir.ts";
import { EngineConfigError, type Backend, type CompileDeps, type Upstreams } from "../contracts.ts";
import { l4Session, type L4SessionEvent } from "./events.ts";

/** UdpConfig is a compiled UDP listener: its IR and the upstreams of its snapshot. */
export interface UdpConfig {
  listener: L4Listener;
  upstreams: Upstreams;
}

/** compileUdp checks a UDP listener against its snapshot. */
export function compileUdp(listener: L4Listener, deps: CompileDeps): UdpConfig {
  if (!deps.snapshot.pools[listener.pool]) {
    throw new EngineConfigError(
      "UNKNOWN_POOL",
      listener.name,
      `pool ${JSON.stringify(listener.pool)} is not in the snapshot`,
    );
  }
  return { listener, upstreams: deps.upstreams };
}

interface Session {
  clientAddress: string;
  clientPort: number;
  socket: Socket;
  config: UdpConfig;
  backend: Backend;
  started: number;
  lastActive: number;
  bytesIn: number;
  bytesOut: number;
  ok: boolean;
  /** queue holds datagrams that arrived before connect() completed; undefined once connected. */
  queue: Buffer[] | undefined;
}

/** MAX_CONNECT_QUEUE bounds what a session buffers while its upstream socket connects. */
const MAX_CONNECT_QUEUE = 64;

/** UdpProxyOptions inject the clock; sweepMs overrides how often idle sessions are looked for. */
export interface UdpProxyOptions {
  now?: () => number;
  sweepMs?: number;
}

/** UdpProxy forwards datagrams from one VIP socket to per-client upstream sockets. */
export class UdpProxy {
  private readonly vip: Socket;
  /** sessions by client address, then port: no key string is built per datagram. */
  private readonly sessions = new Map<string, Map<number, Session>>();
  private count = 0;
  private readonly now: () => number;
  private config: UdpConfig;
  private sweeper: NodeJS.Timeout | undefined;
  /** dropped counts datagrams dropped for the session cap or a missing backend. */
  dropped = 0;

  constructor(vip: Socket, config: UdpConfig, opts: UdpProxyOptions = {}) {
    this.vip = vip;
    this.config = config;
    this.now = opts.now ?? Date.now;
    const idle = config.listener.idleTimeoutMs;
    const sweepMs = opts.sweepMs ?? Math.max(10, Math.min(1000, Math.floor(idle / 4)));
    this.sweeper = setInterval(() => this.sweep(), sweepMs);
    this.sweeper.unref();
    vip.on("message", (msg, rinfo) => this.onMessage(msg, rinfo));
  }

  /** update makes config the one new sessions use. */
  update(config: UdpConfig): void {
    this.config = config;
  }

  /** size is the number of live sessions. */
  get size(): number {
    return this.count;
  }

  /** sweep expires sessions idle for longer than their listener's idleTimeoutMs. */
  sweep(): void {
    const now = this.now();
    for (const s of this.all()) {
      if (now - s.lastActive >= s.config.listener.idleTimeoutMs) this.closeSession(s);
    }
  }

  /** close ends every session and stops the sweeper; the VIP socket belongs to the caller. */
  close(): void {
    clearInterval(this.sweeper);
    this.sweeper = undefined;
    for (const s of this.all()) this.closeSession(s);
  }

  private onMessage(msg: Buffer, rinfo: RemoteInfo): void {
    let s = this.sessions.get(rinfo.address)?.get(rinfo.port);
    if (!s) {
      s = this.open(rinfo);
      if (!s) {
        this.dropped++;
        this.reject(rinfo);
        return;
      }
    }
    s.lastActive = this.now();
    s.bytesIn += msg.length;
    if (s.queue === undefined) s.socket.send(msg);
    else if (s.queue.length < MAX_CONNECT_QUEUE) s.queue.push(msg);
  }

  /** all lists every session (a copy, so callers may close while iterating). */
  private all(): Session[] {
    const out: Session[] = [];
    for (const byPort of this.sessions.values()) for (const s of byPort.values()) out.push(s);
    return out;
  }

  private live(s: Session): boolean {
    return this.sessions.get(s.clientAddress)?.get(s.clientPort) === s;
  }

  private open(rinfo: RemoteInfo): Session | undefined {
    const config = this.config;
    const { listener, upstreams } = config;
    const max = listener.maxSessions;
    if (max !== undefined && this.count >= max) return undefined;
    const backend = upstreams.pick(listener.pool, { sourceIp: rinfo.address });
    if (!backend) return undefined;
    upstreams.begin(listener.pool, backend);
    const socket = createSocket(isIPv6(backend.address) ? "udp6" : "udp4");
    const now = this.now();
    const s: Session = {
      clientAddress: rinfo.address,
      clientPort: rinfo.port,
      socket,
      config,
      backend,
      started: now,
      lastActive: now,
      bytesIn: 0,
      bytesOut: 0,
      ok: true,
      queue: [],
    };
    // node does not queue sends while a dgram socket connects, so the session does.
    socket.connect(backend.port, backend.address, () => {
      const queue = s.queue ?? [];
      s.queue = undefined;
      if (!this.live(s)) return;
      for (const msg of queue) socket.send(msg);
    });
    socket.on("message", (reply) => {
      s.lastActive = this.now();
      s.bytesOut += reply.length;
      this.vip.send(reply, s.clientPort, s.clientAddress);
    });
    socket.on("error", () => {
      // ECONNREFUSED (ICMP port unreachable) on a connected socket: the backend is not there.
      s.ok = false;
      this.closeSession(s);
    });
    let byPort = this.sessions.get(rinfo.address);
    if (!byPort) this.sessions.set(rinfo.address, (byPort = new Map()));
    byPort.set(rinfo.port, s);
    this.count++;
    this.publish(s, "open");
    return s;
  }

  private closeSession(s: Session): void {
    const byPort = this.sessions.get(s.clientAddress);
    if (byPort?.get(s.clientPort) !== s) return;
    byPort.delete(s.clientPort);
    if (byPort.size === 0) this.sessions.delete(s.clientAddress);
    this.count--;
    s.socket.close();
    s.config.upstreams.end(s.config.listener.pool, s.backend, s.ok);
    this.publish(s, "close");
  }

  private reject(rinfo: RemoteInfo): void {
    if (!l4Session.hasSubscribers) return;
    const { listener } = this.config;
    const ev: L4SessionEvent = {
      listener: listener.name,
      protocol: "UDP",
      pool: listener.pool,
      backend: "",
      event: "reject",
      bytesIn: rinfo.size,
      bytesOut: 0,
      durationMs: 0,
    };
    l4Session.publish(ev);
  }

  private publish(s: Session, event: L4SessionEvent["event"]): void {
    if (!l4Session.hasSubscribers) return;
    const ev: L4SessionEvent = {
      listener: s.config.listener.name,
      protocol: "UDP",
      pool: s.config.listener.pool,
      backend: s.backend.id,
      event,
      bytesIn: s.bytesIn,
      bytesOut: s.bytesOut,
      durationMs: this.now() - s.started,
    };
    l4Session.publish(ev);
  }
}
