// engines.test.ts: the engine workloads against a real kube-apiserver. An EngineGroup becomes a
// Deployment owned by it (spread, probes, resources, the link Secret mounted); a change is one
// update, a replica change one scale; workload: DaemonSet switches the kind; deleting the group
// removes the workload (explicitly: no garbage collector runs here). A standby replica touches
// nothing, and the replica that takes over leads in a higher term. `portico controller --admin`
// answers /healthz, /readyz and /metrics and runs the implicit default group's engines.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { freePort, startKube, type KubeEnv } from "../../scripts/kube/env.ts";
import type { KubeControllerOptions } from "../../src/controller/kube.ts";
import {
  apply,
  getJson,
  kubeSkip,
  spawnController,
  startController,
  waitFor,
  type RunningController,
} from "./helper.ts";

const skip = kubeSkip();
const root = resolve(import.meta.dirname, "../..");
const NS = "portico-system";
const LINK = { "ca.crt": "test-ca", "tls.crt": "test-cert", "tls.key": "test-key", token: "test-token" };

/** engines are the reconciler settings every in-process controller here uses. */
const engines = (over: Partial<NonNullable<KubeControllerOptions["engines"]>> = {}) => ({
  namespace: NS,
  image: "portico:test",
  controllerAddress: `portico-controller.${NS}.svc:9443`,
  defaultGroup: false,
  linkSecret: () => LINK,
  resyncMs: 200,
  ...over,
});

// The EngineGroup CRD of record (deploy/crds/portico.dev_enginegroups.yaml) comes from another
// change; until it is installed, a schema-less CRD of the same name stands in.
const MINIMAL_CRD = `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: enginegroups.portico.dev}
spec:
  group: portico.dev
  scope: Cluster
  names: {kind: EngineGroup, plural: enginegroups, singular: enginegroup, listKind: EngineGroupList}
  versions:
    - name: v1alpha1
      served: true
      storage: true
      subresources: {status: {}}
      schema:
        openAPIV3Schema:
          type: object
          x-kubernetes-preserve-unknown-fields: true
`;

function group(name: string, spec: string): string {
  return `apiVersion: portico.dev/v1alpha1
kind: EngineGroup
metadata: {name: ${name}}
spec:
${spec}
`;
}

describe("engine workloads", { skip }, () => {
  let env: KubeEnv;
  const children: ChildProcess[] = [];
  const running: RunningController[] = [];

  before(async () => {
    env = await startKube();
    if (!existsSync(resolve(root, "deploy/crds/portico.dev_enginegroups.yaml"))) {
      await apply(env, MINIMAL_CRD);
      await env.kubectl([
        "wait",
        "--for=condition=Established",
        "--timeout=30s",
        "crd/enginegroups.portico.dev",
      ]);
    }
  });

  after(async () => {
    for (const c of children) if (c.exitCode === null) c.kill("SIGKILL");
    for (const r of running) await r.stop().catch(() => undefined);
    await env?.stop();
  });

  /** stopAll stops the in-process controllers a failed test left running, releasing the Lease. */
  const stopAll = async () => {
    for (const r of running.splice(0)) await r.stop().catch(() => undefined);
  };

  const patchGroup = (name: string, patch: string) =>
    env.kubectl(["patch", "enginegroup", name, "--type=merge", "-p", patch]);
  const deployment = (name: string) => getJson(env, "deployment", "-n", NS, name);
  const daemonset = (name: string) => getJson(env, "daemonset", "-n", NS, name);
  const events = async (name: string) =>
    (await getJson<{
      items: { reason: string; note: string; reportingInstance: string; regarding: { name: string } }[];
    }>(env, "events.events.k8s.io", "-n", "default"))!.items.filter((e) => e.regarding.name === name);

  test("an EngineGroup gets its Deployment; changes are one update or one scale; DaemonSet; deletion", async (t) => {
    await stopAll();
    const ctl = await startController(env, { identity: "leader-1", engines: engines() });
    running.push(ctl);
    await apply(
      env,
      group(
        "web",
        `  replicas: 2
  resources: {cpu: "1", memory: 512Mi}
  workers: 2
  haMode: ActiveStandby
  limits: {maxConnections: 5000}
  placement:
    spreadAcross: Zone
    nodeSelector: {portico.dev/engines: "true"}
    tolerations: [{key: dedicated, operator: Equal, value: lb, effect: NoSchedule}]`,
      ),
    );
    const applied = Date.now();
    const uid = (await getJson(env, "enginegroup", "web"))!.metadata.uid as string;
    const d = await waitFor("Deployment portico-engine-web", () => deployment("portico-engine-web"));
    t.diagnostic(`EngineGroup applied → Deployment readable: ${Date.now() - applied} ms (incl. kubectl)`);
    assert.deepEqual(d.metadata.ownerReferences, [
      {
        apiVersion: "portico.dev/v1alpha1",
        kind: "EngineGroup",
        name: "web",
        uid,
        controller: true,
        blockOwnerDeletion: true,
      },
    ]);
    assert.equal(d.metadata.labels["app.kubernetes.io/name"], "portico-engine");
    assert.equal(d.metadata.labels["portico.dev/engine-group"], "web");
    assert.equal(d.spec.replicas, 2);
    assert.deepEqual(d.spec.strategy, {
      type: "RollingUpdate",
      rollingUpdate: { maxUnavailable: 0, maxSurge: 1 },
    });
    assert.ok(d.spec.minReadySeconds > 0);
    const pod = d.spec.template.spec;
    assert.ok(pod.terminationGracePeriodSeconds >= 30);
    assert.deepEqual(pod.nodeSelector, { "portico.dev/engines": "true" });
    assert.equal(pod.tolerations[0].key, "dedicated");
    assert.equal(pod.topologySpreadConstraints[0].topologyKey, "topology.kubernetes.io/zone");
    assert.equal(
      pod.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].podAffinityTerm
        .topologyKey,
      "topology.kubernetes.io/zone",
    );
    const c = pod.containers[0];
    assert.equal(c.image, "portico:test");
    assert.deepEqual(c.args, [
      "engine",
      "--controller",
      `portico-controller.${NS}.svc:9443`,
      "--group",
      "web",
      "--ca-file",
      "/etc/portico/link/ca.crt",
      "--token-file",
      "/etc/portico/link/token",
      "--admin",
      "0.0.0.0:9902",
      "--workers",
      "2",
      "--max-connections",
      "5000",
    ]);
    assert.deepEqual(c.resources, {
      requests: { cpu: "1", memory: "512Mi" },
      limits: { cpu: "1", memory: "512Mi" },
    });
    assert.deepEqual(
      c.ports.map((p: { name: string; containerPort: number }) => [p.name, p.containerPort]),
      [["admin", 9902]],
    );
    assert.equal(c.readinessProbe.httpGet.path, "/readyz");
    assert.equal(c.livenessProbe.httpGet.path, "/healthz");
    assert.deepEqual(
      c.env.map((e: { name: string; valueFrom: { fieldRef: { fieldPath: string } } }) => [
        e.name,
        e.valueFrom.fieldRef.fieldPath,
      ]),
      [
        ["POD_NAME", "metadata.name"],
        ["NODE_NAME", "spec.nodeName"],
      ],
    );
    assert.deepEqual(c.volumeMounts, [
      { name: "link", mountPath: "/etc/portico/link", readOnly: true },
      { name: "tmp", mountPath: "/tmp" },
    ]);
    assert.equal(pod.volumes[0].secret.secretName, "portico-engine-link");
    // The API server accepts what announcing needs, and nothing else is added.
    assert.deepEqual(c.securityContext.capabilities, {
      drop: ["ALL"],
      add: ["NET_ADMIN", "NET_RAW", "NET_BIND_SERVICE"],
    });
    assert.deepEqual(pod.volumes[1], { name: "tmp", emptyDir: { medium: "Memory", sizeLimit: "16Mi" } });
    const secret = await getJson(env, "secret", "-n", NS, "portico-engine-link");
    assert.equal(Buffer.from(secret!.data.token, "base64").toString(), "test-token");
    await waitFor("Created event", async () =>
      (await events("web")).some((e) => e.reason === "EngineWorkloadCreated" && /2 engine/.test(e.note)),
    );

    // Scale: one merge patch, no new revision.
    const gen0 = d.metadata.generation as number;
    await patchGroup("web", '{"spec":{"replicas":3}}');
    await waitFor("3 replicas", async () => (await deployment("portico-engine-web"))?.spec.replicas === 3);
    // Several passes later (resync every 200 ms), still one change: not a loop.
    const settle = async () => {
      const passes = ctl.controller.workloads()!.actions().passes;
      await waitFor("three more passes", () => ctl.controller.workloads()!.actions().passes >= passes + 3);
    };
    await settle();
    const scaled = await deployment("portico-engine-web");
    assert.equal(scaled!.metadata.generation, gen0 + 1);
    assert.equal(scaled!.spec.template.spec.containers[0].resources.limits.cpu, "1");
    await waitFor("Scaled event", async () =>
      (await events("web")).some((e) => e.reason === "EngineWorkloadScaled" && /from 2 to 3/.test(e.note)),
    );

    // A new size: one update of the template.
    await patchGroup("web", '{"spec":{"resources":{"cpu":"2"}}}');
    await waitFor(
      "cpu 2",
      async () =>
        (await deployment("portico-engine-web"))?.spec.template.spec.containers[0].resources.limits.cpu ===
        "2",
    );
    await settle();
    const resized = await deployment("portico-engine-web");
    assert.equal(resized!.metadata.generation, gen0 + 2);
    assert.equal(resized!.spec.replicas, 3);
    assert.equal(ctl.controller.workloads()!.actions().update, 1);
    await waitFor(
      "one Updated event",
      async () => (await events("web")).filter((e) => e.reason === "EngineWorkloadUpdated").length === 1,
    );

    // A spec no workload can carry is reported on the group; the engines stay as they are. (The
    // CRD's schema, where it has an enum, refuses it first: then there is nothing to report.)
    const taken = await patchGroup("web", '{"spec":{"workload":"Pod"}}').then(
      () => true,
      () => false,
    );
    if (taken) {
      await waitFor("Warning event", async () =>
        (await events("web")).some(
          (e) =>
            e.reason === "EngineWorkloadFailed" &&
            /spec.workload "Pod" is not Deployment or DaemonSet/.test(e.note),
        ),
      );
      await settle();
      assert.equal((await deployment("portico-engine-web"))!.metadata.generation, gen0 + 2);
    }

    // workload: DaemonSet replaces the Deployment.
    await patchGroup("web", '{"spec":{"workload":"DaemonSet"}}');
    const ds = await waitFor("DaemonSet portico-engine-web", () => daemonset("portico-engine-web"));
    assert.equal(ds.metadata.ownerReferences[0].uid, uid);
    assert.equal(ds.spec.template.spec.containers[0].resources.limits.cpu, "2");
    await waitFor("Deployment gone", async () => (await deployment("portico-engine-web")) === undefined);

    // Deleting the group removes its workload.
    await env.kubectl(["delete", "enginegroup", "web", "--wait=true", "--timeout=10s"]);
    await waitFor("DaemonSet gone", async () => (await daemonset("portico-engine-web")) === undefined);
    await waitFor("Deleted event", async () =>
      (await events("web")).some((e) => e.reason === "EngineWorkloadDeleted" && /group is gone/.test(e.note)),
    );
    await ctl.stop();
    running.splice(running.indexOf(ctl), 1);
  });

  test("a standby touches no workload; the replica that takes over leads in a higher term", async () => {
    await stopAll();
    const timing = { leaseDurationMs: 3_000, renewDeadlineMs: 2_000, retryPeriodMs: 200 };
    // a leads but keeps no engine workloads itself, so any workload seen was made by b.
    const a = await startController(env, { identity: "a", lease: timing });
    running.push(a);
    await waitFor("a leads", () => a.controller.leading(), 10_000);
    const termA = a.controller.term()!;
    assert.ok(termA >= 1);
    const b = await startController(env, { identity: "b", lease: timing, engines: engines() });
    running.push(b);
    await apply(env, group("solo", "  replicas: 1"));
    await waitFor("b sees a holding the Lease", () =>
      b.controller.readiness().some((c) => c.name === "leader" && /standby; a holds/.test(c.detail)),
    );
    // b keeps asking the API for the Lease (every 200 ms) for a second; it must do nothing else.
    const since = Date.now();
    await waitFor(
      "b asked for the Lease for 1 s",
      () => Date.now() - since > 1_000 && b.controller.readiness()[0]!.ok,
    );
    assert.equal(b.controller.leading(), false);
    assert.equal(b.controller.term(), undefined);
    // Its analytics 503 names the leader by Lease identity, which need not be a pod's name.
    assert.match(b.controller.analyticsElsewhere() ?? "", /the replica holding the Lease \(identity a\)$/);
    assert.equal(await deployment("portico-engine-solo"), undefined);
    assert.deepEqual(await events("solo"), []);
    await a.stop(true);
    running.splice(running.indexOf(a), 1);
    await waitFor("b leads", () => b.controller.leading(), 10_000);
    const termB = b.controller.term()!;
    assert.ok(termB > termA, `term ${termB} after ${termA}`);
    const lease = await getJson(env, "lease", "-n", NS, "portico-controller");
    assert.equal(lease!.spec.leaseTransitions + 1, termB);
    await waitFor("b makes the workload once it leads", () => deployment("portico-engine-solo"));
    const byB = (await events("solo")).map((e) => `${e.reportingInstance}:${e.reason}`);
    assert.deepEqual(byB, ["b:EngineWorkloadCreated"]);
    // A failover with the same settings leaves the engines alone: no update, no restart.
    await b.stop(true);
    running.splice(running.indexOf(b), 1);
    const c = await startController(env, { identity: "c", lease: timing, engines: engines() });
    running.push(c);
    await waitFor(
      "c leads and has compared twice",
      () => (c.controller.workloads()?.actions().passes ?? 0) >= 2,
      10_000,
    );
    assert.ok(c.controller.term()! > termB);
    assert.equal((await deployment("portico-engine-solo"))!.metadata.generation, 1);
    assert.deepEqual(c.controller.workloads()!.actions(), {
      passes: c.controller.workloads()!.actions().passes,
      create: 0,
      update: 0,
      scale: 0,
      delete: 0,
      failures: 0,
    });
    await env.kubectl(["delete", "enginegroup", "solo"]);
    await waitFor(
      "solo's workload gone",
      async () => (await deployment("portico-engine-solo")) === undefined,
    );
    await c.stop(true);
    running.splice(running.indexOf(c), 1);
  });

  test("portico controller --admin answers /healthz, /readyz, /metrics and runs the default group", async () => {
    await stopAll();
    const port = await freePort();
    const child = spawnController(env, "cli", [`--admin=127.0.0.1:${port}`, "--default-engine-group"], {
      PORTICO_IMAGE: "portico:cli",
      POD_NAMESPACE: NS,
    });
    children.push(child);
    const get = async (path: string) => {
      const res = await fetch(`http://127.0.0.1:${port}${path}`);
      return { status: res.status, body: await res.text() };
    };
    const health = await waitFor(
      "/healthz 200",
      async () => {
        const r = await get("/healthz");
        return r.status === 200 && r;
      },
      15_000,
    );
    assert.match(health.body, /^ok\nevent loop: longest stall/);
    const ready = await waitFor(
      "/readyz 200 while leading",
      async () => {
        const r = await get("/readyz");
        return r.status === 200 && /leading/.test(r.body) && r;
      },
      15_000,
    );
    assert.match(ready.body, /^ready\n/);
    for (const check of ["lease", "leader", "api", "snapshot", "listeners"])
      assert.match(ready.body, new RegExp(`^\\[\\+\\] ${check}: `, "m"), check);
    assert.match(ready.body, /leader: leading \(term \d+\)/);
    const d = await waitFor(
      "the default group's Deployment",
      () => deployment("portico-engine-default"),
      15_000,
    );
    assert.equal(d.spec.template.spec.containers[0].image, "portico:cli");
    assert.equal(d.metadata.ownerReferences, undefined, "the implicit group has no object to own it");
    const metrics = await waitFor("metrics with the workload created", async () => {
      const r = await get("/metrics");
      return /portico_engine_workload_changes_total\{action="create"\} 1/.test(r.body) && r.body;
    });
    assert.match(metrics, /^portico_controller_leader 1$/m);
    assert.match(metrics, /^portico_controller_term [1-9]\d*$/m);
    assert.match(metrics, /^portico_config_reloads_total [1-9]/m);
    assert.match(metrics, /^portico_controller_status_writes_total \d+$/m);
    assert.match(metrics, /^# TYPE portico_ipam_pending_requests gauge$/m);
    child.kill("SIGTERM");
    await new Promise((r) => child.once("exit", r));
  });

  test("deploy/ is accepted by the API server (controller, Service, example EngineGroup)", async () => {
    const out = await env.kubectl([
      "apply",
      "--dry-run=server",
      "-f",
      resolve(root, "deploy/controller.yaml"),
      "-f",
      resolve(root, "deploy/examples/enginegroup.yaml"),
    ]);
    assert.match(out, /deployment.apps\/portico-controller created \(server dry run\)/);
    assert.match(out, /service\/portico-controller created \(server dry run\)/);
    assert.match(out, /enginegroup.portico.dev\/\S+ created \(server dry run\)/);
  });
});
