// tenant.test.ts: Tenants on a real kube-apiserver — the CRD of record accepts a Tenant, Portico
// (as its ServiceAccount, deploy/rbac.yaml) reads Tenants and writes their status (namespaces,
// usage) through the status subresource, refuses the Service that would overrun a quota with a
// condition and a Warning Event naming the quota while the first keeps its address, and follows a
// namespace relabelled into the tenant without a restart. `kubectl get tenants` shows the columns.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { startKube, type KubeEnv } from "../../scripts/kube/env.ts";
import {
  apply,
  eventsFor,
  getJson,
  ipOf,
  kubeSkip,
  lbService,
  startController,
  waitFor,
  type RunningController,
} from "./helper.ts";

const skip = kubeSkip();

describe("Tenants on a real API server", { skip }, () => {
  let env: KubeEnv;
  let ctl: RunningController;

  before(async () => {
    env = await startKube();
    await apply(
      env,
      `apiVersion: v1
kind: Namespace
metadata: {name: ta, labels: {team: a}}
---
apiVersion: v1
kind: Namespace
metadata: {name: tx, labels: {team: b}}
---
apiVersion: portico.dev/v1alpha1
kind: VipPool
metadata: {name: tenants}
spec: {addresses: ["127.191.0.0/30"]}
---
apiVersion: portico.dev/v1alpha1
kind: Tenant
metadata: {name: a}
spec:
  namespaceSelector: {matchLabels: {team: a}}
  vipPools: [tenants]
  quotas: {vips: 1}
`,
    );
    ctl = await startController(env);
  });

  after(async () => {
    await ctl?.stop();
    await env?.stop();
  });

  test("quota refusal with condition and Event, status usage, a namespace relabelled in", async () => {
    await apply(env, lbService("ta", "first", 8191));
    const ip = await waitFor("first's VIP", () => ipOf(env, "ta", "first"), 30_000);
    await apply(env, lbService("ta", "second", 8192));
    const cond = await waitFor(
      "second refused",
      async () => {
        const s = await getJson(env, "service", "-n", "ta", "second");
        const c = (s?.status?.conditions ?? []).find(
          (x: { type: string }) => x.type === "portico.dev/Accepted",
        );
        return c?.status === "False" && c;
      },
      30_000,
    );
    assert.equal(cond.reason, "QuotaExceeded");
    assert.match(
      cond.message,
      /^tenant a quota vips: 2 of 1 used \(this Service needs 1, older objects hold 1\)/,
    );
    const events = await waitFor(
      "a QuotaExceeded Event",
      async () => {
        const list = await eventsFor(env, "QuotaExceeded", "Service");
        return list.length > 0 && list;
      },
      20_000,
    );
    assert.equal(events[0]!.regarding.name, "second");
    assert.equal(events[0]!.type, "Warning");
    assert.match(events[0]!.note, /quota vips: 2 of 1 used/);
    assert.equal(await ipOf(env, "ta", "first"), ip, "the first keeps its address");
    assert.equal(await ipOf(env, "ta", "second"), undefined);

    const tenant = await waitFor(
      "Tenant a's status",
      async () => {
        const t = await getJson(env, "tenant", "a");
        return t?.status?.usage?.vips === 1 && t;
      },
      20_000,
    );
    assert.deepEqual(tenant.status.namespaces, ["ta"]);
    assert.deepEqual(
      tenant.status.conditions.map((c: { type: string; status: string }) => `${c.type}=${c.status}`),
      ["portico.dev/Accepted=True", "portico.dev/Conflicted=False"],
    );

    // A namespace relabelled into the tenant is its at the next translation: no restart.
    await env.kubectl(["label", "namespace", "tx", "team=a", "--overwrite"]);
    await waitFor(
      "tx in Tenant a's status",
      async () => ((await getJson(env, "tenant", "a"))?.status?.namespaces ?? []).join(",") === "ta,tx",
      20_000,
    );
    const table = await env.kubectl(["get", "tenants"]);
    assert.match(table, /NAME\s+NAMESPACES\s+ACCEPTED\s+AGE/);
    assert.match(table, /^a\s+\["ta","tx"\]\s+True/m);
  });
});
