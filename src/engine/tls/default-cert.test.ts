import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import tls from "node:tls";
import { DEFAULT_CERT_NAME, defaultCertificate, selfSigned } from "./default-cert.ts";

test("the generated default certificate is a valid self-signed X.509 v3 that OpenSSL verifies", () => {
  const c = selfSigned(new Date("2026-12-06T00:00:00Z"));
  const dir = mkdtempSync(join(tmpdir(), "default-cert-"));
  const file = join(dir, "c.pem");
  writeFileSync(file, c.certPem);
  const text = execFileSync("openssl", ["x509", "-in", file, "-noout", "-text"]).toString();
  assert.match(text, /Version: 3/);
  assert.match(text, /Subject: CN ?= ?Portico Default Certificate/);
  assert.match(text, new RegExp(`DNS:${DEFAULT_CERT_NAME.replace(".", "\\.")}`));
  assert.match(text, /Not Before: Dec {2}5 00:00:00 2026 GMT/);
  assert.match(text, /Not After : Dec {2}3 00:00:00 2036 GMT/);
  // Its own signature verifies (it is its own issuer).
  assert.match(execFileSync("openssl", ["verify", "-CAfile", file, file]).toString(), /: OK/);
  assert.doesNotThrow(() => tls.createSecureContext({ cert: c.certPem, key: c.keyPem }));
  assert.equal(defaultCertificate(), defaultCertificate(), "made once per process");
});
