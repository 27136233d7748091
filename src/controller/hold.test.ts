// hold.test.ts: invalid input never removes what serves — story rows through the whole pipeline,
// each run on the allocations and last valid versions the previous row left: a pool typo, a garbage
// certificate and a key that does not match keep the last valid version in force, are reported,
// clear when fixed, and only deleting the object lets go of it.
import { test } from "node:test";
import assert from "node:assert/strict";
import { buildResourceSet } from "../k8s/resource-set.ts";
import type { AnyObject } from "../k8s/types.ts";
import type { AllocationState } from "../ipam/types.ts";
import { selfSigned } from "../../test/support/certs.ts";
import { INPUT_VALID, type LastValid } from "./hold.ts";
import { buildSnapshot, type PipelineOutput } from "./pipeline.ts";

const opts = { serveClasslessServices: false, ingressHttpPort: 80, ingressHttpsPort: 443 };
const b64 = (s: string) => Buffer.from(s).toString("base64");

const pool = (addresses: string[], generation: number): AnyObject => ({
  apiVersion: "portico.dev/v1alpha1",
  kind: "VipPool",
  metadata: { name: "lab", generation },
  spec: { addresses },
});

const service = (name: string): AnyObject => ({
  apiVersion: "v1",
  kind: "Service",
  metadata: { name, namespace: "default", creationTimestamp: "2026-01-01T00:00:00Z" },
  spec: { type: "LoadBalancer", loadBalancerClass: "portico.dev/lb", ports: [{ name: "http", port: 80 }] },
});

const secret = (crt: string, key: string): AnyObject => ({
  apiVersion: "v1",
  kind: "Secret",
  metadata: { name: "web-tls", namespace: "default" },
  type: "kubernetes.io/tls",
  data: { "tls.crt": b64(crt), "tls.key": b64(key) },
});

const ingressParts: AnyObject[] = [
  {
    apiVersion: "networking.k8s.io/v1",
    kind: "IngressClass",
    metadata: { name: "portico" },
    spec: { controller: "portico.dev/ingress-controller" },
  },
  {
    apiVersion: "networking.k8s.io/v1",
    kind: "Ingress",
    metadata: { name: "web", namespace: "default" },
    spec: {
      ingressClassName: "portico",
      tls: [{ hosts: ["web.test"], secretName: "web-tls" }],
      rules: [{ host: "web.test", http: { paths: [{ path: "/", pathType: "Prefix", backend: {} }] } }],
    },
  },
];

/** Story runs rows through the pipeline, carrying allocations and last valid versions like a controller. */
class Story {
  allocations: AllocationState = {};
  lastValid: LastValid = new Map();
  run(...objects: AnyObject[]): PipelineOutput {
    const origins = new Map(objects.map((o, i) => [keyOf(o), { file: "lab.yaml", line: i * 10 + 1 }]));
    const out = buildSnapshot(
      buildResourceSet(objects, origins, []),
      opts,
      this.allocations,
      1,
      this.lastValid,
    );
    this.allocations = out.allocations.state;
    this.lastValid = out.lastValid;
    return out;
  }
}

const keyOf = (o: AnyObject) =>
  o.metadata.namespace
    ? `${o.kind}/${o.metadata.namespace}/${o.metadata.name}`
    : `${o.kind}/${o.metadata.name}`;
const addresses = (out: PipelineOutput) => out.snapshot.l4.map((l) => `${l.name}=${l.address}`);
const condition = (out: PipelineOutput, kind: string, name: string, type: string) =>
  out.statuses
    .find((s) => s.kind === kind && s.name === name)
    ?.status.conditions?.find((c) => c.type === type);

test("hold: a pool typo keeps the last valid pool, moves no address, reports it, and clears when fixed", () => {
  const story = new Story();
  const good = pool(["127.0.40.1-127.0.40.3"], 1);
  const before = story.run(good, service("a"), service("b"));
  assert.deepEqual(addresses(before), [
    "Service/default/a:80/TCP=127.0.40.1",
    "Service/default/b:80/TCP=127.0.40.2",
  ]);
  assert.deepEqual(before.invalid, []);

  // The typo of the issue: a range end that is not an address.
  const typo = story.run(pool(["127.0.40.1-127.0.40.600"], 2), service("a"), service("b"), service("c"));
  assert.deepEqual(addresses(typo).slice(0, 2), addresses(before), "no address moved");
  assert.deepEqual(typo.invalid.length, 1);
  const bad = typo.invalid[0]!;
  assert.equal(bad.kind, "VipPool");
  assert.equal(bad.file, "lab.yaml");
  assert.equal(bad.line, 1);
  assert.equal(bad.reason, "InvalidAddresses");
  assert.equal(bad.held, true);
  assert.match(bad.message, /127\.0\.40\.600.*the last valid version \(generation 1\) keeps serving/);
  const cond = condition(typo, "VipPool", "lab", INPUT_VALID);
  assert.equal(cond?.status, "False");
  assert.equal(cond?.reason, "InvalidAddresses");
  assert.equal(cond?.observedGeneration, 2, "the condition is about the version just read");
  // The held pool still serves a newcomer from its valid ranges.
  assert.ok(addresses(typo).includes("Service/default/c:80/TCP=127.0.40.3"));

  const fixed = story.run(pool(["127.0.40.1-127.0.40.6"], 3), service("a"), service("b"), service("c"));
  assert.deepEqual(fixed.invalid, []);
  assert.deepEqual(addresses(fixed), addresses(typo));
  assert.equal(condition(fixed, "VipPool", "lab", INPUT_VALID), undefined);
});

test("hold: a pool invalid from the start serves nobody new but keeps what a previous run assigned", () => {
  const story = new Story();
  story.allocations = {
    "Service/default/a": {
      addresses: ["127.0.40.1"],
      pools: ["lab"],
      ports: [{ port: 80, protocol: "TCP" }],
    },
  };
  const out = story.run(pool(["127.0.40.1-127.0.40.600"], 1), service("a"), service("b"));
  assert.deepEqual(addresses(out), ["Service/default/a:80/TCP=127.0.40.1"]);
  assert.equal(out.invalid[0]?.held, false);
  assert.match(out.invalid[0]?.message ?? "", /nothing valid to keep serving/);
  assert.equal(condition(out, "Service", "b", "portico.dev/VIPAllocated")?.reason, "PoolInvalid");
});

test("hold: a garbage or mismatched certificate keeps the last good one; deleting the Secret lets go", () => {
  const story = new Story();
  const p = pool(["127.0.40.1/32"], 1);
  const one = selfSigned(["web.test"]);
  const other = selfSigned(["web.test"]);
  const good = story.run(p, ...ingressParts, secret(one.certPem, one.keyPem));
  assert.deepEqual(good.snapshot.certificates["default/web-tls"], one);

  for (const [what, crt, key, reason] of [
    [
      "garbage",
      "-----BEGIN CERTIFICATE-----\nnot a certificate\n-----END CERTIFICATE-----\n",
      one.keyPem,
      "InvalidCertificate",
    ],
    ["a key of another pair", one.certPem, other.keyPem, "KeyMismatch"],
  ] as const) {
    const out = story.run(p, ...ingressParts, secret(crt, key));
    assert.deepEqual(
      out.snapshot.certificates["default/web-tls"],
      one,
      `${what}: the old certificate serves`,
    );
    assert.deepEqual(
      out.snapshot.http.map((l) => l.port),
      [80, 443],
      `${what}: HTTPS stays open`,
    );
    assert.equal(out.invalid[0]?.reason, reason, what);
    assert.doesNotMatch(
      JSON.stringify(out.invalid),
      /PRIVATE KEY|not a certificate/,
      "no Secret data in reports",
    );
    const cond = condition(out, "Ingress", "web", INPUT_VALID);
    assert.equal(cond?.status, "False", what);
    assert.match(cond?.message ?? "", /^Secret default\/web-tls: /);
  }

  const rotated = story.run(p, ...ingressParts, secret(other.certPem, other.keyPem));
  assert.deepEqual(rotated.snapshot.certificates["default/web-tls"], other, "a good rotation applies");
  assert.deepEqual(rotated.invalid, []);

  const deleted = story.run(p, ...ingressParts);
  assert.deepEqual(deleted.snapshot.certificates, {}, "deleted: nothing held");
  const back = story.run(p, ...ingressParts, secret("garbage", one.keyPem));
  assert.deepEqual(back.snapshot.certificates, {}, "re-created broken: no old version to hold");
  assert.equal(back.invalid[0]?.held, false);
});

test("hold: a typo in a requested address keeps the Service as it was; the fix applies", () => {
  const story = new Story();
  const p = pool(["127.0.40.1-127.0.40.9"], 1);
  const asking = (ip: string) => {
    const svc = service("a");
    return { ...svc, spec: { ...(svc.spec as object), loadBalancerIP: ip } } as AnyObject;
  };
  assert.deepEqual(addresses(story.run(p, asking("127.0.40.5"))), ["Service/default/a:80/TCP=127.0.40.5"]);
  const typo = story.run(p, asking("127.0.40.5x"));
  assert.deepEqual(addresses(typo), ["Service/default/a:80/TCP=127.0.40.5"], "the address stays");
  assert.equal(typo.invalid[0]?.reason, "InvalidRequestedIP");
  assert.match(typo.invalid[0]?.message ?? "", /spec\.loadBalancerIP: "127\.0\.40\.5x" is not an IP address/);
  assert.equal(condition(typo, "Service", "a", INPUT_VALID)?.status, "False");
  const moved = story.run(p, asking("127.0.40.7"));
  assert.deepEqual(addresses(moved), ["Service/default/a:80/TCP=127.0.40.7"], "a valid change applies");
  assert.deepEqual(moved.invalid, []);
});

test("hold: a typo in MetalLB's loadBalancerIPs is held like Portico's own, naming the annotation", () => {
  const story = new Story();
  const p = pool(["127.0.40.1-127.0.40.9"], 1);
  const asking = (ip: string) => {
    const svc = service("a");
    return { ...svc, metadata: { ...svc.metadata, annotations: { "metallb.io/loadBalancerIPs": ip } } };
  };
  assert.deepEqual(addresses(story.run(p, asking("127.0.40.6"))), ["Service/default/a:80/TCP=127.0.40.6"]);
  const typo = story.run(p, asking("127.0.40.6x"));
  assert.deepEqual(addresses(typo), ["Service/default/a:80/TCP=127.0.40.6"], "the address stays");
  assert.match(
    typo.invalid[0]?.message ?? "",
    /^metallb\.io\/loadBalancerIPs: "127\.0\.40\.6x" is not an IP address/,
  );
});
