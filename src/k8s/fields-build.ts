// fields-build.ts: builds the allowed-field trees that fields.ts checks manifests against, from the
// two sources of truth: @kubernetes/client-node's model classes (their attributeTypeMap, for the
// core, networking and discovery kinds) and CRD openAPIV3Schemas (Gateway API, VipPool). Pure: the
// caller hands in the models and the schemas. scripts/gen-gateway-types.ts writes the result to
// fields-trees.ts, and fields-trees.test.ts rebuilds it to keep the two in step.

/**
 * FieldTree is the set of fields an object may carry: 0 means "not checked" (a scalar, a map of
 * scalars, free-form or x-kubernetes-preserve-unknown-fields); a record names every allowed field,
 * and the single key "*" means a map whose values (any key) all have that tree. A list has the tree
 * of its items.
 */
export type FieldTree = 0 | { [field: string]: FieldTree };

/** Attribute is one entry of a client-node model's attributeTypeMap. */
export interface Attribute {
  baseName: string;
  type: string;
}

/** ModelLookup returns a client-node model's attributeTypeMap by class name, or undefined. */
export type ModelLookup = (className: string) => readonly Attribute[] | undefined;

/** treeFromModel walks a client-node type name (V1ServiceSpec, Array<…>, { [key: string]: … }). */
export function treeFromModel(type: string, lookup: ModelLookup, seen: string[] = []): FieldTree {
  const list = /^Array<(.+)>$/.exec(type);
  if (list) return treeFromModel(list[1]!, lookup, seen);
  const map = /^\{ \[key: string\]: (.+); \}$/.exec(type);
  if (map) {
    const value = treeFromModel(map[1]!, lookup, seen);
    return value === 0 ? 0 : { "*": value };
  }
  const attrs = lookup(type);
  // string, number, boolean, Date, IntOrString, any: values, not objects with named fields.
  if (!attrs) return 0;
  if (seen.includes(type)) throw new Error(`recursive model ${[...seen, type].join(" > ")}`);
  if (attrs.length === 0) return 0;
  const out: Record<string, FieldTree> = {};
  for (const a of attrs) out[a.baseName] = treeFromModel(a.type, lookup, [...seen, type]);
  return out;
}

/** Schema is the part of an OpenAPI v3 (structural CRD) schema that decides which fields exist. */
export interface Schema {
  type?: string;
  properties?: Record<string, Schema>;
  items?: Schema;
  additionalProperties?: Schema | boolean;
  "x-kubernetes-preserve-unknown-fields"?: boolean;
}

/** treeFromSchema walks a CRD schema: properties close an object, maps and free-form leave it open. */
export function treeFromSchema(s: Schema): FieldTree {
  if (s["x-kubernetes-preserve-unknown-fields"]) return 0;
  if (s.type === "array") return s.items ? treeFromSchema(s.items) : 0;
  if (s.properties && Object.keys(s.properties).length > 0) {
    const out: Record<string, FieldTree> = {};
    for (const [k, sub] of Object.entries(s.properties)) out[k] = treeFromSchema(sub);
    return out;
  }
  if (s.additionalProperties && typeof s.additionalProperties === "object") {
    const value = treeFromSchema(s.additionalProperties);
    return value === 0 ? 0 : { "*": value };
  }
  return 0; // a scalar, or an object with no listed fields (nothing to check against)
}

/** mergeTrees unions two trees (a field allowed by either version is allowed). */
export function mergeTrees(a: FieldTree, b: FieldTree): FieldTree {
  if (a === 0 || b === 0) return 0;
  const out: Record<string, FieldTree> = { ...a };
  for (const [k, v] of Object.entries(b)) out[k] = k in out ? mergeTrees(out[k]!, v) : v;
  return out;
}

/**
 * kindTree is the tree of one kind's object without apiVersion, kind, metadata and status: those
 * four are the same for every kind and fields.ts handles them (status is never checked).
 */
export function kindTree(full: FieldTree): Record<string, FieldTree> {
  if (full === 0) throw new Error("a kind's schema has no fields");
  const out = { ...full };
  for (const k of ["apiVersion", "kind", "metadata", "status"]) delete out[k];
  return out;
}

/** Crd is the part of a CustomResourceDefinition that names its kind and holds its schemas. */
export interface Crd {
  spec: { names: { kind: string }; versions: { name: string; schema?: { openAPIV3Schema?: Schema } }[] };
}

/** FieldTrees is the generated table: ObjectMeta's tree and every checked kind's tree. */
export interface FieldTrees {
  objectMeta: FieldTree;
  kinds: Record<string, Record<string, FieldTree>>;
}

/**
 * buildFieldTrees builds the table: coreKinds from client-node's V1<Kind> models, every CRD from
 * all its versions merged (the file source reads any served version of a Gateway API kind).
 */
export function buildFieldTrees(coreKinds: readonly string[], lookup: ModelLookup, crds: readonly Crd[]) {
  const kinds: Record<string, Record<string, FieldTree>> = {};
  for (const kind of coreKinds) {
    if (!lookup(`V1${kind}`)) throw new Error(`@kubernetes/client-node has no model V1${kind}`);
    kinds[kind] = kindTree(treeFromModel(`V1${kind}`, lookup));
  }
  for (const crd of crds) {
    let tree: FieldTree = {};
    for (const v of crd.spec.versions) {
      const schema = v.schema?.openAPIV3Schema;
      if (schema) tree = mergeTrees(tree, treeFromSchema(schema));
    }
    kinds[crd.spec.names.kind] = kindTree(tree);
  }
  const sorted = Object.fromEntries(Object.entries(kinds).sort(([a], [b]) => (a < b ? -1 : 1)));
  return { objectMeta: treeFromModel("V1ObjectMeta", lookup), kinds: sorted } satisfies FieldTrees;
}

/** renderFieldTrees writes the source of fields-trees.ts (before formatting). */
export function renderFieldTrees(trees: FieldTrees, bundle: string): string {
  return `// fields-trees.ts: GENERATED by scripts/gen-gateway-types.ts from @kubernetes/client-node's models
// (core, networking and discovery kinds), the Gateway API ${bundle} standard-channel CRDs in
// deploy/crds/gateway-api/ (all versions merged) and deploy/crds/portico.dev_vippools.yaml. Do not
// edit: fields-trees.test.ts fails when it is out of date. See FieldTree in fields-build.ts.
import type { FieldTree } from "./fields-build.ts";

/** OBJECT_META is the tree of metadata (V1ObjectMeta) for every kind. */
export const OBJECT_META: FieldTree = ${JSON.stringify(trees.objectMeta)};

/** KIND_FIELDS is each checked kind's tree, without apiVersion, kind, metadata and status. */
export const KIND_FIELDS: Readonly<Record<string, Readonly<Record<string, FieldTree>>>> = ${JSON.stringify(trees.kinds)};
`;
}
