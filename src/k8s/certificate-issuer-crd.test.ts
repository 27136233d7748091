// certificate-issuer-crd.test.ts: keeps deploy/crds/portico.dev_certificateissuers.yaml and
// src/k8s/certificate-issuer.ts in step (src/k8s/crd-shape.ts compares them).
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { parse } from "yaml";
import { compareShape, readTypes, type Schema } from "./crd-shape.ts";

const root = join(import.meta.dirname, "..", "..");
const types = readTypes(
  "certificate-issuer.ts",
  readFileSync(join(root, "src/k8s/certificate-issuer.ts"), "utf8"),
);
const crd = parse(readFileSync(join(root, "deploy/crds/portico.dev_certificateissuers.yaml"), "utf8"));
const version = crd.spec.versions[0];

test("the CRD names CertificateIssuer, cluster-scoped, with status", () => {
  assert.equal(crd.metadata.name, "certificateissuers.portico.dev");
  assert.equal(crd.spec.scope, "Cluster");
  assert.equal(crd.spec.names.kind, "CertificateIssuer");
  assert.equal(version.name, "v1alpha1");
  assert.deepEqual(version.subresources, { status: {} });
});

test("every field of CertificateIssuerSpec and CertificateIssuerStatus is in the schema, and nothing else", () => {
  const schema: Schema = version.schema.openAPIV3Schema;
  const problems: string[] = [];
  for (const [name, iface] of [
    ["spec", "CertificateIssuerSpec"],
    ["status", "CertificateIssuerStatus"],
  ] as const) {
    const shape = types.shapeOf(iface);
    assert.ok(shape, iface);
    compareShape(name, shape, schema.properties?.[name], problems);
  }
  assert.deepEqual(problems, []);
});
