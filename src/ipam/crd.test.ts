// crd.test.ts: keeps deploy/crds/portico.dev_vippools.yaml and src/k8s/vip-pool.ts in step
// (the comparison is src/k8s/crd-shape.ts).
import assert from "node:assert/strict";
// eslint-disable-next-line no-restricted-imports -- the test reads the CRD and the type's source; allocate() stays I/O-free
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { parse } from "yaml";
import { compareShape, readTypes, type Schema } from "../k8s/crd-shape.ts";

const root = join(import.meta.dirname, "..", "..");

const types = readTypes("vip-pool.ts", readFileSync(join(root, "src/k8s/vip-pool.ts"), "utf8"));

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
    const shape = types.shapeOf(iface);
    assert.ok(shape, iface);
    compareShape(name, shape, schema.properties?.[name], problems);
  }
  assert.deepEqual(problems, []);
});

test("the comparison can fail: a field missing from the schema is reported", () => {
  const problems: string[] = [];
  const shape = types.shapeOf("VipPoolSpec");
  assert.ok(shape);
  compareShape(
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
