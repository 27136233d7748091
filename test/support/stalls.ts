// stalls.ts: how late this process's event loop ran, tick by tick, and when: the stalls (a 1 ms
// timer more than STALL_MS late) as wall-clock intervals, to take out of the requests a load
// generator measured across them (the least a proxy on the same machine can have seen of each).

/**
 * StallMonitor ticks a 1 ms timer and keeps how late each tick was, and the stalls (a tick more
 * than STALL_MS late) as wall-clock intervals, to take out of the requests they overlapped.
 */
export class StallMonitor {
  /** lateness of every tick, ms beyond the 1 ms asked for. */
  readonly lateness: number[] = [];
  private readonly stalls: [number, number][] = [];
  private last = performance.now();
  private readonly timer = setInterval(() => this.tick(), 1);

  private tick(): void {
    const now = performance.now();
    const late = Math.max(0, now - this.last - 1);
    this.lateness.push(late);
    if (late > STALL_MS)
      this.stalls.push([performance.timeOrigin + this.last + 1, performance.timeOrigin + now]);
    this.last = now;
  }

  /** stop ends the ticking. */
  stop(): void {
    clearInterval(this.timer);
  }

  /** overlap is how much of the wall-clock interval [from, to] (epoch ms) the stalls covered. */
  overlap(from: number, to: number): number {
    let ms = 0;
    for (const [a, b] of this.stalls) ms += Math.max(0, Math.min(b, to) - Math.max(a, from));
    return ms;
  }
}

// STALL_MS: a tick later than this was a stall (scheduling noise below it stays in the record).
const STALL_MS = 2;
