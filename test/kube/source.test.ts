// source.test.ts: the kube source against a real API server — plain JSON objects, namespace
// scoping, debounced bursts, a relist after 410 Gone that notices what changed while the watch was
// away, and watches that come back after the API server restarts.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { startKube, type KubeEnv } from "../../scripts/kube/env.ts";
import type { ResourceSet } from "../../src/k8s/resource-set.ts";
import { KubeClient } from "../../src/sources/kube/client.ts";
import { KubeSource } from "../../src/sources/kube/source.ts";
import { apply, kubeSkip, lbService, testLog, waitFor } from "./helper.ts";

const skip = kubeSkip();

describe("kube source", { skip }, () => {
  let env: KubeEnv;
  let client: KubeClient;
  let source: KubeSource;
  const sets: ResourceSet[] = [];
  const names = (set: ResourceSet) => set.services.map((s) => `${s.metadata.namespace}/${s.metadata.name}`);

  before(async () => {
    // Services skip the watch cache, so a watch from a compacted resourceVersion reaches etcd and
    // gets the real 410 Gone (the cache answers old versions with a replay of current objects).
    env = await startKube(["--watch-cache-sizes=services#0"]);
    await apply(
      env,
      `apiVersion: v1\nkind: Namespace\nmetadata: {name: in}\n---\napiVersion: v1\nkind: Namespace\nmetadata: {name: out}\n---\n` +
        lbService("in", "x", 80) +
        lbService("out", "hidden", 80) +
        `apiVersion: portico.dev/v1alpha1\nkind: VipPool\nmetadata: {name: p}\nspec: {addresses: ["127.40.0.0/30"]}\n`,
    );
    // As Portico's ServiceAccount: the RBAC in deploy/ must allow every list and watch.
    client = await KubeClient.fromFile(env.porticoKubeconfig);
    source = new KubeSource({
      client,
      namespaces: ["in"],
      log: testLog(),
      onChange: (set) => sets.push(set),
      holdOffMs: 50,
      maxDelayMs: 300,
    });
  });

  after(async () => {
    source?.close();
    client?.close();
    await env?.stop();
  });

  test("the first set holds plain JSON objects of the watched namespaces only", async () => {
    const first = await source.start();
    assert.deepEqual(names(first), ["in/x"]);
    assert.deepEqual(
      first.vipPools.map((p) => p.metadata.name),
      ["p"],
    );
    const x = first.services[0]!;
    assert.equal(x.apiVersion, "v1");
    assert.equal(x.kind, "Service");
    assert.equal(typeof x.metadata.creationTimestamp, "string");
    assert.equal(x.metadata.managedFields, undefined);
    assert.ok(
      first.namespaces.some((n) => n.metadata.name === "out"),
      "Namespaces are cluster-scoped",
    );
    assert.match(first.origins.get("Service/in/x")!.file, /^kube:\d+$/);
    assert.ok(Object.isFrozen(first.services));
  });

  test("a burst of changes is emitted as few sets, the last one complete", async () => {
    const before = sets.length;
    await apply(env, Array.from({ length: 12 }, (_, i) => lbService("in", `burst-${i}`, 80)).join(""));
    await waitFor(
      "all burst Services",
      () => names(source.current()).filter((n) => n.startsWith("in/burst-")).length === 12,
    );
    assert.ok(sets.length - before <= 4, `${sets.length - before} sets for one apply`);
    const emitted = sets.length;
    // An update that changes nothing we read (same spec) emits nothing.
    await apply(env, lbService("in", "x", 80));
    await apply(env, lbService("out", "hidden", 81));
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(sets.length, emitted);
  });

  test("after 410 Gone the relist brings back what changed while the watch was away", async () => {
    const services = source.reflectors().find((r) => r.resource.kind === "Service")!.reflector;
    const lists = services.stats().lists;
    const rv = services.stats().resourceVersion;
    services.pause();
    await env.kubectl(["delete", "svc", "-n", "in", "x", "--wait=false"]);
    await apply(env, lbService("in", "y1", 80));
    await new Promise((r) => setTimeout(r, 300));
    assert.ok(names(source.current()).includes("in/x"), "no event can arrive while paused");
    // Compact etcd past the last resourceVersion seen: resuming from it must get 410 Gone.
    await env.compactEtcd();
    services.restartWatch(rv);
    await waitFor("relist", () => {
      const n = names(source.current());
      return n.includes("in/y1") && !n.includes("in/x");
    });
    assert.equal(services.stats().lists, lists + 1);
  });

  test("Gateway API objects (v1) reach the set as the file source would put them", async () => {
    await apply(
      env,
      `apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: portico}
spec: {controllerName: portico.dev/gateway-controller}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw, namespace: in}
spec:
  gatewayClassName: portico
  listeners: [{name: http, port: 80, protocol: HTTP}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: elsewhere, namespace: out}
spec:
  gatewayClassName: portico
  listeners: [{name: http, port: 80, protocol: HTTP}]
`,
    );
    const kinds = () => source.current().other.map((o) => `${o.apiVersion}/${o.kind}/${o.metadata.name}`);
    await waitFor("Gateway API objects", () => kinds().length === 2);
    assert.deepEqual(kinds().sort(), [
      "gateway.networking.k8s.io/v1/Gateway/gw",
      "gateway.networking.k8s.io/v1/GatewayClass/portico",
    ]);
  });

  test("Secrets: TLS key pairs and basic-auth (BGP passwords) are read, no other type", async () => {
    await apply(
      env,
      `apiVersion: v1
kind: Secret
metadata: {name: bgp-auth, namespace: in}
type: kubernetes.io/basic-auth
stringData: {password: s3cret}
---
apiVersion: v1
kind: Secret
metadata: {name: other, namespace: in}
type: Opaque
stringData: {token: not-for-portico}
`,
    );
    const secrets = () => source.current().secrets.map((s) => `${s.type}/${s.metadata.name}`);
    await waitFor("the basic-auth Secret", () => secrets().includes("kubernetes.io/basic-auth/bgp-auth"));
    assert.equal(secrets().includes("Opaque/other"), false);
  });

  test("watches come back after the API server restarts", async () => {
    await env.restartApiServer();
    await apply(env, lbService("in", "after-restart", 80));
    await waitFor(
      "Service created after the restart",
      () => names(source.current()).includes("in/after-restart"),
      15_000,
    );
  });
});
