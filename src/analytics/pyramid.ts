// pyramid.ts: a virtual service's mergeable cells — a latency sketch per timing part and the top
// lists — per minute of the last hour, hour of the last day and day of the last 30 (PYRAMID).
// Window summaries merge the cells the window covers, so the p99 over 24 hours is the p99 of every
// sample of those hours (within the sketch's 1%), never an average of hourly percentiles. A closed
// cell keeps its sketches packed (pack.ts) and its top lists trimmed to TOP_KEEP entries per kind
// and deflated, both as one-byte strings.
import { Sketch } from "./sketch.ts";
import { mergePacked, sketchesOf, squeeze, unpack } from "./pack.ts";
import { ObjectRing } from "./ring.ts";
import { PYRAMID } from "./resolutions.ts";
import { TopPacker } from "./top-pack.ts";
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
  /** latency: the sketches by part, packed (pack.ts; "" for none), while the cell fills too; squeezed once closed (squeeze: Rice codes or deflated). */
  latency: string;
  /** top: live lists while the cell fills, then deflated JSON (top-pack.ts: against the service's dictionary). */
  top: LiveTop | string;
}

/**
 * LiveTop are a filling cell's top lists, per kind a flat array of names and counts in the order
 * first seen ([name, count, name, count, …]): a Map of 40 entries costs ~1.8 KiB of hash table, the
 * array ~0.7 KiB, and a cell keeps two such lists (URLs, clients) at each of four levels
 * (docs/analytics.md). A merge finds a name by indexOf (names are strings, counts numbers: a name
 * never matches a count), 20–40 entries a list.
 */
export type LiveTop = Map<TopKind, (string | number)[]>;

/** liveTop makes live lists of saved ones. */
function liveTop(top: TopLists): LiveTop {
  const out: LiveTop = new Map();
  for (const [kind, list] of Object.entries(top) as [TopKind, Record<string, number>][])
    out.set(kind, Object.entries(list).flat());
  return out;
}

/** recordsOf reads live lists as TopLists (the plain records of a closed cell). */
function recordsOf(top: LiveTop): TopLists {
  const out: TopLists = {};
  for (const [kind, list] of top) {
    const pairs: [string, number][] = [];
    for (let k = 0; k < list.length; k += 2) pairs.push([list[k] as string, list[k + 1] as number]);
    out[kind] = Object.fromEntries(pairs);
  }
  return out;
}

/** latencyOf reads a cell's sketches by part. */
export function latencyOf(cell: Cell): Partial<Record<TimingPart, SketchData>> {
  return unpack(cell.latency);
}

/** Pyramid holds the cells of one virtual service. */
export class Pyramid {
  readonly rings = PYRAMID.map((r) => new ObjectRing<Cell>(r));
  /** #live are the cells still filling (the newest bucket of each ring), with live top lists. */
  readonly #live: (Cell | undefined)[] = PYRAMID.map(() => undefined);
  /**
   * #pending are the sketches of minute #pendingM's batches not yet merged into the coarser cells
   * (5 min, 1 h, 1 day): a batch merges into its 1 min cell and here, and the coarser cells take
   * the minute's sum once (settle) — when a batch of another minute comes, before a cell closes or
   * is read — instead of one merge each per batch. Merging is exact: the same quantiles.
   */
  #pending = "";
  #pendingM = -1;
  /** #top packs closed cells' top lists against the service's own dictionary (top-pack.ts). */
  readonly #top = new TopPacker();

  /** topOf reads a cell's top lists, packed or not. */
  topOf(cell: Cell): TopLists {
    return typeof cell.top === "string" ? this.#top.unpack(cell.top) : recordsOf(cell.top);
  }

  /** packTop packs closed top lists (a saved cell's, when loading). */
  packTop(top: TopLists): string {
    return this.#top.pack(top);
  }

  /** onClose, when set, sees each cell's live sketches as it closes (the service's rings take their quantiles). */
  onClose: ((res: string, b: number, latency: Partial<Record<TimingPart, Sketch>>) => void) | undefined;

  /** add merges one interval's total latency and top lists into the cell of `at` in every ring. */
  add(at: number, latency: Partial<Record<TimingPart, SketchData>>, top: TopLists): void {
    // Another minute's batch: the pending one first goes to its cells (before any of them closes).
    const m = Math.floor(at / this.rings[0]!.res.ms);
    if (m !== this.#pendingM) this.settle();
    this.rings.forEach((ring, i) => {
      const b = Math.floor(at / ring.res.ms);
      const cell = ring.cell(b, () => ({ latency: "", top: new Map() }));
      if (!cell) return;
      if (this.#live[i] !== cell) {
        this.#close(i);
        this.#live[i] = cell;
      }
      if (i === 0) cell.latency = mergePacked(cell.latency, latency);
      if (typeof cell.top === "string") cell.top = liveTop(this.topOf(cell));
      mergeLive(cell.top, top, TOP_LIVE);
    });
    // After the rings made this minute's cells: settle finds them.
    this.#pendingM = m;
    this.#pending = mergePacked(this.#pending, latency);
  }

  /** seal closes the live cells whose bucket ended before now (before a save). */
  seal(now: number): void {
    this.settle();
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
    if (!cell || cell !== this.#live[i]) return undefined;
    this.settle();
    return sketchesOf(cell.latency);
  }

  /** settle merges the pending minute into the coarser cells of its buckets (before they are read). */
  settle(): void {
    if (this.#pending === "") return;
    const at = this.#pendingM * this.rings[0]!.res.ms;
    const latency = unpack(this.#pending);
    for (let i = 1; i < this.rings.length; i++) {
      const ring = this.rings[i]!;
      // Absent when that ring refused the minute's bucket (a newer one holds its slot), as a batch is refused.
      const cell = ring.get(Math.floor(at / ring.res.ms));
      if (cell) cell.latency = mergePacked(cell.latency, latency);
    }
    this.#pending = "";
  }

  #close(i: number): void {
    const cell = this.#live[i];
    if (!cell) return;
    const ring = this.rings[i]!;
    const b = ring.stamp[ring.cells.indexOf(cell)];
    if (this.onClose && b !== undefined && b >= 0) this.onClose(ring.res.name, b, sketchesOf(cell.latency));
    cell.latency = squeeze(cell.latency);
    if (typeof cell.top !== "string") {
      const top: TopLists = {};
      for (const [kind, list] of Object.entries(recordsOf(cell.top)) as [TopKind, Record<string, number>][])
        top[kind] = trim(list, TOP_KEEP);
      cell.top = this.#top.pack(top);
    }
    this.#live[i] = undefined;
  }

  /** merged merges the cells of buckets [from, to] of ring i: one sketch per part and the top lists. */
  merged(
    i: number,
    from: number,
    to: number,
  ): { latency: Partial<Record<TimingPart, Sketch>>; top: TopLists } {
    this.settle();
    const latency: Partial<Record<TimingPart, Sketch>> = {};
    // Summed in Maps, read out by Object.fromEntries: a client's key such as "toString" or
    // "__proto__" is a key like any other, never a plain object's inherited member.
    const top = new Map<TopKind, Map<string, number>>();
    for (let b = from; b <= to; b++) {
      const cell = this.rings[i]!.get(b);
      if (!cell) continue;
      for (const [part, s] of Object.entries(latencyOf(cell)) as [TimingPart, SketchData][])
        (latency[part] ??= new Sketch()).merge(s);
      for (const [kind, list] of Object.entries(this.topOf(cell)) as [TopKind, Record<string, number>][]) {
        let dst = top.get(kind);
        if (dst === undefined) top.set(kind, (dst = new Map()));
        for (const [k, n] of Object.entries(list)) dst.set(k, (dst.get(k) ?? 0) + n);
      }
    }
    const out: TopLists = {};
    for (const [kind, list] of top) out[kind] = Object.fromEntries(list);
    return { latency, top: out };
  }
}

/** mergeLive adds from's counts into live lists, kind by kind: a list longer than 2 × keep is trimmed to keep (the same entries trim keeps). */
function mergeLive(into: LiveTop, from: TopLists, keep: number): void {
  for (const [kind, list] of Object.entries(from) as [TopKind, Record<string, number>][]) {
    let dst = into.get(kind) ?? [];
    const added: (string | number)[] = [];
    for (const [k, n] of Object.entries(list)) {
      const at = dst.indexOf(k);
      if (at < 0) added.push(k, n);
      else dst[at + 1] = (dst[at + 1] as number) + n;
    }
    // New names join by concat, not push: concat allocates the length it needs, while push grows an
    // array by half again (40 slots → 76 → 130), and a list lives between 40 and 80 (measured: 681
    // bytes a list of 78 slots instead of 1,123; ~2 KiB a service's four levels).
    if (added.length > 0 || !into.has(kind)) into.set(kind, (dst = dst.concat(added)));
    if (dst.length > 4 * keep) {
      const pairs: [string, number][] = [];
      for (let k = 0; k < dst.length; k += 2) pairs.push([dst[k] as string, dst[k + 1] as number]);
      into.set(kind, sortTop(pairs).slice(0, keep).flat());
    }
  }
}

/** sortTop orders entries by count, largest first, ties by name (so answers are stable). */
function sortTop(entries: [string, number][]): [string, number][] {
  return entries.sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
}

/** trim keeps the n largest counts of a list (ties by name, so answers are stable). */
export function trim(list: Record<string, number>, n: number): Record<string, number> {
  const entries = Object.entries(list);
  if (entries.length <= n) return list;
  return Object.fromEntries(sortTop(entries).slice(0, n));
}
