// dns-zone-crd.test.ts: keeps deploy/crds/portico.dev_dnszones.yaml and src/k8s/dns-zone.ts in
// step (src/k8s/crd-shape.ts compares them), and checks the schema's defaults are the ones the
// DNS pass applies (src/translate/dns.ts).
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { parse } from "yaml";
import { compareShape, readTypes, type Schema } from "./crd-shape.ts";
import { DNS_DEFAULTS } from "../translate/dns-zone-spec.ts";

const root = join(import.meta.dirname, "..", "..");
const types = readTypes("dns-zone.ts", readFileSync(join(root, "src/k8s/dns-zone.ts"), "utf8"));
const crd = parse(readFileSync(join(root, "deploy/crds/portico.dev_dnszones.yaml"), "utf8"));
const version = crd.spec.versions[0];
const spec: Schema = version.schema.openAPIV3Schema.properties.spec;

test("the CRD names DnsZone, cluster-scoped, with status and printer columns", () => {
  assert.equal(crd.metadata.name, "dnszones.portico.dev");
  assert.equal(crd.spec.scope, "Cluster");
  assert.equal(crd.spec.names.kind, "DnsZone");
  assert.equal(version.name, "v1alpha1");
  assert.deepEqual(version.subresources, { status: {} });
  const columns = Object.fromEntries(
    version.additionalPrinterColumns.map((c: { name: string; jsonPath: string }) => [c.name, c.jsonPath]),
  );
  assert.equal(columns.Zone, ".spec.zone");
  assert.equal(columns.Records, ".status.records");
});

test("every field of DnsZoneSpec and DnsZoneStatus is in the schema, and nothing else", () => {
  const schema: Schema = version.schema.openAPIV3Schema;
  const problems: string[] = [];
  for (const [name, iface] of [
    ["spec", "DnsZoneSpec"],
    ["status", "DnsZoneStatus"],
  ] as const) {
    const shape = types.shapeOf(iface);
    assert.ok(shape, iface);
    compareShape(name, shape, schema.properties?.[name], problems);
  }
  assert.deepEqual(problems, []);
});

test("the schema's defaults are the ones the DNS pass applies", () => {
  const p = spec.properties!;
  assert.equal(p.ttl!.default, DNS_DEFAULTS.ttl);
  assert.equal(p.unhealthy!.default, "Withdraw");
  assert.equal(p.listen!.properties!.port!.default, DNS_DEFAULTS.port);
  const soa = p.soa!.properties!;
  assert.equal(soa.refresh!.default, DNS_DEFAULTS.refresh);
  assert.equal(soa.retry!.default, DNS_DEFAULTS.retry);
  assert.equal(soa.expire!.default, DNS_DEFAULTS.expire);
  assert.equal(soa.minimum!.default, DNS_DEFAULTS.minimum);
  const rl = p.rateLimit!.properties!;
  assert.equal(rl.responsesPerSecond!.default, DNS_DEFAULTS.responsesPerSecond);
  assert.equal(rl.slip!.default, DNS_DEFAULTS.slip);
  const zone = new RegExp(p.zone!.pattern!);
  for (const ok of ["example.com", "a-b.example.com", "com"]) assert.ok(zone.test(ok), ok);
  for (const bad of ["Example.com", "example.com.", "-a.com", "*.example.com", ""])
    assert.ok(!zone.test(bad), bad);
});
