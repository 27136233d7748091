// kube-engine-workload.test.ts: the desired engine workload — what its hash covers (the spec, not
// the replica count, not key order), how a DaemonSet differs, and the autoscaling bounds.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  desiredReplicas,
  engineWorkload,
  hashOf,
  workloadProblem,
  type EngineGroupRef,
} from "./kube-engine-workload.ts";

const o = { namespace: "portico-system", image: "portico:1", controllerAddress: "c.svc:9443" };
const web: EngineGroupRef = { name: "web", uid: "u-1", spec: { replicas: 2, resources: { cpu: "1" } } };

describe("engineWorkload", () => {
  test("the hash follows the spec but not the replica count", () => {
    const two = engineWorkload(web, 2, o);
    const three = engineWorkload(web, 3, o);
    assert.equal(two.hash, three.hash);
    assert.equal(two.replicas, 2);
    assert.equal((three.object.spec as { replicas?: number }).replicas, 3);
    const bigger = engineWorkload({ ...web, spec: { ...web.spec, resources: { cpu: "2" } } }, 2, o);
    assert.notEqual(bigger.hash, two.hash);
    const reowned = engineWorkload({ ...web, uid: "u-2" }, 2, o);
    assert.notEqual(reowned.hash, two.hash, "a group recreated under the same name owns the workload anew");
    assert.equal(two.object.metadata.annotations["portico.dev/spec-hash"], two.hash);
  });

  test("the engine container keeps only the capabilities announcing needs, on the host's network, with a writable /tmp", () => {
    const pod = engineWorkload(web, 2, o).object.spec.template!.spec!;
    assert.equal(pod.hostNetwork, true);
    assert.deepEqual(pod.containers[0]!.securityContext, {
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ["ALL"], add: ["NET_ADMIN", "NET_RAW", "NET_BIND_SERVICE"] },
    });
    assert.deepEqual(pod.containers[0]!.volumeMounts![1], { name: "tmp", mountPath: "/tmp" });
    assert.deepEqual(pod.volumes![1], { name: "tmp", emptyDir: { medium: "Memory", sizeLimit: "16Mi" } });
  });

  test("hashOf ignores key order and undefined fields", () => {
    assert.equal(hashOf({ a: 1, b: { c: 2, d: undefined } }), hashOf({ b: { c: 2 }, a: 1 }));
    assert.notEqual(hashOf({ a: [1, 2] }), hashOf({ a: [2, 1] }));
  });

  test("a DaemonSet has no replicas and no spread constraint, and replaces in place", () => {
    const w = engineWorkload(
      { name: "edge", spec: { workload: "DaemonSet", haMode: "ActiveStandby" } },
      4,
      o,
    );
    assert.equal(w.kind, "DaemonSet");
    assert.equal(w.replicas, undefined);
    const spec = w.object.spec as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
    assert.equal(spec.replicas, undefined);
    assert.equal(spec.template.spec.topologySpreadConstraints, undefined);
    assert.equal(
      spec.template.spec.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution[0]
        .podAffinityTerm.topologyKey,
      "kubernetes.io/hostname",
    );
    assert.deepEqual(spec.updateStrategy.rollingUpdate, { maxUnavailable: 1, maxSurge: 0 });
    assert.equal(w.object.metadata.ownerReferences, undefined, "no uid: the implicit group owns nothing");
  });

  test("spreadAcross None leaves scheduling alone; a size sets requests equal to limits", () => {
    const w = engineWorkload(
      { name: "x", spec: { placement: { spreadAcross: "None" }, resources: { memory: "1Gi" } } },
      1,
      o,
    );
    const pod = (w.object.spec.template as { spec: Record<string, any> }).spec; // eslint-disable-line @typescript-eslint/no-explicit-any
    assert.equal(pod.topologySpreadConstraints, undefined);
    assert.deepEqual(pod.containers[0].resources, { requests: { memory: "1Gi" }, limits: { memory: "1Gi" } });
  });
});

describe("desiredReplicas", () => {
  test("fixed, autoscaled from the hook, and clamped to min..max", () => {
    assert.equal(desiredReplicas({ name: "a", spec: {} }), 1);
    assert.equal(desiredReplicas({ name: "a", spec: { replicas: 4 } }), 4);
    const auto: EngineGroupRef = {
      name: "a",
      spec: { replicas: 9, autoscaling: { minReplicas: 2, maxReplicas: 5 } },
    };
    assert.equal(desiredReplicas(auto), 2);
    assert.equal(
      desiredReplicas(auto, () => 4),
      4,
    );
    assert.equal(
      desiredReplicas(auto, () => 50),
      5,
    );
    assert.equal(
      desiredReplicas(auto, () => 0),
      2,
    );
    assert.equal(
      desiredReplicas(auto, () => undefined),
      2,
    );
  });
});

describe("workloadProblem", () => {
  test("names the field a workload cannot carry", () => {
    const bad = (spec: Record<string, unknown>, name = "g") =>
      workloadProblem({ name, spec } as EngineGroupRef);
    assert.equal(bad({ replicas: 2, workload: "DaemonSet", workers: "auto" }), undefined);
    assert.match(
      bad({ workload: "Pod" })!,
      /EngineGroup g: spec.workload "Pod" is not Deployment or DaemonSet/,
    );
    assert.match(bad({ replicas: -1 })!, /spec.replicas -1/);
    assert.match(
      bad({ autoscaling: { minReplicas: 3, maxReplicas: 2 } })!,
      /minReplicas ≤ maxReplicas \(got 3..2\)/,
    );
    assert.match(bad({ placement: { spreadAcross: "Rack" } })!, /spreadAcross "Rack"/);
    assert.match(bad({ workers: 0 })!, /spec.workers 0/);
    assert.match(bad({}, "x".repeat(64))!, /at most 63/);
  });
});
