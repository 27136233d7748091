// placement.ts: which engines serve which VIP, per group and HA mode — pure, sticky, deterministic.
// ActiveActive: every ready engine of the group serves every VIP of the group. ActiveStandby: each
// VIP has one active and one standby engine (in another zone, else on another node, when there is
// one); the standby takes it when the active goes. NPlusM: VIPs spread over the group's engines less
// M spares, and a spare takes the VIPs of an engine that goes. (docs/engines.md)
//
// Sticky means a VIP stays where it is while its engine is ready: moving a VIP breaks the
// connections on it, so an engine that comes back takes new VIPs and failovers but never takes
// VIPs back from a healthy engine. Fair shares apply to the VIPs being placed, not by moving others.
// The standby list says who takes a VIP over; a standby (or an NPlusM spare) is sent the VIP's
// configuration only then (slice.ts gives an engine its active VIPs), by the push that follows the
// active's departure.
import type { HaMode } from "../../k8s/engine-group.ts";

/** PlacedEngine is what placement knows of an engine. */
export interface PlacedEngine {
  name: string;
  node: string;
  zone?: string;
  ready: boolean;
}

/** VipPlacement is who serves one VIP address. */
export interface VipPlacement {
  active: string[];
  standby: string[];
}

/** Placement maps a VIP address to its engines, within one group. */
export type Placement = Record<string, VipPlacement>;

/** PlacementInput is one group's state. */
export interface PlacementInput {
  mode: HaMode;
  /** spares is M for NPlusM. */
  spares: number;
  engines: readonly PlacedEngine[];
  /** vips are the addresses of the group's listeners. */
  vips: readonly string[];
  previous: Placement;
}

/** place computes a group's placement; the same input always gives the same output. */
export function place(input: PlacementInput): Placement {
  const ready = input.engines.filter((e) => e.ready).sort(byName);
  const vips = [...new Set(input.vips)].sort();
  switch (input.mode) {
    case "ActiveStandby":
      return activeStandby(ready, vips, input.previous);
    case "NPlusM":
      return nPlusM(input.engines, ready, vips, input.spares, input.previous);
    case "ActiveActive": {
      const names = ready.map((e) => e.name);
      return Object.fromEntries(vips.map((vip) => [vip, { active: [...names], standby: [] }]));
    }
  }
}

/** byName orders engines by name, the tie rule everywhere here. */
function byName(a: { name: string }, b: { name: string }): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

/** Counter counts VIPs per engine name. */
class Counter {
  readonly #n = new Map<string, number>();
  add(name: string): void {
    this.#n.set(name, this.get(name) + 1);
  }
  get(name: string): number {
    return this.#n.get(name) ?? 0;
  }
}

/** least picks the candidate with the lowest key, ties by name (candidates come sorted by name). */
function least<T extends { name: string }>(candidates: readonly T[], key: (e: T) => number[]): T | undefined {
  let best: T | undefined;
  let bestKey: number[] = [];
  for (const c of candidates) {
    const k = key(c);
    if (!best || compareKeys(k, bestKey) < 0) [best, bestKey] = [c, k];
  }
  return best;
}

function compareKeys(a: number[], b: number[]): number {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return 0;
}

/**
 * activeStandby: keep each VIP's active while it is ready, else promote its ready standby, else
 * give it to the engine with the fewest actives; then keep or pick a standby apart from the active.
 */
function activeStandby(
  ready: readonly PlacedEngine[],
  vips: readonly string[],
  previous: Placement,
): Placement {
  const byName = new Map(ready.map((e) => [e.name, e]));
  const active = new Map<string, PlacedEngine>();
  const actives = new Counter();
  const unplaced: string[] = [];
  for (const vip of vips) {
    const prev = previous[vip];
    const keep = byName.get(prev?.active[0] ?? "") ?? byName.get(prev?.standby[0] ?? "");
    if (keep) {
      active.set(vip, keep);
      actives.add(keep.name);
    } else unplaced.push(vip);
  }
  for (const vip of unplaced) {
    const e = least(ready, (c) => [actives.get(c.name)]);
    if (!e) continue;
    active.set(vip, e);
    actives.add(e.name);
  }
  const standbys = new Counter();
  const out: Placement = {};
  const standbyOf = new Map<string, PlacedEngine>();
  // Standbys kept first, so the counts new picks balance against include them.
  for (const vip of vips) {
    const a = active.get(vip);
    const prev = byName.get(previous[vip]?.standby[0] ?? "");
    if (!a || !prev || prev.name === a.name) continue;
    if (apart(prev, a) < bestApart(ready, a)) continue;
    standbyOf.set(vip, prev);
    standbys.add(prev.name);
  }
  for (const vip of vips) {
    const a = active.get(vip);
    if (!a) {
      out[vip] = { active: [], standby: [] };
      continue;
    }
    let s = standbyOf.get(vip);
    if (!s) {
      const others = ready.filter((e) => e.name !== a.name);
      s = least(others, (c) => [-apart(c, a), standbys.get(c.name), actives.get(c.name)]);
      if (s) standbys.add(s.name);
    }
    out[vip] = { active: [a.name], standby: s ? [s.name] : [] };
  }
  return out;
}

/** apart scores how far two engines are: 2 in different zones, 1 on different nodes, 0 together. */
function apart(a: PlacedEngine, b: PlacedEngine): number {
  if (a.zone !== undefined && b.zone !== undefined && a.zone !== b.zone) return 2;
  return a.node !== b.node ? 1 : 0;
}

/** bestApart is the best separation any other ready engine offers from a. */
function bestApart(ready: readonly PlacedEngine[], a: PlacedEngine): number {
  return Math.max(0, ...ready.filter((e) => e.name !== a.name).map((e) => apart(e, a)));
}

/**
 * nPlusM: the first (engines − M) engines by name are the actives and the rest spares. A VIP keeps
 * its engine while it is ready. The VIPs of an engine that went move together to one idle ready
 * engine (a spare first), as a spare replaces a failed machine; with no idle engine left they
 * spread over the busy ones. New VIPs go to the least loaded of the actives and of the engines
 * already serving; idle spares stand by for every VIP.
 */
function nPlusM(
  all: readonly PlacedEngine[],
  ready: readonly PlacedEngine[],
  vips: readonly string[],
  spares: number,
  previous: Placement,
): Placement {
  const names = [...all].sort(byName).map((e) => e.name);
  const designated = new Set(names.slice(0, Math.max(0, names.length - spares)));
  const readyNames = new Set(ready.map((e) => e.name));
  const load = new Counter();
  const owner = new Map<string, string>();
  const orphans = new Map<string, string[]>();
  const fresh: string[] = [];
  for (const vip of vips) {
    const prev = previous[vip]?.active[0];
    if (prev !== undefined && readyNames.has(prev)) {
      owner.set(vip, prev);
      load.add(prev);
    } else if (prev !== undefined) orphans.set(prev, [...(orphans.get(prev) ?? []), vip]);
    else fresh.push(vip);
  }
  const idle = (): PlacedEngine[] => ready.filter((e) => load.get(e.name) === 0);
  const busyOrActive = (): PlacedEngine[] =>
    ready.filter((e) => designated.has(e.name) || load.get(e.name) > 0);
  const give = (vip: string, e: PlacedEngine) => {
    owner.set(vip, e.name);
    load.add(e.name);
  };
  // Engines that went, in name order, each to one idle engine.
  for (const [, list] of [...orphans].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const free = idle();
    const spare = free.find((e) => !designated.has(e.name)) ?? free[0];
    for (const vip of list) {
      const e = spare ?? least(ready, (c) => [load.get(c.name)]);
      if (e) give(vip, e);
    }
  }
  for (const vip of fresh) {
    const pool = busyOrActive();
    const e = least(pool.length > 0 ? pool : ready, (c) => [load.get(c.name)]);
    if (e) give(vip, e);
  }
  const standby = idle().map((e) => e.name);
  return Object.fromEntries(
    vips.map((vip) => {
      const o = owner.get(vip);
      return [vip, { active: o ? [o] : [], standby: o ? standby : [] }];
    }),
  );
}
