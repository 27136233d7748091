// cert-expiry.test.ts: a certificate's state changes with time alone. The Kubernetes controller
// rebuilds when a served certificate is next due to change (as `portico run` does), so a Secret
// that expires a few seconds into the test turns its Ingress's Warning Event from
// CertificateExpiring into CertificateExpired and its host over to the default certificate, with
// nothing in the cluster changing in between.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { connect } from "node:tls";
import { startKube, type KubeEnv } from "../../scripts/kube/env.ts";
import { issue } from "../../src/engine/tls/x509.ts";
import { apply, getJson, kubeSkip, startController, waitFor, type RunningController } from "./helper.ts";

const NS = "expiry";
// A /16 of loopback unique to this process, so parallel runs cannot collide.
const pool = `127.${40 + ((process.pid + 77) % 150)}.0`;
const skip = kubeSkip();

/** served is the fingerprint of the certificate ip:443 serves for host ("" if none). */
function served(ip: string, host: string): Promise<string> {
  return new Promise((resolve) => {
    const s = connect({ host: ip, port: 443, servername: host, rejectUnauthorized: false }, () => {
      const c = s.getPeerX509Certificate();
      s.destroy();
      resolve(c?.fingerprint256 ?? "");
    });
    s.on("error", () => resolve(""));
  });
}

/** notes are the notes of the Warning Events about Ingress name. */
async function notes(env: KubeEnv, name: string): Promise<string[]> {
  const list = await getJson(env, "events.events.k8s.io", "-n", NS);
  return (list?.items ?? [])
    .filter(
      (e: { regarding?: { name?: string }; type?: string }) =>
        e.regarding?.name === name && e.type === "Warning",
    )
    .map((e: { note?: string }) => e.note ?? "");
}

describe("certificate expiry with no change to the cluster", { skip }, () => {
  let env: KubeEnv;
  let ctl: RunningController;

  before(async () => {
    env = await startKube();
    ctl = await startController(env);
  });
  after(async () => {
    await ctl?.stop();
    await env?.stop();
  });

  test("an expiring Secret becomes CertificateExpired and its host gets the default certificate, on time", async () => {
    // Valid for 20 s more: long enough for the controller to serve it first, short for the test.
    const lifeMs = 20_000;
    const cert = issue({
      subject: "soon.example",
      dnsNames: ["soon.example"],
      role: "plain",
      now: new Date(),
      days: lifeMs / 86_400_000,
    });
    const notAfter = Date.parse(new X509Certificate(cert.certPem).validTo);
    await apply(
      env,
      `apiVersion: v1
kind: Namespace
metadata: {name: ${NS}}
---
apiVersion: portico.dev/v1alpha1
kind: VipPool
metadata: {name: expiry-pool}
spec:
  addresses: ["${pool}.1-${pool}.2"]
---
apiVersion: networking.k8s.io/v1
kind: IngressClass
metadata: {name: portico}
spec: {controller: portico.dev/ingress-controller}
---
apiVersion: v1
kind: Secret
metadata: {name: soon-tls, namespace: ${NS}}
type: kubernetes.io/tls
data:
  tls.crt: ${Buffer.from(cert.certPem).toString("base64")}
  tls.key: ${Buffer.from(cert.keyPem).toString("base64")}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: soon, namespace: ${NS}}
spec:
  ingressClassName: portico
  tls: [{hosts: [soon.example], secretName: soon-tls}]
  rules:
    - host: soon.example
      http:
        paths:
          - {path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}
`,
    );
    const ip: string = await waitFor("Ingress address", async () => {
      const ing = await getJson(env, "ingress", "-n", NS, "soon");
      return ing?.status?.loadBalancer?.ingress?.[0]?.ip;
    });
    const own = new X509Certificate(cert.certPem).fingerprint256;
    await waitFor("the expiring certificate served", async () => (await served(ip, "soon.example")) === own);
    await waitFor("the CertificateExpiring Warning", async () =>
      (await notes(env, "soon")).some((n) => /CertificateExpiring/.test(n)),
    );
    assert.ok(Date.now() < notAfter, "still before notAfter: the first build saw it valid");
    // Nothing changes in the cluster from here on; only time passes.
    const expired = await waitFor(
      "the CertificateExpired Warning",
      async () => (await notes(env, "soon")).find((n) => /CertificateExpired/.test(n)),
      lifeMs + 20_000,
      200,
    );
    console.log(`# CertificateExpired recorded ${Date.now() - notAfter} ms after notAfter`);
    assert.match(expired, /Secret expiry\/soon-tls: certificate expired at/);
    const now = await served(ip, "soon.example");
    assert.notEqual(now, "", "the host is still served");
    assert.notEqual(now, own, "never the expired certificate");
  });
});
