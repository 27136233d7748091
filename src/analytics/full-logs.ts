// full-logs.ts: the switches that make engines log every request of a virtual service for a
// limited time (POST /api/v1/analytics/full-logs). The controller keeps "until" times and puts the
// live ones into every snapshot it pushes (EngineSnapshot.analytics.fullLogsUntil); a change asks
// for a push, expiry does not — engines compare the time with their own clock, and the next push
// simply leaves the expired entry out. Kept in memory: a switch lasts at most an hour, and a
// restarted controller logging less than asked is the safe side.
import type { EngineSnapshot } from "../model/ir.ts";

/** FULL_LOGS_MAX_MINUTES bounds one switch: full logging costs the engines and the store. */
export const FULL_LOGS_MAX_MINUTES = 60;

/** FullLogSwitch is one active switch: a virtual service and until when (ms since the epoch). */
export interface FullLogSwitch {
  vs: string;
  until: number;
}

/** FullLogs holds the switches; onChange runs after every set (the controller pushes a snapshot). */
export class FullLogs {
  readonly #until = new Map<string, number>();
  readonly #clock: () => number;
  readonly #listeners: (() => void)[] = [];

  constructor(clock: () => number = Date.now) {
    this.#clock = clock;
  }

  /** onChange registers fn to run after every set(). */
  onChange(fn: () => void): void {
    this.#listeners.push(fn);
  }

  /**
   * set logs every request of vs for the next `minutes` (1–60), or stops that now (0). Returns
   * the switch's end (undefined when turned off). A RangeError names a bad minutes.
   */
  set(vs: string, minutes: number): number | undefined {
    if (!Number.isInteger(minutes) || minutes < 0 || minutes > FULL_LOGS_MAX_MINUTES)
      throw new RangeError(
        `minutes must be a whole number from 1 to ${FULL_LOGS_MAX_MINUTES} (0 turns full logs off)`,
      );
    let until: number | undefined;
    if (minutes === 0) this.#until.delete(vs);
    else this.#until.set(vs, (until = this.#clock() + minutes * 60_000));
    for (const fn of this.#listeners) fn();
    return until;
  }

  /** active lists the switches still on, soonest end first; expired ones are forgotten. */
  active(): FullLogSwitch[] {
    const now = this.#clock();
    for (const [vs, until] of this.#until) if (until <= now) this.#until.delete(vs);
    return [...this.#until]
      .map(([vs, until]) => ({ vs, until }))
      .sort((a, b) => a.until - b.until || (a.vs < b.vs ? -1 : 1));
  }

  /**
   * decorate puts the active switches into snapshot.analytics.fullLogsUntil, keeping whatever
   * else analytics holds (latency targets); with none active the field is left out.
   */
  decorate(snapshot: EngineSnapshot): void {
    const on = this.active();
    const { fullLogsUntil: _old, ...rest } = snapshot.analytics ?? {};
    void _old;
    const analytics =
      on.length > 0 ? { ...rest, fullLogsUntil: Object.fromEntries(on.map((s) => [s.vs, s.until])) } : rest;
    if (Object.keys(analytics).length > 0) snapshot.analytics = analytics;
    else delete snapshot.analytics;
  }
}
