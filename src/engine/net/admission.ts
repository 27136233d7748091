// admission.ts: the accept path's caps — connections per engine process, per listener, and new
// connections per second per client address. A connection past a cap is accepted and closed at
// once (as Envoy's max_connections and Node's own server.maxConnections do): it holds nothing, and
// the client sees the close at once instead of waiting in a backlog. Each refusal is reported
// (limit-reached.ts: counted in metrics, logged once per interval). An admitted connection costs
// a counter and, with a rate set, a token bucket per client address — no allocation otherwise.
import type { CompileDeps } from "../contracts.ts";
import { limitReached } from "./limit-reached.ts";

/** AdmissionLimits are the caps; 0 switches one off. */
export interface AdmissionLimits {
  maxConnections: number;
  maxConnectionsPerListener: number;
  connectionRatePerClient: number;
}

// MAX_CLIENTS bounds the token buckets kept: past it, new addresses are admitted untracked until
// the sweep frees full buckets (a spoofed-address flood cannot complete TCP handshakes anyway).
const MAX_CLIENTS = 100_000;

// Bucket is one client address's tokens (new connections it may still open now) at time `at`.
interface Bucket {
  tokens: number;
  at: number;
}

/**
 * overListenerCap says whether a listener already holding open connections is at cap, its own
 * limit (HttpListener.maxConnections, from an AccessPolicy), and reports the refusal if so.
 */
export function overListenerCap(
  log: CompileDeps["log"],
  listener: string,
  open: number,
  cap: number,
): boolean {
  if (open < cap) return false;
  limitReached(log, listener, "access_max_connections", cap);
  return true;
}

/** Admission decides, per accepted connection, whether it may stay; one per engine process. */
export class Admission {
  /** active counts the admitted connections still open, all listeners together. */
  active = 0;
  private readonly limits: AdmissionLimits;
  private readonly log: CompileDeps["log"];
  private readonly buckets = new Map<string, Bucket>();
  private sweeper: NodeJS.Timeout | undefined;

  constructor(limits: AdmissionLimits, log: CompileDeps["log"]) {
    this.limits = limits;
    this.log = log;
  }

  /**
   * admit says whether a connection just accepted on listener (which holds listenerActive
   * connections already) may stay; the caller destroys a refused one.
   */
  admit(listener: string, listenerActive: number, socket: { readonly remoteAddress?: string }): boolean {
    const l = this.limits;
    if (l.maxConnections > 0 && this.active >= l.maxConnections) {
      limitReached(this.log, listener, "max_connections", l.maxConnections);
      return false;
    }
    if (l.maxConnectionsPerListener > 0 && listenerActive >= l.maxConnectionsPerListener) {
      limitReached(this.log, listener, "max_connections_per_listener", l.maxConnectionsPerListener);
      return false;
    }
    if (l.connectionRatePerClient > 0 && !this.take(socket.remoteAddress ?? "")) {
      limitReached(this.log, listener, "connection_rate_per_client", l.connectionRatePerClient);
      return false;
    }
    this.active++;
    return true;
  }

  /** closed un-counts an admitted connection. */
  closed(): void {
    this.active--;
  }

  /** close stops the bucket sweep (the engine is shutting down). */
  close(): void {
    clearInterval(this.sweeper);
    this.sweeper = undefined;
  }

  // take spends a token of the client's bucket: rate tokens a second, at most rate in store.
  private take(client: string): boolean {
    const rate = this.limits.connectionRatePerClient;
    const now = performance.now();
    const b = this.buckets.get(client);
    if (b === undefined) {
      if (this.buckets.size < MAX_CLIENTS) this.buckets.set(client, { tokens: rate - 1, at: now });
      this.sweeper ??= setInterval(() => this.sweep(), 1000).unref();
      return true;
    }
    b.tokens = Math.min(rate, b.tokens + ((now - b.at) * rate) / 1000);
    b.at = now;
    if (b.tokens < 1) return false;
    b.tokens--;
    return true;
  }

  // sweep forgets the buckets that refilled: their clients are back to a fresh start.
  private sweep(): void {
    const now = performance.now();
    const rate = this.limits.connectionRatePerClient;
    for (const [k, b] of this.buckets) {
      if (b.tokens + ((now - b.at) * rate) / 1000 >= rate) this.buckets.delete(k);
    }
    if (this.buckets.size === 0) {
      clearInterval(this.sweeper);
      this.sweeper = undefined;
    }
  }
}
