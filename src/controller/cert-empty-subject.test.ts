// cert-empty-subject.test.ts: a certificate with an empty subject and the name only in its SANs —
// what cert-manager issues for an Ingress (ingress-shim sets dnsNames, no commonName) — is served.
// node:crypto gives such a certificate's subject as undefined; translation used to throw on it,
// which stopped every update of the controller.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildResourceSet } from "../k8s/resource-set.ts";
import { translate } from "../translate/translate.ts";
import { certLine } from "./explain/common.ts";

test("translate and explain: an Ingress TLS Secret whose certificate has an empty subject is served and named by its SANs", () => {
  const dir = mkdtempSync(join(tmpdir(), "portico-empty-subject-"));
  const [crtFile, keyFile] = [join(dir, "tls.crt"), join(dir, "tls.key")];
  execFileSync(
    "openssl",
    [
      ...["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "1"],
      ...["-subj", "/", "-addext", "subjectAltName=DNS:a.example", "-keyout", keyFile, "-out", crtFile],
    ],
    { stdio: "ignore" },
  );
  const [crt, key] = [readFileSync(crtFile, "utf8"), readFileSync(keyFile, "utf8")];
  rmSync(dir, { recursive: true, force: true });
  assert.match(certLine(crt), /^certificate with an empty subject \(DNS:a\.example\), expires /);
  {
    const set = buildResourceSet(
      [
        {
          apiVersion: "networking.k8s.io/v1",
          kind: "IngressClass",
          metadata: { name: "portico" },
          spec: { controller: "portico.dev/ingress-controller" },
        },
        {
          apiVersion: "v1",
          kind: "Secret",
          metadata: { name: "a-tls", namespace: "d" },
          type: "kubernetes.io/tls",
          data: {
            "tls.crt": Buffer.from(crt).toString("base64"),
            "tls.key": Buffer.from(key).toString("base64"),
          },
        },
        {
          apiVersion: "networking.k8s.io/v1",
          kind: "Ingress",
          metadata: { name: "a", namespace: "d" },
          spec: {
            ingressClassName: "portico",
            tls: [{ hosts: ["a.example"], secretName: "a-tls" }],
            rules: [{ host: "a.example" }],
          },
        },
      ],
      new Map(),
      [],
    );
    const out = translate(set, { serveClasslessServices: false, ingressHttpPort: 80, ingressHttpsPort: 443 });
    assert.ok(
      out.http.some((l) => l.port === 443 && l.tls),
      "an HTTPS listener with the certificate",
    );
    assert.ok(
      out.notices.some((n) =>
        n.includes("Secret/d/a-tls: certificate with an empty subject (DNS:a.example)"),
      ),
    );
  }
});
