// tenant-crd.test.ts: keeps deploy/crds/portico.dev_tenants.yaml and src/k8s/tenant.ts in step
// (src/k8s/crd-shape.ts compares them), and checks the domain pattern admits what the tenant pass reads.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { parse } from "yaml";
import { compareShape, readTypes, type Schema } from "./crd-shape.ts";

const root = join(import.meta.dirname, "..", "..");
const types = readTypes("tenant.ts", readFileSync(join(root, "src/k8s/tenant.ts"), "utf8"));
const crd = parse(readFileSync(join(root, "deploy/crds/portico.dev_tenants.yaml"), "utf8"));
const version = crd.spec.versions[0];

test("the CRD names Tenant, cluster-scoped, with status and printer columns", () => {
  assert.equal(crd.metadata.name, "tenants.portico.dev");
  assert.equal(crd.spec.scope, "Cluster");
  assert.equal(crd.spec.names.kind, "Tenant");
  assert.equal(version.name, "v1alpha1");
  assert.deepEqual(version.subresources, { status: {} });
  const columns = version.additionalPrinterColumns.map((c: { name: string }) => c.name);
  assert.deepEqual(columns, ["Namespaces", "Accepted", "Age"]);
});

test("every field of TenantSpec and TenantStatus is in the schema, and nothing else", () => {
  const schema: Schema = version.schema.openAPIV3Schema;
  const problems: string[] = [];
  for (const [name, iface] of [
    ["spec", "TenantSpec"],
    ["status", "TenantStatus"],
  ] as const) {
    const shape = types.shapeOf(iface);
    assert.ok(shape, iface);
    compareShape(name, shape, schema.properties?.[name], problems);
  }
  assert.deepEqual(problems, []);
});

test("spec.domains takes names and leading wildcards, in any case, and nothing else", () => {
  const domain = new RegExp(version.schema.openAPIV3Schema.properties.spec.properties.domains.items.pattern);
  for (const ok of ["shop.example.com", "*.payments.example.com", "Shop.Example.COM", "com"])
    assert.ok(domain.test(ok), ok);
  for (const bad of ["*", "a.*.example.com", "example.com.", "-a.com", "", "*example.com"])
    assert.ok(!domain.test(bad), bad);
});
