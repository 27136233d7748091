// gateway-frontend-tls.test.ts: Gateway spec.tls.frontend, including the expectations of the
// upstream conformance test GatewayFrontendInvalidDefaultClientCertificateValidation (.go file)
// on its ported manifests (testdata/gw-conf-gateway-invalid-default-frontend-...).
/* eslint-disable no-restricted-imports -- like golden.test.ts this runs the whole pipeline from files. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { assemble, nextState } from "../sources/file/assemble.ts";
import { parseManifests } from "../sources/file/parse.ts";
import { buildSnapshot, type PipelineOutput } from "../controller/pipeline.ts";
import type { Condition } from "../k8s/types.ts";
import { frontendValidationFor } from "./gateway-frontend-tls.ts";

/** run translates one testdata case through the file source and the pipeline. */
function run(file: string): PipelineOutput {
  const text = readFileSync(join(import.meta.dirname, "testdata", file), "utf8");
  const set = assemble(new Map([[file, nextState(undefined, "t", parseManifests(file, text))]]), []);
  const opts = { serveClasslessServices: false, ingressHttpPort: 80, ingressHttpsPort: 443 };
  return buildSnapshot(set, opts, {}, 1);
}

/** listenerConds returns "Type=Status/Reason" of a Gateway listener's conditions. */
function listenerConds(o: PipelineOutput, gw: string, listener: string): string[] {
  const s = o.statuses.find((x) => x.kind === "Gateway" && x.name === gw);
  assert.ok(s, `Gateway ${gw} has no status`);
  const l = (s.status.listeners as { name: string; conditions: Condition[] }[]).find(
    (x) => x.name === listener,
  );
  assert.ok(l, `listener ${listener}`);
  return l.conditions.map((c) => `${c.type}=${c.status}/${c.reason}`).sort();
}

test("frontendValidationFor: a perPort entry replaces the default for its port only", () => {
  const v = (name: string) => ({ caCertificateRefs: [{ group: "", kind: "ConfigMap", name }] });
  const frontend = {
    default: { validation: v("d") },
    perPort: [{ port: 8443, tls: { validation: v("p") } }],
  };
  assert.equal(frontendValidationFor(frontend, 443)?.caCertificateRefs[0]!.name, "d");
  assert.equal(frontendValidationFor(frontend, 8443)?.caCertificateRefs[0]!.name, "p");
  assert.equal(frontendValidationFor({ default: {}, perPort: [{ port: 443, tls: {} }] }, 443), undefined);
  assert.equal(frontendValidationFor(undefined, 443), undefined);
});

test("conformance: GatewayFrontendInvalidDefaultClientCertificateValidation", () => {
  const o = run("gw-conf-gateway-invalid-default-frontend-client-certificate-validation.in.yaml");
  const gw = "invalid-default-client-validation-config";
  // The HTTP listener is untouched (perPort 80 applies to HTTPS listeners only) and serves.
  const http = listenerConds(o, gw, "http");
  for (const c of ["Accepted=True/Accepted", "Programmed=True/Programmed", "ResolvedRefs=True/ResolvedRefs"])
    assert.ok(http.includes(c), `http: ${c} in ${http.join(", ")}`);
  const https = listenerConds(o, gw, "https");
  for (const c of ["Accepted=False/NoValidCACertificate", "ResolvedRefs=False/InvalidCACertificateRef"])
    assert.ok(https.includes(c), `https: ${c} in ${https.join(", ")}`);
  assert.ok(
    https.some((c) => c.startsWith("Programmed=False/")),
    https.join(", "),
  );
  // Port 443 is not served at all; port 80 is, without client validation.
  assert.deepEqual(
    o.snapshot.http.map((l) => [l.port, l.tls?.clientValidation]),
    [[80, undefined]],
  );
});

test("spec.tls.frontend: modes reach the IR per port; RefNotPermitted and unknown kinds refuse the listener", () => {
  const o = run("gw-frontend-client-validation.in.yaml");
  assert.deepEqual(
    o.snapshot.http.map((l) => [l.port, l.tls?.clientValidation?.mode]),
    [
      [443, "AllowValidOnly"],
      [8443, "AllowInsecureFallback"],
      [80, undefined],
    ],
  );
  const bad = listenerConds(o, "mtls", "https-9443");
  assert.ok(bad.includes("Accepted=False/NoValidCACertificate"), bad.join(", "));
  assert.ok(bad.includes("ResolvedRefs=False/RefNotPermitted"), bad.join(", "));
  assert.ok(
    o.translate.notices.every((n) => !n.includes("spec.tls")),
    "no 'ignored' notice any more",
  );
});
