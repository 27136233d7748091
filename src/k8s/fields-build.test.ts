import { test } from "node:test";
import assert from "node:assert/strict";
import { mergeTrees, treeFromModel, treeFromSchema, type Attribute } from "./fields-build.ts";

test("treeFromModel follows JSON names through lists, maps of objects and scalars", () => {
  const models: Record<string, Attribute[]> = {
    V1Thing: [
      { baseName: "spec", type: "V1ThingSpec" },
      { baseName: "labels", type: "{ [key: string]: string; }" },
    ],
    V1ThingSpec: [
      { baseName: "items", type: "Array<V1Item>" },
      { baseName: "byName", type: "{ [key: string]: V1Item; }" },
      { baseName: "port", type: "IntOrString" },
      { baseName: "when", type: "Date" },
    ],
    V1Item: [{ baseName: "x-name", type: "string" }],
  };
  assert.deepEqual(
    treeFromModel("V1Thing", (n) => models[n]),
    { spec: { items: { "x-name": 0 }, byName: { "*": { "x-name": 0 } }, port: 0, when: 0 }, labels: 0 },
  );
});

test("treeFromSchema honours preserve-unknown-fields and additionalProperties", () => {
  const tree = treeFromSchema({
    type: "object",
    properties: {
      free: {
        type: "object",
        "x-kubernetes-preserve-unknown-fields": true,
        properties: { a: { type: "string" } },
      },
      labels: { type: "object", additionalProperties: { type: "string" } },
      named: {
        type: "object",
        additionalProperties: { type: "object", properties: { v: { type: "string" } } },
      },
      list: { type: "array", items: { type: "object", properties: { k: { type: "string" } } } },
      opaque: { type: "object" },
    },
  });
  assert.deepEqual(tree, { free: 0, labels: 0, named: { "*": { v: 0 } }, list: { k: 0 }, opaque: 0 });
});

test("mergeTrees allows a field either version has; an open side stays open", () => {
  assert.deepEqual(mergeTrees({ a: { x: 0 } }, { a: { y: 0 }, b: 0 }), { a: { x: 0, y: 0 }, b: 0 });
  assert.equal(mergeTrees({ a: 0 }, 0), 0);
});
