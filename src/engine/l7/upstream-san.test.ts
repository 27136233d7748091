// upstream-san.test.ts: BackendTLSPolicy subjectAltNames against a real certificate's SANs (made
// by openssl, read by node:crypto as Node reads a peer's): URI SANs match exactly, hostnames as
// tls.checkServerIdentity does. The Gateway API suite's BackendTLSPolicySANValidation checks both.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { PeerCertificate } from "node:tls";
import { sanMatches } from "./upstream.ts";

function certWith(san: string): PeerCertificate {
  const dir = mkdtempSync(join(tmpdir(), "san-"));
  try {
    execFileSync(
      "openssl",
      [
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-subj",
        "/CN=ignored",
        "-days",
        "1",
        "-addext",
        `subjectAltName=${san}`,
        "-keyout",
        join(dir, "k.pem"),
        "-out",
        join(dir, "c.pem"),
      ],
      { stdio: "ignore" },
    );
    const x = new X509Certificate(readFileSync(join(dir, "c.pem")));
    return { subject: { CN: "ignored" }, subjectaltname: x.subjectAltName } as unknown as PeerCertificate;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const cert = certWith(
  "DNS:abc.example.com,URI:spiffe://abc.example.com/test-identity,DNS:*.other.example.com",
);

test("a URI subjectAltName matches the certificate's URI SAN exactly", () => {
  assert.equal(sanMatches("URI:spiffe://abc.example.com/test-identity", cert), true);
  assert.equal(sanMatches("URI:spiffe://abc.example.com/other-identity", cert), false);
  assert.equal(sanMatches("URI:spiffe://abc.example.com", cert), false);
});

test("a hostname subjectAltName matches DNS SANs, wildcards included, never a URI SAN", () => {
  assert.equal(sanMatches("abc.example.com", cert), true);
  assert.equal(sanMatches("x.other.example.com", cert), true);
  assert.equal(sanMatches("dce.example.com", cert), false);
  assert.equal(sanMatches("URI:abc.example.com", cert), false);
});
