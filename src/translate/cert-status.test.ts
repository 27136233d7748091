// cert-status.test.ts: every TLS host is served with a valid certificate or the default one, with
// a distinct reason for each way a certificate can be wrong (issue 18 item 3). Certificates are
// real (openssl); time is translate's injected clock (TranslateOptions.now), so nothing waits.
import { test } from "node:test";
import assert from "node:assert/strict";
import { buildResourceSet } from "../k8s/resource-set.ts";
import type { AnyObject, Condition } from "../k8s/types.ts";
import type { Certificate } from "../model/ir.ts";
import { caAndLeaf, cnOnly, selfSigned } from "../../test/support/certs.ts";
import { nextCertificateChange } from "./certificates.ts";
import { CERTIFICATES_VALID } from "./ingress-tls.ts";
import { translate } from "./translate.ts";
import type { TranslateResult } from "./types.ts";

const b64 = (s: string) => Buffer.from(s).toString("base64");
const DAY = 86_400_000;
const at = (offsetMs: number) => new Date(Date.now() + offsetMs).toISOString();

/** tlsSecret is a kubernetes.io/tls Secret holding c (type overridable). */
function tlsSecret(name: string, c: Certificate, type = "kubernetes.io/tls"): AnyObject {
  return {
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name, namespace: "d" },
    type,
    data: { "tls.crt": b64(c.certPem), "tls.key": b64(c.keyPem) },
  };
}

const ingressObjects = (tls: { hosts: string[]; secretName: string }[]): AnyObject[] => [
  {
    apiVersion: "networking.k8s.io/v1",
    kind: "IngressClass",
    metadata: { name: "portico" },
    spec: { controller: "portico.dev/ingress-controller" },
  },
  {
    apiVersion: "networking.k8s.io/v1",
    kind: "Ingress",
    metadata: { name: "web", namespace: "d" },
    spec: {
      ingressClassName: "portico",
      rules: tls
        .flatMap((t) => t.hosts)
        .map((host) => ({
          host,
          http: {
            paths: [
              { path: "/", pathType: "Prefix", backend: { service: { name: "s", port: { number: 80 } } } },
            ],
          },
        })),
      tls,
    },
  },
];

/** run translates objects with the clock at now. */
function run(objects: AnyObject[], now = at(0)): TranslateResult {
  const set = buildResourceSet(objects, new Map(), []);
  return translate(set, { serveClasslessServices: true, ingressHttpPort: 80, ingressHttpsPort: 443, now });
}

/** certCondition is the Ingress's portico.dev/CertificatesValid condition. */
function certCondition(out: TranslateResult): Condition {
  const s = out.statuses.find((x) => x.kind === "Ingress" && x.name === "web");
  const c = s?.status.conditions?.find((x) => x.type === CERTIFICATES_VALID);
  assert.ok(c, `no ${CERTIFICATES_VALID} in ${JSON.stringify(s)}`);
  return c;
}

/** https is the HTTPS listener of the Ingress VIP. */
const https = (out: TranslateResult) => out.http.find((l) => l.port === 443);

/**
 * expectFallback asserts a.example is reported with reason and served on HTTPS with the default
 * certificate (no SNI entry, not the broken one), while good.example keeps its own.
 */
function expectFallback(
  secret: AnyObject,
  reason: string,
  message: RegExp,
  now?: string,
  withGood = true,
): void {
  const good = tlsSecret("good", selfSigned(["good.example"], "ec", 30));
  const objects = [
    ...ingressObjects([
      { hosts: ["a.example"], secretName: secret.metadata.name },
      ...(withGood ? [{ hosts: ["good.example"], secretName: "good" }] : []),
    ]),
    ...(withGood ? [good] : []),
    ...(secret.kind === "Secret" ? [secret] : []),
  ];
  const out = run(objects, now);
  const c = certCondition(out);
  assert.equal(c.status, "False");
  assert.equal(c.reason, reason);
  assert.match(c.message, message);
  assert.match(c.message, /a\.example served with the default certificate meanwhile/);
  const l = https(out);
  assert.ok(l, "the HTTPS listener stays, so a.example gets the default certificate");
  assert.deepEqual(l.tls?.sni, withGood ? [{ hostname: "good.example", certificate: "d/good" }] : []);
  assert.equal(l.tls?.defaultCertificate, undefined);
  assert.ok(
    l.virtualHosts.some((v) => v.hostname === "a.example"),
    "a.example is still routed on HTTPS",
  );
  assert.ok(!Object.keys(out.certificates).includes(`d/${secret.metadata.name}`), "never the broken one");
  const use = out.certificateUses.find((u) => u.hosts.includes("a.example"));
  assert.equal(use?.reason, reason);
  assert.equal(use?.state, reason === "CertificateExpired" ? "Expired" : "Invalid");
}

test("cert-status: Secret missing", () => {
  expectFallback(
    { apiVersion: "v1", kind: "None", metadata: { name: "gone" } },
    "SecretNotFound",
    /Secret d\/gone not found/,
  );
});

test("cert-status: Secret that is not a TLS Secret", () => {
  const s = tlsSecret("opaque", selfSigned(["a.example"]), "Opaque");
  expectFallback(s, "InvalidSecretType", /has type "Opaque", want kubernetes.io\/tls/);
});

test("cert-status: PEM that does not parse", () => {
  const c = selfSigned(["a.example"]);
  const broken = { ...c, certPem: c.certPem.replace(/\n[A-Za-z0-9+/]{20}/, "\n!!!!") };
  expectFallback(tlsSecret("broken", broken), "InvalidCertificate", /tls\.crt/);
});

test("cert-status: expired, by the injected clock", () => {
  // selfSigned is valid two days from now: ten days on, it has expired.
  expectFallback(
    tlsSecret("old", selfSigned(["a.example"])),
    "CertificateExpired",
    /expired at .*; renew it/,
    at(10 * DAY),
  );
});

test("cert-status: not yet valid, by the injected clock", () => {
  expectFallback(
    tlsSecret("early", selfSigned(["a.example"])),
    "CertificateNotYetValid",
    /not valid before/,
    at(-DAY),
    false, // every certificate made now is not yet valid yesterday
  );
});

test("cert-status: not matching the host names what it is for", () => {
  expectFallback(
    tlsSecret("other", selfSigned(["b.example"])),
    "CertificateHostMismatch",
    /the certificate is for b\.example, not a\.example/,
  );
});

test("cert-status: private key not matching the certificate", () => {
  const mixed = { certPem: selfSigned(["a.example"]).certPem, keyPem: selfSigned(["a.example"]).keyPem };
  expectFallback(tlsSecret("mixed", mixed), "KeyMismatch", /tls\.key does not match/);
});

test("cert-status: chain with the issuer first is ChainOrder, leaf first is served", () => {
  const { caPem, leaf } = caAndLeaf(["a.example"]);
  expectFallback(
    tlsSecret("reversed", { certPem: caPem + leaf.certPem, keyPem: leaf.keyPem }),
    "ChainOrder",
    /server certificate at position 2; put it first/,
  );
  const out = run([
    ...ingressObjects([{ hosts: ["a.example"], secretName: "chain" }]),
    tlsSecret("chain", { certPem: leaf.certPem + caPem, keyPem: leaf.keyPem }),
  ]);
  assert.equal(certCondition(out).status, "True");
  assert.deepEqual(https(out)?.tls?.sni, [{ hostname: "a.example", certificate: "d/chain" }]);
});

test("cert-status: a chain whose second certificate did not issue the first is ChainOrder", () => {
  const { leaf } = caAndLeaf(["a.example"]);
  const stranger = selfSigned(["ca.example"]).certPem;
  expectFallback(
    tlsSecret("unrelated", { certPem: leaf.certPem + stranger, keyPem: leaf.keyPem }),
    "ChainOrder",
    /certificate 2 did not issue certificate 1/,
  );
});

test("cert-status: host matching follows RFC 6125 (SAN wildcards one label; CN only without SAN)", () => {
  const wild = tlsSecret("wild", selfSigned(["*.example.com"]));
  const ok = run([
    ...ingressObjects([{ hosts: ["a.example.com", "*.example.com"], secretName: "wild" }]),
    wild,
  ]);
  assert.equal(certCondition(ok).status, "True");
  const deep = run([...ingressObjects([{ hosts: ["x.a.example.com"], secretName: "wild" }]), wild]);
  assert.equal(certCondition(deep).reason, "CertificateHostMismatch");
  // A wildcard host served by a certificate for some names under it is not a mismatch.
  const some = tlsSecret("some", selfSigned(["a.example.com", "b.example.com"]));
  const part = run([...ingressObjects([{ hosts: ["*.example.com"], secretName: "some" }]), some]);
  assert.equal(certCondition(part).status, "True");
  const none = run([...ingressObjects([{ hosts: ["*.example.org"], secretName: "some" }]), some]);
  assert.equal(certCondition(none).reason, "CertificateHostMismatch");
  // With a SAN, the CN is not a name: CN=cn.example, SAN=san.example does not cover cn.example.
  const both = tlsSecret("both", selfSigned(["cn.example", "san.example"]));
  assert.equal(
    certCondition(run([...ingressObjects([{ hosts: ["san.example"], secretName: "both" }]), both])).status,
    "True",
  );
  const cn = tlsSecret("cn", cnOnly("cn.example"));
  assert.equal(
    certCondition(run([...ingressObjects([{ hosts: ["cn.example"], secretName: "cn" }]), cn])).status,
    "True",
  );
  assert.equal(
    certCondition(run([...ingressObjects([{ hosts: ["other.example"], secretName: "cn" }]), cn])).reason,
    "CertificateHostMismatch",
  );
});

test("cert-status: within 14 days of expiry is served with a warning and state Expiring", () => {
  const out = run(
    [
      ...ingressObjects([{ hosts: ["a.example"], secretName: "soon" }]),
      tlsSecret("soon", selfSigned(["a.example"])),
    ],
    at(0),
  );
  const c = certCondition(out);
  assert.equal(c.status, "True");
  assert.equal(c.reason, "CertificateExpiring");
  assert.match(c.message, /expires at .* \(1 days left\); renew it/);
  assert.deepEqual(https(out)?.tls?.sni, [{ hostname: "a.example", certificate: "d/soon" }]);
  const use = out.certificateUses[0]!;
  assert.equal(use.state, "Expiring");
  assert.equal(use.issuer, "a.example");
  assert.equal(use.daysLeft, 1);
});

test("cert-status: a Gateway listener with an expired certificate is ResolvedRefs=False InvalidCertificateRef, programmed with the default", () => {
  const listener = (n: string) => ({
    name: n,
    port: 443,
    protocol: "HTTPS",
    hostname: `${n}.example`,
    tls: { certificateRefs: [{ name: n }] },
  });
  const objects: AnyObject[] = [
    {
      apiVersion: "gateway.networking.k8s.io/v1",
      kind: "GatewayClass",
      metadata: { name: "portico" },
      spec: { controllerName: "portico.dev/gateway-controller" },
    },
    {
      apiVersion: "gateway.networking.k8s.io/v1",
      kind: "Gateway",
      metadata: { name: "gw", namespace: "d" },
      spec: { gatewayClassName: "portico", listeners: [listener("a"), listener("good")] },
    },
    tlsSecret("a", selfSigned(["a.example"], "ec", 2)),
    tlsSecret("good", selfSigned(["good.example"], "ec", 30)),
  ];
  // Ten days on, a's two-day certificate has expired and good's thirty-day one has not.
  const out = run(objects, at(10 * DAY));
  const gw = out.statuses.find((s) => s.kind === "Gateway" && s.name === "gw");
  const listeners = gw?.status.listeners as { name: string; conditions: Condition[] }[];
  const cond = (l: string, t: string) =>
    listeners.find((x) => x.name === l)!.conditions.find((c) => c.type === t)!;
  assert.equal(cond("a", "ResolvedRefs").status, "False");
  assert.equal(cond("a", "ResolvedRefs").reason, "InvalidCertificateRef");
  assert.match(
    cond("a", "ResolvedRefs").message,
    /Secret d\/a: certificate expired at .*; renew it; served with the default certificate meanwhile/,
  );
  assert.equal(cond("a", "Programmed").status, "True");
  assert.equal(cond("good", "ResolvedRefs").status, "True");
  const l = out.http.find((x) => x.port === 443);
  assert.deepEqual(l?.tls?.sni, [{ hostname: "good.example", certificate: "d/good" }]);
  assert.ok(!("d/a" in out.certificates));
  const states = out.certificateUses.map((u) => `${u.secret} ${u.listener} ${u.state}`).sort();
  assert.deepEqual(states, ["d/a a Expired", "d/good good OK"]);
});

test("cert-status: nextCertificateChange is the next notBefore, day of the last 14, or notAfter", () => {
  const end = Date.parse("2027-01-31T00:00:00Z");
  const use = {
    secret: "d/a",
    object: "Ingress/d/web",
    hosts: ["a.example"],
    state: "OK" as const,
    notBefore: "2027-01-01T00:00:00.000Z",
    notAfter: new Date(end).toISOString(),
  };
  assert.equal(
    nextCertificateChange([use], Date.parse("2026-12-01T00:00:00Z")),
    Date.parse(use.notBefore) + 1,
  );
  assert.equal(nextCertificateChange([use], Date.parse("2027-01-02T00:00:00Z")), end - 14 * DAY + 1);
  assert.equal(nextCertificateChange([use], end - 3 * DAY + 5), end - 2 * DAY + 1);
  assert.equal(nextCertificateChange([use], end - 1000), end + 1);
  assert.equal(nextCertificateChange([use], end + 1), undefined);
});
