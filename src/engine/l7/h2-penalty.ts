// h2-penalty.ts: client addresses whose HTTP/2 connections keep being cut for abuse. An attacker
// that reconnects as soon as it is cut makes every new connection cost a session and the parse
// of a full read before it can be cut again; past penaltyCuts cuts within windowMs, the
// address's next HTTP/2 connections are closed as they arrive, for penaltyMs. One box per engine
// process: an address is an address whatever VIP it attacks. HTTP/1.1 is never refused here.

/** PenaltyLimits say when an address is boxed and for how long (part of H2Limits). */
export interface PenaltyLimits {
  /** penaltyCuts cuts of one address within windowMs box it; 0 turns the box off. */
  penaltyCuts: number;
  penaltyMs: number;
  windowMs: number;
}

// MAX_ADDRESSES bounds the box's memory under an attack from many addresses (then it is pruned).
const MAX_ADDRESSES = 10_000;

interface Entry {
  cuts: number;
  since: number;
  until: number;
}

/** PenaltyBox remembers recent cuts per client address. */
export class PenaltyBox {
  private readonly entries = new Map<string, Entry>();

  /** refuses is true while address is boxed; one size check when no address ever was cut. */
  refuses(address: string | undefined): boolean {
    if (this.entries.size === 0 || address === undefined) return false;
    const e = this.entries.get(address);
    return e !== undefined && e.until > performance.now();
  }

  /** cut records a cut connection of address. */
  cut(address: string | undefined, limits: PenaltyLimits): void {
    if (address === undefined || limits.penaltyCuts <= 0) return;
    const now = performance.now();
    let e = this.entries.get(address);
    if (e === undefined || (now - e.since > limits.windowMs && e.until <= now)) {
      if (e === undefined && this.entries.size >= MAX_ADDRESSES) this.prune(now, limits.windowMs);
      e = { cuts: 0, since: now, until: 0 };
      this.entries.set(address, e);
    }
    if (++e.cuts >= limits.penaltyCuts) e.until = now + limits.penaltyMs;
  }

  // prune drops entries neither boxed nor within their window; if all are, it starts over.
  private prune(now: number, windowMs: number): void {
    for (const [a, e] of this.entries) if (e.until <= now && now - e.since > windowMs) this.entries.delete(a);
    if (this.entries.size >= MAX_ADDRESSES) this.entries.clear();
  }
}

/** penalties is the engine process's box, shared by every HTTP listener. */
export const penalties = new PenaltyBox();
