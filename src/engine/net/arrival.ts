// arrival.ts: when a request's bytes arrived, as the start of its timed exchange (analytics,
// issue 15). The clock is read once per event-loop turn, at the turn's first read — a client's or
// a backend's (l7/http1.ts, l7/upstream.ts): every socket a turn reads was reported readable by the
// same poll, so its bytes were in the kernel by then, and the time Portico spends on other reads of
// that turn (a backend's response parsed and written first) before reaching this one is time its
// client waits too. A clock per read would miss that queueing, and cost more.
//
// The stamp is cleared in the check phase, which follows the poll phase that ran the reads: by
// write-batch.ts's release (atRelease), the immediate that sends the turn's held writes, so a
// turn queues one immediate for both. A stamp taken in a plain TCP handle's read callback (an own
// socket's, a backend connection's onread: pollRead) is always a poll phase's, as libuv runs those
// callbacks nowhere else; under plain HTTP load every stamp is. Another caller (a TLS socket's
// reads, a stream's 'data') might run in an immediate's callback after that turn's release, and
// its stamp would outlive it: the release it queues runs a turn later, after the next poll. One
// reused timer bounds those: armed when such a stamp is taken and none is pending, it clears the
// stamp in a timers phase at most ~1 ms later, before the poll that would read it (the poll waits
// no longer than the timer). It is armed once, not re-armed per turn, and not at all for poll
// reads: refreshing a timer is a timer-list insert, and its callback a trip through Node's
// timers, which each turn under load paid for (docs/performance.md). One taken in a timer's
// callback serves that turn's poll: it does not block while the clearing release is pending, so
// the stamp is at most the rest of the timers phase old.
import { performance } from "node:perf_hooks";
import { atRelease } from "./write-batch.ts";

/**
 * NO_TIME is the "not yet" value of a field that holds clock readings: zero, but a double (-0 ===
 * 0), so the field is a double field from its object's making. Made the small integer 0, the
 * first reading stored into it changes the field's representation, which V8 does by giving the
 * object a new hidden class and deprecating the old one; under load, with every exchange timed
 * (a response-event subscriber), the stores of the exchange's and the connection's fields then
 * ran through V8's megamorphic store path (a CPU profile of the engine with and without a
 * subscriber: Builtins_StoreIC_Megamorphic only with one, from the Exchange's field initialisers
 * and the client connection's read).
 */
export const NO_TIME = -0;

let stamp = 0;
let clearing: NodeJS.Timeout | undefined;
// armed: the clearing timer is pending.
let armed = false;

function reset(): void {
  stamp = 0;
}

function expire(): void {
  stamp = 0;
  armed = false;
}

/**
 * turnStamp is this turn's arrival() reading, 0 when no read of the turn took one: a timed exchange
 * made in the turn its first byte arrived takes it as the clock of its making (l7/exchange.ts),
 * one clock read fewer per request.
 */
export function turnStamp(): number {
  return stamp;
}

/**
 * arrival returns this event-loop turn's first read time (performance.now()); call it from a read.
 * pollRead says the caller is a plain TCP handle's read callback (an own socket's, a backend
 * connection's `onread`): those run only in the poll phase, so a stamp they take needs no timer.
 */
export function arrival(pollRead = false): number {
  if (stamp === 0) {
    stamp = performance.now();
    atRelease(reset);
    // A plain TCP handle's read callback runs in the poll phase (libuv calls it from its poll and
    // from nowhere else), so this turn's release clears the stamp before the next poll: no timer.
    if (!pollRead && !armed) {
      armed = true;
      // Reused, never keeping the process alive: refresh re-arms it without an allocation.
      if (clearing === undefined) clearing = setTimeout(expire, 0).unref();
      else clearing.refresh();
    }
  }
  return stamp;
}
