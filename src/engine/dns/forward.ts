// forward.ts: relays queries for names outside every zone to the configured resolvers (off unless
// the DnsServer lists some). The query's bytes go out unchanged but for a fresh id (so answers
// cannot be matched by guessing the client's); the first resolver that answers within
// FORWARD_TIMEOUT_MS wins, the next is tried on timeout, and SERVFAIL ends a query none answered.
import { createSocket, type Socket } from "node:dgram";
import { isIPv6 } from "node:net";
import { randomInt } from "../node-crypto.ts";

/** FORWARD_TIMEOUT_MS is how long one resolver has to answer before the next is tried. */
export const FORWARD_TIMEOUT_MS = 2000;

interface Pending {
  clientId: number;
  query: Buffer;
  tried: number;
  timer: NodeJS.Timeout;
  done: (reply: Buffer | undefined) => void;
}

/** parseResolver splits "ip" or "ip:port" ("[v6]:port" for IPv6) into its parts; port 53 by default. */
export function parseResolver(s: string): { address: string; port: number } {
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(s);
  if (v6) return { address: v6[1]!, port: Number(v6[2] ?? 53) };
  if (isIPv6(s)) return { address: s, port: 53 };
  const cut = s.lastIndexOf(":");
  return cut < 0 ? { address: s, port: 53 } : { address: s.slice(0, cut), port: Number(s.slice(cut + 1)) };
}

/** Forwarder sends queries to resolvers and hands back their answers with the client's id. */
export class Forwarder {
  private readonly resolvers: { address: string; port: number }[];
  private readonly sockets = new Map<string, Socket>();
  private readonly pending = new Map<number, Pending>();
  private closed = false;

  constructor(resolvers: string[]) {
    this.resolvers = resolvers.map(parseResolver);
  }

  /** forward relays query; done gets the answer (client's id restored) or undefined when none came. */
  forward(query: Buffer, done: (reply: Buffer | undefined) => void): void {
    if (this.closed || this.pending.size >= 60_000) return done(undefined);
    let id = randomInt(0x10000);
    while (this.pending.has(id)) id = (id + 1) & 0xffff;
    const p: Pending = {
      clientId: query.readUInt16BE(0),
      query: Buffer.from(query),
      tried: 0,
      timer: undefined as unknown as NodeJS.Timeout,
      done,
    };
    p.query.writeUInt16BE(id, 0);
    this.pending.set(id, p);
    this.send(id, p);
  }

  /** close ends every pending query with no answer and closes the sockets. */
  close(): void {
    this.closed = true;
    for (const [id, p] of this.pending) this.finish(id, p, undefined);
    for (const s of this.sockets.values()) s.close();
    this.sockets.clear();
  }

  private send(id: number, p: Pending): void {
    const r = this.resolvers[p.tried++];
    if (r === undefined) return this.finish(id, p, undefined);
    p.timer = setTimeout(() => this.send(id, p), FORWARD_TIMEOUT_MS);
    p.timer.unref();
    this.socket(isIPv6(r.address) ? "udp6" : "udp4").send(p.query, r.port, r.address);
  }

  private finish(id: number, p: Pending, reply: Buffer | undefined): void {
    clearTimeout(p.timer);
    this.pending.delete(id);
    if (reply !== undefined) reply.writeUInt16BE(p.clientId, 0);
    p.done(reply);
  }

  private socket(type: "udp4" | "udp6"): Socket {
    let s = this.sockets.get(type);
    if (s !== undefined) return s;
    s = createSocket(type);
    s.on("error", () => {}); // an ICMP error on one resolver: its timeout moves on to the next
    s.on("message", (msg, rinfo) => {
      if (msg.length < 12) return;
      const id = msg.readUInt16BE(0);
      const p = this.pending.get(id);
      // Only from a resolver we asked, with the question we asked (RFC 5452 checks).
      const from = this.resolvers.some((r) => r.address === rinfo.address && r.port === rinfo.port);
      if (p === undefined || !from || !sameQuestion(p.query, msg)) return;
      this.finish(id, p, Buffer.from(msg));
    });
    s.unref();
    this.sockets.set(type, s);
    return s;
  }
}

// sameQuestion compares the question sections of a query and an answer, ignoring letter case.
function sameQuestion(query: Buffer, reply: Buffer): boolean {
  let off = 12;
  while (off < query.length && query[off] !== 0) off += query[off]! + 1;
  const end = off + 5;
  if (reply.length < end) return false;
  return (
    query.subarray(12, end).toString("latin1").toLowerCase() ===
    reply.subarray(12, end).toString("latin1").toLowerCase()
  );
}
