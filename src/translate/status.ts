// status.ts: status is data (STYLE.md §4). Passes record issues against objects as they find them;
// StatusBook folds them into metav1.Condition-shaped conditions at the end, so every pass can add to
// an object's status without knowing what the others wrote. No clock is read: lastTransitionTime is
// left to the status writer, which keeps it when a condition's status did not change.
import type { Condition } from "../k8s/types.ts";
import type { ObjectStatus } from "./types.ts";

/** ACCEPTED says whether Portico takes the object (True even with warnings, reason then names the first). */
export const ACCEPTED = "portico.dev/Accepted";
/** RESOLVED_REFS says whether every Service, Secret and class an object names was usable. */
export const RESOLVED_REFS = "portico.dev/ResolvedRefs";
/** VIP_ALLOCATED carries IPAM's answer for the object's VIP. */
export const VIP_ALLOCATED = "portico.dev/VIPAllocated";

/** ObjectRef names an object by kind, namespace and name. */
export interface ObjectRef {
  kind: string;
  namespace?: string;
  name: string;
  generation?: number;
}

/** refOf builds an ObjectRef from a manifest. */
export function refOf(obj: {
  kind: string;
  metadata: { name: string; namespace?: string; generation?: number };
}): ObjectRef {
  const ref: ObjectRef = { kind: obj.kind, name: obj.metadata.name };
  if (obj.metadata.namespace) ref.namespace = obj.metadata.namespace;
  if (obj.metadata.generation !== undefined) ref.generation = obj.metadata.generation;
  return ref;
}

/** keyOf names a ref as "Kind/ns/name" ("Kind/name" when cluster-scoped), like objectKey. */
export function keyOf(ref: ObjectRef): string {
  return ref.namespace ? `${ref.kind}/${ref.namespace}/${ref.name}` : `${ref.kind}/${ref.name}`;
}

interface Issue {
  status: "True" | "False";
  reason: string;
  message: string;
}

interface Entry {
  ref: ObjectRef;
  /** base holds each condition's value when nothing went wrong. */
  base: Map<string, Issue>;
  issues: Map<string, Issue[]>;
  extra: Record<string, unknown>;
}

/** StatusBook collects conditions per object during translation and renders ObjectStatus values. */
export class StatusBook {
  readonly #entries = new Map<string, Entry>();

  #entry(ref: ObjectRef): Entry {
    const key = keyOf(ref);
    let e = this.#entries.get(key);
    if (!e) {
      e = { ref, base: new Map(), issues: new Map(), extra: {} };
      this.#entries.set(key, e);
    }
    return e;
  }

  /** ok sets a condition's value for when no issue is recorded against it. */
  ok(ref: ObjectRef, type: string, reason: string, message = ""): void {
    this.#entry(ref).base.set(type, { status: "True", reason, message });
  }

  /** set records a condition outright (IPAM results); it replaces earlier issues of that type. */
  set(ref: ObjectRef, type: string, status: "True" | "False", reason: string, message: string): void {
    const e = this.#entry(ref);
    e.base.set(type, { status, reason, message });
    e.issues.delete(type);
  }

  /** warn records a problem that leaves the condition True (the object is served, partly). */
  warn(ref: ObjectRef, type: string, reason: string, message: string): void {
    this.#add(ref, type, { status: "True", reason, message });
  }

  /** fail records a problem that turns the condition False. */
  fail(ref: ObjectRef, type: string, reason: string, message: string): void {
    this.#add(ref, type, { status: "False", reason, message });
  }

  /** field sets a non-condition status field (loadBalancer, pool counters). */
  field(ref: ObjectRef, name: string, value: unknown): void {
    this.#entry(ref).extra[name] = value;
  }

  /** fieldOf reads back a non-condition status field, for a later pass that amends it. */
  fieldOf(ref: ObjectRef, name: string): unknown {
    return this.#entries.get(keyOf(ref))?.extra[name];
  }

  /** has tells whether an object has a status entry. */
  has(ref: ObjectRef): boolean {
    return this.#entries.has(keyOf(ref));
  }

  #add(ref: ObjectRef, type: string, issue: Issue): void {
    const e = this.#entry(ref);
    const list = e.issues.get(type) ?? [];
    if (!list.some((i) => i.reason === issue.reason && i.message === issue.message)) list.push(issue);
    e.issues.set(type, list);
  }

  /** render returns one ObjectStatus per object, sorted by kind, namespace, name; conditions by type. */
  render(): ObjectStatus[] {
    const out: ObjectStatus[] = [];
    for (const e of this.#entries.values()) {
      const types = [...new Set([...e.base.keys(), ...e.issues.keys()])].sort();
      const conditions: Condition[] = types.map((type) => foldCondition(type, e, e.ref.generation));
      const status: ObjectStatus["status"] = { ...e.extra };
      if (conditions.length > 0) status.conditions = conditions;
      const s: ObjectStatus = e.ref.namespace
        ? { kind: e.ref.kind, namespace: e.ref.namespace, name: e.ref.name, status }
        : { kind: e.ref.kind, name: e.ref.name, status };
      out.push(s);
    }
    return out.sort(compareStatus);
  }
}

/** foldCondition merges the base value and issues of one type: any False issue wins, messages join. */
function foldCondition(type: string, e: Entry, generation: number | undefined): Condition {
  const issues = e.issues.get(type) ?? [];
  const base = e.base.get(type);
  let c: Issue;
  if (issues.length === 0) c = base ?? { status: "True", reason: "Accepted", message: "" };
  else {
    const failed = issues.find((i) => i.status === "False");
    const head = failed ?? issues[0]!;
    c = { status: head.status, reason: head.reason, message: issues.map((i) => i.message).join("; ") };
  }
  const cond: Condition = { type, status: c.status, reason: c.reason, message: c.message };
  if (generation !== undefined) cond.observedGeneration = generation;
  return cond;
}

/** compareStatus orders statuses by kind, then namespace, then name. */
export function compareStatus(a: ObjectStatus, b: ObjectStatus): number {
  const ka = [a.kind, a.namespace ?? "", a.name];
  const kb = [b.kind, b.namespace ?? "", b.name];
  for (let i = 0; i < 3; i++) if (ka[i] !== kb[i]) return ka[i]! < kb[i]! ? -1 : 1;
  return 0;
}
