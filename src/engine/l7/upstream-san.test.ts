// upstream-san.test.ts: BackendTLSPolicy subjectAltNames against a real certificate's SANs (made
// by openssl, read by node:crypto as Node reads a peer's): URI SANs match exactly, hostnames as
// tls.checkServerIdentity does. The Gateway API suite's BackendTLSPolicySANValidation checks both.
import { test } from "node:test";
import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import type { PeerCertificate } from "node:tls";
import { selfSigned } from "../../../test/support/certs.ts";
import { sanMatches } from "./upstream.ts";

// What Node hands checkServerIdentity: the peer's subjectaltname string, as X509Certificate reads it.
function certWith(names: string[]): PeerCertificate {
  const x = new X509Certificate(selfSigned(names).certPem);
  return { subject: { CN: names[0] }, subjectaltname: x.subjectAltName } as unknown as PeerCertificate;
}

const cert = certWith([
  "abc.example.com",
  "URI:spiffe://abc.example.com/test-identity",
  "*.other.example.com",
]);

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
