// lb.test.ts: LoadBalancer Services against a real kube-apiserver — the VIP in status (and in
// `kubectl get svc`), the finalizer, Events, an exhausted pool, release on delete, VipPool status,
// and Services of another class left alone. One API server and one controller for the file;
// each test builds on what the previous left (a story).
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { resolve } from "node:path";
import { promisify } from "node:util";
import { startKube, type KubeEnv } from "../../scripts/kube/env.ts";
import type { ResourceSet } from "../../src/k8s/resource-set.ts";
import type { Service } from "../../src/k8s/types.ts";
import { REPORTING_CONTROLLER } from "../../src/controller/kube-events.ts";
import { withinTarget } from "../support/machine.ts";
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
const NS = "lb";
const run = promisify(execFile);
const main = resolve(import.meta.dirname, "../../src/cli/main.ts");

describe("LoadBalancer Services on a real API server", { skip }, () => {
  let env: KubeEnv;
  let ctl: RunningController;

  before(async () => {
    env = await startKube();
    await apply(
      env,
      `apiVersion: v1
kind: Namespace
metadata: {name: ${NS}}
---
apiVersion: portico.dev/v1alpha1
kind: VipPool
metadata: {name: lb-pool}
spec:
  addresses: ["127.31.0.1-127.31.0.2"]
`,
    );
    ctl = await startController(env);
    ctl.controller.onUpdate(() => (done = ctl.controller.last()?.set));
  });

  after(async () => {
    await ctl?.stop();
    await env?.stop();
  });

  /** seen: the controller has finished (statuses and Events written) a set in which Service name passes check. */
  let done: ResourceSet | undefined;
  const seen = (name: string, check: (s: Service) => boolean) => {
    const svc = done?.services.find((s) => s.metadata.name === name);
    return svc !== undefined && check(svc);
  };

  // Portico's Events about a Service. The API server reports on the same objects (its
  // ipallocator-repair-controller may warn "Cluster IP … is not allocated; repairing").
  const events = async (name: string) => {
    const list = await getJson<{
      items: {
        reason: string;
        note: string;
        type: string;
        reportingController: string;
        regarding: { name: string };
      }[];
    }>(env, "events.events.k8s.io", "-n", NS);
    return (list?.items ?? []).filter(
      (e) => e.regarding.name === name && e.reportingController === REPORTING_CONTROLLER,
    );
  };

  test("a Service gets its VIP in status within 2 s, shown by kubectl as EXTERNAL-IP", async () => {
    await waitFor("first sync", () => ctl.controller.last());
    const t0 = Date.now();
    await apply(env, lbService(NS, "a", 18080));
    // A generous deadline (kubectl, a process per look, takes seconds under load); the 2 s target
    // is withinTarget's.
    const ip = await waitFor("status of a", () => ipOf(env, NS, "a"), 30_000, 20);
    const elapsed = Date.now() - t0;
    assert.equal(ip, "127.31.0.1");
    withinTarget("VIP in status after", elapsed, 2_000);
    const svc = await getJson(env, "service", "-n", NS, "a");
    assert.equal(svc!.status.loadBalancer.ingress[0].ipMode, "VIP");
    assert.deepEqual(svc!.metadata.finalizers, ["service.kubernetes.io/load-balancer-cleanup"]);
    const cond = svc!.status.conditions.find((c: { type: string }) => c.type === "portico.dev/VIPAllocated");
    assert.equal(cond.status, "True");
    assert.match(cond.lastTransitionTime, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    const table = await env.kubectl(["get", "svc", "-n", NS, "a"]);
    assert.match(table, /EXTERNAL-IP/);
    assert.match(table.split("\n")[1]!, /\s127\.31\.0\.1\s/);
    const evs = await waitFor("IPAllocated event", async () => {
      const e = (await events("a")).filter((x) => x.reason === "IPAllocated");
      return e.length > 0 && e;
    });
    assert.equal(evs.length, 1);
    assert.match(evs[0]!.note, /127\.31\.0\.1 from pool lb-pool/);
  });

  test("a Service of another loadBalancerClass is never touched", async () => {
    await apply(env, lbService(NS, "other", 18081, "example.com/other-lb") + lbService(NS, "b", 18082));
    // b was created together with "other": once b has its address, "other" was seen too.
    assert.equal(await waitFor("status of b", () => ipOf(env, NS, "b")), "127.31.0.2");
    const other = await getJson(env, "service", "-n", NS, "other");
    assert.deepEqual(other!.status, { loadBalancer: {} });
    assert.equal(other!.metadata.finalizers, undefined);
    assert.deepEqual(await events("other"), []);
  });

  test("an exhausted pool leaves the next Service pending with an AllocationFailed Event naming pool and N/N", async () => {
    await apply(env, lbService(NS, "c", 18083));
    const ev = await waitFor("AllocationFailed event", async () =>
      (await events("c")).find((e) => e.reason === "AllocationFailed"),
    );
    assert.equal(ev.type, "Warning");
    assert.match(ev.note, /lb-pool/);
    assert.match(ev.note, /2\/2/);
    const svc = await getJson(env, "service", "-n", NS, "c");
    assert.equal(svc!.status.loadBalancer.ingress, undefined);
    const cond = svc!.status.conditions.find((c: { type: string }) => c.type === "portico.dev/VIPAllocated");
    assert.equal(cond.status, "False");
    assert.equal(cond.reason, "Exhausted");
    const table = await env.kubectl(["get", "svc", "-n", NS, "c"]);
    assert.match(table.split("\n")[1]!, /<pending>/);
    const pool = await getJson(env, "vippool", "lb-pool");
    assert.equal(pool!.status.assignedIPv4, 2);
    assert.equal(pool!.status.availableIPv4, 0);
    // `portico explain` against the cluster tells the same story.
    const { stdout } = await run(process.execPath, [
      main,
      "explain",
      `service/${NS}/c`,
      `--kubeconfig=${env.adminKubeconfig}`,
    ]);
    assert.match(stdout, /VIP: <pending>/);
    assert.match(stdout, /pool lb-pool: refused \(Exhausted\)/);
    assert.match(stdout, /2\/2/);
    // Rebuilds that change nothing send no second Event.
    await env.kubectl(["annotate", "svc", "-n", NS, "c", "poke=1"]);
    await waitFor("the controller saw the poke", () =>
      seen("c", (s) => s.metadata.annotations?.poke === "1"),
    );
    assert.equal((await events("c")).filter((e) => e.reason === "AllocationFailed").length, 1);
  });

  test("deleting a Service frees its VIP only once it is gone, and the pending Service gets it", async () => {
    await env.kubectl(["delete", "svc", "-n", NS, "a", "--wait=true", "--timeout=10s"]);
    assert.equal(await getJson(env, "service", "-n", NS, "a"), undefined);
    assert.equal(await waitFor("status of c", () => ipOf(env, NS, "c")), "127.31.0.1");
    const ev = await waitFor("IPAllocated for c", async () =>
      (await events("c")).find((e) => e.reason === "IPAllocated"),
    );
    assert.match(ev.note, /127\.31\.0\.1/);
    assert.equal(await ipOf(env, NS, "b"), "127.31.0.2");
  });

  test("a Service that stops being a LoadBalancer loses its VIP, conditions and finalizer", async () => {
    await env.kubectl([
      "patch",
      "svc",
      "-n",
      NS,
      "b",
      "--type=merge",
      "-p",
      '{"spec":{"type":"ClusterIP","loadBalancerClass":null}}',
    ]);
    const svc = await waitFor("b released", async () => {
      const s = await getJson(env, "service", "-n", NS, "b");
      return s && !s.metadata.finalizers && s;
    });
    assert.deepEqual(svc.status, { loadBalancer: {} });
    const pool = await waitFor("pool counts", async () => {
      const p = await getJson(env, "vippool", "lb-pool");
      return p?.status.assignedIPv4 === 1 && p;
    });
    assert.equal(pool.status.conditions[0].type, "Ready");
  });

  test("a typo in the VipPool keeps every VIP, says so on the pool, and clears when fixed", async () => {
    const held = await ipOf(env, NS, "c");
    assert.ok(held);
    const patch = (addresses: string[]) =>
      env.kubectl([
        "patch",
        "vippool",
        "lb-pool",
        "--type=merge",
        "-p",
        JSON.stringify({ spec: { addresses } }),
      ]);
    const inputValid = async () =>
      ((await getJson(env, "vippool", "lb-pool"))?.status?.conditions ?? []).find(
        (c: { type: string }) => c.type === "portico.dev/InputValid",
      );
    await patch(["127.31.0.1-127.31.0.600"]);
    const cond = await waitFor("InputValid=False on the pool", inputValid);
    assert.equal(cond.status, "False");
    assert.equal(cond.reason, "InvalidAddresses");
    assert.match(cond.message, /127\.31\.0\.600.*the last valid version \(generation 1\) keeps serving/);
    assert.equal(await ipOf(env, NS, "c"), held, "the VIP stays in status");
    assert.ok(
      ctl.controller.last()?.out.snapshot.l4.some((l) => l.address === held),
      "and its listener stays in the engine's snapshot",
    );
    await patch(["127.31.0.1-127.31.0.2"]);
    await waitFor("the condition cleared", async () => (await inputValid()) === undefined);
    assert.equal(await ipOf(env, NS, "c"), held);
  });

  test("an Ingress with a missing backend and a conflicting path gets one Warning per problem", async () => {
    await apply(
      env,
      `apiVersion: networking.k8s.io/v1
kind: IngressClass
metadata: {name: portico}
spec: {controller: portico.dev/ingress-controller}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: broken, namespace: ${NS}}
spec:
  ingressClassName: portico
  rules:
    - host: broken.example
      http:
        paths:
          - {path: /, pathType: Prefix, backend: {service: {name: nowhere, port: {number: 80}}}}
          - {path: /, pathType: Prefix, backend: {service: {name: nowhere, port: {number: 80}}}}
`,
    );
    const ev = await waitFor("SyncFailed event", async () =>
      (await events("broken")).find((e) => e.reason === "SyncFailed"),
    );
    assert.equal(ev.type, "Warning");
    assert.match(ev.note, /nowhere/);
    await env.kubectl(["annotate", "svc", "-n", NS, "c", "poke=2", "--overwrite"]);
    await waitFor("the controller saw the poke", () =>
      seen("c", (s) => s.metadata.annotations?.poke === "2"),
    );
    // Two problems of different kinds: each is one Event, however many rebuilds follow.
    const all = await events("broken");
    assert.equal(all.filter((e) => e.reason === "SyncFailed").length, 1);
    assert.equal(all.filter((e) => e.reason === "SyncWarning").length, 1);
    assert.match(all.find((e) => e.reason === "SyncWarning")!.note, /RouteConflict/);
  });

  test("the Deployment in deploy/ is accepted by the API server", async () => {
    const out = await env.kubectl([
      "apply",
      "--dry-run=server",
      "-f",
      resolve(import.meta.dirname, "../../deploy/controller.yaml"),
    ]);
    assert.match(out, /deployment.apps\/portico-controller created \(server dry run\)/);
  });
});
