// gen-gateway-types.ts: generates src/k8s/gateway-api.ts from the Gateway API standard-channel CRDs
// (never retyped by hand, ARCHITECTURE.md). It reads the v1 schema of each CRD in
// deploy/crds/gateway-api/ and writes one TypeScript interface per object schema, named by its
// path (HTTPRouteSpecRules is one item of HTTPRoute.spec.rules), with the API reference text of
// the CRD as doc comments. Run: sh scripts/node.sh scripts/gen-gateway-types.ts
// To move to a new Gateway API release, copy its config/crd/standard/*.yaml into deploy/crds/gateway-api/
// (`go mod download -json sigs.k8s.io/gateway-api@vX.Y.Z` prints the folder), then run this script.
// It also writes src/k8s/fields-trees.ts, the allowed-field trees the file source checks manifests
// against (unknown fields are errors, as kubectl's strict field validation makes them), built from
// these CRDs, deploy/crds/portico.dev_vippools.yaml and @kubernetes/client-node's models.
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseAllDocuments } from "yaml";
import * as prettier from "prettier";
import { loadFieldTrees } from "../src/k8s/fields-inputs.ts";
import { renderFieldTrees } from "../src/k8s/fields-build.ts";

const root = join(import.meta.dirname, "..");
const crdDir = join(root, "deploy/crds/gateway-api");
const outFile = join(root, "src/k8s/gateway-api.ts");

/** Schema is the subset of OpenAPI v3 that CRD schemas use. */
interface Schema {
  type?: string;
  description?: string;
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema;
  enum?: unknown[];
  additionalProperties?: Schema | boolean;
  "x-kubernetes-int-or-string"?: boolean;
}

interface Crd {
  kind: string;
  spec?: {
    names: { kind: string };
    versions: { name: string; served: boolean; schema: { openAPIV3Schema: Schema } }[];
    conversion?: unknown;
  };
  metadata: { annotations?: Record<string, string> };
}

const out: string[] = [];
const emitted = new Set<string>();

/** comment renders a doc comment that starts with the type or field name, as STYLE.md asks. */
function comment(name: string, description: string | undefined, indent: string): string {
  const text = (description ?? "").trim().replace(/\*\//g, "*\\/");
  const lines = text === "" ? [`${name} has no description upstream.`] : [`${name}: ${text}`];
  const body = lines.join("\n").split("\n");
  if (body.length === 1) return `${indent}/** ${body[0]} */\n`;
  return `${indent}/**\n${body.map((l) => `${indent} *${l === "" ? "" : " " + l}`).join("\n")}\n${indent} */\n`;
}

const pascal = (s: string): string => s.charAt(0).toUpperCase() + s.slice(1);

/** typeOf returns the TypeScript type of a schema, emitting named interfaces for objects. */
function typeOf(s: Schema, name: string): string {
  if (s["x-kubernetes-int-or-string"]) return "number | string";
  if (s.enum && s.enum.length > 0) return s.enum.map((v) => JSON.stringify(v)).join(" | ");
  switch (s.type) {
    case "string":
      return "string";
    case "integer":
    case "number":
      return "number";
    case "boolean":
      return "boolean";
    case "array":
      return `${wrap(typeOf(s.items ?? {}, name))}[]`;
    case "object":
      if (s.properties && Object.keys(s.properties).length > 0) {
        emitInterface(name, s);
        return name;
      }
      if (s.additionalProperties && typeof s.additionalProperties === "object") {
        return `Record<string, ${typeOf(s.additionalProperties, `${name}Value`)}>`;
      }
      return "Record<string, unknown>";
    default:
      return "unknown";
  }
}

const wrap = (t: string): string => (t.includes("|") ? `(${t})` : t);

/** emitInterface writes one interface; nested objects are written first, under derived names. */
function emitInterface(name: string, s: Schema, top?: { apiVersion: string; kind: string }): void {
  if (emitted.has(name)) throw new Error(`duplicate generated name ${name}`);
  emitted.add(name);
  const required = new Set(s.required ?? []);
  const fields: string[] = [];
  for (const [prop, sub] of Object.entries(s.properties ?? {})) {
    if (top && (prop === "apiVersion" || prop === "kind" || prop === "metadata")) continue;
    const t = typeOf(sub, `${name}${pascal(prop)}`);
    const key = /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(prop) ? prop : JSON.stringify(prop);
    fields.push(`${comment(prop, sub.description, "  ")}  ${key}${required.has(prop) ? "" : "?"}: ${t};\n`);
  }
  const head = top
    ? [
        `  /** apiVersion is "${top.apiVersion}" (older served versions read the same). */\n  apiVersion: string;\n`,
        `  /** kind is "${top.kind}". */\n  kind: "${top.kind}";\n`,
        `  /** metadata is the object's ObjectMeta. */\n  metadata: ObjectMeta;\n`,
      ]
    : [];
  out.push(
    `${comment(name, s.description, "")}export interface ${name} {\n${[...head, ...fields].join("")}}\n`,
  );
}

const files = readdirSync(crdDir)
  .filter((f) => f.endsWith(".yaml"))
  .sort();
const sources: string[] = [];
let bundle = "";
for (const f of files) {
  const crd = parseAllDocuments(readFileSync(join(crdDir, f), "utf8"))[0]?.toJSON() as Crd;
  if (crd.kind !== "CustomResourceDefinition" || !crd.spec) continue;
  bundle = crd.metadata.annotations?.["gateway.networking.k8s.io/bundle-version"] ?? bundle;
  const v1 = crd.spec.versions.find((v) => v.name === "v1" && v.served);
  if (!v1) throw new Error(`${f}: no served v1 version`);
  const kind = crd.spec.names.kind;
  emitInterface(kind, v1.schema.openAPIV3Schema, {
    apiVersion: "gateway.networking.k8s.io/v1",
    kind,
  });
  sources.push(f);
}

const header = `// gateway-api.ts: GENERATED by scripts/gen-gateway-types.ts from the Gateway API ${bundle}
// standard-channel CRDs in deploy/crds/gateway-api/ (${sources.length} files). Do not edit: change
// the CRDs and run the script. Doc comments are the CRDs' own API reference (Apache-2.0, The
// Kubernetes Authors). Names follow the schema path: HTTPRouteSpecRules is one item of spec.rules.
import type { ObjectMeta } from "./types.ts";

/** GATEWAY_API_BUNDLE_VERSION is the Gateway API release these types were generated from. */
export const GATEWAY_API_BUNDLE_VERSION = ${JSON.stringify(bundle)};

`;
const text = header + out.join("\n");
const config = (await prettier.resolveConfig(outFile)) ?? {};
writeFileSync(outFile, await prettier.format(text, { ...config, filepath: outFile }));
console.log(`wrote ${outFile}: ${emitted.size} types from ${sources.length} CRDs (${bundle})`);

const treesFile = join(root, "src/k8s/fields-trees.ts");
const trees = loadFieldTrees(root);
const treesConfig = (await prettier.resolveConfig(treesFile)) ?? {};
writeFileSync(
  treesFile,
  await prettier.format(renderFieldTrees(trees, bundle), { ...treesConfig, filepath: treesFile }),
);
console.log(`wrote ${treesFile}: ${Object.keys(trees.kinds).length} kinds`);
