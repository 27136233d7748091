// access-log.ts: one JSON line per finished HTTP request, from the engine's portico:http.response
// events. Off unless asked for (`portico run --access-log FILE|-`): at high rates it costs a
// write per request. Never logs headers or bodies (the User-Agent alone, which carries no
// credential), so no credential reaches the log.
import { createWriteStream } from "node:fs";
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

/**
 * startAccessLog writes a line per request to target ("-" is stdout) until the returned stop runs.
 * The lines of one event-loop turn are joined and written once at its end (setImmediate), as the
 * engine's socket writes are (net/write-batch.ts): a stream write per request cost a Buffer, a
 * buffered-write entry and the Writable bookkeeping each. The ISO time is made once per
 * millisecond. Lines of the last turn are lost only if the process dies without stop running.
 */
export function startAccessLog(target: string, now: () => Date = () => new Date()): () => void {
  const out = target === "-" ? process.stdout : createWriteStream(target, { flags: "a" });
  let pending = "";
  let scheduled: NodeJS.Immediate | undefined;
  let lastMs = NaN;
  let lastIso = "";
  const flush = (): void => {
    scheduled = undefined;
    if (pending === "") return;
    const text = pending;
    pending = "";
    out.write(text);
  };
  const onEvent = (m: unknown): void => {
    const time = now();
    const ms = time.getTime();
    if (ms !== lastMs) {
      lastMs = ms;
      lastIso = time.toISOString();
    }
    pending += formatAt(m as HttpResponseEvent, lastIso);
    if (pending.length >= FLUSH_BYTES) flush();
    else scheduled ??= setImmediate(flush);
  };
  subscribe(CHANNEL, onEvent);
  return () => {
    unsubscribe(CHANNEL, onEvent);
    if (scheduled !== undefined) clearImmediate(scheduled);
    flush();
    if (out !== process.stdout) out.end();
  };
}
