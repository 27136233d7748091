// loop-watch.ts: how responsive an event loop is, for /healthz. Used on both threads of `portico
// run`: the engine's (main) thread reports its own to the controller thread, which serves /healthz.

const TICK_MS = 250;
/** LOOP_WINDOW_MS is how far back the longest stall is remembered. */
export const LOOP_WINDOW_MS = 10_000;

/** LoopWatch measures how late a repeating timer fires: the event loop's longest stall recently. */
export class LoopWatch {
  #stalls: { at: number; ms: number }[] = [];
  #last = performance.now();
  #timer = setInterval(() => {
    const now = performance.now();
    const late = Math.round(now - this.#last - TICK_MS);
    this.#last = now;
    if (late > 0) this.#stalls.push({ at: now, ms: late });
    while (this.#stalls.length > 0 && this.#stalls[0]!.at < now - LOOP_WINDOW_MS) this.#stalls.shift();
  }, TICK_MS).unref();

  /** longestStallMs includes the stall in progress, so a request served late still sees it. */
  longestStallMs(): number {
    const current = Math.max(0, Math.round(performance.now() - this.#last - TICK_MS));
    return Math.max(current, ...this.#stalls.map((s) => s.ms));
  }

  /** stop ends the measuring timer. */
  stop(): void {
    clearInterval(this.#timer);
  }
}

/** EngineLiveness is what the engine's thread last said of its loop: ageMs since it said it. */
export interface EngineLiveness {
  ageMs: number;
  stallMs: number;
}
