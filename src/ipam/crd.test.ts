// crd.test.ts: keeps deploy/crds/portico.dev_vippools.yaml and src/k8s/vip-pool.ts in step. The
// TypeScript interfaces are read with the compiler's parser (types are erased at run time), turned
// into a shape, and compared with the OpenAPI schema both ways: fields, optionality, types, enums.
import assert from "node:assert/strict";
// eslint-disable-next-line no-restricted-imports -- the test reads the CRD and the type's source; allocate() stays I/O-free
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import ts from "typescript";
import { parse } from "yaml";

const root = join(import.meta.dirname, "..", "..");

/** Schema is the subset of OpenAPI v3 the CRD uses. */
interface Schema {
  type?: string;
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema;
  additionalProperties?: Schema;
  enum?: string[];
  minItems?: number;
}

/** Shape is a TypeScript type reduced to what a schema can say. */
type Shape =
  | { kind: "object"; props: Record<string, { optional: boolean; shape: Shape }> }
  | { kind: "array"; items: Shape }
  | { kind: "map" }
  | { kind: "string"; enum?: string[] }
  | { kind: "number" | "boolean" | "opaque" };

const source = ts.createSourceFile(
  "vip-pool.ts",
  readFileSync(join(root, "src/k8s/vip-pool.ts"), "utf8"),
  ts.ScriptTarget.Latest,
);
const interfaces = new Map<string, ts.InterfaceDeclaration>();
source.forEachChild((n) => {
  if (ts.isInterfaceDeclaration(n)) interfaces.set(n.name.text, n);
});

/** membersShape turns interface or type-literal members into an object shape. */
function membersShape(members: ts.NodeArray<ts.TypeElement>): Shape {
  const props: Record<string, { optional: boolean; shape: Shape }> = {};
  for (const m of members) {
    if (!ts.isPropertySignature(m) || !m.type) continue;
    props[m.name.getText(source)] = { optional: m.questionToken !== undefined, shape: shapeOf(m.type) };
  }
  return { kind: "object", props };
}

/** shapeOf reduces a type node; types from elsewhere (Condition, ObjectMeta) are opaque. */
function shapeOf(t: ts.TypeNode): Shape {
  if (ts.isTypeLiteralNode(t)) return membersShape(t.members);
  if (ts.isArrayTypeNode(t)) return { kind: "array", items: shapeOf(t.elementType) };
  if (
    ts.isUnionTypeNode(t) &&
    t.types.every((u) => ts.isLiteralTypeNode(u) && ts.isStringLiteral(u.literal))
  ) {
    return {
      kind: "string",
      enum: t.types.map((u) => ((u as ts.LiteralTypeNode).literal as ts.StringLiteral).text),
    };
  }
  if (t.kind === ts.SyntaxKind.StringKeyword) return { kind: "string" };
  if (t.kind === ts.SyntaxKind.NumberKeyword) return { kind: "number" };
  if (t.kind === ts.SyntaxKind.BooleanKeyword) return { kind: "boolean" };
  if (ts.isTypeReferenceNode(t)) {
    const name = t.typeName.getText(source);
    if (name === "Record") return { kind: "map" };
    const local = interfaces.get(name);
    if (local) return membersShape(local.members);
  }
  return { kind: "opaque" };
}

/** compare walks a shape and a schema together and lists every disagreement. */
function compare(path: string, shape: Shape, schema: Schema | undefined, out: string[]): void {
  if (!schema) return void out.push(`${path}: missing from the CRD schema`);
  switch (shape.kind) {
    case "object": {
      if (schema.type !== "object") out.push(`${path}: schema type ${schema.type}, want object`);
      const props = schema.properties ?? {};
      for (const [name, p] of Object.entries(shape.props)) {
        compare(`${path}.${name}`, p.shape, props[name], out);
        const required = (schema.required ?? []).includes(name);
        if (required === p.optional)
          out.push(`${path}.${name}: optional in TS is ${p.optional}, required in CRD is ${required}`);
      }
      for (const name of Object.keys(props)) {
        if (!(name in shape.props)) out.push(`${path}.${name}: in the CRD but not in the TypeScript type`);
      }
      return;
    }
    case "array":
      if (schema.type !== "array") out.push(`${path}: schema type ${schema.type}, want array`);
      return compare(`${path}[]`, shape.items, schema.items, out);
    case "map":
      if (schema.type !== "object" || !schema.additionalProperties) out.push(`${path}: want a string map`);
      return;
    case "string":
      if (schema.type !== "string") out.push(`${path}: schema type ${schema.type}, want string`);
      if (shape.enum && JSON.stringify(shape.enum) !== JSON.stringify(schema.enum)) {
        out.push(`${path}: enum ${JSON.stringify(schema.enum)}, want ${JSON.stringify(shape.enum)}`);
      }
      return;
    case "number":
      if (schema.type !== "integer" && schema.type !== "number")
        out.push(`${path}: schema type ${schema.type}, want a number`);
      return;
    case "boolean":
      if (schema.type !== "boolean") out.push(`${path}: schema type ${schema.type}, want boolean`);
      return;
    case "opaque":
      return;
  }
}

const crd = parse(readFileSync(join(root, "deploy/crds/portico.dev_vippools.yaml"), "utf8"));

test("the CRD names VipPool as the contract says", () => {
  assert.equal(crd.apiVersion, "apiextensions.k8s.io/v1");
  assert.equal(crd.metadata.name, "vippools.portico.dev");
  assert.equal(crd.spec.group, "portico.dev");
  assert.equal(crd.spec.scope, "Cluster");
  assert.deepEqual(
    { kind: crd.spec.names.kind, plural: crd.spec.names.plural, short: crd.spec.names.shortNames },
    { kind: "VipPool", plural: "vippools", short: ["vpool"] },
  );
  const [version] = crd.spec.versions;
  assert.equal(crd.spec.versions.length, 1);
  assert.equal(version.name, "v1alpha1");
  assert.ok(version.served && version.storage);
  assert.deepEqual(version.subresources, { status: {} });
  const columns = version.additionalPrinterColumns.map((c: { jsonPath: string }) => c.jsonPath);
  for (const f of ["assignedIPv4", "availableIPv4", "assignedIPv6", "availableIPv6"]) {
    assert.ok(columns.includes(`.status.${f}`), f);
  }
  const spec: Schema = version.schema.openAPIV3Schema.properties.spec;
  assert.equal(spec.properties?.addresses?.minItems, 1);
  assert.equal(spec.properties?.priority?.type, "integer");
});

test("every field of VipPoolSpec and VipPoolStatus is in the schema, and nothing else", () => {
  const schema: Schema = crd.spec.versions[0].schema.openAPIV3Schema;
  const problems: string[] = [];
  for (const [name, iface] of [
    ["spec", "VipPoolSpec"],
    ["status", "VipPoolStatus"],
  ] as const) {
    const decl = interfaces.get(iface);
    assert.ok(decl, iface);
    compare(name, membersShape(decl.members), schema.properties?.[name], problems);
  }
  assert.deepEqual(problems, []);
});

test("the comparison can fail: a field missing from the schema is reported", () => {
  const problems: string[] = [];
  const shape = membersShape(interfaces.get("VipPoolSpec")?.members ?? ts.factory.createNodeArray());
  compare(
    "spec",
    shape,
    {
      type: "object",
      required: ["addresses"],
      properties: { addresses: { type: "array", items: { type: "string" } } },
    },
    problems,
  );
  assert.ok(
    problems.some((p) => p.startsWith("spec.priority: missing")),
    problems.join("\n"),
  );
});
