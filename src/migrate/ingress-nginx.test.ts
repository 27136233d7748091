// ingress-nginx.test.ts: `portico migrate ingress-nginx` — classes, the legacy class annotation,
// the annotation review against a registry (a test registry, so these rows do not change as the
// real one fills), and the controller ConfigMap's keys.
import { test } from "node:test";
import assert from "node:assert/strict";
import type { KnownAnnotation } from "../translate/nginx/registry.ts";
import { migrateIngressNginx } from "./ingress-nginx.ts";
import { byKind, convert } from "./testing.ts";

const registry: KnownAnnotation[] = [
  { name: "nginx.ingress.kubernetes.io/rewrite-target", status: "implemented", note: "rewrites" },
  { name: "nginx.ingress.kubernetes.io/proxy-body-size", status: "implemented", note: "413 above" },
  { name: "nginx.ingress.kubernetes.io/proxy-buffering", status: "accepted", note: "Portico streams" },
  {
    name: "nginx.ingress.kubernetes.io/configuration-snippet",
    status: "refused",
    access: true,
    note: "snippets are refused",
  },
  { name: "nginx.ingress.kubernetes.io/mirror-uri", status: "unimplemented", note: "not yet" },
];
const run = (yaml: string) => convert(yaml, (ws, r) => migrateIngressNginx(ws, r, { registry }));

const cls = `apiVersion: networking.k8s.io/v1
kind: IngressClass
metadata:
  name: nginx
  annotations: { ingressclass.kubernetes.io/is-default-class: "true" }
spec:
  controller: k8s.io/ingress-nginx
  parameters: { apiGroup: k8s.example.com, kind: IngressParameters, name: p }
`;
const ing = (name: string, meta: string, spec = "") => `---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: ${name}
  namespace: app
${meta}
spec:
${spec}  rules:
    - host: ${name}.example.test
      http: { paths: [{ path: /, pathType: Prefix, backend: { service: { name: web, port: { number: 80 } } } }] }
`;
const meta = (o: Record<string, unknown>) =>
  o.metadata as { name: string; annotations?: Record<string, string> };
const spec = (o: Record<string, unknown>) => o.spec as Record<string, unknown>;

test("IngressClass: ingress-nginx's controller becomes Portico's; parameters are reported", () => {
  const c = run(cls);
  const [k] = byKind(c, "IngressClass");
  assert.equal(spec(k!).controller, "portico.dev/ingress-controller");
  assert.equal(spec(k!).parameters, undefined);
  assert.equal(meta(k!).annotations?.["ingressclass.kubernetes.io/is-default-class"], "true");
  assert.ok(c.findings.some((f) => f.field === "spec.parameters" && f.severity === "lost"));
});

test("Ingress: the legacy class annotation becomes spec.ingressClassName (first in spec); others' Ingresses are untouched", () => {
  const text =
    cls +
    ing("a", "  annotations:\n    kubernetes.io/ingress.class: nginx # old style") +
    ing("b", "", "  ingressClassName: traefik\n") +
    ing("c", ""); // no class: the default class, nginx's
  const c = run(text);
  const [a, b] = byKind(c, "Ingress");
  assert.equal(meta(a!).annotations, undefined);
  assert.deepEqual(Object.keys(spec(a!))[0], "ingressClassName");
  assert.equal(spec(a!).ingressClassName, "nginx");
  assert.equal(spec(b!).ingressClassName, "traefik");
  // Ingress b's document is written back byte for byte.
  const b0 = text.indexOf("name: b");
  const after = c.files[0]!.after!;
  assert.ok(after.includes(text.slice(b0 - 60, b0 + 200)), "an untouched document keeps its text");
});

test("Ingress annotations: each registry status is reported as it is", () => {
  const c = run(
    cls +
      ing(
        "a",
        `  annotations:
    nginx.ingress.kubernetes.io/rewrite-target: /$1
    nginx.ingress.kubernetes.io/proxy-buffering: "on"
    nginx.ingress.kubernetes.io/configuration-snippet: "more_set_headers 'X: y';"
    nginx.ingress.kubernetes.io/mirror-uri: /m
    nginx.ingress.kubernetes.io/made-up: x`,
        "  ingressClassName: nginx\n",
      ),
  );
  const of = (key: string) =>
    c.findings.filter((f) => f.field === `metadata.annotations.nginx.ingress.kubernetes.io/${key}`);
  assert.deepEqual(of("rewrite-target"), [], "implemented: nothing to say");
  assert.equal(of("proxy-buffering")[0]?.severity, "carried");
  assert.match(
    of("configuration-snippet")[0]!.message,
    /refused: snippets are refused — the routes it guards answer 403/,
  );
  assert.match(of("mirror-uri")[0]!.message, /^unimplemented: not yet$/);
  assert.match(of("made-up")[0]!.message, /not known to Portico/);
  assert.equal(of("made-up")[0]!.line, 20, "the line of the annotation itself");
  // Every annotation is kept: the unhonoured ones keep failing closed and being reported on the Ingress.
  assert.equal(Object.keys(meta(byKind(c, "Ingress")[0]!).annotations!).length, 5);
});

const configMap = (data: string) => `---
apiVersion: v1
kind: ConfigMap
metadata: { name: ingress-nginx-controller, namespace: ingress-nginx }
data:
${data}
`;
const tls = "  tls: [{ hosts: [t.example.test], secretName: t }]\n  ingressClassName: nginx\n";

test("ConfigMap: keys become annotations on the migrated Ingresses, or are reported", () => {
  const c = run(
    cls +
      ing("plain", "", "  ingressClassName: nginx\n") +
      ing("secure", "  annotations:\n    nginx.ingress.kubernetes.io/proxy-body-size: 1m", tls) +
      configMap(`  proxy-body-size: 8m
  proxy-read-timeout: "20"
  ssl-protocols: TLSv1 TLSv1.2 TLSv1.3
  ssl-ciphers: ECDHE-RSA-AES128-GCM-SHA256
  ssl-redirect: "false"
  hsts: "true"
  allow-snippet-annotations: "true"
  allow-backend-server-header: "true"`),
  );
  const [plain, secure] = byKind(c, "Ingress").map((i) => meta(i).annotations ?? {});
  assert.equal(plain!["nginx.ingress.kubernetes.io/proxy-body-size"], "8m");
  assert.equal(
    secure!["nginx.ingress.kubernetes.io/proxy-body-size"],
    "1m",
    "an Ingress's own annotation wins",
  );
  assert.equal(
    plain!["nginx.ingress.kubernetes.io/proxy-read-timeout"],
    "20",
    "copied even while unimplemented",
  );
  assert.equal(plain!["portico.dev/ssl-protocols"], undefined, "TLS settings go to Ingresses with TLS only");
  assert.equal(secure!["portico.dev/ssl-protocols"], "TLSv1.2 TLSv1.3");
  assert.equal(secure!["portico.dev/ssl-ciphers"], "ECDHE-RSA-AES128-GCM-SHA256");
  assert.equal(
    secure!["nginx.ingress.kubernetes.io/ssl-redirect"],
    "false",
    "the ConfigMap's ssl-redirect, made explicit",
  );
  assert.equal(plain!["nginx.ingress.kubernetes.io/ssl-redirect"], undefined);
  const cm = (key: string) => c.findings.filter((f) => f.field === `data.${key}`);
  assert.equal(cm("proxy-body-size")[0]!.severity, "carried");
  assert.equal(cm("proxy-read-timeout")[0]!.severity, "lost");
  assert.match(
    cm("ssl-protocols")
      .map((f) => f.message)
      .join("\n"),
    /TLSv1 not carried: Portico refuses TLS below 1\.2/,
  );
  assert.match(cm("hsts")[0]!.message, /Strict-Transport-Security/);
  assert.match(cm("allow-snippet-annotations")[0]!.message, /refuses snippet annotations by design/);
  assert.match(cm("allow-backend-server-header")[0]!.message, /no Portico equivalent/);
});

test("an IngressClass the Ingresses name but the input lacks is written as a new file", () => {
  const c = run(ing("a", "  annotations:\n    kubernetes.io/ingress.class: nginx"));
  const added = c.files.find((f) => f.name === "ingressclass-nginx.yaml");
  assert.ok(added?.after);
  assert.equal(added.before, undefined);
  assert.match(added.after, /controller: portico\.dev\/ingress-controller/);
});
