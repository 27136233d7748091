// log-record.ts: what the controller does to a LogRecord before it keeps it — bound every field
// (the contract's 1 KiB path and 256-byte user agent, and defensive bounds on the rest, since the
// records arrive over the engine link as JSON) and name the browser and OS from the user agent.
import { parseUserAgent } from "./user-agent.ts";
import type { LogReason, LogRecord, TimingPart } from "./types.ts";

/** LOG_REASONS are the LogReason values, in the order a record lists them. */
export const LOG_REASONS: readonly LogReason[] = ["5xx", "reset", "timeout", "slow", "policy", "waf", "full"];

/** PATH_MAX_BYTES and USER_AGENT_MAX_BYTES are the contract's bounds (types.ts LogRecord). */
export const PATH_MAX_BYTES = 1024;
export const USER_AGENT_MAX_BYTES = 256;

/** BOUNDS are the UTF-8 byte limits of the other string fields: far above any real value. */
const BOUNDS = {
  vs: 512,
  engine: 128,
  listener: 256,
  route: 256,
  backend: 256,
  client: 64,
  method: 32,
  authority: 256,
  protocol: 16,
  error: 512,
} as const;

/** WAF_RULES_MAX bounds the rule ids kept per record (a request can match hundreds of CRS rules). */
const WAF_RULES_MAX = 32;

const encoder = new TextEncoder();
const scratch = new Uint8Array(PATH_MAX_BYTES);

/** truncateBytes cuts s to at most max UTF-8 bytes, never inside a character. */
export function truncateBytes(s: string, max: number): string {
  // One UTF-16 unit is at most 3 UTF-8 bytes: a string this short cannot be over.
  if (s.length * 3 <= max) return s;
  // encodeInto writes whole characters only and says how many UTF-16 units it read.
  const { read } = encoder.encodeInto(s, scratch.subarray(0, max));
  return s.slice(0, read);
}

/** str is v as a string of at most max bytes ("" when absent). */
function str(v: unknown, max: number): string {
  return truncateBytes(typeof v === "string" ? v : v === undefined || v === null ? "" : String(v), max);
}

/** num is v when a finite number, else 0. */
function num(v: unknown): number {
  return typeof v === "number" && Number.isFinite(v) ? v : 0;
}

/** normalizeRecord is r bounded, with engine filled when the record left it empty, and browser/os parsed. */
export function normalizeRecord(r: LogRecord, engine: string): LogRecord {
  const userAgent = str(r.userAgent, USER_AGENT_MAX_BYTES);
  const { browser, os } = parseUserAgent(userAgent);
  const reasons = LOG_REASONS.filter((x) => Array.isArray(r.reasons) && r.reasons.includes(x));
  const timings: Partial<Record<TimingPart, number>> = {};
  for (const [k, v] of Object.entries(r.timings ?? {}))
    if (typeof v === "number" && Number.isFinite(v)) timings[k as TimingPart] = v;
  const out: LogRecord = {
    at: Math.round(num(r.at)),
    vs: str(r.vs, BOUNDS.vs),
    reasons,
    engine: str(r.engine || engine, BOUNDS.engine),
    listener: str(r.listener, BOUNDS.listener),
    route: str(r.route, BOUNDS.route),
    backend: str(r.backend, BOUNDS.backend),
    client: str(r.client, BOUNDS.client),
    method: str(r.method, BOUNDS.method),
    authority: str(r.authority, BOUNDS.authority),
    path: str(r.path, PATH_MAX_BYTES),
    protocol: str(r.protocol, BOUNDS.protocol),
    status: num(r.status),
    userAgent,
    browser,
    os,
    bytesIn: num(r.bytesIn),
    bytesOut: num(r.bytesOut),
    timings,
    error: str(r.error, BOUNDS.error),
  };
  if (r.waf)
    out.waf = {
      policy: str(r.waf.policy, BOUNDS.route),
      action: str(r.waf.action, BOUNDS.method),
      ruleIds: (Array.isArray(r.waf.ruleIds) ? r.waf.ruleIds : []).slice(0, WAF_RULES_MAX).map(num),
    };
  return out;
}
