// arrival.ts: when a request's bytes arrived, as the start of its timed exchange (analytics,
// issue 15). The clock is read once per event-loop turn, at the first request read that asks:
// every socket a turn reads was reported readable by the same poll, so its bytes were in the kernel
// by then, and the time Portico spends on other requests of that turn before reaching this one is
// time its client waits too. A clock per read would miss that queueing, and cost more.

let stamp = 0;

function reset(): void {
  stamp = 0;
}

/** arrival returns this event-loop turn's first read time (performance.now()); call it from a read. */
export function arrival(): number {
  if (stamp === 0) {
    stamp = performance.now();
    // The check phase follows the poll phase that ran the reads: the next turn reads anew.
    setImmediate(reset);
  }
  return stamp;
}
