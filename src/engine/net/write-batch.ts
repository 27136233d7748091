// write-batch.ts: holds a connection's writes until the end of the event-loop turn, so that all
// the writes made while handling one poll's worth of reads leave together — as HAProxy and nginx
// send only after every ready descriptor was processed. Writing as each read is handled spreads
// the writes over the turn instead: each one wakes its reader (wrk, the backend), which handles
// that one message and sleeps again before the next write wakes it. Waking a reader on an idle
// CPU costs an inter-processor interrupt, and in a VM a hypervisor exit for the sender.
// Measured with 256 keep-alive connections, proxy on one core and wrk + backend on the other:
// 0.23 such interrupts per request before, 0.035 after (HAProxy: 0.03–0.09), and 10–20 % more
// requests/s; with 64 connections no change.
//
// Holding is socket.cork(): the socket's Writable keeps the writes, in order, whoever makes them,
// and end() flushes them at once, so holding is safe to apply to some writes and not others.
//
// Held writes leave after the code that made them: a timed exchange (analytics, issue 15) that
// stopped its clock at its last write stopped it before its bytes left — by the rest of the poll
// phase (other connections' reads and writes, every response event's subscribers) — time its
// client counts and Portico did not. whenSent() lets an exchange stop its clock when its bytes
// were handed to the socket instead (sent to the kernel unless the socket is backpressured: then
// they wait in Node's Writable and libuv's queue, and the clock cannot see that wait). In this
// turn's release each finished exchange's connection is flushed (sent) and its response event is
// published once every held write of the turn left (depart), so no subscriber's work runs ahead of
// any response's bytes. A connection flushed while departures wait records the time just before
// its flush (flushedAt): every exchange whose bytes went in that flush — two pipelined responses,
// or one held while a later request closed the connection — stops its clock there, not after.
// HTTP/2 streams of the own codec (h2/) are flushed here too (flushAtRelease). Under node:http2 they have no hold here: node:http2 sends a session's pending frames in a native
// immediate, and native immediates run before JavaScript ones in the same check phase.
import { performance } from "node:perf_hooks";
import { empty } from "./arrays.ts";
/** Corkable is what holding needs of a socket: a net.Socket or an OwnSocket (own-socket.ts). */
export interface Corkable {
  cork(): void;
  uncork(): void;
  readonly destroyed: boolean;
}

/** Batched is a connection whose writes can be held; batched says it is held this turn. */
export interface Batched<S extends Corkable = Corkable> {
  readonly socket: S;
  batched: boolean;
  /** flushedAt is performance.now() just before its last flush made while departures waited. */
  flushedAt: number;
}

/**
 * Departing is a finished exchange waiting for its bytes to leave: sent() sends what its
 * connection holds (flushWrites) and reads its end clock; depart() publishes its response event.
 */
export interface Departing {
  sent(): void;
  depart(): void;
}

/** Flushing is a connection that writes what it collected when the turn's writes are released (h2/connection.ts). */
export interface Flushing {
  flushOut(): void;
}

// Two lists each swap at each release so a turn's batch allocates nothing (emptied with empty(), which
// keeps their storage: arrays.ts).
let pending: Batched[] = [];
let spare: Batched[] = [];
let leaving: Departing[] = [];
let spareLeaving: Departing[] = [];
let flushing: Flushing[] = [];
let spareFlushing: Flushing[] = [];
let scheduled = false;
// sending is true while release runs the departures' sent().
let sending = false;

/** batchWrites holds b's socket's writes until the end of this event-loop turn (setImmediate). */
export function batchWrites(b: Batched): void {
  if (b.batched) return;
  b.batched = true;
  b.socket.cork();
  pending.push(b);
  schedule();
}

/** whenSent runs d.sent() once d's held bytes left (this turn's release), then d.depart(). */
export function whenSent(d: Departing): void {
  leaving.push(d);
  schedule();
}

/**
 * flushAtRelease runs f.flushOut() in this turn's release, with the held writes: the own HTTP/2
 * codec's frames (h2/connection.ts flushOut) leave in the same release as HTTP/1.1's bytes, before the
 * response events are published, so an HTTP/2 exchange departs after its frames went to the socket.
 */
export function flushAtRelease(f: Flushing): void {
  flushing.push(f);
  schedule();
}

// turnEnd is arrival.ts's reset of its turn clock, run at the start of this turn's release.
let turnEnd: (() => void) | undefined;

/**
 * atRelease runs fn at the start of this turn's release: arrival.ts clears its turn clock so, in
 * the release's immediate rather than one of its own (one immediate a turn instead of two; each
 * is an object, a queue entry and a callback through Node's immediate loop, per turn — per
 * request or two at low rates, docs/performance.md). One slot: the turn clock is its only user.
 */
export function atRelease(fn: () => void): void {
  turnEnd = fn;
  schedule();
}

function schedule(): void {
  if (scheduled) return;
  scheduled = true;
  setImmediate(release);
}

/** flushWrites sends b's held writes now (before a decision that needs them with the kernel). */
export function flushWrites(b: Batched): void {
  if (!b.batched) return;
  // b stays in the list; release's second uncork does nothing.
  b.batched = false;
  // A departure may be waiting for these bytes (its own, or one of an earlier exchange of b).
  if (sending || leaving.length !== 0) b.flushedAt = performance.now();
  b.socket.uncork();
}

/**
 * departNow runs the pending departures now (and sends every held write): shutdown calls it before
 * it unsubscribes the response event's subscribers, which would otherwise miss the events of the
 * exchanges that finished earlier in this turn. The release still queued finds nothing left.
 */
export function departNow(): void {
  release();
}

function release(): void {
  scheduled = false;
  const end = turnEnd;
  if (end !== undefined) {
    turnEnd = undefined;
    end();
  }
  const gone = leaving;
  leaving = spareLeaving;
  // Each finished exchange's connection first, its clock read just before its own write.
  sending = gone.length !== 0;
  for (let i = 0; i < gone.length; i++) gone[i]!.sent();
  sending = false;
  const out = flushing;
  flushing = spareFlushing;
  for (let i = 0; i < out.length; i++) out[i]!.flushOut();
  empty(out);
  spareFlushing = out;
  const list = pending;
  pending = spare;
  for (let i = 0; i < list.length; i++) {
    const b = list[i]!;
    b.batched = false;
    // uncork on a destroyed socket does nothing; on an ended one end() has flushed already.
    b.socket.uncork();
  }
  empty(list);
  spare = list;
  // Every held byte of the turn is with the kernel: the subscribers' work delays none of them.
  for (let i = 0; i < gone.length; i++) gone[i]!.depart();
  empty(gone);
  spareLeaving = gone;
}
