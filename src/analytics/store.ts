// store.ts: the controller's embedded analytics time series (issue 15 item 2). Every engine's
// batch (AnalyticsSink.ingest) merges into the bucket of its time at each resolution, per virtual
// service, route and backend: counters add, latency sketches merge, top lists add and are trimmed,
// and the engines that reported are remembered per virtual service. Memory is bounded by the
// rings' sizes (resolutions.ts) and by caps on the number of series: past a cap, new virtual
// services, routes or backends count in one series named OVERFLOW. Figures per 1,000 routes are in
// docs/analytics.md; persistence is persist.ts, the API's answers summary.ts.
//
// Open connections are a gauge: a bucket's connOpen is the sum over engines of each engine's last
// report inside that bucket (summed across engines, never over time).
import { Pyramid, TOP_ANSWER, latencyOf, trim } from "./pyramid.ts";
import { pack, squeeze } from "./pack.ts";
import {
  DETAIL_RESOLUTIONS,
  PYRAMID,
  RESOLUTIONS,
  WINDOW_MS,
  pyramidIndex,
  windowIndex,
} from "./resolutions.ts";
import { CLASSES, SeriesData, quantilesOf } from "./series.ts";
import { dumpSlot, loadSlot, type Ring, type SlotData } from "./ring.ts";
import type { Sketch } from "./sketch.ts";
import {
  TIMING_PARTS,
  type AnalyticsBatch,
  type AnalyticsSink,
  type Series,
  type ServiceBatch,
  type SketchData,
  type TimingPart,
  type TopKind,
  type TopLists,
  type Window,
} from "./types.ts";

/** OVERFLOW names the series that counts everything past a cap. */
export const OVERFLOW = "__overflow__";

/** LIMITS are the default caps on series (each a memory bound: see the docs' per-series costs). */
export const LIMITS = { services: 1_000, routes: 5_000, backends: 10_000 };

/** StoreOptions: the clock (tests use a fake one) and the caps. */
export interface StoreOptions {
  now?: () => number;
  limits?: Partial<typeof LIMITS>;
}

/** ServiceData is one virtual service's series. */
interface ServiceData {
  kind: ServiceBatch["kind"];
  listener: string;
  vhost?: string;
  total: SeriesData;
  routes: Map<string, SeriesData>;
  backends: Map<string, SeriesData>;
  cells: Pyramid;
  /** engines: engine → the time of its last batch for this service. */
  engines: Map<string, number>;
  /** conn: engine → its last open-connections report. */
  conn: Map<string, { at: number; value: number }>;
}

/** WindowData are a virtual service's figures over a window, before scoring (summary.ts). */
export interface WindowData {
  kind: ServiceBatch["kind"];
  listener: string;
  vhost?: string;
  engines: string[];
  requests: number;
  classes: Record<string, number>;
  bytesIn: number;
  bytesOut: number;
  connOpen: number;
  latency: Partial<Record<TimingPart, Sketch>>;
  spark: number[];
}

/** Family names one kind of ring at one resolution, the unit persist.ts saves a row of. */
export interface Family {
  name: string;
  ms: number;
  slots: number;
}

/** FAMILIES are every ring kind the store keeps: "vs/5s", "detail/1m", "cells/1d", ... */
export const FAMILIES: readonly Family[] = [
  ...RESOLUTIONS.map((r) => ({ name: `vs/${r.name}`, ms: r.ms, slots: r.slots })),
  ...DETAIL_RESOLUTIONS.map((r) => ({ name: `detail/${r.name}`, ms: r.ms, slots: r.slots })),
  ...PYRAMID.map((r) => ({ name: `cells/${r.name}`, ms: r.ms, slots: r.slots })),
];

const SPAN_MS = Math.max(...FAMILIES.map((f) => f.ms * f.slots));
/**
 * ROUTE_PARTS: routes keep the end-to-end latency only, at 1 min for the last hour (each ring with
 * latency costs a live sketch per route); backends keep none (memory: docs/analytics.md).
 */
const ROUTE_PARTS: readonly TimingPart[] = ["total"];

/** AnalyticsStore is the time series of every virtual service, route and backend. */
export class AnalyticsStore implements AnalyticsSink {
  readonly now: () => number;
  readonly #limits: typeof LIMITS;
  readonly #services = new Map<string, ServiceData>();
  #routes = 0;
  #backends = 0;
  #swept = 0;

  constructor(opts: StoreOptions = {}) {
    this.now = opts.now ?? Date.now;
    this.#limits = { ...LIMITS, ...opts.limits };
  }

  /** ingest merges one engine's batch; its time is clamped to now (an engine clock ahead of ours). */
  ingest(batch: AnalyticsBatch): void {
    const now = this.now();
    // The interval ends at batch.at: its last millisecond names the bucket.
    const at = Math.max(0, Math.min(batch.at, now) - 1);
    for (const [key, sb] of Object.entries(batch.services)) {
      const svc = this.#service(key, sb);
      svc.engines.set(batch.engine, at);
      // Cells first: a closing cell writes its quantiles into the bucket the rings are still filling.
      svc.cells.add(at, sb.total.latency, sb.top);
      svc.total.add(at, sb.total);
      svc.conn.set(batch.engine, { at, value: sb.total.connOpen });
      for (const [e, c] of svc.conn) if (c.at < at - 3_600_000) svc.conn.delete(e);
      svc.total.setGauge(at, "connOpen", (ring, b) => {
        let sum = 0;
        for (const c of svc.conn.values()) if (ring.bucket(c.at) === b) sum += c.value;
        return sum;
      });
      for (const [name, m] of Object.entries(sb.routes)) this.#detail(svc.routes, name, "routes").add(at, m);
      for (const [name, m] of Object.entries(sb.backends))
        this.#detail(svc.backends, name, "backends").add(at, m);
    }
    if (now - this.#swept > 3_600_000) this.sweep(now);
  }

  /** services lists the virtual service keys held. */
  services(): string[] {
    return [...this.#services.keys()];
  }

  /** has tells whether a virtual service has any data. */
  has(vs: string): boolean {
    return this.#services.has(vs);
  }

  /** routeNames and backendNames list a service's route and backend series. */
  detailNames(vs: string): { routes: string[]; backends: string[] } {
    const s = this.#services.get(vs);
    return { routes: [...(s?.routes.keys() ?? [])], backends: [...(s?.backends.keys() ?? [])] };
  }

  /**
   * series answers a service's (or one of its routes' or backends') buckets over the window, oldest
   * first, zeros where nothing was reported; undefined when the service, route or backend is unknown.
   */
  series(vs: string, window: Window, sel: { route?: string; backend?: string } = {}): Series | undefined {
    const svc = this.#services.get(vs);
    if (!svc) return undefined;
    const data =
      sel.route !== undefined
        ? svc.routes.get(sel.route)
        : sel.backend !== undefined
          ? svc.backends.get(sel.backend)
          : svc.total;
    if (!data) return undefined;
    const i = windowIndex(window);
    const ring = data.rings[i]!;
    const points = [];
    for (const b of span(ring.res.ms, window, this.now())) points.push(data.point(i, b));
    return { vs, window, resolutionMs: ring.res.ms, points };
  }

  /** window gathers a service's figures over a window (undefined when unknown). */
  window(vs: string, window: Window): WindowData | undefined {
    const svc = this.#services.get(vs);
    if (!svc) return undefined;
    const now = this.now();
    const i = windowIndex(window);
    const ring = svc.total.rings[i]!;
    const buckets = span(ring.res.ms, window, now);
    const classes: Record<string, number> = {};
    let requests = 0;
    let bytesIn = 0;
    let bytesOut = 0;
    let connOpen = 0;
    const spark: number[] = [];
    for (const b of buckets) {
      const n = ring.get(b, "requests");
      spark.push(n);
      requests += n;
      bytesIn += ring.get(b, "bytesIn");
      bytesOut += ring.get(b, "bytesOut");
      for (const c of CLASSES) {
        const k = ring.get(b, c);
        if (k > 0) classes[c] = (classes[c] ?? 0) + k;
      }
      // The gauge is the newest bucket's that holds a report, not a sum over time.
      if (ring.holds(b)) connOpen = ring.get(b, "connOpen");
    }
    const from = now - WINDOW_MS[window];
    const cells = this.#cells(svc, window, now);
    return {
      kind: svc.kind,
      listener: svc.listener,
      ...(svc.vhost !== undefined ? { vhost: svc.vhost } : {}),
      engines: [...svc.engines]
        .filter(([, at]) => at >= from)
        .map(([e]) => e)
        .sort(),
      requests,
      classes,
      bytesIn,
      bytesOut,
      connOpen,
      latency: cells.latency,
      spark,
    };
  }

  /** top answers a service's top lists merged over the window (TOP_ANSWER per kind); undefined when unknown. */
  top(vs: string, window: Window): TopLists | undefined {
    const svc = this.#services.get(vs);
    if (!svc) return undefined;
    const { top } = this.#cells(svc, window, this.now());
    const out: TopLists = {};
    for (const kind of Object.keys(top) as TopKind[]) out[kind] = trim(top[kind]!, TOP_ANSWER);
    return out;
  }

  /** sweep drops series that reported nothing for longer than every ring's span. */
  sweep(now = this.now()): void {
    this.#swept = now;
    for (const [key, svc] of this.#services) {
      for (const [map, kind] of [
        [svc.routes, "routes"],
        [svc.backends, "backends"],
      ] as const)
        for (const [name, s] of map)
          if (now - s.lastAt > SPAN_MS) {
            map.delete(name);
            if (kind === "routes") this.#routes--;
            else this.#backends--;
          }
      if (now - svc.total.lastAt > SPAN_MS && svc.routes.size + svc.backends.size === 0)
        this.#services.delete(key);
    }
  }

  /** bytes estimates the memory held by the series' arrays and sketches (the heap test measures the real figure). */
  bytes(): number {
    let n = 0;
    for (const s of this.#services.values()) {
      n += s.total.bytes();
      for (const r of s.routes.values()) n += r.bytes();
      for (const b of s.backends.values()) n += b.bytes();
    }
    return n;
  }

  /** seal writes the quantiles of buckets that ended before now, so a save sees them. */
  seal(now = this.now()): void {
    for (const s of this.#services.values()) {
      s.total.seal(now);
      s.cells.seal(now);
      for (const r of s.routes.values()) r.seal(now);
    }
  }

  /**
   * dump reads buckets [from, to] of a family across every service, for saving (one entry per
   * bucket, undefined when none holds it). Series outside, buckets inside: a ring's buckets are read
   * in order, so each of its pages is decoded once (persist.ts asks a page's worth at a time).
   */
  dump(family: Family, from: number, to: number): (Record<string, unknown> | undefined)[] {
    const [kind, res] = family.name.split("/") as [string, string];
    const out: Record<string, unknown>[] = Array.from({ length: to - from + 1 }, () => ({}));
    for (const [key, s] of this.#services) {
      const meta = { k: s.kind, l: s.listener, ...(s.vhost !== undefined ? { h: s.vhost } : {}) };
      if (kind === "vs") {
        const ring = ringOf(s.total, res);
        for (let b = from; b <= to; b++) {
          const d = dumpSlot(ring, b);
          if (d) out[b - from]![key] = { ...meta, ...d };
        }
      } else if (kind === "detail") {
        const r = dumpMap(s.routes, res, from, to);
        const be = dumpMap(s.backends, res, from, to);
        for (let b = from; b <= to; b++) {
          const rb = r[b - from];
          const bb = be[b - from];
          if (rb || bb) out[b - from]![key] = { ...meta, ...(rb ? { r: rb } : {}), ...(bb ? { b: bb } : {}) };
        }
      } else {
        const ring = s.cells.rings.find((x) => x.res.name === res);
        s.cells.settle();
        for (let b = from; b <= to; b++) {
          const cell = ring?.get(b);
          if (!cell) continue;
          const latency: Record<string, unknown> = {};
          for (const [p, sk] of Object.entries(latencyOf(cell)))
            latency[p] = { ...sk, bins: Array.from(sk.bins) };
          out[b - from]![key] = { ...meta, lat: latency, top: s.cells.topOf(cell) };
        }
      }
    }
    return out.map((o) => (Object.keys(o).length > 0 ? o : undefined));
  }

  /** restore puts a saved bucket back (at start, before any batch). */
  restore(family: Family, b: number, data: Record<string, unknown>): void {
    const [kind, res] = family.name.split("/") as [string, string];
    for (const [key, v] of Object.entries(data)) {
      const d = v as { k: ServiceBatch["kind"]; l: string; h?: string } & SlotData & {
          r?: Record<string, SlotData>;
          b?: Record<string, SlotData>;
          lat?: Partial<Record<TimingPart, SketchData>>;
          top?: TopLists;
        };
      const svc = this.#service(key, {
        kind: d.k,
        listener: d.l,
        ...(d.h !== undefined ? { vhost: d.h } : {}),
      });
      const at = b * family.ms;
      if (kind === "vs") {
        loadSlot(ringOf(svc.total, res), b, d);
        touch(svc.total, at);
      } else if (kind === "detail") {
        for (const [name, slot] of Object.entries(d.r ?? {})) {
          const s = this.#detail(svc.routes, name, "routes");
          loadSlot(ringOf(s, res), b, slot);
          touch(s, at);
        }
        for (const [name, slot] of Object.entries(d.b ?? {})) {
          const s = this.#detail(svc.backends, name, "backends");
          loadSlot(ringOf(s, res), b, slot);
          touch(s, at);
        }
      } else {
        const ring = svc.cells.rings.find((x) => x.res.name === res);
        ring?.put(b, { latency: squeeze(pack(d.lat ?? {})), top: svc.cells.packTop(d.top ?? {}) });
      }
    }
  }

  #cells(svc: ServiceData, window: Window, now: number): ReturnType<Pyramid["merged"]> {
    const i = pyramidIndex(window);
    const ms = svc.cells.rings[i]!.res.ms;
    const buckets = span(ms, window, now);
    return svc.cells.merged(i, buckets[0]!, buckets[buckets.length - 1]!);
  }

  #service(key: string, sb: Pick<ServiceBatch, "kind" | "listener" | "vhost">): ServiceData {
    let svc = this.#services.get(key);
    if (svc) return svc;
    if (this.#services.size >= this.#limits.services) {
      key = OVERFLOW;
      sb = { kind: sb.kind, listener: OVERFLOW };
      svc = this.#services.get(key);
      if (svc) return svc;
    }
    svc = {
      kind: sb.kind,
      listener: sb.listener,
      ...(sb.vhost !== undefined ? { vhost: sb.vhost } : {}),
      // Only the 5 s ring keeps its own live sketches: the 1 min and 1 h rings take their quantiles
      // from the cells of the same buckets (one live sketch per part instead of two).
      total: new SeriesData(RESOLUTIONS, TIMING_PARTS, 1),
      routes: new Map(),
      backends: new Map(),
      cells: new Pyramid(),
      engines: new Map(),
      conn: new Map(),
    };
    const data = svc;
    svc.cells.onClose = (res, b, latency) => {
      const ring = data.total.rings.find((r) => r.res.name === res);
      if (ring)
        for (const [part, sk] of Object.entries(latency) as [TimingPart, Sketch][])
          if (sk.count > 0) ring.setQuantiles(b, part, quantilesOf(sk));
    };
    svc.total.shared = (res, b) => data.cells.live(res, b);
    this.#services.set(key, svc);
    return svc;
  }

  #detail(map: Map<string, SeriesData>, name: string, kind: "routes" | "backends"): SeriesData {
    let s = map.get(name);
    if (s) return s;
    const count = kind === "routes" ? this.#routes : this.#backends;
    if (count >= this.#limits[kind]) {
      name = OVERFLOW;
      s = map.get(name);
      if (s) return s;
    }
    s = new SeriesData(DETAIL_RESOLUTIONS, kind === "routes" ? ROUTE_PARTS : [], 1);
    map.set(name, s);
    if (kind === "routes") this.#routes++;
    else this.#backends++;
    return s;
  }
}

/** span lists the bucket numbers of a window ending now, oldest first (the newest still filling). */
export function span(ms: number, window: Window, now: number): number[] {
  const to = Math.floor(now / ms);
  const n = Math.max(1, Math.ceil(WINDOW_MS[window] / ms));
  return Array.from({ length: n }, (_, k) => to - n + 1 + k);
}

function ringOf(s: SeriesData, res: string): Ring {
  const r = s.rings.find((x) => x.res.name === res);
  if (!r) throw new Error(`no ${res} ring`);
  return r;
}

function dumpMap(
  map: Map<string, SeriesData>,
  res: string,
  from: number,
  to: number,
): (Record<string, SlotData> | undefined)[] {
  const out: (Record<string, SlotData> | undefined)[] = new Array(to - from + 1).fill(undefined);
  for (const [name, s] of map) {
    const ring = ringOf(s, res);
    for (let b = from; b <= to; b++) {
      const d = dumpSlot(ring, b);
      if (d) (out[b - from] ??= {})[name] = d;
    }
  }
  return out;
}

function touch(s: SeriesData, at: number): void {
  if (at > s.lastAt) s.lastAt = at;
}
