// tls-options.test.ts: TLS options and ECDSA + RSA certificates from Gateway listeners and
// Ingresses to the IR, through the file source and the whole pipeline; bad values and unknown
// keys become conditions, never silently dropped.
/* eslint-disable no-restricted-imports -- like golden.test.ts this runs the whole pipeline from manifests. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { assemble, nextState } from "../sources/file/assemble.ts";
import { parseManifests } from "../sources/file/parse.ts";
import { buildSnapshot, type PipelineOutput } from "../controller/pipeline.ts";
import type { Condition } from "../k8s/types.ts";
import { caAndLeaf, selfSigned } from "../../test/support/certs.ts";
import { parseGatewayTlsOptions, parseIngressTlsOptions } from "./tls-options.ts";

function run(text: string): PipelineOutput {
  const set = assemble(new Map([["t.yaml", nextState(undefined, "t", parseManifests("t.yaml", text))]]), []);
  return buildSnapshot(
    set,
    { serveClasslessServices: false, ingressHttpPort: 80, ingressHttpsPort: 443 },
    {},
    1,
  );
}

function secret(name: string, keyType: "ec" | "rsa", ...hosts: string[]): string {
  const c = selfSigned(hosts, keyType);
  const b = (s: string) => Buffer.from(s).toString("base64");
  return `apiVersion: v1
kind: Secret
metadata: { name: ${name}, namespace: default }
type: kubernetes.io/tls
data:
  tls.crt: ${b(c.certPem)}
  tls.key: ${b(c.keyPem)}
---
`;
}

const POOL = `apiVersion: portico.dev/v1alpha1
kind: VipPool
metadata: { name: default }
spec: { addresses: [192.0.2.0/28] }
---
`;

const CLASS = `apiVersion: networking.k8s.io/v1
kind: IngressClass
metadata: { name: portico }
spec: { controller: portico.dev/ingress-controller }
---
`;

// ingressYaml is an Ingress of host with the given spec.tls (YAML flow text) and annotations.
function ingressYaml(name: string, host: string, tls: string, ann: Record<string, string>, ts = ""): string {
  return `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: ${name}
  namespace: default
  creationTimestamp: "${ts}"
  annotations: ${JSON.stringify(ann)}
spec:
  ingressClassName: portico
  tls: ${tls}
  rules:
    - host: ${host}
      http: { paths: [{ path: /, pathType: Prefix, backend: { service: { name: web, port: { number: 80 } } } }] }
---
`;
}

test("parseGatewayTlsOptions: versions, suites, curves; TLS 1.1, unknown suites and unknown portico.dev keys are errors; other vendors' keys are reported", () => {
  const ok = parseGatewayTlsOptions({
    "portico.dev/min-version": "1.3",
    "portico.dev/max-version": "TLSv1.3",
    "portico.dev/cipher-suites": "ECDHE-RSA-AES128-GCM-SHA256, TLS_AES_256_GCM_SHA384",
    "portico.dev/ecdh-curves": "X25519:P-256",
    "portico.dev/prefer-server-ciphers": "false",
  });
  assert.deepEqual(ok.errors, []);
  assert.deepEqual(ok.options, {
    minVersion: "TLSv1.3",
    maxVersion: "TLSv1.3",
    ciphers: "ECDHE-RSA-AES128-GCM-SHA256:TLS_AES_256_GCM_SHA384",
    ecdhCurves: "X25519:P-256",
    preferServerCiphers: false,
  });
  const bad = parseGatewayTlsOptions({
    "portico.dev/min-version": "1.1",
    "portico.dev/cipher-suites": "HIGH:!aNULL",
    "portico.dev/ecdh-curves": "P-999",
    "portico.dev/minversion": "1.2",
    "example.com/tls-foo": "bar",
  });
  assert.equal(bad.options, undefined);
  assert.equal(bad.errors.length, 4, bad.errors.join("\n"));
  assert.match(bad.errors.join("\n"), /RFC 8996/);
  assert.match(bad.errors.join("\n"), /"HIGH"/);
  assert.match(bad.errors.join("\n"), /"P-999"/);
  assert.match(bad.errors.join("\n"), /portico.dev\/minversion: unknown option/);
  assert.deepEqual(bad.ignored, [
    "example.com/tls-foo: not implemented by Portico (only portico.dev/ options are)",
  ]);
  assert.match(
    parseGatewayTlsOptions({ "portico.dev/min-version": "1.3", "portico.dev/max-version": "1.2" }).errors[0]!,
    /above maximum/,
  );
});

test("parseIngressTlsOptions: ssl-protocols gives min and max; Portico's ssl-ciphers wins over ingress-nginx's", () => {
  const a: Record<string, string> = {
    "portico.dev/ssl-protocols": "TLSv1.3 TLSv1.2",
    "nginx.ingress.kubernetes.io/ssl-ciphers": "ECDHE-RSA-AES256-GCM-SHA384",
    "nginx.ingress.kubernetes.io/ssl-prefer-server-ciphers": "on",
  };
  assert.deepEqual(parseIngressTlsOptions((k) => a[k]).options, {
    minVersion: "TLSv1.2",
    maxVersion: "TLSv1.3",
    ciphers: "ECDHE-RSA-AES256-GCM-SHA384",
    preferServerCiphers: true,
  });
  a["portico.dev/ssl-ciphers"] = "ECDHE-ECDSA-AES128-GCM-SHA256";
  assert.equal(parseIngressTlsOptions((k) => a[k]).options?.ciphers, "ECDHE-ECDSA-AES128-GCM-SHA256");
  const bad = parseIngressTlsOptions((k) => ({ "portico.dev/ssl-protocols": "TLSv1 TLSv1.2" })[k]);
  assert.match(bad.errors[0]!, /TLS 1.0, 1.1 and SSL are not offered/);
});

function listenerConds(o: PipelineOutput, listener: string): string[] {
  const s = o.statuses.find((x) => x.kind === "Gateway" && x.name === "gw");
  const l = (s!.status.listeners as { name: string; conditions: Condition[] }[]).find(
    (x) => x.name === listener,
  );
  assert.ok(l, listener);
  return l.conditions.map((c) => `${c.type}=${c.status}/${c.reason}`).sort();
}

test("Gateway: a listener's tls.options and its ECDSA + RSA certificateRefs reach the IR; a bad value refuses the listener; different options on one port are Conflicted", () => {
  const listener = (
    name: string,
    port: number,
    host: string,
    refs: string[],
    options?: Record<string, string>,
  ) =>
    `    - name: ${name}
      port: ${port}
      protocol: HTTPS
      hostname: ${host}
      tls:
        certificateRefs: [${refs.map((r) => `{ name: ${r} }`).join(", ")}]
${options ? `        options: ${JSON.stringify(options)}\n` : ""}`;
  const o = run(`${POOL}apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: { name: portico, generation: 1 }
spec: { controllerName: portico.dev/gateway-controller }
---
${secret("a-ec", "ec", "a.test")}${secret("a-rsa", "rsa", "a.test")}${secret("a-ec2", "ec", "a.test")}apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: { name: gw, namespace: default, generation: 1 }
spec:
  gatewayClassName: portico
  listeners:
${listener("a", 443, "a.test", ["a-ec", "a-rsa", "a-ec2"], { "portico.dev/min-version": "1.3", "example.com/x": "y" })}${listener("b", 443, "b.test", ["a-ec"], { "portico.dev/min-version": "1.2" })}${listener("c", 8443, "c.test", ["a-ec"], { "portico.dev/min-version": "1.1" })}`);
  const l443 = o.snapshot.http.find((l) => l.port === 443);
  assert.deepEqual(l443?.tls?.options, { minVersion: "TLSv1.3" });
  assert.deepEqual(l443?.tls?.alternates, [{ primary: "default/a-ec", certificate: "default/a-rsa" }]);
  assert.ok(o.snapshot.certificates["default/a-rsa"], "the RSA certificate is in the snapshot");
  assert.ok(listenerConds(o, "a").includes("Accepted=True/Accepted"));
  assert.ok(
    listenerConds(o, "b").includes("Conflicted=True/TLSOptionsConflict"),
    listenerConds(o, "b").join(),
  );
  assert.ok(listenerConds(o, "c").includes("Accepted=False/UnsupportedValue"), listenerConds(o, "c").join());
  assert.equal(
    o.snapshot.http.find((l) => l.port === 8443),
    undefined,
    "a refused listener serves nothing",
  );
  const notices = o.translate.notices.join("\n");
  assert.match(notices, /listener a: tls.options example.com\/x: not implemented/);
  assert.match(
    notices,
    /Secret default\/a-ec2 not served: default\/a-ec already gives the listener its ECDSA certificate/,
  );
});

test("Ingress: TLS option annotations set the VIP's HTTPS port; two Secrets of different key types for one host are both served; bad values and differing options are conditions", () => {
  const ingress = (name: string, ts: string, tls: string, ann: Record<string, string>) =>
    ingressYaml(name, "a.test", tls, ann, ts);
  const o = run(
    `${POOL}${CLASS}${secret("a-ec", "ec", "a.test")}${secret("a-rsa", "rsa", "a.test")}${ingress(
      "first",
      "2026-01-01T00:00:00Z",
      "[{ hosts: [a.test], secretName: a-rsa }, { hosts: [a.test], secretName: a-ec }]",
      { "portico.dev/ssl-protocols": "TLSv1.3" },
    )}${ingress("second", "2026-01-02T00:00:00Z", "[{ hosts: [a.test], secretName: a-rsa }]", {
      "nginx.ingress.kubernetes.io/ssl-ciphers": "ECDHE-RSA-AES128-GCM-SHA256",
    })}${ingress("third", "2026-01-03T00:00:00Z", "[]", { "portico.dev/ssl-ciphers": "NOPE-CIPHER" })}`,
  );
  const https = o.snapshot.http.find((l) => l.port === 443);
  assert.deepEqual(https?.tls?.options, { minVersion: "TLSv1.3", maxVersion: "TLSv1.3" });
  assert.deepEqual(https?.tls?.alternates, [{ primary: "default/a-rsa", certificate: "default/a-ec" }]);
  const conds = (name: string) =>
    (o.statuses.find((x) => x.kind === "Ingress" && x.name === name)?.status.conditions as Condition[]).map(
      (c) => `${c.type}=${c.status}/${c.reason}`,
    );
  assert.ok(conds("first").includes("portico.dev/Accepted=True/Accepted"), conds("first").join());
  assert.ok(conds("second").includes("portico.dev/Accepted=True/TLSOptionsConflict"), conds("second").join());
  assert.ok(conds("third").includes("portico.dev/Accepted=False/InvalidTLSOptions"), conds("third").join());
});

test("Ingress auth-tls-*: the CA verifies clients of the Ingress's own hosts; a bad mode, a CA in another namespace or a missing ca.crt keep its hosts off HTTPS", () => {
  const ca = caAndLeaf(["client.test"]);
  const ing = (name: string, host: string, ann: Record<string, string>) =>
    ingressYaml(name, host, `[{ hosts: [${host}], secretName: cert }]`, ann);
  const o = run(`${POOL}${CLASS}apiVersion: v1
kind: Secret
metadata: { name: client-ca, namespace: default }
data: { ca.crt: ${Buffer.from(ca.caPem).toString("base64")} }
---
${secret("cert", "ec", "on.test", "opt.test", "plain.test", "badmode.test", "otherns.test", "noca.test")}${ing(
    "on",
    "on.test",
    {
      "nginx.ingress.kubernetes.io/auth-tls-secret": "default/client-ca",
      "nginx.ingress.kubernetes.io/auth-tls-verify-depth": "2",
    },
  )}${ing("opt", "opt.test", {
    "nginx.ingress.kubernetes.io/auth-tls-secret": "client-ca",
    "nginx.ingress.kubernetes.io/auth-tls-verify-client": "optional",
  })}${ing("plain", "plain.test", {})}${ing("badmode", "badmode.test", {
    "nginx.ingress.kubernetes.io/auth-tls-secret": "client-ca",
    "nginx.ingress.kubernetes.io/auth-tls-verify-client": "sometimes",
  })}${ing("otherns", "otherns.test", { "nginx.ingress.kubernetes.io/auth-tls-secret": "kube-system/client-ca" })}${ing(
    "noca",
    "noca.test",
    { "nginx.ingress.kubernetes.io/auth-tls-secret": "cert" },
  )}`);
  const https = o.snapshot.http.find((l) => l.port === 443)!;
  const modes = Object.fromEntries(
    https.tls!.sni.map((e) => [e.hostname, e.clientValidation?.mode ?? "none"]),
  );
  assert.deepEqual(modes, {
    "on.test": "AllowValidOnly",
    "opt.test": "AllowValidOrNone",
    "plain.test": "none",
  });
  assert.equal(
    https.tls!.sni.find((e) => e.hostname === "on.test")!.clientValidation!.caPem.trim(),
    ca.caPem.trim(),
  );
  const conds = (name: string) =>
    (o.statuses.find((x) => x.kind === "Ingress" && x.name === name)?.status.conditions as Condition[]).map(
      (c) => `${c.type}=${c.status}/${c.reason}`,
    );
  assert.ok(conds("on").includes("portico.dev/Accepted=True/NotImplemented"), conds("on").join());
  assert.ok(conds("badmode").includes("portico.dev/Accepted=False/InvalidAuthTLS"), conds("badmode").join());
  assert.ok(
    conds("otherns").includes("portico.dev/ResolvedRefs=False/RefNotPermitted"),
    conds("otherns").join(),
  );
  assert.ok(
    conds("noca").includes("portico.dev/ResolvedRefs=False/InvalidCACertificateRef"),
    conds("noca").join(),
  );
});

test("the built-in ACME issuer's requests in Kubernetes mode: the Ingress annotation is honoured (no CertificateIssuerUnsupported), the Gateway listener's tls.options key is not a TLS option", () => {
  const o = run(
    `${POOL}${CLASS}${secret("cert", "ec", "acme.test")}${ingressYaml(
      "acme",
      "acme.test",
      `[{ hosts: [acme.test], secretName: cert }]`,
      { "portico.dev/certificate-issuer": "letsencrypt" },
    )}`,
  );
  const conds = o.statuses.find((x) => x.kind === "Ingress" && x.name === "acme")?.status
    .conditions as Condition[];
  assert.equal(
    conds.find((x) => x.reason === "CertificateIssuerUnsupported"),
    undefined,
    JSON.stringify(conds),
  );
  const opts = parseGatewayTlsOptions({ "portico.dev/certificate-issuer": "letsencrypt" });
  assert.deepEqual(opts.errors, []);
  assert.deepEqual(opts.ignored, []);
});
