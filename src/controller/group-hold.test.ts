// group-hold.test.ts: an EngineGroup whose spec turns invalid keeps serving at its last valid
// version (hold.ts), reports Accepted=False with the reason and field, and recovers when fixed.
import assert from "node:assert/strict";
import { test } from "node:test";
import { buildResourceSet } from "../k8s/resource-set.ts";
import type { AnyObject } from "../k8s/types.ts";
import { buildSnapshot } from "./pipeline.ts";

const opts = { serveClasslessServices: false, ingressHttpPort: 80, ingressHttpsPort: 443 };

function objects(groupSpec: Record<string, unknown>, generation: number): AnyObject[] {
  return [
    {
      apiVersion: "portico.dev/v1alpha1",
      kind: "EngineGroup",
      metadata: { name: "web", generation },
      spec: groupSpec,
    },
    {
      apiVersion: "portico.dev/v1alpha1",
      kind: "VipPool",
      metadata: { name: "p" },
      spec: { addresses: ["192.0.2.0/30"], engineGroup: "web" },
    },
    {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "a", namespace: "default", creationTimestamp: "2026-01-01T00:00:00Z" },
      spec: { type: "LoadBalancer", loadBalancerClass: "portico.dev/lb", ports: [{ port: 80 }] },
    },
  ];
}

const origins = new Map([["EngineGroup/web", { file: "groups.yaml", line: 4 }]]);

test("an invalid EngineGroup keeps its last valid version and says why, with file and line", () => {
  const good = buildSnapshot(
    buildResourceSet(objects({ haMode: "ActiveStandby", replicas: 2 }, 1), origins, []),
    opts,
    {},
    1,
  );
  assert.equal(good.groups.web!.spec.haMode, "ActiveStandby");
  assert.deepEqual(good.groups.web!.vips, ["192.0.2.0"]);
  assert.equal(good.snapshot.l4[0]!.group, "web");

  const bad = buildSnapshot(
    buildResourceSet(objects({ haMode: "NPlusM", replicas: 2, spares: 2 }, 2), origins, []),
    opts,
    good.allocations.state,
    2,
    good.lastValid,
  );
  // The held version still serves: same mode, same VIP, same listener group.
  assert.equal(bad.groups.web!.spec.haMode, "ActiveStandby");
  assert.equal(bad.groups.web!.accepted, true);
  assert.equal(bad.snapshot.l4[0]!.group, "web");
  const inv = bad.invalid.find((o) => o.kind === "EngineGroup")!;
  assert.deepEqual([inv.file, inv.line, inv.reason, inv.held], ["groups.yaml", 4, "TooManySpares", true]);
  const st = bad.statuses.find((s) => s.kind === "EngineGroup" && s.name === "web")!;
  const accepted = st.status.conditions!.find((c) => c.type === "Accepted")!;
  assert.equal(accepted.status, "False");
  assert.equal(accepted.reason, "TooManySpares");
  assert.match(accepted.message, /spec\.spares 2 .*generation 1\) keeps serving/);
  assert.equal(accepted.observedGeneration, 2);
  assert.deepEqual(st.status.vips, ["192.0.2.0"]);

  const fixed = buildSnapshot(
    buildResourceSet(objects({ haMode: "NPlusM", replicas: 3, spares: 1 }, 3), origins, []),
    opts,
    bad.allocations.state,
    3,
    bad.lastValid,
  );
  assert.equal(fixed.groups.web!.spec.haMode, "NPlusM");
  assert.equal(fixed.groups.web!.spec.spares, 1);
  const ok = fixed.statuses
    .find((s) => s.kind === "EngineGroup")!
    .status.conditions!.find((c) => c.type === "Accepted")!;
  assert.equal(ok.status, "True");
});

test("the default group exists without a manifest, and a manifest named default replaces it", () => {
  const none = buildSnapshot(buildResourceSet(objects({}, 1).slice(2), new Map(), []), opts, {}, 1);
  assert.deepEqual(Object.keys(none.groups), ["default"]);
  assert.equal(none.groups.default!.builtin, true);
  assert.equal(none.groups.default!.spec.haMode, "ActiveActive");
  assert.equal(none.groups.default!.spec.replicas, 1);
  assert.equal(none.snapshot.l4.length, 0, "no pool: nothing allocated");
  assert.ok(
    !none.statuses.some((s) => s.kind === "EngineGroup"),
    "the built-in group has no object to write to",
  );

  const own: AnyObject = {
    apiVersion: "portico.dev/v1alpha1",
    kind: "EngineGroup",
    metadata: { name: "default" },
    spec: { haMode: "NPlusM", replicas: 3 },
  };
  const out = buildSnapshot(buildResourceSet([own], new Map(), []), opts, {}, 1);
  assert.equal(out.groups.default!.builtin, false);
  assert.equal(out.groups.default!.spec.haMode, "NPlusM");
  assert.equal(out.groups.default!.spec.spares, 1);
});

test("standalone, the workload fields of an EngineGroup are reported as not honoured on its status", () => {
  const spec = {
    haMode: "ActiveStandby",
    replicas: 2,
    resources: { cpu: "2" },
    limits: { maxConnections: 10 },
  };
  const accepted = (standalone: boolean) => {
    const out = buildSnapshot(
      buildResourceSet(objects(spec, 1), origins, []),
      { ...opts, standalone },
      {},
      1,
    );
    const g = out.statuses.find((s) => s.kind === "EngineGroup" && s.name === "web");
    return g?.status.conditions?.find((c) => c.type === "Accepted");
  };
  const a = accepted(true);
  assert.equal(a?.status, "True");
  assert.match(a!.message!, /spec\.replicas, spec\.resources, spec\.limits not honoured standalone/);
  assert.match(a!.message!, /--max-connections/, "says what to do instead");
  assert.doesNotMatch(
    a!.message!,
    /spec\.haMode|spec\.workload/,
    "only the fields set, and haMode is honoured",
  );
  // In Kubernetes the controller runs the engines with them: nothing to report.
  assert.doesNotMatch(accepted(false)!.message!, /not honoured/);
});
