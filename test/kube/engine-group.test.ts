// engine-group.test.ts: EngineGroups on a real kube-apiserver — the CRD's defaults are the ones
// Portico applies, its CEL rules and bounds refuse what the pipeline refuses (min above max, too
// many spares, an unknown mode, a bad quantity), and the controller, with exactly deploy/rbac.yaml,
// reads EngineGroups and writes their status (Accepted, observedGeneration, the VIPs served).
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { startKube, type KubeEnv } from "../../scripts/kube/env.ts";
import { withDefaults, type GroupSpec } from "../../src/translate/engine-group-spec.ts";
import {
  apply,
  getJson,
  ipOf,
  kubeSkip,
  lbService,
  startController,
  waitFor,
  type RunningController,
} from "./helper.ts";

const skip = kubeSkip();
const NS = "groups";

const group = (name: string, spec: string) =>
  `apiVersion: portico.dev/v1alpha1\nkind: EngineGroup\nmetadata: {name: ${name}}\nspec: ${spec}\n---\n`;

describe("EngineGroups on a real API server", { skip }, () => {
  let env: KubeEnv;
  let ctl: RunningController;

  before(async () => {
    env = await startKube();
    await apply(
      env,
      `apiVersion: v1\nkind: Namespace\nmetadata: {name: ${NS}}\n---\n` +
        `apiVersion: portico.dev/v1alpha1\nkind: VipPool\nmetadata: {name: grp}\nspec: {addresses: ["127.46.0.0/30"], engineGroup: web}\n---\n`,
    );
    ctl = await startController(env);
  });

  after(async () => {
    await ctl?.stop();
    await env?.stop();
  });

  test("the API server's defaults are Portico's defaults", async () => {
    await apply(env, group("web", "{haMode: NPlusM, replicas: 3}"));
    const got = await getJson(env, "enginegroup", "web");
    const s = got!.spec;
    const d: GroupSpec = withDefaults({ haMode: "NPlusM", replicas: 3 });
    assert.deepEqual(
      [s.replicas, s.haMode, s.spares, s.workload, s.workers, s.placement?.spreadAcross],
      [d.replicas, d.haMode, d.spares, d.workload, d.workers, "Node"],
    );
    // A group with no spec at all gets every default too.
    await apply(env, "apiVersion: portico.dev/v1alpha1\nkind: EngineGroup\nmetadata: {name: bare}\n");
    const bare = (await getJson(env, "enginegroup", "bare"))!.spec;
    assert.deepEqual([bare.replicas, bare.haMode, bare.spares], [1, "ActiveActive", 1]);
  });

  test("the schema refuses what the pipeline refuses, with the reason", async () => {
    const refused = async (spec: string, want: RegExp) => {
      const err = await apply(env, group("bad", spec)).then(
        () => undefined,
        (e: unknown) => String((e as { stderr?: string }).stderr ?? e),
      );
      assert.ok(err, `${spec} was accepted`);
      assert.match(err, want, spec);
    };
    await refused(
      "{autoscaling: {minReplicas: 3, maxReplicas: 2}}",
      /minReplicas must not be above maxReplicas/,
    );
    await refused("{haMode: NPlusM, replicas: 2, spares: 2}", /spares must be fewer than the engines/);
    await refused("{haMode: NPlusM, autoscaling: {minReplicas: 1, maxReplicas: 4}}", /spares must be fewer/);
    await refused("{haMode: Hot}", /Unsupported value: "Hot"/);
    await refused("{replicas: -1}", /should be greater than or equal to 0/);
    await refused("{resources: {cpu: two}}", /spec\.resources\.cpu/);
    await refused('{workers: "all"}', /spec\.workers/);
    assert.equal(await getJson(env, "enginegroup", "bad"), undefined);
  });

  test("the controller writes each group's status: Accepted, observedGeneration, the VIPs it serves", async () => {
    await apply(env, lbService(NS, "shop", 80));
    const ip = await waitFor("the Service's VIP", () => ipOf(env, NS, "shop"));
    assert.match(ip, /^127\.46\.0\.[0-3]$/);
    const status = await waitFor("web's status", async () => {
      const g = await getJson(env, "enginegroup", "web");
      return g?.status?.vips?.length === 1 ? g.status : undefined;
    });
    assert.deepEqual(status.vips, [ip]);
    const accepted = status.conditions.find((c: { type: string }) => c.type === "Accepted");
    assert.equal(accepted.status, "True");
    assert.equal(typeof accepted.lastTransitionTime, "string");
    assert.equal(status.observedGeneration, 1);
    const table = await env.kubectl(["get", "enginegroups"]);
    assert.match(table, /^NAME\s+HA MODE\s+REPLICAS\s+READY\s+AGE$/m);
    assert.match(table, /^web\s+NPlusM\s/m);
  });

  test("a Service naming a group that does not exist is told so, and how to fix it", async () => {
    await apply(
      env,
      lbService(NS, "typo", 81, "portico.dev/lb").replace(
        "metadata:\n",
        "metadata:\n  annotations: {portico.dev/engine-group: wbe}\n",
      ),
    );
    const cond = await waitFor("the EngineGroup condition", async () => {
      const svc = await getJson(env, "service", "-n", NS, "typo");
      return svc?.status?.conditions?.find((c: { type: string }) => c.type === "portico.dev/EngineGroup");
    });
    assert.equal(cond.status, "False");
    assert.equal(cond.reason, "EngineGroupNotFound");
    assert.match(cond.message, /EngineGroup wbe .* does not exist/);
  });
});
