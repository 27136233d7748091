// coarse-timer.ts: one sweep, four times a second, for the engine's long deadlines. A socket
// timeout (socket.setTimeout) is refreshed by Node on every read and write of the socket — a
// timer-list removal and insertion each time, four per proxied request — and a request timeout
// made with setTimeout/clearTimeout costs a timer object and two list operations more. Deadlines
// of seconds (idle, header, request and backend timeouts by default) need no millisecond
// precision: what watches one here is checked at every sweep and decides from its own timestamps
// whether it expired, so a deadline fires at most one sweep late. Shorter timeouts (tests, or a
// route asking for them) keep Node's precise timers.
//
// The watchers form a list linked through their own fields, not a Set: every request watches and
// unwatches, and a Set under that churn reallocates its table every few dozen operations. The
// tables, held by the long-lived Set, survived scavenges and were promoted to the old generation,
// which then needed a full collection every few seconds (a 10–15 ms pause at 50k requests/s).
import { performance } from "node:perf_hooks";

/**
 * Watcher is checked at every sweep while watched; now is performance.now() of the sweep. Its
 * two link fields belong to this module: a watcher starts with both null.
 */
export interface Watcher {
  check(now: number): void;
  prevWatched: Watcher | null;
  nextWatched: Watcher | null;
}

/** COARSE_MIN_MS is the shortest timeout the sweep serves: a sweep late is then at most 5 %. */
export const COARSE_MIN_MS = 5000;

/** SWEEP_MS is the period of the sweep. */
export const SWEEP_MS = 250;

// ring is the list's sentinel: a watcher is watched exactly while its prevWatched is not null.
const ring: Watcher = { check() {}, prevWatched: null, nextWatched: null };
ring.prevWatched = ring;
ring.nextWatched = ring;
let count = 0;
// cursor is the next watcher the running sweep checks: unwatching it moves the sweep past it.
let cursor: Watcher | null = null;
let timer: NodeJS.Timeout | undefined;
// sweptAt is performance.now() as of the running sweep timer's last tick (or its start).
let sweptAt = 0;

/**
 * coarseNow is a clock for what needs no precision (rate-limit refills): while the sweep runs it
 * is the time of its last tick, at most SWEEP_MS old, for the price of a load; otherwise it reads
 * performance.now(). Never goes back.
 */
export function coarseNow(): number {
  return timer === undefined ? performance.now() : sweptAt;
}

/** watch adds w to the sweep (again is a no-op); the sweep never keeps the process alive. */
export function watch(w: Watcher): void {
  if (w.prevWatched !== null) return;
  const last = ring.prevWatched!;
  w.prevWatched = last;
  w.nextWatched = ring;
  last.nextWatched = w;
  ring.prevWatched = w;
  count++;
  if (timer === undefined) {
    sweptAt = performance.now();
    timer = setInterval(sweep, SWEEP_MS).unref();
  }
}

/** unwatch takes w off the sweep (a watcher not watched is a no-op). */
export function unwatch(w: Watcher): void {
  const prev = w.prevWatched;
  if (prev === null) return;
  const next = w.nextWatched!;
  if (cursor === w) cursor = next;
  prev.nextWatched = next;
  next.prevWatched = prev;
  w.prevWatched = null;
  w.nextWatched = null;
  count--;
}

/** watchedCount says how many watchers the sweep holds (tests: nothing may leak). */
export function watchedCount(): number {
  return count;
}

function sweep(): void {
  const now = performance.now();
  sweptAt = now;
  // A check may unwatch itself or others, and watch new ones (appended, so seen this sweep too);
  // at most as many checks as there were watchers keeps a check that re-watches from looping.
  cursor = ring.nextWatched;
  for (let n = count; n > 0 && cursor !== ring; n--) {
    const w = cursor!;
    cursor = w.nextWatched;
    w.check(now);
  }
  cursor = null;
  if (count === 0) {
    clearInterval(timer);
    timer = undefined;
  }
}
