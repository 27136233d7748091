// policy-crd.test.ts: keeps deploy/crds/portico.dev_{wafpolicies,accesspolicies}.yaml and
// src/k8s/policy.ts in step (src/k8s/crd-shape.ts compares them), and checks the schema's defaults
// are the ones the policy pass applies (src/translate/policy-spec.ts).
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { parse } from "yaml";
import { compareShape, readTypes, type Schema } from "./crd-shape.ts";
import { WAF_DEFAULTS } from "../translate/policy-spec.ts";

const root = join(import.meta.dirname, "..", "..");
const types = readTypes("policy.ts", readFileSync(join(root, "src/k8s/policy.ts"), "utf8"));
const crdOf = (plural: string) =>
  parse(readFileSync(join(root, `deploy/crds/portico.dev_${plural}.yaml`), "utf8"));

for (const [kind, plural] of [
  ["WafPolicy", "wafpolicies"],
  ["AccessPolicy", "accesspolicies"],
] as const) {
  const crd = crdOf(plural);
  const version = crd.spec.versions[0];

  test(`${kind}: the CRD is namespaced, with a status subresource`, () => {
    assert.equal(crd.metadata.name, `${plural}.portico.dev`);
    assert.equal(crd.spec.scope, "Namespaced");
    assert.equal(crd.spec.names.kind, kind);
    assert.equal(version.name, "v1alpha1");
    assert.deepEqual(version.subresources, { status: {} });
  });

  test(`${kind}: every field of the spec and status types is in the schema, and nothing else`, () => {
    const schema: Schema = version.schema.openAPIV3Schema;
    const problems: string[] = [];
    for (const [name, iface] of [
      ["spec", `${kind}Spec`],
      ["status", "PolicyStatus"],
    ] as const) {
      const shape = types.shapeOf(iface);
      assert.ok(shape, iface);
      compareShape(name, shape, schema.properties?.[name], problems);
    }
    assert.deepEqual(problems, []);
  });
}

test("WafPolicy: the schema's defaults are the ones the policy pass applies", () => {
  const p: Record<string, Schema> =
    crdOf("wafpolicies").spec.versions[0].schema.openAPIV3Schema.properties.spec.properties;
  assert.equal(p.mode!.default, WAF_DEFAULTS.mode);
  assert.equal(p.paranoiaLevel!.default, WAF_DEFAULTS.paranoiaLevel);
  assert.equal(p.anomalyThreshold!.properties!.inbound!.default, WAF_DEFAULTS.inboundAnomalyThreshold);
  assert.equal(p.anomalyThreshold!.properties!.outbound!.default, WAF_DEFAULTS.outboundAnomalyThreshold);
  assert.equal(p.requestBody!.properties!.limitBytes!.default, WAF_DEFAULTS.requestBodyLimitBytes);
  assert.equal(p.requestBody!.properties!.onLimit!.default, WAF_DEFAULTS.requestBodyLimitAction);
  assert.equal(p.responseBody!.properties!.inspect!.default, WAF_DEFAULTS.inspectResponseBody);
  assert.equal(p.responseBody!.properties!.limitBytes!.default, WAF_DEFAULTS.responseBodyLimitBytes);
  assert.equal(p.budget!.properties!.milliseconds!.default, WAF_DEFAULTS.budgetMs);
  assert.equal(p.budget!.properties!.onExceeded!.default, WAF_DEFAULTS.failurePolicy);
});

test("the schemas' bounds are the policy pass's: a value the API server takes is not refused later", async () => {
  const { checkAccessPolicy, checkWafPolicy } = await import("../translate/policy-spec.ts");
  const waf: Record<string, Schema> =
    crdOf("wafpolicies").spec.versions[0].schema.openAPIV3Schema.properties.spec.properties;
  const acc: Record<string, Schema> =
    crdOf("accesspolicies").spec.versions[0].schema.openAPIV3Schema.properties.spec.properties;
  const cases: [string, Schema | undefined, (n: number) => string[]][] = [
    [
      "requestBody.limitBytes",
      waf.requestBody!.properties!.limitBytes,
      (n) => checkWafPolicy({ spec: { requestBody: { limitBytes: n } } } as never, "W").problems,
    ],
    [
      "responseBody.limitBytes",
      waf.responseBody!.properties!.limitBytes,
      (n) => checkWafPolicy({ spec: { responseBody: { limitBytes: n } } } as never, "W").problems,
    ],
    [
      "rateLimit.requests",
      acc.rateLimit!.properties!.requests,
      (n) => checkAccessPolicy({ spec: { rateLimit: { requests: n } } } as never, "A").problems,
    ],
    [
      "rateLimit.burst",
      acc.rateLimit!.properties!.burst,
      (n) => checkAccessPolicy({ spec: { rateLimit: { requests: 1, burst: n } } } as never, "A").problems,
    ],
    [
      "connectionLimit.maxConnections",
      acc.connectionLimit!.properties!.maxConnections,
      (n) => checkAccessPolicy({ spec: { connectionLimit: { maxConnections: n } } } as never, "A").problems,
    ],
  ];
  for (const [field, schema, problems] of cases) {
    const max = (schema as { maximum?: number } | undefined)?.maximum;
    assert.ok(typeof max === "number", `${field}: the schema has a maximum`);
    assert.deepEqual(problems(max), [], `${field}: ${max} is taken`);
    assert.notDeepEqual(problems(max + 1), [], `${field}: ${max + 1} is refused by both`);
  }
});
