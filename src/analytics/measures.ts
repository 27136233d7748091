// measures.ts: the figures of one virtual service, route or backend over an interval — live while
// an engine collects them (LiveMeasures: plain numbers, Maps and live Sketches, cheap to add to),
// and as the plain JSON of types.ts once taken (Measures, ServiceBatch, AnalyticsBatch). Merging is
// exact for every counter and every sketch (DDSketch bins add), so the batches of a group's workers,
// of several engines, or of consecutive intervals combine into the same figures one process would
// have counted. The one gauge, connOpen, sums across processes and takes the latest over time.
import { binOf, Sketch } from "./sketch.ts";
import { mergeTop } from "./topn.ts";
import {
  TIMING_PARTS,
  type AnalyticsBatch,
  type LogRecord,
  type Measures,
  type ServiceBatch,
  type SketchData,
  type TimingPart,
} from "./types.ts";

/** PART numbers the timing parts for LiveMeasures.sketches (TIMING_PARTS order). */
export const PART = { total: 0, request: 1, connect: 2, ttfb: 3, transfer: 4, handshake: 5 } as const;

/**
 * LiveMeasures accumulate one interval's figures on the request path. A request adds to three of
 * them (service, route, backend), so each add is a few field writes: sketches sit in an array by
 * PART (no keyed property access), and a run of one status code or protocol is counted in a
 * field and folded into its Map only when the value changes (most traffic is one code, one
 * protocol).
 */
export class LiveMeasures {
  requests = 0;
  bytesIn = 0;
  bytesOut = 0;
  connNew = 0;
  connOpen = 0;
  tlsFailures = 0;
  resets = 0;
  timeouts = 0;
  denied = 0;
  // Keyed by number: no string is made per request.
  readonly #codes = new Map<number, number>();
  readonly #http = new Map<string, number>();
  readonly tls = new Map<string, number>();
  /** sketches by PART, created at a part's first sample. */
  readonly sketches: (Sketch | undefined)[] = [
    undefined,
    undefined,
    undefined,
    undefined,
    undefined,
    undefined,
  ];
  // The current run: lastCode seen runCode times since it was last folded into #codes.
  #lastCode = -1;
  #runCode = 0;
  // The protocols the engine names (events.ts), counted in fields; anything else in #http.
  #h11 = 0;
  #h2 = 0;
  #h10 = 0;

  /** codes counts responses by status (0: no status was sent). */
  get codes(): Map<number, number> {
    this.#foldCode();
    return this.#codes;
  }

  /** http counts requests by protocol. */
  get http(): Map<string, number> {
    this.#foldHttp();
    return this.#http;
  }

  /** code counts one status code (0: no status was sent). */
  code(status: number): void {
    if (status === this.#lastCode) {
      this.#runCode++;
      return;
    }
    this.#foldCode();
    this.#lastCode = status;
    this.#runCode = 1;
  }

  /** protocol counts one request by the protocol the client spoke. */
  protocol(p: string): void {
    if (p === "HTTP/1.1") this.#h11++;
    else if (p === "HTTP/2") this.#h2++;
    else if (p === "HTTP/1.0") this.#h10++;
    else this.#http.set(p, (this.#http.get(p) ?? 0) + 1);
  }

  /** time records one span of the given part, in milliseconds. */
  time(part: TimingPart, ms: number): void {
    this.timeBin(PART[part], ms, binOf(ms));
  }

  /** timeBin records one span of the part numbered p (PART) whose sketch bin (binOf) is known. */
  timeBin(p: number, ms: number, bin: number): void {
    (this.sketches[p] ??= new Sketch()).addBin(ms, bin);
  }

  /** toData serialises the interval (sketches as SketchData). */
  toData(): Measures {
    const latency: Measures["latency"] = {};
    for (let p = 0; p < TIMING_PARTS.length; p++) {
      const s = this.sketches[p];
      if (s !== undefined) latency[TIMING_PARTS[p]!] = s.toData();
    }
    const codes: Record<string, number> = {};
    for (const [c, n] of this.codes) codes[String(c)] = n;
    return {
      requests: this.requests,
      codes,
      bytesIn: this.bytesIn,
      bytesOut: this.bytesOut,
      connNew: this.connNew,
      connOpen: this.connOpen,
      tls: Object.fromEntries(this.tls),
      tlsFailures: this.tlsFailures,
      http: Object.fromEntries(this.http),
      latency,
      resets: this.resets,
      timeouts: this.timeouts,
      denied: this.denied,
    };
  }

  #foldCode(): void {
    if (this.#runCode === 0) return;
    this.#codes.set(this.#lastCode, (this.#codes.get(this.#lastCode) ?? 0) + this.#runCode);
    this.#runCode = 0;
  }

  #foldHttp(): void {
    for (const [p, n] of [
      ["HTTP/1.1", this.#h11],
      ["HTTP/2", this.#h2],
      ["HTTP/1.0", this.#h10],
    ] as const)
      if (n > 0) this.#http.set(p, (this.#http.get(p) ?? 0) + n);
    this.#h11 = this.#h2 = this.#h10 = 0;
  }
}

/** emptyMeasures is Measures of nothing (every counter 0). */
export function emptyMeasures(): Measures {
  return {
    requests: 0,
    codes: {},
    bytesIn: 0,
    bytesOut: 0,
    connNew: 0,
    connOpen: 0,
    tls: {},
    tlsFailures: 0,
    http: {},
    latency: {},
    resets: 0,
    timeouts: 0,
    denied: 0,
  };
}

/** Gauge says how connOpen combines: "sum" across processes at one time, "latest" over time. */
export type Gauge = "sum" | "latest";

const COUNTERS = [
  "requests",
  "bytesIn",
  "bytesOut",
  "connNew",
  "tlsFailures",
  "resets",
  "timeouts",
  "denied",
] as const;

/**
 * mergeMeasures combines measures into new Measures (inputs untouched). With gauge "latest" the
 * inputs must be in time order: connOpen is the last one's.
 */
export function mergeMeasures(all: readonly Measures[], gauge: Gauge = "sum"): Measures {
  const out = emptyMeasures();
  const sketches: Partial<Record<TimingPart, Sketch>> = {};
  for (const m of all) {
    for (const k of COUNTERS) out[k] += m[k];
    out.connOpen = gauge === "sum" ? out.connOpen + m.connOpen : m.connOpen;
    addCounts(out.codes, m.codes);
    addCounts(out.tls, m.tls);
    addCounts(out.http, m.http);
    for (const [part, d] of Object.entries(m.latency) as [TimingPart, SketchData][])
      (sketches[part] ??= new Sketch()).merge(d);
  }
  for (const [part, s] of Object.entries(sketches) as [TimingPart, Sketch][]) out.latency[part] = s.toData();
  return out;
}

// addCounts reads only own keys and defines them (a key such as "toString" or "__proto__" from a
// batch is a count like any other, never an inherited member).
function addCounts(into: Record<string, number>, from: Record<string, number>): void {
  for (const [k, v] of Object.entries(from))
    Object.defineProperty(into, k, {
      value: (Object.hasOwn(into, k) ? into[k]! : 0) + v,
      writable: true,
      enumerable: true,
      configurable: true,
    });
}

/**
 * mergeServices combines batches of one virtual service (same key): totals, routes and backends
 * merged by name, top lists added and cut to TOP_N. Over time ("latest") a route or backend absent
 * from the last batch had no open connection then: its connOpen becomes 0.
 */
export function mergeServices(all: readonly ServiceBatch[], gauge: Gauge = "sum"): ServiceBatch {
  const first = all[0]!;
  const byName = (pick: (s: ServiceBatch) => Record<string, Measures>) => {
    const groups = new Map<string, Measures[]>();
    for (const s of all)
      for (const [name, m] of Object.entries(pick(s))) {
        let g = groups.get(name);
        if (g === undefined) groups.set(name, (g = []));
        g.push(m);
      }
    const out: Record<string, Measures> = {};
    for (const [name, ms] of groups) {
      const merged = mergeMeasures(ms, gauge);
      // Over time a name missing from the last batch had no connection open then.
      if (gauge === "latest" && !(name in pick(all[all.length - 1]!))) merged.connOpen = 0;
      out[name] = merged;
    }
    return out;
  };
  const total = mergeMeasures(
    all.map((s) => s.total),
    gauge,
  );
  return {
    kind: first.kind,
    listener: first.listener,
    ...(first.vhost !== undefined ? { vhost: first.vhost } : {}),
    total,
    routes: byName((s) => s.routes),
    backends: byName((s) => s.backends),
    top: mergeTop(all.map((s) => s.top)),
  };
}

/** OVERFLOW_KEY names the service, route or backend that counts everything past a cap (as metrics.ts). */
export const OVERFLOW_KEY = "__overflow__";

/** Caps bound a batch's cardinality: services, and routes and backends over the whole batch (the collector's caps). */
export interface Caps {
  services: number;
  routes: number;
  backends: number;
}

/**
 * capBatch is b with the services, routes and backends past caps folded into OVERFLOW_KEY ones,
 * in the order b lists them (b itself when within them). Batches merged over time (an engine
 * whose controller is away) would otherwise hold the union of every interval's names.
 */
export function capBatch(b: AnalyticsBatch, caps: Caps): AnalyticsBatch {
  const all = Object.entries(b.services);
  let routes = 0;
  let backends = 0;
  for (const [, s] of all) {
    routes += Object.keys(s.routes).length;
    backends += Object.keys(s.backends).length;
  }
  if (all.length <= caps.services && routes <= caps.routes && backends <= caps.backends) return b;
  const services: Record<string, ServiceBatch> = {};
  const over: ServiceBatch[] = [];
  let n = 0;
  for (const [k, s] of all)
    if (k !== OVERFLOW_KEY && n < caps.services) {
      n++;
      services[k] = s;
    } else over.push(s);
  if (over.length > 0) {
    const { vhost: _, ...merged } = mergeServices(over, "sum");
    services[OVERFLOW_KEY] = { ...merged, listener: OVERFLOW_KEY };
  }
  const left = { routes: caps.routes, backends: caps.backends };
  for (const [k, s] of Object.entries(services))
    services[k] = {
      ...s,
      routes: fold(s.routes, left, "routes"),
      backends: fold(s.backends, left, "backends"),
    };
  return { ...b, services };
}

// fold keeps the names of m while left[which] lasts; the rest add into m's OVERFLOW_KEY entry.
function fold(
  m: Record<string, Measures>,
  left: { routes: number; backends: number },
  which: "routes" | "backends",
): Record<string, Measures> {
  const out: Record<string, Measures> = {};
  const over: Measures[] = [];
  for (const [k, v] of Object.entries(m))
    if (k === OVERFLOW_KEY) over.push(v);
    else if (left[which] > 0) {
      left[which]--;
      out[k] = v;
    } else over.push(v);
  if (over.length > 0) out[OVERFLOW_KEY] = over.length === 1 ? over[0]! : mergeMeasures(over, "sum");
  return out;
}

/** MergeOptions: over "engines" (the same interval, several processes) or "time" (one process's consecutive batches, oldest first). */
export interface MergeOptions {
  over: "engines" | "time";
  /** maxLogs caps the merged batch's records (the rest count in dropped); default MAX_LOGS. */
  maxLogs?: number;
  /** engine and group name the merged batch (default: the first batch's). */
  engine?: string;
  group?: string;
  /** caps, when given, bound the merged batch's names (capBatch): an engine holding batches over time. */
  caps?: Caps;
}

/** MAX_LOGS is how many LogRecords one engine ships per interval; the rest are counted as dropped. */
export const MAX_LOGS = 200;

/**
 * mergeBatches combines batches into one: services merged by key (mergeServices), the interval
 * the union of theirs, the logs concatenated in time order under maxLogs (significant records are
 * kept before full-log ones), dropped summed. Undefined for no batch.
 */
export function mergeBatches(
  batches: readonly AnalyticsBatch[],
  opts: MergeOptions,
): AnalyticsBatch | undefined {
  if (batches.length === 0) return undefined;
  const gauge: Gauge = opts.over === "engines" ? "sum" : "latest";
  const end = Math.max(...batches.map((b) => b.at));
  const start = Math.min(...batches.map((b) => b.at - b.intervalMs));
  const keys = new Map<string, ServiceBatch[]>();
  for (const b of batches)
    for (const [k, s] of Object.entries(b.services)) {
      let g = keys.get(k);
      if (g === undefined) keys.set(k, (g = []));
      g.push(s);
    }
  const last = batches[batches.length - 1]!;
  const services: Record<string, ServiceBatch> = {};
  for (const [k, ss] of keys) {
    const merged = ss.length === 1 && gauge === "sum" ? ss[0]! : mergeServices(ss, gauge);
    // Over time, a service the last batch does not list had no connection open then.
    if (gauge === "latest" && !(k in last.services)) zeroGauges(merged);
    services[k] = merged;
  }
  const { logs, dropped } = capLogs(
    batches.flatMap((b) => b.logs),
    opts.maxLogs ?? MAX_LOGS,
  );
  const first = batches[0]!;
  const group = opts.group ?? first.group;
  const merged: AnalyticsBatch = {
    engine: opts.engine ?? first.engine,
    ...(group !== undefined ? { group } : {}),
    at: end,
    intervalMs: end - start,
    services,
    logs,
    dropped: dropped + batches.reduce((n, b) => n + b.dropped, 0),
  };
  return opts.caps === undefined ? merged : capBatch(merged, opts.caps);
}

// zeroGauges sets every connOpen of s to 0 (s is mergeServices' fresh result: nobody else holds it).
function zeroGauges(s: ServiceBatch): void {
  s.total = { ...s.total, connOpen: 0 };
  for (const m of [s.routes, s.backends])
    for (const [k, v] of Object.entries(m)) m[k] = { ...v, connOpen: 0 };
}

/**
 * stamped is batch as sent by engine of group: the receiver names the sender (an engine cannot
 * speak for another), on the batch and on each of its records.
 */
export function stamped(batch: AnalyticsBatch, engine: string, group: string): AnalyticsBatch {
  return {
    ...batch,
    engine,
    group,
    logs: batch.logs.map((r) => (r.engine === engine ? r : { ...r, engine })),
  };
}

/** capLogs keeps at most max records, significant ones first, each kept set in time order. */
export function capLogs(all: readonly LogRecord[], max: number): { logs: LogRecord[]; dropped: number } {
  if (all.length <= max) return { logs: [...all].sort((a, b) => a.at - b.at), dropped: 0 };
  const significant = all.filter((r) => !isFullOnly(r));
  const full = all.filter(isFullOnly);
  const kept = [...significant.sort((a, b) => a.at - b.at), ...full.sort((a, b) => a.at - b.at)].slice(
    0,
    max,
  );
  return { logs: kept.sort((a, b) => a.at - b.at), dropped: all.length - kept.length };
}

/** isFullOnly is true for a record kept only because full logs were on (no significant reason). */
export function isFullOnly(r: Pick<LogRecord, "reasons">): boolean {
  return r.reasons.length === 1 && r.reasons[0] === "full";
}
