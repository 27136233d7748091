// coarse-timer.ts: one sweep, four times a second, for the engine's long deadlines. A socket
// timeout (socket.setTimeout) is refreshed by Node on every read and write of the socket — a
// timer-list removal and insertion each time, four per proxied request — and a request timeout
// made with setTimeout/clearTimeout costs a timer object and two list operations more. Deadlines
// of seconds (idle, header, request and backend timeouts by default) need no millisecond
// precision: what watches one here is checked at every sweep and decides from its own timestamps
// whether it expired, so a deadline fires at most one sweep late. Shorter timeouts (tests, or a
// route asking for them) keep Node's precise timers.

/** Watcher is checked at every sweep while watched; now is performance.now() of the sweep. */
export interface Watcher {
  check(now: number): void;
}

/** COARSE_MIN_MS is the shortest timeout the sweep serves: a sweep late is then at most 5 %. */
export const COARSE_MIN_MS = 5000;

/** SWEEP_MS is the period of the sweep. */
export const SWEEP_MS = 250;

const watched = new Set<Watcher>();
let timer: NodeJS.Timeout | undefined;

/** watch adds w to the sweep (again is a no-op); the sweep never keeps the process alive. */
export function watch(w: Watcher): void {
  watched.add(w);
  if (timer === undefined) timer = setInterval(sweep, SWEEP_MS).unref();
}

/** unwatch takes w off the sweep. */
export function unwatch(w: Watcher): void {
  watched.delete(w);
}

/** watchedCount says how many watchers the sweep holds (tests: nothing may leak). */
export function watchedCount(): number {
  return watched.size;
}

function sweep(): void {
  const now = performance.now();
  // A watcher may unwatch itself (or others) while checked: Set iteration allows it.
  for (const w of watched) w.check(now);
  if (watched.size === 0) {
    clearInterval(timer);
    timer = undefined;
  }
}
