// fields-trees.test.ts: fields-trees.ts is current with its sources (client-node's models and the
// CRDs), and every manifest Portico ships or tests with passes the unknown-field check: a false
// positive would turn a valid manifest into an error.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { parseAllDocuments } from "yaml";
import { loadFieldTrees } from "./fields-inputs.ts";
import { KIND_FIELDS, OBJECT_META } from "./fields-trees.ts";
import { fieldPath, unknownFields } from "./fields.ts";
import { classifyKind } from "../sources/file/kinds.ts";

const root = join(import.meta.dirname, "..", "..");

test("fields-trees.ts matches client-node and deploy/crds (run scripts/gen-gateway-types.ts)", () => {
  const trees = loadFieldTrees(root);
  assert.deepEqual(OBJECT_META, trees.objectMeta);
  assert.deepEqual(KIND_FIELDS, trees.kinds);
});

/** yamlFiles lists the manifests below dir (golden outputs are not manifests). */
function* yamlFiles(dir: string): Generator<string> {
  for (const e of readdirSync(dir).sort()) {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) yield* yamlFiles(p);
    else if (/\.ya?ml$/.test(e) && !e.endsWith(".out.yaml")) yield p;
  }
}

/** objectsOf yields the objects of a parsed document, List items included. */
function* objectsOf(v: unknown): Generator<Record<string, unknown>> {
  if (typeof v !== "object" || v === null || Array.isArray(v)) return;
  const o = v as Record<string, unknown>;
  if (String(o.kind).endsWith("List") && Array.isArray(o.items)) {
    for (const item of o.items) yield* objectsOf(item);
  } else yield o;
}

test("no manifest in examples/, deploy/ or translator testdata has an unknown field", () => {
  const found: string[] = [];
  let checked = 0;
  for (const dir of ["examples", "deploy", "src/translate/testdata"]) {
    for (const file of yamlFiles(join(root, dir))) {
      for (const doc of parseAllDocuments(readFileSync(file, "utf8"))) {
        for (const o of objectsOf(doc.toJS())) {
          if (typeof o.kind !== "string" || typeof o.apiVersion !== "string") continue;
          if (classifyKind(o.apiVersion, o.kind).verdict !== "read") continue;
          checked++;
          for (const u of unknownFields(o.kind, o)) found.push(`${file}: ${o.kind}: ${fieldPath(u.path)}`);
        }
      }
    }
  }
  assert.deepEqual(found, []);
  assert.ok(checked > 1000, `only ${checked} objects checked`);
});
