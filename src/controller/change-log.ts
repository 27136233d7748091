// change-log.ts: what an applied snapshot changed, and which object problems appeared or cleared,
// so the log has one line per snapshot that says what happened and one line per problem when it
// appears and when it clears (not one per reload). Pure: old and new in, differences out.
import type { Condition } from "../k8s/types.ts";
import type { EngineSnapshot } from "../model/ir.ts";
import type { ObjectStatus } from "../translate/types.ts";
import { keyOf } from "../translate/status.ts";

/** Delta lists the names added, removed and changed between two keyed sets. */
export interface Delta {
  added: string[];
  removed: string[];
  changed: string[];
}

/** SnapshotChanges is the Delta of each part of a snapshot. */
export interface SnapshotChanges {
  listeners: Delta;
  routes: Delta;
  pools: Delta;
  certificates: Delta;
}

function delta(before: ReadonlyMap<string, string>, after: ReadonlyMap<string, string>): Delta {
  const d: Delta = { added: [], removed: [], changed: [] };
  for (const [k, v] of after) {
    const old = before.get(k);
    if (old === undefined) d.added.push(k);
    else if (old !== v) d.changed.push(k);
  }
  for (const k of before.keys()) if (!after.has(k)) d.removed.push(k);
  return d;
}

/** parts indexes a snapshot's listeners, routes, pools and certificates by name → JSON. */
function parts(s: EngineSnapshot | undefined) {
  const listeners = new Map<string, string>();
  const routes = new Map<string, string>();
  for (const l of [...(s?.l4 ?? []), ...(s?.http ?? [])]) {
    const id = `${l.name}@${l.address}:${l.port}`;
    if ("virtualHosts" in l) {
      const { virtualHosts, ...rest } = l;
      listeners.set(id, JSON.stringify(rest));
      // The same route can serve several hosts: it changed if any copy did.
      for (const vh of virtualHosts)
        for (const r of vh.routes)
          routes.set(r.name, (routes.get(r.name) ?? "") + JSON.stringify([vh.hostname, r]));
    } else listeners.set(id, JSON.stringify(l));
  }
  const json = (r: Record<string, unknown> | undefined) =>
    new Map(Object.entries(r ?? {}).map(([k, v]) => [k, JSON.stringify(v)]));
  return { listeners, routes, pools: json(s?.pools), certificates: json(s?.certificates) };
}

/** snapshotChanges compares two snapshots part by part (before undefined: everything is added). */
export function snapshotChanges(before: EngineSnapshot | undefined, after: EngineSnapshot): SnapshotChanges {
  const b = parts(before);
  const a = parts(after);
  return {
    listeners: delta(b.listeners, a.listeners),
    routes: delta(b.routes, a.routes),
    pools: delta(b.pools, a.pools),
    certificates: delta(b.certificates, a.certificates),
  };
}

/** summarize renders changes as log fields: counts, and up to `max` names per list. */
export function summarize(c: SnapshotChanges, max = 10): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [part, d] of Object.entries(c) as [string, Delta][]) {
    for (const [what, names] of Object.entries(d) as [string, string[]][]) {
      if (names.length === 0) continue;
      const shown = names.slice(0, max);
      if (names.length > max) shown.push(`… ${names.length - max} more`);
      out[`${part}${what[0]!.toUpperCase()}${what.slice(1)}`] = shown;
    }
  }
  return out;
}

/** Problem is one unhealthy condition of one object (or of a Gateway listener / route parent). */
export interface Problem {
  object: string;
  /** where is "" for the object's own conditions, "listener NAME" or "parent NAME" otherwise. */
  where: string;
  type: string;
  reason: string;
  message: string;
}

// Conditions whose True is the problem (the Gateway API's negative-polarity types).
const TRUE_IS_BAD = new Set(["Conflicted", "OverlappingTLSConfig"]);

function bad(c: Condition): boolean {
  return TRUE_IS_BAD.has(c.type) ? c.status === "True" : c.status === "False";
}

/** problemsOf lists the unhealthy conditions of every status. */
export function problemsOf(statuses: readonly ObjectStatus[]): Problem[] {
  const out: Problem[] = [];
  for (const s of statuses) {
    const object = keyOf(s);
    const push = (where: string, list: readonly Condition[] | undefined) => {
      for (const c of list ?? [])
        if (bad(c)) out.push({ object, where, type: c.type, reason: c.reason, message: c.message });
    };
    push("", s.status.conditions);
    for (const l of (s.status.listeners ?? []) as { name: string; conditions?: Condition[] }[])
      push(`listener ${l.name}`, l.conditions);
    for (const p of (s.status.parents ?? []) as { parentRef: { name: string }; conditions?: Condition[] }[])
      push(`parent ${p.parentRef.name}`, p.conditions);
  }
  return out;
}

/** problemId identifies a problem across reloads; a new reason is a new problem. */
function problemId(p: Problem): string {
  return `${p.object}|${p.where}|${p.type}|${p.reason}`;
}

/** problemChanges returns the problems that appeared and the ones that cleared. */
export function problemChanges(
  before: readonly Problem[],
  after: readonly Problem[],
): { appeared: Problem[]; cleared: Problem[] } {
  const b = new Set(before.map(problemId));
  const a = new Set(after.map(problemId));
  return {
    appeared: after.filter((p) => !b.has(problemId(p))),
    cleared: before.filter((p) => !a.has(problemId(p))),
  };
}
