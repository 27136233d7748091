// server.ts: one DnsServer of a snapshot, compiled: its zones, its rate limiter and forwarder, and
// the two handlers the listener manager dispatches to (datagrams on UDP, connections on TCP). A
// new snapshot compiles a new DnsService; UDP reads the current one per datagram and open TCP
// connections are handed over, so a changed zone answers from the next query with no socket
// closed. The rate limiter's buckets carry over while the limit stays the same.
import type { RemoteInfo, Socket as UdpSocket } from "node:dgram";
import type { Socket } from "node:net";
import type { DnsServer } from "../../model/ir.ts";
import type { ConnectionHandler, DatagramHandler } from "../contracts.ts";
import { respond, type ClientInfo, type PoolUp } from "./answer.ts";
import { dnsQuery, type DnsQueryEvent } from "./events.ts";
import { Forwarder, FORWARD_TIMEOUT_MS } from "./forward.ts";
import { RateLimiter } from "./rrl.ts";
import { RCODE, encodeResponse, rcodeName, truncate, typeName, type Query } from "./wire.ts";
import { compileZones, type Zones } from "./zone.ts";

/** TCP_IDLE_TIMEOUT_MS closes a TCP connection with no query for this long (knot's default too). */
export const TCP_IDLE_TIMEOUT_MS = 10_000;

/** DnsDeps are what a DnsService needs from the engine: the pools' health. */
export interface DnsDeps {
  poolUp: PoolUp;
}

/** DnsService serves one DnsServer of one snapshot. */
export class DnsService {
  readonly server: DnsServer;
  readonly zones: Zones;
  readonly rrl: RateLimiter | undefined;
  private readonly forwarder: Forwarder | undefined;
  private readonly deps: DnsDeps;
  /** udp and tcp are the handlers for the server's two listeners. */
  readonly udp: DatagramHandler;
  readonly tcp: DnsTcp;

  constructor(server: DnsServer, deps: DnsDeps, previous?: DnsService) {
    this.server = server;
    this.deps = deps;
    this.zones = compileZones(server.zones);
    const rl = server.rateLimit;
    const keep = previous?.rrl;
    this.rrl =
      rl === undefined || rl.responsesPerSecond <= 0
        ? undefined
        : keep !== undefined && keep.rate === rl.responsesPerSecond && keep.slip === rl.slip
          ? keep
          : new RateLimiter(rl.responsesPerSecond, rl.slip);
    this.forwarder = server.forward?.length ? new Forwarder(server.forward) : undefined;
    this.udp = {
      onMessage: (msg, rinfo, socket) => this.onDatagram(msg, rinfo, socket),
      // Forwarded queries in flight get their answer (sockets close once they are done or timed out).
      retire: () => this.retire(),
    };
    this.tcp = new DnsTcp(this);
  }

  /** answerTcp answers one TCP query; reply gets the response bytes, or nothing (dropped). */
  answerTcp(msg: Buffer, address: string, reply: (bytes: Buffer | undefined) => void): void {
    this.handle(msg, { transport: "tcp", address }, reply);
  }

  private onDatagram(msg: Buffer, rinfo: RemoteInfo, socket: UdpSocket): void {
    this.handle(msg, { transport: "udp", address: rinfo.address }, (bytes) => {
      if (bytes === undefined) return;
      // A forwarded answer may come after a snapshot removed the listener and closed its socket.
      try {
        socket.send(bytes, rinfo.port, rinfo.address);
      } catch {
        // the client retries
      }
    });
  }

  private handle(msg: Buffer, client: ClientInfo, reply: (bytes: Buffer | undefined) => void): void {
    const r = respond(msg, this.zones, this.deps.poolUp, client, this.forwarder !== undefined);
    if (r.kind === "drop") {
      // reply is told too: a TCP connection counts its queries in flight and ends on this.
      reply(undefined);
      return this.publish(client, "DROPPED", -1);
    }
    if (r.kind === "forward") return this.forward(msg, r.query, client, reply);
    this.send(client, r.bytes, r.rcode, r.qtype, reply);
  }

  // send applies rate limiting to UDP responses, then sends.
  private send(
    client: ClientInfo,
    bytes: Buffer,
    rcode: number,
    qtype: number,
    reply: (bytes: Buffer | undefined) => void,
    forwarded?: boolean,
  ): void {
    const verdict = client.transport === "udp" && this.rrl ? this.rrl.check(client.address) : "send";
    if (verdict === "drop") {
      reply(undefined);
      return this.publish(client, "DROPPED", qtype, "drop", forwarded);
    }
    reply(verdict === "slip" ? truncate(bytes) : bytes);
    this.publish(client, rcodeName(rcode), qtype, verdict === "slip" ? "slip" : undefined, forwarded);
  }

  private forward(
    msg: Buffer,
    q: Query,
    client: ClientInfo,
    reply: (bytes: Buffer | undefined) => void,
  ): void {
    this.forwarder!.forward(msg, (answer) => {
      if (answer !== undefined) {
        const rcode = answer.length >= 4 ? answer[3]! & 0xf : RCODE.SERVFAIL;
        return this.send(client, answer, rcode, q.qtype, reply, true);
      }
      const fail = { rcode: RCODE.SERVFAIL, aa: false, answer: [], authority: [], additional: [] };
      this.send(client, encodeResponse(q, fail, 512), RCODE.SERVFAIL, q.qtype, reply, true);
    });
  }

  private publish(
    client: ClientInfo,
    rcode: string,
    qtype: number,
    limited?: "drop" | "slip",
    forwarded?: boolean,
  ): void {
    if (!dnsQuery.hasSubscribers) return;
    const ev: DnsQueryEvent = {
      server: this.server.name,
      transport: client.transport,
      rcode,
      qtype: qtype < 0 ? "NONE" : typeName(qtype),
      ...(limited ? { limited } : {}),
      ...(forwarded ? { forwarded } : {}),
    };
    dnsQuery.publish(ev);
  }

  private retire(): void {
    const f = this.forwarder;
    if (f === undefined) return;
    // Answers to forwarded queries still in flight may come for one timeout more.
    setTimeout(() => f.close(), 2 * FORWARD_TIMEOUT_MS).unref();
  }
}

interface Conn {
  socket: Socket;
  owner: DnsTcp;
  buffered: Buffer;
  /** inflight counts queries read but not yet answered (forwarding answers later). */
  inflight: number;
  /** closing: the handler retired; the connection ends once its answers are out. */
  closing: boolean;
  /** eof: the client sent FIN; the connection ends once the queries read are answered. */
  eof: boolean;
  /** waiting: answers are queued past the socket's high-water mark; reading waits for "drain". */
  waiting: boolean;
}

/** MAX_TCP_INFLIGHT bounds unanswered queries per connection; past it, reading pauses. */
const MAX_TCP_INFLIGHT = 64;

/** DnsTcp serves DNS over TCP (RFC 7766): 2-byte length prefix, many queries per connection, idle timeout. */
export class DnsTcp implements ConnectionHandler {
  private service: DnsService;
  private readonly conns = new Set<Conn>();

  constructor(service: DnsService) {
    this.service = service;
  }

  onConnection(socket: Socket): void {
    const c: Conn = {
      socket,
      owner: this,
      buffered: Buffer.alloc(0),
      inflight: 0,
      closing: false,
      eof: false,
      waiting: false,
    };
    this.conns.add(c);
    socket.setNoDelay(true);
    socket.setTimeout(TCP_IDLE_TIMEOUT_MS, () => socket.destroy());
    socket.on("error", () => {});
    socket.on("close", () => c.owner.conns.delete(c));
    socket.on("end", () => {
      c.eof = true;
      c.owner.settle(c);
    });
    socket.on("data", (chunk: Buffer) => {
      c.buffered = c.buffered.length === 0 ? chunk : Buffer.concat([c.buffered, chunk]);
      c.owner.drain(c);
    });
  }

  handOver(next: ConnectionHandler): boolean {
    if (!(next instanceof DnsTcp)) return false;
    for (const c of this.conns) {
      c.owner = next;
      next.conns.add(c);
    }
    this.conns.clear();
    return true;
  }

  retire(): void {
    for (const c of this.conns) {
      c.closing = true;
      if (c.inflight === 0) c.socket.end();
    }
  }

  private drain(c: Conn): void {
    while (c.buffered.length >= 2 && !c.closing) {
      // A client that pipelines queries but does not read the answers would have them queued in
      // memory without bound (a 30-byte query can ask for a 64 KiB answer): once the socket's
      // buffer is past its high-water mark, no query is answered and nothing read until "drain".
      if (c.socket.writableNeedDrain) {
        if (!c.waiting) {
          c.waiting = true;
          c.socket.pause();
          c.socket.once("drain", () => {
            c.waiting = false;
            c.owner.drain(c);
          });
        }
        return;
      }
      const len = c.buffered.readUInt16BE(0);
      if (c.buffered.length < 2 + len) break;
      const msg = c.buffered.subarray(2, 2 + len);
      c.buffered = c.buffered.subarray(2 + len);
      c.inflight++;
      if (c.inflight >= MAX_TCP_INFLIGHT) c.socket.pause();
      c.owner.service.answerTcp(msg, c.socket.remoteAddress ?? "", (bytes) => c.owner.reply(c, bytes));
    }
    this.settle(c);
  }

  // settle ends a connection whose client is done once its answers are out, else reads on.
  private settle(c: Conn): void {
    if (c.waiting || c.socket.destroyed) return;
    if (c.eof && c.inflight === 0) c.socket.end();
    else if (c.eof) c.closing = true;
    else if (c.inflight < MAX_TCP_INFLIGHT && c.socket.isPaused()) c.socket.resume();
  }

  private reply(c: Conn, bytes: Buffer | undefined): void {
    c.inflight--;
    if (c.socket.destroyed) return;
    // Nothing to answer over TCP (rate limiting is UDP's) means a message that is no query: the
    // client would wait for an answer until the idle timeout, so the connection ends (as knot
    // does) once the answers before it are out.
    if (bytes === undefined) c.closing = true;
    else {
      const head = Buffer.allocUnsafe(2);
      head.writeUInt16BE(bytes.length, 0);
      c.socket.write(Buffer.concat([head, bytes]));
    }
    if (c.closing && c.inflight === 0) c.socket.end();
    else if (!c.waiting && c.inflight < MAX_TCP_INFLIGHT && c.socket.isPaused()) c.socket.resume();
  }
}

/** compileDns compiles one DnsServer; previous is the same server's service in the snapshot serving now. */
export function compileDns(server: DnsServer, deps: DnsDeps, previous?: DnsService): DnsService {
  return new DnsService(server, deps, previous);
}
