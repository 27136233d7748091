// acme-dns01.test.ts: DNS-01 in `portico controller` against the real kube-apiserver and Pebble
// (Debian's pebble, from scripts/peers.sh). A DnsZone served by Portico's in-process engine, a
// CertificateIssuer with `challenge: DNS01`, and an Ingress asking for a name and its wildcard in
// that zone: the leader publishes both TXT values in its snapshot. Pebble's only resolver is a
// relay (test/e2e/pebble.ts) in front of Portico's DNS (no challtestsrv); it holds Pebble's first
// `_acme-challenge` query until dig has read both values from Portico, so the records are seen
// during the order, and an issued certificate proves Pebble validated through them. The Secret is
// written, the wildcard certificate is served (openssl s_client -servername a name only the
// wildcard covers), Events are on the Ingress and the issuer, and the TXT records are gone. A name
// in no zone Portico serves fails with that reason (a Warning Event) before Pebble is asked.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { startKube, type KubeEnv } from "../../scripts/kube/env.ts";
import { dig, toolSkip } from "../e2e/dns-helpers.ts";
import { freePort } from "../e2e/l4-helpers.ts";
import { startDnsRelay, type DnsRelay } from "../e2e/pebble.ts";
import { apply, eventsFor, getJson, startController, waitFor, type RunningController } from "./helper.ts";
import { acmeSkip, issuerYaml, servedCert, startPebble, type Pebble } from "./pebble-env.ts";

const NS = "acme-dns01";
const vipBase = `127.${20 + ((process.pid + 7) % 150)}.12`;
const VIP = `${vipBase}.1`;
const DNS_VIP = `${vipBase}.53`;
const ZONE = "dns01-kube.test";
const TXT = `_acme-challenge.${ZONE}`;
const skip = (await acmeSkip()) || toolSkip("dig");

describe("DNS-01 through Portico's DNS in Kubernetes mode, against Pebble", { skip }, () => {
  let env: KubeEnv;
  let ctl: RunningController;
  let pebble: Pebble | undefined;
  let caFile = "";
  let dnsPort = 0;
  let relay: DnsRelay | undefined;

  before(async () => {
    env = await startKube();
    dnsPort = await freePort(DNS_VIP, "UDP");
    relay = await startDnsRelay(DNS_VIP, dnsPort);
    const p = await startPebble(env, { server: `127.0.0.1:${relay.port}` });
    pebble = p;
    caFile = join(env.dir, "pebble-root.pem");
    writeFileSync(caFile, p.rootPem);
    await apply(
      env,
      `apiVersion: v1
kind: Namespace
metadata: {name: ${NS}}
---
${issuerYaml("pebble-dns", p, "DNS01")}apiVersion: portico.dev/v1alpha1
kind: VipPool
metadata: {name: acme-dns01-pool}
spec:
  addresses: ["${VIP}/32", "${DNS_VIP}/32"]
---
apiVersion: networking.k8s.io/v1
kind: IngressClass
metadata: {name: portico}
spec: {controller: portico.dev/ingress-controller}
---
apiVersion: portico.dev/v1alpha1
kind: DnsZone
metadata: {name: dns01-kube}
spec:
  zone: ${ZONE}
  ttl: 300
  listen: {address: ${DNS_VIP}, port: ${dnsPort}}
`,
    );
    ctl = await startController(env);
  });

  after(async () => {
    relay?.release();
    await pebble?.stop();
    relay?.close();
    await ctl?.stop();
    await env?.stop();
  });

  /** ingress asks pebble-dns for hosts, each routed to the Service web, in Secret NAME-tls. */
  const ingress = (name: string, hosts: string[]) => `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: ${name}
  namespace: ${NS}
  annotations: {portico.dev/certificate-issuer: pebble-dns}
spec:
  ingressClassName: portico
  tls: [{hosts: [${hosts.map((h) => `"${h}"`).join(", ")}], secretName: ${name}-tls}]
  rules:
${hosts
  .map(
    (h) => `    - host: "${h}"
      http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}]}`,
  )
  .join("\n")}
`;

  test("a name and its wildcard: the Secret is written, the wildcard served, Events recorded, the TXT records withdrawn", async () => {
    await waitFor(
      "the DnsZone Programmed",
      async () => {
        const z = await getJson(env, "dnszone", "dns01-kube");
        return z?.status?.conditions?.some(
          (c: { type: string; status: string }) => c.type === "Programmed" && c.status === "True",
        );
      },
      30_000,
      100,
    );
    const t0 = Date.now();
    await apply(env, ingress("wild", [ZONE, `*.${ZONE}`]));
    // Pebble asks for the TXT record only once the leader told it to validate.
    await waitFor("Pebble's _acme-challenge query", () => relay!.held() > 0, 30_000, 50);
    const heldMs = Date.now() - t0;
    const during = (await dig(DNS_VIP, dnsPort, TXT, "TXT")).answer;
    relay!.release();
    // One order, two authorizations (the name and its wildcard): both values at once, low TTL.
    assert.equal(during.length, 2, `two TXT values during the order: ${during.join(" | ")}`);
    for (const r of during)
      assert.match(r, /^_acme-challenge\.dns01-kube\.test\. 10 TXT "[A-Za-z0-9_-]{43}"$/);
    assert.notEqual(during[0], during[1]);
    const s = await waitFor(
      "the Secret wild-tls with Pebble's certificate",
      async () => {
        const s = await getJson(env, "secret", "-n", NS, "wild-tls");
        return s?.metadata?.labels?.["portico.dev/managed-by"] === "certificate-issuer" && s;
      },
      30_000,
      100,
    ).catch(async (e: Error) => {
      const i = await getJson(env, "certificateissuer", "pebble-dns");
      throw new Error(`${e.message}\nissuer status: ${JSON.stringify(i?.status)}`);
    });
    const issuedMs = Date.now() - t0;
    assert.equal(s.type, "kubernetes.io/tls");
    assert.equal(s.metadata.annotations["portico.dev/certificate-issuer"], "pebble-dns");
    const pem = Buffer.from(s.data["tls.crt"], "base64").toString();
    const cert = new X509Certificate(pem);
    assert.match(cert.issuer, /Pebble/);
    assert.match(cert.subjectAltName ?? "", /DNS:\*\.dns01-kube\.test/);
    assert.match(cert.subjectAltName ?? "", /DNS:dns01-kube\.test(,|$)/);

    // A name only the wildcard covers verifies against Pebble's root.
    const www = await waitFor(
      "Portico serving the wildcard certificate for www.dns01-kube.test",
      async () => {
        const r = await servedCert(VIP, `www.${ZONE}`, caFile);
        return r.ok && r;
      },
      20_000,
      200,
    );
    const servedMs = Date.now() - t0;
    assert.equal(new X509Certificate(www.pem).serialNumber, cert.serialNumber);
    assert.ok((await servedCert(VIP, ZONE, caFile)).ok, "the apex name is served too");

    const onIngress = await waitFor("CertificateIssued on the Ingress", async () => {
      const e = await eventsFor(env, "CertificateIssued", "Ingress");
      return e.find((x) => x.regarding.name === "wild");
    });
    assert.match(onIngress.note, /issued acme-dns01\/wild-tls for .*dns01-kube\.test.* by pebble-dns/);
    await waitFor("CertificateIssued on the issuer", async () => {
      const e = await eventsFor(env, "CertificateIssued", "CertificateIssuer");
      return e.some((x) => x.regarding.name === "pebble-dns");
    });
    const iss = await getJson(env, "certificateissuer", "pebble-dns");
    const c = iss?.status?.certificates?.find((x: { secret: string }) => x.secret === `${NS}/wild-tls`);
    assert.equal(c?.state, "Issued");

    // Withdrawn once the authorizations are valid: the *.zone A record covers the name (NODATA).
    await waitFor("the TXT records withdrawn", async () => {
      const a = await dig(DNS_VIP, dnsPort, TXT, "TXT");
      return a.answer.length === 0;
    });
    assert.ok(relay!.asked.includes(TXT), "Pebble validated through Portico's DNS");
    const zone = await getJson(env, "dnszone", "dns01-kube");
    assert.doesNotMatch(JSON.stringify(zone?.status), /_acme-challenge/);
    const all = await getJson(env, "events.v1.events.k8s.io", "-A");
    assert.doesNotMatch(JSON.stringify(all), /PRIVATE KEY|BEGIN CERTIFICATE/);
    console.log(
      `DNS-01 in Kubernetes (name + wildcard): CA asked ${heldMs} ms, Secret written ${issuedMs} ms, served ${servedMs} ms after the Ingress`,
    );
  });

  test("a name in no zone Portico serves: the order fails with that reason as a Warning Event, Pebble is not asked", async () => {
    await apply(env, ingress("outside", ["shop.elsewhere.test"]));
    const e = await waitFor(
      "CertificateOrderFailed on the Ingress outside",
      async () => {
        const e = await eventsFor(env, "CertificateOrderFailed", "Ingress");
        return e.find((x) => x.regarding.name === "outside");
      },
      30_000,
      200,
    );
    assert.equal(e.type, "Warning");
    assert.match(e.note, /_acme-challenge\.shop\.elsewhere\.test is in no DnsZone Portico serves/);
    assert.equal(await getJson(env, "secret", "-n", NS, "outside-tls"), undefined);
    assert.ok(!relay!.asked.some((n) => n.endsWith("elsewhere.test")), "Pebble never looked it up");
  });
});
