// crd-shape.ts: compares a CRD's OpenAPI schema with the TypeScript interfaces that mirror it, so
// a field added to one and not the other fails a test (src/ipam/crd.test.ts for VipPool,
// src/k8s/engine-group-crd.test.ts for EngineGroup). The interfaces are read with the compiler's
// parser (types are erased at run time), turned into a shape, and compared with the schema both
// ways: fields, optionality, types, enums. Used by tests only.
import ts from "typescript";

/** Schema is the subset of OpenAPI v3 the CRDs use. */
export interface Schema {
  type?: string;
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema;
  additionalProperties?: Schema;
  enum?: string[];
  minItems?: number;
  minimum?: number;
  maximum?: number;
  default?: unknown;
  pattern?: string;
  "x-kubernetes-validations"?: { rule: string; message: string }[];
}

/** Shape is a TypeScript type reduced to what a schema can say. */
export type Shape =
  | { kind: "object"; props: Record<string, { optional: boolean; shape: Shape }> }
  | { kind: "array"; items: Shape }
  | { kind: "map" }
  | { kind: "string"; enum?: string[] }
  | { kind: "number" | "boolean" | "opaque" };

/** TypeFile is one parsed TypeScript source and its interfaces by name. */
export interface TypeFile {
  shapeOf(name: string): Shape | undefined;
}

/** readTypes parses a TypeScript source; types from other files (Condition, ObjectMeta) are opaque. */
export function readTypes(fileName: string, text: string): TypeFile {
  const source = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest);
  const interfaces = new Map<string, ts.InterfaceDeclaration>();
  source.forEachChild((n) => {
    if (ts.isInterfaceDeclaration(n)) interfaces.set(n.name.text, n);
  });
  const membersShape = (members: ts.NodeArray<ts.TypeElement>): Shape => {
    const props: Record<string, { optional: boolean; shape: Shape }> = {};
    for (const m of members) {
      if (!ts.isPropertySignature(m) || !m.type) continue;
      props[m.name.getText(source)] = { optional: m.questionToken !== undefined, shape: shapeOf(m.type) };
    }
    return { kind: "object", props };
  };
  const shapeOf = (t: ts.TypeNode): Shape => {
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
      // A type alias (HaMode) is looked up by its declaration.
      let alias: ts.TypeNode | undefined;
      source.forEachChild((n) => {
        if (ts.isTypeAliasDeclaration(n) && n.name.text === name) alias = n.type;
      });
      if (alias) return shapeOf(alias);
    }
    return { kind: "opaque" };
  };
  return {
    shapeOf: (name) => {
      const decl = interfaces.get(name);
      return decl ? membersShape(decl.members) : undefined;
    },
  };
}

/** compareShape walks a shape and a schema together and lists every disagreement. */
export function compareShape(path: string, shape: Shape, schema: Schema | undefined, out: string[]): void {
  if (!schema) return void out.push(`${path}: missing from the CRD schema`);
  switch (shape.kind) {
    case "object": {
      if (schema.type !== "object") out.push(`${path}: schema type ${schema.type}, want object`);
      const props = schema.properties ?? {};
      for (const [name, p] of Object.entries(shape.props)) {
        compareShape(`${path}.${name}`, p.shape, props[name], out);
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
      return compareShape(`${path}[]`, shape.items, schema.items, out);
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
