// significant.ts: which requests an engine keeps as LogRecords (types.ts LogReason). A request is
// significant when it failed (5xx, reset, timeout), was slow (over SLOW_FACTOR × the virtual
// service's latency target: Apdex's "frustrated"), or was refused by an access policy or a WAF;
// every request is kept while full logs are on for its virtual service. Pure: the collector passes
// what it knows (the target, the full-log deadline, whether an access policy refused it).
import type { HttpResponseEvent } from "../engine/l7/events.ts";
import { SLOW_FACTOR, type LogReason, type LogRecord, type TimingPart } from "./types.ts";

/** NONE is the answer for a request not kept: shared, so the common case allocates nothing. */
const NONE: readonly LogReason[] = Object.freeze([]);

/** SignificantContext is what decides beyond the event itself. */
export interface SignificantContext {
  /** targetMs is the virtual service's latency target (Apdex T). */
  targetMs: number;
  /** fullUntil is until when (ms since the epoch) every request of the service is kept; 0: off. */
  fullUntil: number;
  now: number;
  /** policyDenied is true when an access policy refused the request (ACCESS_DENIED_CHANNEL). */
  policyDenied: boolean;
}

/** wafBlocked is true when a WAF answered or dropped the exchange, or would have in Detection mode. */
export function wafBlocked(ev: HttpResponseEvent): boolean {
  const w = ev.waf;
  if (w === undefined) return false;
  return w.action === "block" || w.action === "drop" || (w.action === "detect" && w.wouldBlock !== undefined);
}

/** reasonsOf lists why ev is kept, in LogReason order; empty when it is not. */
export function reasonsOf(ev: HttpResponseEvent, c: SignificantContext): readonly LogReason[] {
  const s = ev.status;
  const err = s >= 500 && s < 600;
  const slow = ev.durationMs > SLOW_FACTOR * c.targetMs;
  const waf = ev.waf !== undefined && wafBlocked(ev);
  const full = c.fullUntil > c.now;
  // One test for the common case: a quick 2xx of a service without full logs.
  if (!err && !slow && !waf && !full && !c.policyDenied && ev.outcome === undefined) return NONE;
  const out: LogReason[] = [];
  if (err) out.push("5xx");
  if (ev.outcome === "reset") out.push("reset");
  if (ev.outcome === "timeout") out.push("timeout");
  if (slow) out.push("slow");
  if (c.policyDenied) out.push("policy");
  if (waf) out.push("waf");
  if (full) out.push("full");
  return out;
}

/** MAX_PATH and MAX_USER_AGENT bound what a record keeps of the request line and its user agent. */
export const MAX_PATH = 1024;
export const MAX_USER_AGENT = 256;

/**
 * withoutQueryValues is path with its query's values left out, names kept ("/cb?code&state"):
 * queries carry tokens, codes and keys (OAuth callbacks, signed URLs) that must never reach the
 * log store or the console, while the names still tell which kind of request it was.
 */
export function withoutQueryValues(path: string): string {
  const q = path.indexOf("?");
  if (q < 0) return path;
  const names = path
    .slice(q + 1)
    .split("&")
    .map((p) => {
      const eq = p.indexOf("=");
      return eq < 0 ? p : p.slice(0, eq);
    });
  return `${path.slice(0, q)}?${names.join("&")}`;
}

/** truncate cuts s to at most max characters. */
export function truncate(s: string, max: number): string {
  return s.length > max ? s.slice(0, max) : s;
}

/** toLogRecord makes the kept record of ev (timings: total is durationMs, the parts as the engine split them). */
export function toLogRecord(
  ev: HttpResponseEvent,
  vs: string,
  reasons: readonly LogReason[],
  engine: string,
  at: number,
): LogRecord {
  const timings: Partial<Record<TimingPart, number>> = { total: ev.durationMs };
  const t = ev.timings;
  if (t !== undefined)
    for (const part of ["request", "connect", "ttfb", "transfer"] as const)
      if (t[part] !== undefined) timings[part] = t[part];
  const r: LogRecord = {
    at,
    vs,
    reasons: [...reasons],
    engine,
    listener: ev.listener,
    route: ev.route,
    backend: ev.backend === "" ? "" : `${ev.pool} ${ev.backend}`,
    client: ev.client,
    method: ev.method,
    authority: ev.authority,
    path: truncate(withoutQueryValues(ev.path), MAX_PATH),
    protocol: ev.protocol,
    status: ev.status,
    userAgent: truncate(ev.userAgent ?? "", MAX_USER_AGENT),
    // Parsed where the records are stored (the controller's log store): only kept records pay.
    browser: "",
    os: "",
    bytesIn: ev.bytesIn,
    bytesOut: ev.bytesOut,
    timings,
    error: ev.error ?? "",
  };
  if (ev.waf !== undefined) r.waf = { policy: ev.waf.policy, action: ev.waf.action, ruleIds: ev.waf.ruleIds };
  return r;
}
