// fields.ts: finds the fields of a manifest that its kind's schema does not have, as the API server's
// strict field validation does (the default of `kubectl apply`: `strict decoding error: unknown field
// "spec.portz"`). Pure. The trees come from client-node's models and the CRDs (fields-trees.ts, a
// generated file), never from a hand-typed list. Kinds Portico does not read are not checked, and
// neither is status: Portico ignores a manifest's status.
import type { FieldTree } from "./fields-build.ts";
import { KIND_FIELDS, OBJECT_META } from "./fields-trees.ts";

/** UnknownField is one field the kind's schema does not have, by its path in the object. */
export interface UnknownField {
  path: (string | number)[];
}

const isMap = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/** fieldPath writes a path as kubectl does: spec.rules[0].matchs. */
export const fieldPath = (at: readonly (string | number)[]): string =>
  at.map((p, i) => (typeof p === "number" ? `[${p}]` : i === 0 ? p : `.${p}`)).join("");

/** walk reports every key of value (and below) that tree does not allow. */
function walk(value: unknown, tree: FieldTree, at: (string | number)[], out: UnknownField[]): void {
  if (tree === 0) return;
  if (Array.isArray(value)) {
    value.forEach((item, i) => walk(item, tree, [...at, i], out));
    return;
  }
  if (!isMap(value)) return; // a scalar where an object belongs is a shape error, reported elsewhere
  const any = Object.hasOwn(tree, "*") ? tree["*"] : undefined;
  for (const [k, v] of Object.entries(value)) {
    const sub = any ?? (Object.hasOwn(tree, k) ? tree[k] : undefined);
    if (sub === undefined) out.push({ path: [...at, k] });
    else walk(v, sub, [...at, k], out);
  }
}

/** checkedKind says whether unknownFields has a schema for kind. */
export const checkedKind = (kind: string): boolean => Object.hasOwn(KIND_FIELDS, kind);

/** unknownFields lists the unknown fields of an object of kind, in document order; empty when none. */
export function unknownFields(kind: string, obj: Record<string, unknown>): UnknownField[] {
  const tree = Object.hasOwn(KIND_FIELDS, kind) ? KIND_FIELDS[kind] : undefined;
  if (!tree) return [];
  const top: Record<string, FieldTree> = {
    ...tree,
    apiVersion: 0,
    kind: 0,
    metadata: OBJECT_META,
    status: 0,
  };
  const out: UnknownField[] = [];
  walk(obj, top, [], out);
  return out;
}
