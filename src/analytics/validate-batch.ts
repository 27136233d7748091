// validate-batch.ts: what a receiver checks before it uses an AnalyticsBatch that crossed a process
// boundary (the engine link, a worker's IPC, the engine thread). An authenticated engine is trusted
// to be who it says, not to send well-formed data: a newer engine's shape, a bug or a hostile peer
// must never throw inside the receiver (the controller's socket handler would take the process
// down) nor half-apply (AnalyticsStore.ingest creating a service and then throwing). So the whole
// batch is checked in one pure pass — every field the store and the log store read, with the
// collector's own bounds — and a batch that fails anywhere is refused whole, with the reason.
import { MAX_LOGS } from "./measures.ts";
import { MAX_BIN, MIN_BIN } from "./sketch.ts";
import { TOP_CAPACITY } from "./topn.ts";
import {
  TIMING_PARTS,
  type AnalyticsBatch,
  type LogRecord,
  type Measures,
  type ServiceBatch,
  type SketchData,
  type TimingPart,
} from "./types.ts";

/** BATCH_LIMITS are the largest a received batch may be: the collector's caps with room for a group's workers. */
export const BATCH_LIMITS = {
  /** services per batch: the collector's 2,000 (+ overflow) from each of several workers. */
  services: 10_000,
  /** routes and backends per service, and measures in the whole batch. */
  perService: 10_000,
  measures: 50_000,
  /** bins per sketch: a 1% DDSketch spans 1 µs to 10^10 ms in about 1,600 bins. */
  sketchBins: 4_096,
  /** entries per top list (the collector keeps TOP_CAPACITY counters per kind and ships fewer). */
  top: TOP_CAPACITY,
  /** codes, tls and http map entries per Measures. */
  counts: 1_000,
  logs: MAX_LOGS,
} as const;

const KINDS = new Set<string>(["http", "l4", "tls"]);
const TOP_KINDS = new Set<string>(["urls", "clients", "userAgents", "codes", "backends", "routes"]);
const PARTS = new Set<string>(TIMING_PARTS);
const COUNTERS = [
  "requests",
  "bytesIn",
  "bytesOut",
  "connNew",
  "connOpen",
  "tlsFailures",
  "resets",
  "timeouts",
  "denied",
] as const;
const LOG_STRINGS = [
  "vs",
  "engine",
  "listener",
  "route",
  "backend",
  "client",
  "method",
  "authority",
  "path",
  "protocol",
  "userAgent",
  "browser",
  "os",
  "error",
] as const;
const LOG_NUMBERS = ["at", "status", "bytesIn", "bytesOut"] as const;

/** BatchCheck is a checked batch, or why it was refused. */
export type BatchCheck = { ok: true; batch: AnalyticsBatch } | { ok: false; error: string };

class Bad extends Error {}

/**
 * validateBatch checks m is a well-formed AnalyticsBatch within BATCH_LIMITS and answers a copy
 * holding only the contract's fields (log records' unknown timing parts are left out); any fault
 * refuses the whole batch. Pure: m is never changed.
 */
export function validateBatch(m: unknown): BatchCheck {
  try {
    return { ok: true, batch: batch(m) };
  } catch (e) {
    if (e instanceof Bad) return { ok: false, error: e.message };
    throw e;
  }
}

function fail(msg: string): never {
  throw new Bad(msg);
}

function obj(v: unknown, what: string): Record<string, unknown> {
  if (typeof v !== "object" || v === null || Array.isArray(v)) fail(`${what} is not an object`);
  return v as Record<string, unknown>;
}

function finite(v: unknown, what: string): number {
  if (typeof v !== "number" || !Number.isFinite(v)) fail(`${what} is not a finite number`);
  return v;
}

function count(v: unknown, what: string): number {
  const n = finite(v, what);
  if (n < 0) fail(`${what} is negative`);
  return n;
}

function str(v: unknown, what: string): string {
  if (typeof v !== "string") fail(`${what} is not a string`);
  return v;
}

function entries(v: unknown, max: number, what: string): [string, unknown][] {
  const e = Object.entries(obj(v, what));
  if (e.length > max) fail(`${what} has ${e.length} entries (at most ${max})`);
  return e;
}

function counts(v: unknown, what: string): Record<string, number> {
  // fromEntries, not assignment: a "__proto__" key stays a key (assigned, it would be dropped).
  return Object.fromEntries(
    entries(v, BATCH_LIMITS.counts, what).map(([k, n]) => [k, count(n, `${what}[${k}]`)]),
  );
}

function batch(m: unknown): AnalyticsBatch {
  const b = obj(m, "batch");
  const budget = { measures: BATCH_LIMITS.measures };
  const services: Record<string, ServiceBatch> = {};
  for (const [k, s] of entries(b.services, BATCH_LIMITS.services, "services"))
    services[k] = service(s, `service ${k.slice(0, 100)}`, budget);
  if (!Array.isArray(b.logs)) fail("logs is not an array");
  if (b.logs.length > BATCH_LIMITS.logs)
    fail(`logs has ${b.logs.length} records (at most ${BATCH_LIMITS.logs})`);
  const logs = b.logs.map((r, i) => record(r, `log ${i}`));
  return {
    engine: typeof b.engine === "string" ? b.engine : "",
    ...(typeof b.group === "string" ? { group: b.group } : {}),
    at: finite(b.at, "at"),
    intervalMs: count(b.intervalMs, "intervalMs"),
    services,
    logs,
    dropped: count(b.dropped, "dropped"),
  };
}

function service(v: unknown, what: string, budget: { measures: number }): ServiceBatch {
  const s = obj(v, what);
  if (typeof s.kind !== "string" || !KINDS.has(s.kind)) fail(`${what}: kind is not http, l4 or tls`);
  const named = (x: unknown, name: string): Record<string, Measures> => {
    const out: Record<string, Measures> = {};
    for (const [k, m] of entries(x, BATCH_LIMITS.perService, `${what}: ${name}`)) {
      if (--budget.measures < 0) fail(`more than ${BATCH_LIMITS.measures} measures in the batch`);
      out[k] = measures(m, `${what}: ${name} ${k.slice(0, 100)}`);
    }
    return out;
  };
  const top: ServiceBatch["top"] = {};
  for (const [kind, list] of entries(s.top ?? {}, TOP_KINDS.size, `${what}: top`)) {
    if (!TOP_KINDS.has(kind)) fail(`${what}: top list ${kind.slice(0, 100)} is unknown`);
    top[kind as keyof ServiceBatch["top"]] = Object.fromEntries(
      entries(list, BATCH_LIMITS.top, `${what}: top ${kind}`).map(([k, n]) => [
        k,
        count(n, `${what}: top ${kind}`),
      ]),
    );
  }
  return {
    kind: s.kind as ServiceBatch["kind"],
    listener: str(s.listener, `${what}: listener`),
    ...(s.vhost !== undefined ? { vhost: str(s.vhost, `${what}: vhost`) } : {}),
    total: measures(s.total, `${what}: total`),
    routes: named(s.routes, "routes"),
    backends: named(s.backends, "backends"),
    top,
  };
}

function measures(v: unknown, what: string): Measures {
  const m = obj(v, what);
  const latency: Measures["latency"] = {};
  for (const [part, d] of entries(m.latency, PARTS.size, `${what}: latency`)) {
    if (!PARTS.has(part)) fail(`${what}: latency part ${part.slice(0, 100)} is unknown`);
    latency[part as TimingPart] = sketch(d, `${what}: latency ${part}`);
  }
  const out = {
    codes: counts(m.codes, `${what}: codes`),
    tls: counts(m.tls, `${what}: tls`),
    http: counts(m.http, `${what}: http`),
    latency,
  } as Measures;
  for (const k of COUNTERS) out[k] = count(m[k], `${what}: ${k}`);
  return out;
}

function sketch(v: unknown, what: string): SketchData {
  const d = obj(v, what);
  const bins = d.bins;
  if (!Array.isArray(bins) || bins.length % 2 !== 0) fail(`${what}: bins is not an even-length array`);
  if (bins.length > 2 * BATCH_LIMITS.sketchBins) fail(`${what}: more than ${BATCH_LIMITS.sketchBins} bins`);
  const zero = count(d.zero, `${what}: zero`);
  let sum = zero;
  for (let i = 0; i < bins.length; i += 2) {
    if (!Number.isInteger(bins[i])) fail(`${what}: a bin index is not an integer`);
    if (bins[i] < MIN_BIN || bins[i] > MAX_BIN)
      fail(
        `${what}: bin index ${bins[i]} is outside ${MIN_BIN}..${MAX_BIN} (no latency lands there; is the engine's sketch mapping the same?)`,
      );
    // A whole number: the store packs bin counts as varints (pack.ts); an engine's counts are whole.
    if (!Number.isSafeInteger(bins[i + 1])) fail(`${what}: a bin count is not a whole number`);
    sum += count(bins[i + 1], `${what}: a bin count`);
  }
  const n = count(d.count, `${what}: count`);
  if (sum !== n) fail(`${what}: count ${n} is not the sum of its bins (${sum})`);
  return {
    count: n,
    sum: finite(d.sum, `${what}: sum`),
    min: finite(d.min, `${what}: min`),
    max: finite(d.max, `${what}: max`),
    zero,
    bins: [...(bins as number[])],
  };
}

function record(v: unknown, what: string): LogRecord {
  const r = obj(v, what);
  const out = {} as Record<string, unknown>;
  for (const k of LOG_STRINGS) out[k] = str(r[k], `${what}: ${k}`);
  for (const k of LOG_NUMBERS) out[k] = finite(r[k], `${what}: ${k}`);
  if (!Array.isArray(r.reasons) || r.reasons.length > 16 || !r.reasons.every((x) => typeof x === "string"))
    fail(`${what}: reasons is not a list of strings`);
  out.reasons = [...r.reasons];
  // Only the contract's parts are kept: a newer engine's extra part must not reach the stores.
  const timings: Partial<Record<TimingPart, number>> = {};
  for (const [k, t] of Object.entries(obj(r.timings, `${what}: timings`)))
    if (PARTS.has(k)) timings[k as TimingPart] = finite(t, `${what}: timings ${k}`);
  out.timings = timings;
  if (r.waf !== undefined) {
    const w = obj(r.waf, `${what}: waf`);
    if (!Array.isArray(w.ruleIds)) fail(`${what}: waf ruleIds is not an array`);
    out.waf = {
      policy: str(w.policy, `${what}: waf policy`),
      action: str(w.action, `${what}: waf action`),
      ruleIds: w.ruleIds.slice(0, 64).map((x) => finite(x, `${what}: waf rule id`)),
    };
  }
  return out as unknown as LogRecord;
}
