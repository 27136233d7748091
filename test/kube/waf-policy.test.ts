// waf-policy.test.ts: WafPolicy and AccessPolicy on a real kube-apiserver — the CRDs of record
// accept the example's objects, Portico (as its ServiceAccount, deploy/rbac.yaml) writes
// status.ancestors through the status subresource (Accepted, Conflicted, Invalid with the custom
// rules' name:line), records a Warning Event for the refused ones, and `kubectl get wafpolicies`
// shows the columns.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { startKube, type KubeEnv } from "../../scripts/kube/env.ts";
import { apply, getJson, kubeSkip, startController, waitFor, type RunningController } from "./helper.ts";

const skip = kubeSkip();
const NS = "waf-demo";

type Cond = { type: string; status: string; reason: string; message: string };
type Ancestor = { ancestorRef: { kind: string; name: string; sectionName?: string }; conditions: Cond[] };

describe("WafPolicy and AccessPolicy on a real API server", { skip }, () => {
  let env: KubeEnv;
  let ctl: RunningController;

  before(async () => {
    env = await startKube();
    // The example as it is, but its EndpointSlice (loopback endpoints are standalone-only).
    const example = readFileSync(resolve(import.meta.dirname, "../../examples/waf/policies.yaml"), "utf8");
    await apply(
      env,
      example
        .split(/^---$/m)
        .filter((d) => !/^kind: EndpointSlice$/m.test(d))
        .join("---"),
    );
    // A second policy on the same Gateway (younger: Conflicted), and one whose rules do not parse.
    await apply(
      env,
      `apiVersion: portico.dev/v1alpha1
kind: WafPolicy
metadata: {name: younger, namespace: ${NS}}
spec:
  targetRefs: [{group: gateway.networking.k8s.io, kind: Gateway, name: shop}]
---
apiVersion: portico.dev/v1alpha1
kind: WafPolicy
metadata: {name: broken, namespace: ${NS}}
spec:
  targetRefs: [{group: gateway.networking.k8s.io, kind: HTTPRoute, name: shop, sectionName: login}]
  customRules:
    - name: login.conf
      rules: |
        SecRule ARGS:user "@rx ^admin$" "id:100010,phase:2,deny"
        SecRule ARGS:pass "@rx x" "id:100011,phase:2,dney"
`,
    );
    ctl = await startController(env);
  });

  after(async () => {
    await ctl?.stop();
    await env?.stop();
  });

  const ancestors = async (kind: string, name: string): Promise<Ancestor[]> =>
    ((await getJson(env, kind, "-n", NS, name))?.status?.ancestors ?? []) as Ancestor[];
  const accepted = (a: Ancestor | undefined) => a?.conditions.find((c) => c.type === "Accepted");

  test("status.ancestors: Accepted, Conflicted, Invalid with name:line; Events; kubectl columns", async () => {
    await waitFor(
      "the WafPolicy accepted",
      async () => accepted((await ancestors("wafpolicy", "shop"))[0])?.status === "True",
      30_000,
    );
    const young = accepted(
      await waitFor("younger's status", async () => (await ancestors("wafpolicy", "younger"))[0]),
    );
    assert.equal(young?.reason, "Conflicted");
    assert.match(young?.message ?? "", /already has WafPolicy\/waf-demo\/shop/);
    const broken = await waitFor("broken's status", async () => (await ancestors("wafpolicy", "broken"))[0]);
    assert.deepEqual(broken.ancestorRef, {
      group: "gateway.networking.k8s.io",
      kind: "HTTPRoute",
      namespace: NS,
      name: "shop",
      sectionName: "login",
    });
    assert.equal(accepted(broken)?.reason, "Invalid");
    assert.match(accepted(broken)?.message ?? "", /login\.conf:2: rule 100011: unknown action dney/);
    const login = accepted((await ancestors("accesspolicy", "login"))[0]);
    assert.equal(login?.status, "True");

    const events = await waitFor(
      "a Warning Event on the broken policy",
      async () => {
        const list = ((await getJson(env, "events.events.k8s.io", "-n", NS))?.items ?? []) as {
          regarding: { kind: string; name: string };
          type: string;
          reason: string;
          note: string;
        }[];
        const mine = list.filter((e) => e.regarding.kind === "WafPolicy" && e.regarding.name === "broken");
        return mine.some((e) => e.reason === "Invalid") && mine;
      },
      20_000,
    );
    // Two Warnings, in no set order: the target refused (Invalid) and the policy's own InputValid.
    assert.ok(events.every((e) => e.type === "Warning"));
    const refused = events.find((e) => e.reason === "Invalid");
    assert.match(refused?.note ?? "", /HTTPRoute shop\/login: Accepted: login\.conf:2: rule 100011/);

    const table = await env.kubectl(["get", "wafpolicies", "-n", NS]);
    assert.match(table, /shop\s+Enforcement\s+1\s+True/);
    assert.match(table, /broken\s+Detection\s+1\s+False/);
  });
});
