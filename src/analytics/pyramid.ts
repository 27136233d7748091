// pyramid.ts: a virtual service's mergeable cells — a latency sketch per timing part and the top
// lists — per minute of the last hour, hour of the last day and day of the last 30 (PYRAMID).
// Window summaries merge the cells the window covers, so the p99 over 24 hours is the p99 of every
// sample of those hours (within the sketch's 1%), never an average of hourly percentiles. A closed
// cell keeps its sketches packed (pack.ts) and its top lists trimmed to TOP_KEEP entries per kind
// and deflated, both as one-byte strings.
import { deflateRawSync, inflateRawSync } from "node:zlib";
import { Sketch } from "./sketch.ts";
import { mergePacked, sketchesOf, unpack } from "./pack.ts";
import { ObjectRing } from "./ring.ts";
import { PYRAMID } from "./resolutions.ts";
import type { SketchData, TimingPart, TopKind, TopLists } from "./types.ts";

/** TOP_KEEP is how many entries per kind a cell keeps (the API answers TOP_ANSWER of the merge). */
export const TOP_KEEP = 10;

/** TOP_LIVE bounds a filling cell's lists: trimmed back to it when twice as long (space-saving's spirit). */
export const TOP_LIVE = 20;

/** TOP_ANSWER is how many entries per kind a top-list answer holds. */
export const TOP_ANSWER = 10;

/**
 * Cell is one bucket's sketches and top lists. Its sketches are always packed; its top lists are
 * live while its bucket fills, compact after. A closed cell is two byte strings: objects per part
 * and per top-list entry were the largest single cost of the store (docs/analytics.md); a query
 * unpacks the few cells it merges.
 */
export interface Cell {
  /** latency: the sketches by part, packed (pack.ts; "" for none), while the cell fills too. */
  latency: string;
  /** top: live lists while the cell fills, then packTop's deflated JSON. */
  top: TopLists | string;
}

/** latencyOf reads a cell's sketches by part. */
export function latencyOf(cell: Cell): Partial<Record<TimingPart, SketchData>> {
  return unpack(cell.latency);
}

/** topOf reads a cell's top lists, packed or not. */
export function topOf(cell: Cell): TopLists {
  return typeof cell.top === "string"
    ? (JSON.parse(inflateRawSync(Buffer.from(cell.top, "latin1")).toString()) as TopLists)
    : cell.top;
}

/**
 * packTop stores closed top lists as deflated JSON (~40% of the text: URLs and addresses repeat
 * their prefixes), as a one-byte string (see pack.ts: a string's header is a tenth of a typed array's).
 */
export function packTop(top: TopLists): string {
  return deflateRawSync(JSON.stringify(top)).toString("latin1");
}

/** Pyramid holds the cells of one virtual service. */
export class Pyramid {
  readonly rings = PYRAMID.map((r) => new ObjectRing<Cell>(r));
  /** #live are the cells still filling (the newest bucket of each ring), with live top lists. */
  readonly #live: (Cell | undefined)[] = PYRAMID.map(() => undefined);

  /** onClose, when set, sees each cell's live sketches as it closes (the service's rings take their quantiles). */
  onClose: ((res: string, b: number, latency: Partial<Record<TimingPart, Sketch>>) => void) | undefined;

  /** add merges one interval's total latency and top lists into the cell of `at` in every ring. */
  add(at: number, latency: Partial<Record<TimingPart, SketchData>>, top: TopLists): void {
    this.rings.forEach((ring, i) => {
      const b = Math.floor(at / ring.res.ms);
      const cell = ring.cell(b, () => ({ latency: "", top: {} }));
      if (!cell) return;
      if (this.#live[i] !== cell) {
        this.#close(i);
        this.#live[i] = cell;
      }
      cell.latency = mergePacked(cell.latency, latency);
      if (typeof cell.top === "string") cell.top = topOf(cell);
      mergeTop(cell.top, top, TOP_LIVE);
    });
  }

  /** seal closes the live cells whose bucket ended before now (before a save). */
  seal(now: number): void {
    this.rings.forEach((ring, i) => {
      if (this.#live[i] && ring.get(Math.floor(now / ring.res.ms)) !== this.#live[i]) this.#close(i);
    });
  }

  /**
   * live answers the sketches of ring res's bucket b while it fills (undefined once closed): every
   * part the cell holds, also one a reopened cell (a late batch, or the bucket still filling when
   * the store was saved and loaded) has not merged since.
   */
  live(res: string, b: number): Partial<Record<TimingPart, Sketch>> | undefined {
    const i = this.rings.findIndex((r) => r.res.name === res);
    const cell = i < 0 ? undefined : this.rings[i]!.get(b);
    return cell && cell === this.#live[i] ? sketchesOf(cell.latency) : undefined;
  }

  #close(i: number): void {
    const cell = this.#live[i];
    if (!cell) return;
    const ring = this.rings[i]!;
    const b = ring.stamp[ring.cells.indexOf(cell)];
    if (this.onClose && b !== undefined && b >= 0) this.onClose(ring.res.name, b, sketchesOf(cell.latency));
    compact(cell);
    this.#live[i] = undefined;
  }

  /** merged merges the cells of buckets [from, to] of ring i: one sketch per part and the top lists. */
  merged(
    i: number,
    from: number,
    to: number,
  ): { latency: Partial<Record<TimingPart, Sketch>>; top: TopLists } {
    const latency: Partial<Record<TimingPart, Sketch>> = {};
    const top: TopLists = {};
    for (let b = from; b <= to; b++) {
      const cell = this.rings[i]!.get(b);
      if (!cell) continue;
      for (const [part, s] of Object.entries(latencyOf(cell)) as [TimingPart, SketchData][])
        (latency[part] ??= new Sketch()).merge(s);
      mergeTop(top, topOf(cell), Infinity);
    }
    return { latency, top };
  }
}

/** compact trims a closed cell's top lists and packs them (its sketches are packed already). */
export function compact(cell: Cell): void {
  if (typeof cell.top === "string") return;
  const top: TopLists = {};
  for (const kind of Object.keys(cell.top) as TopKind[]) top[kind] = trim(cell.top[kind]!, TOP_KEEP);
  cell.top = packTop(top);
}

/** mergeTop adds from's counts into into, kind by kind; a list longer than 2 × keep is trimmed to keep. */
export function mergeTop(into: TopLists, from: TopLists, keep: number): void {
  for (const [kind, list] of Object.entries(from) as [TopKind, Record<string, number>][]) {
    const dst = (into[kind] ??= {});
    for (const [k, n] of Object.entries(list)) dst[k] = (dst[k] ?? 0) + n;
    if (keep !== Infinity && Object.keys(dst).length > 2 * keep) into[kind] = trim(dst, keep);
  }
}

/** trim keeps the n largest counts of a list (ties by name, so answers are stable). */
export function trim(list: Record<string, number>, n: number): Record<string, number> {
  const entries = Object.entries(list);
  if (entries.length <= n) return list;
  entries.sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
  return Object.fromEntries(entries.slice(0, n));
}
