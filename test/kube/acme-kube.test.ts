// acme-kube.test.ts: the built-in ACME issuer in `portico controller` against the real
// kube-apiserver and Pebble (Debian's pebble and pebble-challtestsrv, from scripts/peers.sh;
// challtestsrv is Pebble's DNS and points every name at the Ingress VIP). An Ingress annotated
// with a CertificateIssuer gets a kubernetes.io/tls Secret Portico writes and serves (checked with
// openssl s_client against Pebble's root), Events on the Ingress and the issuer, and the issuer's
// status; the renew annotation on the Secret replaces the certificate; a restarted controller
// reuses the Secret; an issuer whose caBundle does not verify Pebble's directory fails with a clear
// reason although another issuer trusts Pebble (trust is per issuer).
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { startKube, type KubeEnv } from "../../scripts/kube/env.ts";
import { caAndLeaf } from "../support/certs.ts";
import {
  apply,
  eventsFor,
  gatewayAddress,
  getJson,
  startController,
  waitFor,
  type RunningController,
} from "./helper.ts";
import { acmeSkip, issuerYaml, servedCert, startPebble, type Pebble } from "./pebble-env.ts";

// Objects read back with kubectl are used ad hoc; typing each would only restate the API.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Obj = Record<string, any>;

const NS = "acme-kube";
const vipBase = `127.${20 + ((process.pid + 3) % 150)}.11`;
const VIP = `${vipBase}.1`;

const skip = await acmeSkip();

/** served is the certificate VIP:443 presents for name, and whether it verifies against caFile. */
const served = (name: string, caFile: string, address = VIP) => servedCert(address, name, caFile);

describe("the built-in ACME issuer in Kubernetes mode, against Pebble", { skip }, () => {
  let env: KubeEnv;
  let ctl: RunningController;
  let pebble: Pebble | undefined;
  let caFile = "";

  before(async () => {
    env = await startKube();
    const p = await startPebble(env, { address: VIP });
    pebble = p;
    caFile = join(env.dir, "pebble-root.pem");
    writeFileSync(caFile, p.rootPem);
    // A CA that did not sign Pebble's directory certificate.
    const wrong = caAndLeaf(["localhost"]).caPem;
    await apply(
      env,
      `apiVersion: v1
kind: Namespace
metadata: {name: ${NS}}
---
${issuerYaml("pebble", p, "HTTP01")}${issuerYaml("wrong-ca", p, "HTTP01", wrong)}apiVersion: portico.dev/v1alpha1
kind: VipPool
metadata: {name: acme-kube-pool}
spec:
  addresses: ["${vipBase}.1-${vipBase}.2"]
---
apiVersion: networking.k8s.io/v1
kind: IngressClass
metadata: {name: portico}
spec: {controller: portico.dev/ingress-controller}
---
apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: portico}
spec: {controllerName: portico.dev/gateway-controller}
`,
    );
    ctl = await startController(env);
  });

  after(async () => {
    await pebble?.stop();
    await ctl?.stop();
    await env?.stop();
  });

  const ingress = (name: string, host: string, iss: string) => `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: ${name}
  namespace: ${NS}
  annotations: {portico.dev/certificate-issuer: ${iss}}
spec:
  ingressClassName: portico
  tls: [{hosts: [${host}], secretName: ${name}-tls}]
  rules:
    - host: ${host}
      http:
        paths:
          - {path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}
`;

  const secret = (name: string) => getJson(env, "secret", "-n", NS, name);
  const certOf = (s: Obj | undefined) =>
    s?.data?.["tls.crt"] ? Buffer.from(s.data["tls.crt"], "base64").toString() : undefined;
  const events = (reason: string, kind: string) => eventsFor(env, reason, kind);

  test("an annotated Ingress gets a Portico-managed TLS Secret from Pebble (HTTP-01), served on its VIP, with Events and issuer status", async () => {
    const t0 = Date.now();
    await apply(env, ingress("shop", "shop.acme-kube.test", "pebble"));
    const s = await waitFor(
      "the Secret shop-tls with Pebble's certificate",
      async () => {
        const s = await secret("shop-tls");
        return s?.metadata?.labels?.["portico.dev/managed-by"] === "certificate-issuer" && s;
      },
      30_000,
      100,
    );
    const issuedMs = Date.now() - t0;
    assert.equal(s.type, "kubernetes.io/tls");
    const a = s.metadata.annotations;
    assert.equal(a["portico.dev/certificate-issuer"], "pebble");
    assert.equal(a["portico.dev/certificate-names"], "shop.acme-kube.test");
    assert.ok(Date.parse(a["portico.dev/certificate-not-after"]) > Date.now());
    const pem = certOf(s)!;
    assert.match(new X509Certificate(pem).issuer, /Pebble/);
    await waitFor(
      "Portico serving Pebble's certificate for shop.acme-kube.test",
      async () => (await served("shop.acme-kube.test", caFile)).ok,
      20_000,
      200,
    );
    const servedMs = Date.now() - t0;
    console.log(
      `HTTP-01 in Kubernetes: Secret written ${issuedMs} ms, served ${servedMs} ms after the Ingress`,
    );
    assert.ok(issuedMs < 30_000);
    const onIngress = await waitFor("CertificateIssued on the Ingress", async () => {
      const e = await events("CertificateIssued", "Ingress");
      return e.length > 0 && e;
    });
    assert.equal(onIngress[0]!.regarding.name, "shop");
    assert.match(onIngress[0]!.note, /issued acme-kube\/shop-tls for shop\.acme-kube\.test by pebble/);
    await waitFor("CertificateIssued on the issuer", async () => {
      const e = await events("CertificateIssued", "CertificateIssuer");
      return e.some((x) => x.regarding.name === "pebble");
    });
    const iss = await waitFor("the issuer's status", async () => {
      const i = await getJson(env, "certificateissuer", "pebble");
      return i?.status?.accountURI && i;
    });
    assert.match(iss.status.accountURI, /^https:\/\/localhost:\d+\/my-account\//);
    const ready = iss.status.conditions.find((c: { type: string }) => c.type === "Ready");
    assert.equal(ready.status, "True");
    const c = iss.status.certificates.find((x: { secret: string }) => x.secret === "acme-kube/shop-tls");
    assert.equal(c.state, "Issued");
    // No key material in any Event.
    const all = await getJson(env, "events.v1.events.k8s.io", "-A");
    assert.doesNotMatch(JSON.stringify(all), /PRIVATE KEY|BEGIN CERTIFICATE/);
  });

  test("the renew annotation on the Secret orders a new certificate, which replaces the served one", async () => {
    const before = certOf(await secret("shop-tls"))!;
    const t0 = Date.now();
    await env.kubectl(["annotate", "secret", "-n", NS, "shop-tls", "portico.dev/renew=r1", "--overwrite"]);
    const s = await waitFor(
      "a renewed certificate in shop-tls",
      async () => {
        const s = await secret("shop-tls");
        return certOf(s) !== before && s;
      },
      30_000,
      100,
    );
    assert.equal(s.metadata.annotations["portico.dev/renewed-for"], "r1");
    const after = certOf(s)!;
    await waitFor(
      "Portico serving the renewed certificate",
      async () => {
        const r = await served("shop.acme-kube.test", caFile);
        return r.ok && new X509Certificate(r.pem).serialNumber === new X509Certificate(after).serialNumber;
      },
      20_000,
      200,
    );
    console.log(`forced renewal in Kubernetes: served ${Date.now() - t0} ms after the annotation`);
    await waitFor("CertificateRenewed on the Ingress", async () => {
      const e = await events("CertificateRenewed", "Ingress");
      return e.length > 0;
    });
  });

  test("a Gateway listener asking the issuer in tls.options gets its Secret and is served with it", async () => {
    const t0 = Date.now();
    await apply(
      env,
      `apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw, namespace: ${NS}}
spec:
  gatewayClassName: portico
  listeners:
    - name: https
      hostname: gw.acme-kube.test
      port: 443
      protocol: HTTPS
      tls:
        mode: Terminate
        certificateRefs: [{name: gw-tls}]
        options: {portico.dev/certificate-issuer: pebble}
`,
    );
    await waitFor(
      "the Secret gw-tls",
      async () =>
        (await secret("gw-tls"))?.metadata?.labels?.["portico.dev/managed-by"] === "certificate-issuer",
      30_000,
      100,
    );
    const issuedMs = Date.now() - t0;
    const ip: string = await gatewayAddress(env, NS, "gw");
    await waitFor(
      "Portico serving Pebble's certificate on the Gateway",
      async () => (await served("gw.acme-kube.test", caFile, ip)).ok,
      20_000,
      200,
    );
    console.log(
      `Gateway listener, HTTP-01: Secret written ${issuedMs} ms, served ${Date.now() - t0} ms after the Gateway`,
    );
    await waitFor("CertificateIssued on the Gateway", async () => {
      const e = await events("CertificateIssued", "Gateway");
      return e.some((x) => x.regarding.name === "gw");
    });
  });

  test("a restarted controller reuses the Secret and orders nothing", async () => {
    const before = await secret("shop-tls");
    await ctl.stop();
    ctl = await startController(env);
    const st = await waitFor("the restarted controller's issuer status", () => {
      const out = ctl.controller.last()?.out.statuses ?? [];
      const i = out.find((x) => x.kind === "CertificateIssuer" && x.name === "pebble");
      const certs = (i?.status as { certificates?: { secret: string; state: string }[] })?.certificates;
      return certs?.find((x) => x.secret === "acme-kube/shop-tls");
    });
    // Recognised at once: Issued, not waiting for an order.
    assert.equal(st.state, "Issued");
    await waitFor(
      "the kept certificate served",
      async () => (await served("shop.acme-kube.test", caFile)).ok,
      20_000,
      200,
    );
    const now = await secret("shop-tls");
    assert.equal(now?.metadata.resourceVersion, before?.metadata.resourceVersion);
  });

  test("an issuer whose caBundle does not verify the directory fails with a clear reason; the other issuer is unaffected", async () => {
    await apply(env, ingress("blog", "blog.acme-kube.test", "wrong-ca"));
    const e = await waitFor(
      "CertificateOrderFailed on the Ingress blog",
      async () => {
        const e = await events("CertificateOrderFailed", "Ingress");
        return e.find((x) => x.regarding.name === "blog");
      },
      30_000,
      200,
    );
    assert.match(e.note, /not trusted/);
    assert.match(e.note, /caBundle/);
    assert.equal(e.type, "Warning");
    // Its Secret is never written with a certificate (the default one serves meanwhile).
    assert.equal(await secret("blog-tls"), undefined);
    const i = await getJson(env, "certificateissuer", "wrong-ca");
    const c = i?.status?.certificates?.find((x: { secret: string }) => x.secret === "acme-kube/blog-tls");
    assert.equal(c?.state, "Failed");
  });
});
