// access-log.ts: one JSON line per finished HTTP request, from the engine's portico:http.response
// events. Off unless asked for (`portico run --access-log FILE|-`): at high rates it costs a
// write per request. Never logs headers or bodies (the User-Agent alone, which carries no
// credential), so no credential reaches the log.
import { constants, createWriteStream, fstatSync, openSync, statSync } from "node:fs";
import { Socket } from "node:net";
import type { Writable } from "node:stream";
import { subscribe, unsubscribe } from "node:diagnostics_channel";
import {
  HTTP_RESPONSE_CHANNEL as CHANNEL,
  type ExchangeTimings,
  type HttpResponseEvent,
  type WafEvidence,
} from "./l7/events.ts";

/** formatAccessLine renders one event as a JSON line; time is passed in so tests can fix it. */
export function formatAccessLine(e: HttpResponseEvent, time: Date): string {
  return formatAt(e, time.toISOString());
}

function formatAt(e: HttpResponseEvent, time: string): string {
  return (
    JSON.stringify({
      time,
      listener: e.listener,
      client: e.client,
      method: e.method,
      authority: e.authority,
      path: e.path,
      protocol: e.protocol,
      status: e.status,
      durationMs: ms(e.durationMs),
      bytesIn: e.bytesIn,
      bytesOut: e.bytesOut,
      route: e.route,
      backend: e.backend,
      error: e.error || undefined, // JSON.stringify leaves it out
      waf: e.waf === undefined ? undefined : wafField(e.waf),
      // Added fields (issue 15): readers of the older line ignore them; empty ones are left out.
      timings: e.timings === undefined ? undefined : timingsField(e.timings),
      tls: e.tls || undefined,
      userAgent: e.userAgent || undefined,
      outcome: e.outcome,
    }) + "\n"
  );
}

// wafField is the WAF's evidence in the line: what it did and which rules, never the matched
// values (the hits stay in the event for analytics, where the engine truncated and redacted them).
function wafField(w: WafEvidence): Record<string, unknown> {
  return {
    policy: w.policy,
    action: w.action,
    ruleIds: w.ruleIds,
    inbound: w.inbound,
    outbound: w.outbound,
    blockedBy: w.blockedBy,
    wouldBlock: w.wouldBlock,
    overBudget: w.overBudget,
    elapsedMs: ms(w.elapsedMs),
  };
}

// timingsField rounds each part to the microsecond, as durationMs is.
function timingsField(t: ExchangeTimings): ExchangeTimings {
  const out: ExchangeTimings = {};
  if (t.request !== undefined) out.request = ms(t.request);
  if (t.connect !== undefined) out.connect = ms(t.connect);
  if (t.ttfb !== undefined) out.ttfb = ms(t.ttfb);
  if (t.transfer !== undefined) out.transfer = ms(t.transfer);
  return out;
}

function ms(v: number): number {
  return Math.round(v * 1000) / 1000;
}

/** FLUSH_BYTES: past this many characters a turn's lines are written at once, not at its end. */
const FLUSH_BYTES = 64 * 1024;

/** PIPE_BUF is Linux's: a write of at most this many bytes to a pipe is never split or interleaved. */
export const PIPE_BUF = 4096;

/**
 * cutLines cuts whole lines into pieces of at most PIPE_BUF bytes, each ending at a line's end; a
 * line longer than that is a piece of its own (and can then be interleaved: nothing prevents it).
 */
export function cutLines(buf: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let start = 0;
  while (buf.length - start > PIPE_BUF) {
    let end = buf.lastIndexOf(10, start + PIPE_BUF - 1) + 1;
    if (end <= start) end = buf.indexOf(10, start) + 1;
    if (end <= start) end = buf.length;
    out.push(buf.subarray(start, end));
    start = end;
  }
  if (start < buf.length) out.push(buf.subarray(start));
  return out;
}

/**
 * Sink is where the joined lines go; close resolves once everything was written; unwritten is how
 * many lines were handed over and not yet written (what an exit now would drop).
 */
interface Sink {
  write(text: string, lines: number): void;
  close(): Promise<void>;
  unwritten(): number;
}

// streamSink hands each batch to the stream in one write (a file: O_APPEND keeps each write whole).
function streamSink(out: Writable, ends: boolean): Sink {
  let left = 0;
  return {
    write(text, lines) {
      left += lines;
      out.write(text, () => (left -= lines));
    },
    unwritten: () => left,
    close: () =>
      new Promise<void>((done) => {
        out.once("error", () => done());
        // stdout stays open: an empty write's callback runs once everything before it was written.
        if (ends) out.end(() => done());
        else out.write("", () => done());
      }),
  };
}

// pipeSink is for a pipe or socket shared with other writers (the workers of --workers N all
// inherit stdout): a batch larger than the pipe's free space would be written in parts, and
// another worker's write could land between them, mid-line. It writes pieces of at most PIPE_BUF
// bytes cut at line ends, one at a time (the next once the last was written: Node would otherwise
// join queued writes into one writev), so each is one write(2), which a pipe never splits.
// A stream socket gives no such guarantee: there a shared target can still interleave.
function pipeSink(out: Writable, ends: boolean): Sink {
  const queue: Buffer[] = [];
  let writing = false;
  let current: Buffer | undefined;
  let idle: (() => void) | undefined;
  const next = (): void => {
    const piece = (current = queue.shift());
    if (piece !== undefined) {
      out.write(piece, next);
      return;
    }
    writing = false;
    idle?.();
  };
  return {
    write(text) {
      for (const piece of cutLines(Buffer.from(text))) queue.push(piece);
      if (writing) return;
      writing = true;
      next();
    },
    unwritten() {
      let n = 0;
      for (const piece of current ? [current, ...queue] : queue)
        for (let i = piece.indexOf(10); i !== -1; i = piece.indexOf(10, i + 1)) n++;
      return n;
    },
    close() {
      const drained = writing ? new Promise<void>((done) => (idle = done)) : Promise.resolve();
      return drained.then(() => streamSink(out, ends).close());
    },
  };
}

// fifoWriter opens a FIFO that has a reader as a non-blocking pipe handle: a file stream writes
// in the thread pool, and a write blocked there (the reader alive but not reading) would keep even
// process.exit from returning. Without a reader yet (ENXIO), or for anything else, undefined: the
// file stream then waits for a reader to open.
function fifoWriter(target: string): Writable | undefined {
  try {
    if (!statSync(target).isFIFO()) return undefined;
    return new Socket({ fd: openSync(target, constants.O_WRONLY | constants.O_NONBLOCK), readable: false });
  } catch {
    return undefined;
  }
}

// shared says whether target is a pipe or socket (stdout) or a FIFO (a path): writers share it.
function shared(target: string): boolean {
  try {
    const st = target === "-" ? fstatSync(1) : statSync(target);
    return st.isFIFO() || st.isSocket();
  } catch {
    return false; // a file not created yet
  }
}

/** ACCESS_LOG_STOP_MS bounds how long an exiting engine waits for its last access log lines' write. */
export const ACCESS_LOG_STOP_MS = 2000;

/**
 * startAccessLog writes a line per request to target ("-" is stdout) until the returned stop runs;
 * stop's promise resolves once the last line was written (the process may exit then).
 * The lines published by one callback are joined and written once right after it returns
 * (queueMicrotask): the engine publishes a turn's response events together, in write-batch's
 * release (net/write-batch.ts), so that is one write per turn, made before the loop polls again.
 * A setImmediate here would run in the next turn's check phase, ahead of that turn's release,
 * delaying its held responses by the log's write. A stream write per request cost a Buffer, a
 * buffered-write entry and the Writable bookkeeping each. The ISO time is made once per
 * millisecond. Lines are lost only if the process dies without stop running, or if stop is given
 * withinMs and the target takes no more within it (a FIFO's or pipe's reader alive but not
 * reading would otherwise keep the process from exiting for good): stop then resolves with how
 * many lines it dropped, and says so once on stderr. A pipe or socket
 * target gets its lines in pieces of at most PIPE_BUF bytes (pipeSink).
 */
export function startAccessLog(
  target: string,
  now: () => Date = () => new Date(),
): (withinMs?: number) => Promise<number> {
  const out =
    target === "-" ? process.stdout : (fifoWriter(target) ?? createWriteStream(target, { flags: "a" }));
  const sink = (shared(target) ? pipeSink : streamSink)(out, out !== process.stdout);
  let pending = "";
  let pendingLines = 0;
  // scheduled: a drain is queued; an early flush (FLUSH_BYTES) leaves it queued, so there is
  // never more than one, and it finds nothing to do once stop wrote everything.
  let scheduled = false;
  let lastMs = NaN;
  let lastIso = "";
  const flush = (): void => {
    if (pending === "") return;
    const text = pending;
    pending = "";
    sink.write(text, pendingLines);
    pendingLines = 0;
  };
  const drain = (): void => {
    scheduled = false;
    flush();
  };
  const onEvent = (m: unknown): void => {
    const time = now();
    const ms = time.getTime();
    if (ms !== lastMs) {
      lastMs = ms;
      lastIso = time.toISOString();
    }
    pending += formatAt(m as HttpResponseEvent, lastIso);
    pendingLines++;
    if (pending.length >= FLUSH_BYTES) flush();
    else if (!scheduled) {
      scheduled = true;
      queueMicrotask(drain);
    }
  };
  subscribe(CHANNEL, onEvent);
  return (withinMs = Infinity) => {
    unsubscribe(CHANNEL, onEvent);
    flush();
    const closed = sink.close().then(() => 0);
    if (!(withinMs < Infinity)) return closed;
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<number>((done) => (timer = setTimeout(() => done(sink.unwritten()), withinMs)));
    return Promise.race([closed, late]).then((dropped) => {
      clearTimeout(timer);
      if (dropped > 0)
        process.stderr.write(
          `portico: the access log (${target}) took no line for ${withinMs} ms at exit; ${dropped} lines dropped. Check that its reader is reading.\n`,
        );
      return dropped;
    });
  };
}
