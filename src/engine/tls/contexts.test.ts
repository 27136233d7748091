import { test } from "node:test";
import assert from "node:assert/strict";
import { contextFor } from "./contexts.ts";
import { defaultCertificate } from "./default-cert.ts";
import { compileTls } from "./terminate.ts";
import { selfSigned } from "../../../test/support/certs.ts";
import { EngineConfigError } from "../contracts.ts";

test("contextFor reuses a context for unchanged content and makes a new one when it changes", () => {
  const a = selfSigned(["a.example.com"]);
  const b = selfSigned(["a.example.com"]);
  const ctxA = contextFor(a);
  assert.equal(contextFor({ ...a }), ctxA, "same PEMs, same context");
  assert.notEqual(contextFor(b), ctxA, "changed Secret, new context");
});

test("compileTls selects exact, then wildcard, then default (configured or generated); rejects bad PEMs with EngineConfigError", () => {
  const certs = {
    "ns/exact": selfSigned(["a.example.com"]),
    "ns/wild": selfSigned(["*.example.com"]),
    "ns/default": selfSigned(["default.test"]),
  };
  const t = compileTls(
    "l:443",
    {
      sni: [
        { hostname: "*.example.com", certificate: "ns/wild" },
        { hostname: "a.example.com", certificate: "ns/exact" },
      ],
      defaultCertificate: "ns/default",
    },
    certs,
  );
  assert.equal(t.select("a.example.com"), contextFor(certs["ns/exact"]));
  assert.equal(t.select("B.example.com"), contextFor(certs["ns/wild"]));
  assert.equal(t.select("other.test"), contextFor(certs["ns/default"]));
  const noDefault = compileTls(
    "l:443",
    { sni: [{ hostname: "a.example.com", certificate: "ns/exact" }] },
    certs,
  );
  // No default configured: the certificate generated at start answers unknown names.
  assert.equal(noDefault.select("other.test"), contextFor(defaultCertificate()));
  assert.throws(
    () =>
      compileTls(
        "l:443",
        { sni: [], defaultCertificate: "ns/bad" },
        { "ns/bad": { certPem: "x", keyPem: "y" } },
      ),
    (e: unknown) => e instanceof EngineConfigError && e.code === "InvalidCertificate",
  );
  assert.throws(
    () => compileTls("l:443", { sni: [], defaultCertificate: "ns/missing" }, {}),
    (e: unknown) => e instanceof EngineConfigError && e.code === "MissingCertificate",
  );
});
