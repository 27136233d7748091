// sink.test.ts: the issuer with certificates kept outside its store (Kubernetes: Secrets,
// kube-store.ts). A held certificate is reused, not ordered; the renew annotation orders once per
// value; a Secret Portico did not write is never taken over; what happens becomes Events; a failed
// store is retried without a new order.
import assert from "node:assert/strict";
import { test } from "node:test";
import { selfSigned } from "../../../test/support/certs.ts";
import { emptyResourceSet, type ResourceSet } from "../../k8s/resource-set.ts";
import type { AnyObject, Ingress, Secret } from "../../k8s/types.ts";
import { ANNOTATIONS, MANAGED_LABEL, SecretSink } from "./kube-store.ts";
import { AcmeManager, type AcmeEvent, type StoredCert } from "./manager.ts";
import type { CertRequest } from "./requests.ts";
import type { KubeClient } from "../../sources/kube/client.ts";

const issuer = {
  apiVersion: "portico.dev/v1alpha1",
  kind: "CertificateIssuer",
  metadata: { name: "ca" },
  spec: { acme: { server: "https://ca.invalid/dir" } },
} as unknown as AnyObject;

const ingress = (name: string, host: string) =>
  ({
    apiVersion: "networking.k8s.io/v1",
    kind: "Ingress",
    metadata: { name, namespace: "ns", annotations: { "portico.dev/certificate-issuer": "ca" } },
    spec: { tls: [{ hosts: [host], secretName: `${name}-tls` }] },
  }) as Ingress;

/** tlsSecret is a TLS Secret as the API would hold it, managed by Portico unless foreign. */
function tlsSecret(name: string, host: string, extra: Record<string, string> = {}, foreign = false): Secret {
  const c = selfSigned([host]);
  return {
    apiVersion: "v1",
    kind: "Secret",
    metadata: {
      name,
      namespace: "ns",
      resourceVersion: String(Math.random()),
      ...(foreign
        ? {}
        : {
            labels: { [MANAGED_LABEL]: "certificate-issuer" },
            annotations: { [ANNOTATIONS.issuer]: "ca", [ANNOTATIONS.names]: host, ...extra },
          }),
    },
    type: "kubernetes.io/tls",
    data: {
      "tls.crt": Buffer.from(c.certPem).toString("base64"),
      "tls.key": Buffer.from(c.keyPem).toString("base64"),
    },
  } as Secret;
}

/** harness runs a manager over SecretSink.read with saves recorded (or failing the first n times). */
function harness(failSaves = 0) {
  const saves: { secret: string; renewedFor?: string }[] = [];
  const events: AcmeEvent[] = [];
  const orders: string[] = [];
  let fail = failSaves;
  const rows: Record<string, string> = {};
  const reader = new SecretSink({} as KubeClient);
  const m = new AcmeManager({
    store: {
      loadAcme: () => ({ ...rows }),
      saveAcme: (k: string, v: string | undefined) => {
        if (v === undefined) delete rows[k];
        else rows[k] = v;
      },
    },
    log: () => undefined,
    refresh: async () => undefined,
    rand: () => 0,
    sink: {
      read: (set) => reader.read(set),
      save: async (r: CertRequest, _c: StoredCert, renewedFor?: string) => {
        if (fail-- > 0) throw new Error("the API is away");
        saves.push({ secret: r.secret, ...(renewedFor ? { renewedFor } : {}) });
      },
    },
    onEvent: (e) => events.push(e),
    order: async (input) => {
      orders.push(input.hosts.join());
      if (input.hosts[0] === "bad.test") throw new Error('urn:ietf:params:acme:error:unauthorized: "no"');
      return { ...selfSigned(input.hosts), accountUrl: "https://ca.invalid/acct/1" };
    },
  });
  return { m, saves, events, orders };
}

const set = (ingresses: Ingress[], secrets: Secret[]): ResourceSet => ({
  ...emptyResourceSet(),
  ingresses,
  secrets,
  other: [issuer],
});

async function until(what: string, ok: () => boolean): Promise<void> {
  const end = Date.now() + 20_000;
  while (!ok()) {
    assert.ok(Date.now() < end, what);
    await new Promise((r) => setTimeout(r, 5));
  }
}

test("a certificate held in its Secret is reused, not ordered; the renew annotation orders once per value", async () => {
  const h = harness();
  h.m.sync(set([ingress("a", "a.test")], [tlsSecret("a-tls", "a.test")]));
  const st = () => (h.m.statuses()[0]!.status.certificates as { state: string }[]).map((c) => c.state).join();
  assert.equal(st(), "Issued", "recognised at once");
  await new Promise((r) => setTimeout(r, 50));
  assert.deepEqual(h.orders, [], "nothing ordered for a valid certificate");
  const asked = set([ingress("a", "a.test")], [tlsSecret("a-tls", "a.test", { [ANNOTATIONS.renew]: "r1" })]);
  h.m.sync(asked);
  await until("the renewal order", () => h.saves.length === 1);
  assert.deepEqual(h.saves, [{ secret: "ns/a-tls", renewedFor: "r1" }]);
  // The same set again (the written Secret not yet seen back): no second order.
  h.m.sync(asked);
  await new Promise((r) => setTimeout(r, 50));
  assert.deepEqual(h.orders, ["a.test"]);
  assert.deepEqual(
    h.events.map((e) => [e.reason, e.owner, e.issuer, e.type]),
    [["CertificateRenewed", "Ingress/ns/a", "ca", "Normal"]],
  );
  assert.match(h.events[0]!.message, /^renewed ns\/a-tls for a\.test by ca in \d+ ms, expires /);
  assert.equal(h.m.statuses()[0]!.status.accountURI, "https://ca.invalid/acct/1");
  h.m.close();
});

test("a Secret Portico did not write is not taken over: the ask is refused with a Warning", async () => {
  const h = harness();
  h.m.sync(set([ingress("a", "a.test")], [tlsSecret("a-tls", "a.test", {}, true)]));
  await new Promise((r) => setTimeout(r, 50));
  assert.deepEqual(h.orders, []);
  assert.deepEqual(h.m.secrets(), [], "the user's Secret is served as it is");
  assert.equal(h.events[0]?.reason, "CertificateRequestNotHonoured");
  assert.match(h.events[0]!.message, /Secret ns\/a-tls exists and is not managed by Portico/);
  h.m.close();
});

test("issued, failed (with the CA's problem; the issuer turns not Ready) and a store that fails is retried without a new order", async () => {
  const h = harness(1);
  h.m.sync(set([ingress("a", "a.test"), ingress("b", "bad.test")], []));
  await until("the certificate stored after a failed save", () => h.saves.length === 1);
  await until("the failure reported", () => h.events.some((e) => e.reason === "CertificateOrderFailed"));
  assert.deepEqual(
    h.orders.filter((o) => o === "a.test"),
    ["a.test"],
    "one order despite the failed save",
  );
  const issued = h.events.find((e) => e.reason === "CertificateIssued")!;
  assert.equal(issued.owner, "Ingress/ns/a");
  const failed = h.events.find((e) => e.reason === "CertificateOrderFailed")!;
  assert.equal(failed.type, "Warning");
  assert.match(failed.message, /failed: urn:ietf:params:acme:error:unauthorized: "no"; retry in \d+ s$/);
  assert.doesNotMatch(JSON.stringify(h.events), /PRIVATE KEY/);
  const ready = (
    h.m.statuses()[0]!.status.conditions as { type: string; status: string; reason: string }[]
  ).find((c) => c.type === "Ready")!;
  assert.deepEqual([ready.status, ready.reason], ["False", "OrderFailed"]);
  h.m.close();
});

test("an ask naming no CertificateIssuer is reported on the asking object, not ordered", async () => {
  const h = harness();
  const ing = ingress("a", "a.test");
  ing.metadata.annotations!["portico.dev/certificate-issuer"] = "missing";
  h.m.sync(set([ing], []));
  await until("the Warning", () => h.events.length > 0);
  assert.deepEqual(h.orders, []);
  assert.deepEqual(
    h.events.map((e) => [e.reason, e.owner, e.issuer, e.message]),
    [
      [
        "CertificateNotOrdered",
        "Ingress/ns/a",
        "",
        "ns/a-tls (a.test) not ordered: CertificateIssuer missing not found",
      ],
    ],
  );
  h.m.close();
});
