// engine-group-crd.test.ts: keeps deploy/crds/portico.dev_enginegroups.yaml and
// src/k8s/engine-group.ts in step (src/k8s/crd-shape.ts compares them), and checks the bounds and
// defaults the schema promises agree with the pipeline's own check (engine-group-spec.ts).
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { parse } from "yaml";
import { compareShape, readTypes, type Schema } from "./crd-shape.ts";
import { parseQuantity, specProblems, withDefaults } from "../translate/engine-group-spec.ts";

const root = join(import.meta.dirname, "..", "..");
const types = readTypes("engine-group.ts", readFileSync(join(root, "src/k8s/engine-group.ts"), "utf8"));
const crd = parse(readFileSync(join(root, "deploy/crds/portico.dev_enginegroups.yaml"), "utf8"));
const version = crd.spec.versions[0];
const spec: Schema = version.schema.openAPIV3Schema.properties.spec;

test("the CRD names EngineGroup, cluster-scoped, with status and printer columns", () => {
  assert.equal(crd.metadata.name, "enginegroups.portico.dev");
  assert.equal(crd.spec.scope, "Cluster");
  assert.equal(crd.spec.names.kind, "EngineGroup");
  assert.equal(crd.spec.versions.length, 1);
  assert.equal(version.name, "v1alpha1");
  assert.deepEqual(version.subresources, { status: {} });
  const columns = Object.fromEntries(
    version.additionalPrinterColumns.map((c: { name: string; jsonPath: string }) => [c.name, c.jsonPath]),
  );
  assert.equal(columns["HA Mode"], ".spec.haMode");
  assert.equal(columns.Replicas, ".status.replicas");
  assert.equal(columns.Ready, ".status.readyReplicas");
  assert.equal(columns.Age, ".metadata.creationTimestamp");
});

test("every field of EngineGroupSpec and EngineGroupStatus is in the schema, and nothing else", () => {
  const schema: Schema = version.schema.openAPIV3Schema;
  const problems: string[] = [];
  for (const [name, iface] of [
    ["spec", "EngineGroupSpec"],
    ["status", "EngineGroupStatus"],
  ] as const) {
    const shape = types.shapeOf(iface);
    assert.ok(shape, iface);
    compareShape(name, shape, schema.properties?.[name], problems);
  }
  assert.deepEqual(problems, []);
});

test("the schema's defaults are the ones withDefaults applies", () => {
  const d = withDefaults({ haMode: "NPlusM" });
  const p = spec.properties!;
  assert.equal(p.replicas!.default, d.replicas);
  assert.equal(p.haMode!.default, "ActiveActive");
  assert.equal(p.spares!.default, d.spares);
  assert.equal(p.workload!.default, d.workload);
  assert.equal(p.workers!.default, d.workers);
  assert.equal(p.placement!.properties!.spreadAcross!.default, d.placement.spreadAcross);
  assert.equal(p.autoscaling!.properties!.targetUtilization!.default, 70);
  assert.equal(p.replicas!.minimum, 0);
  assert.equal(p.spares!.minimum, 0);
});

test("the schema's CEL rules cover min ≤ max and spares below the engine count", () => {
  const rules = (s: Schema | undefined) => (s?.["x-kubernetes-validations"] ?? []).map((v) => v.rule);
  assert.ok(rules(spec.properties!.autoscaling).includes("self.minReplicas <= self.maxReplicas"));
  assert.ok(
    rules(spec).some(
      (r) => r.includes("NPlusM") && r.includes("self.spares") && r.includes("self.autoscaling.minReplicas"),
    ),
  );
  assert.deepEqual(spec.properties!.haMode!.enum, ["ActiveActive", "ActiveStandby", "NPlusM"]);
});

test("the CRD's quantity pattern and parseQuantity accept and refuse the same strings", () => {
  const pattern = new RegExp(spec.properties!.resources!.properties!.cpu!.pattern!);
  const cases = ["500m", "2", "1.5", ".5", "512Mi", "1Gi", "3k", "two", "512MB", "-1", "", "1 Gi", "1e3"];
  for (const q of cases) assert.equal(parseQuantity(q) !== undefined, pattern.test(q), q);
  assert.equal(parseQuantity("500m"), 0.5);
  assert.equal(parseQuantity("512Mi"), 512 * 2 ** 20);
});

test("specProblems names the field and reason of each mistake", () => {
  const reasons = (spec: unknown) => specProblems({ spec } as never).map((p) => `${p.reason} ${p.field}`);
  assert.deepEqual(reasons({}), []);
  assert.deepEqual(reasons(undefined), []);
  assert.deepEqual(reasons({ autoscaling: { minReplicas: 3, maxReplicas: 2 } }), [
    "MinAboveMax spec.autoscaling.minReplicas",
  ]);
  assert.deepEqual(reasons({ haMode: "Hot" }), ["UnknownHaMode spec.haMode"]);
  assert.deepEqual(reasons({ haMode: "NPlusM", replicas: 2, spares: 2 }), ["TooManySpares spec.spares"]);
  assert.deepEqual(reasons({ haMode: "NPlusM" }), ["TooManySpares spec.spares"]);
  assert.deepEqual(reasons({ haMode: "NPlusM", replicas: 3 }), []);
  assert.deepEqual(
    reasons({ haMode: "NPlusM", replicas: 1, spares: 3, autoscaling: { minReplicas: 4, maxReplicas: 6 } }),
    [],
  );
  assert.deepEqual(reasons({ replicas: -1 }), ["InvalidCount spec.replicas"]);
  assert.deepEqual(reasons({ replicas: 1.5 }), ["InvalidCount spec.replicas"]);
  assert.deepEqual(reasons({ resources: { cpu: "two", memory: "1Gi" } }), [
    "InvalidQuantity spec.resources.cpu",
  ]);
  assert.deepEqual(reasons({ workers: "all" }), ["InvalidCount spec.workers"]);
  assert.deepEqual(reasons({ workers: "auto" }), []);
  // The CRD's bound (1-256), not the 1000 of the engine counts.
  assert.deepEqual(reasons({ workers: 257 }), ["InvalidCount spec.workers"]);
  assert.deepEqual(reasons({ workers: 256 }), []);
  assert.deepEqual(reasons({ limits: { maxConnections: -5 } }), ["InvalidLimit spec.limits.maxConnections"]);
  assert.deepEqual(reasons("x"), ["InvalidSpec spec"]);
});
