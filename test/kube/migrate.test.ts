// migrate.test.ts: `portico migrate --kubeconfig F` on a real kube-apiserver — MetalLB's objects
// (the worked example's, under minimal CRDs for MetalLB's kinds) and ingress-nginx's class, Ingress
// and ConfigMap are read from the cluster and converted as the same files would be; nothing is
// written to the cluster, and --write without --out is refused.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseAllDocuments } from "yaml";
import { startKube, type KubeEnv } from "../../scripts/kube/env.ts";
import { portico, removeDir, tempDir } from "../e2e/harness.ts";
import { apply, getJson, kubeSkip } from "./helper.ts";

const skip = kubeSkip();
const examples = join(import.meta.dirname, "..", "..", "examples", "migration");

const crd = (kind: string, plural: string, version: string) => `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: { name: ${plural}.metallb.io }
spec:
  group: metallb.io
  scope: Namespaced
  names: { kind: ${kind}, plural: ${plural}, singular: ${kind.toLowerCase()}, listKind: ${kind}List }
  versions:
    - name: ${version}
      served: true
      storage: true
      schema: { openAPIV3Schema: { type: object, x-kubernetes-preserve-unknown-fields: true } }
---
`;

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- reading back YAML the test just wrote
type Obj = Record<string, any>;
const objectsOf = (dir: string, file: string) =>
  parseAllDocuments(readFileSync(join(dir, file), "utf8")).map((d) => d.toJS() as Obj);

describe("portico migrate from a cluster", { skip }, () => {
  let env: KubeEnv;
  const out = tempDir("portico-migrate-kube-");

  before(async () => {
    env = await startKube();
    await apply(
      env,
      crd("IPAddressPool", "ipaddresspools", "v1beta1") +
        crd("L2Advertisement", "l2advertisements", "v1beta1") +
        crd("BGPAdvertisement", "bgpadvertisements", "v1beta1") +
        crd("Community", "communities", "v1beta1") +
        crd("BGPPeer", "bgppeers", "v1beta2") +
        "apiVersion: v1\nkind: Namespace\nmetadata: { name: metallb-system }\n---\n" +
        "apiVersion: v1\nkind: Namespace\nmetadata: { name: ingress-nginx }\n---\n" +
        "apiVersion: v1\nkind: Namespace\nmetadata: { name: shop }\n",
    );
    // A CRD's kinds are served a moment after it is created.
    for (
      let i = 0;
      i < 100 &&
      (await getJson(env, "crd", "bgppeers.metallb.io"))?.status?.acceptedNames?.kind !== "BGPPeer";
      i++
    )
      await new Promise((r) => setTimeout(r, 100));
    const before = join(examples, "metallb", "before");
    await env.kubectl(["apply", "-f", join(before, "pools.yaml"), "-f", join(before, "peers.yaml")]);
    const nginx = join(examples, "ingress-nginx", "before");
    await env.kubectl(["apply", "-f", join(nginx, "controller.yaml"), "-f", join(nginx, "shop.yaml")]);
  });

  after(async () => {
    await env?.stop();
    removeDir(out);
  });

  // migrate converts from the cluster into out/FROM and answers the directory and the report.
  async function migrate(from: string): Promise<{ dir: string; stderr: string }> {
    const dir = join(out, from);
    const r = await portico(["migrate", from, "--kubeconfig", env.adminKubeconfig, "--write", "--out", dir]);
    assert.equal(r.code, 0, r.stderr);
    return { dir, stderr: r.stderr };
  }

  test("metallb: the cluster's pools, advertisements and peers convert as the example's files do", async () => {
    const { dir, stderr } = await migrate("metallb");
    const got = objectsOf(dir, "cluster/ipaddresspools.yaml");
    const want = objectsOf(join(examples, "metallb", "after"), "pools.yaml");
    assert.deepEqual(
      got.map((o) => [o.kind, o.metadata.name, o.spec]).sort(),
      want.map((o) => [o.kind, o.metadata.name, o.spec]).sort(), // the API lists by name
    );
    const group = objectsOf(dir, "cluster/bgppeers.yaml").find((o) => o.kind === "EngineGroup");
    const wantGroup = objectsOf(join(examples, "metallb", "after"), "peers.yaml").find(
      (o) => o.kind === "EngineGroup",
    );
    assert.deepEqual(group?.spec, wantGroup?.spec);
    assert.match(
      stderr,
      /lost +cluster\/l2advertisements\.yaml:\d+ L2Advertisement\/metallb-system\/lan spec\.nodeSelectors/,
    );
    // The cluster itself is untouched.
    assert.equal((await getJson(env, "ipaddresspool", "-n", "metallb-system", "web"))?.kind, "IPAddressPool");
  });

  test("ingress-nginx: the class, the Ingress and the controller ConfigMap convert from the cluster", async () => {
    const { dir, stderr } = await migrate("ingress-nginx");
    const [cls] = objectsOf(dir, "cluster/ingressclasses.yaml");
    assert.equal(cls!.spec.controller, "portico.dev/ingress-controller");
    const shop = objectsOf(dir, "cluster/ingresses.yaml").find((o) => o.metadata.name === "shop")!;
    assert.equal(shop.spec.ingressClassName, "nginx");
    assert.equal(shop.metadata.annotations["portico.dev/ssl-protocols"], "TLSv1.2 TLSv1.3");
    assert.equal(shop.metadata.annotations["nginx.ingress.kubernetes.io/proxy-body-size"], "8m");
    assert.equal(shop.metadata.resourceVersion, undefined, "server-set fields are dropped");
    assert.equal(shop.status, undefined);
    assert.match(stderr, /data\.hsts: "true" not carried/);
    const refused = await portico([
      "migrate",
      "ingress-nginx",
      "--kubeconfig",
      env.adminKubeconfig,
      "--write",
    ]);
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /never writes to the cluster/);
  });
});
