// x509.test.ts: the hand-written DER must be valid for OpenSSL every time, not most of the time.
import assert from "node:assert/strict";
import { test } from "node:test";
import { generateKeyPairSync, X509Certificate } from "node:crypto";
import { signCertificate } from "./x509.ts";

test("every certificate's serial is a minimal positive DER INTEGER (OpenSSL refuses a padded one)", () => {
  // The serial is random: a first byte of 0 followed by one below 0x80 (1 in 256) was a padded
  // INTEGER, "illegal padding" when the link's or the fallback certificate was loaded.
  const { publicKey, privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const now = new Date();
  const later = new Date(now.getTime() + 86_400_000);
  for (let i = 0; i < 3000; i++) {
    const der = signCertificate({
      subject: "t",
      publicKey,
      issuer: { subject: "t", key: privateKey },
      role: "plain",
      notBefore: now,
      notAfter: later,
    });
    let serial = "";
    assert.doesNotThrow(() => (serial = new X509Certificate(der).serialNumber), `certificate ${i}`);
    assert.ok(!serial.startsWith("00"), `serial ${serial}`);
  }
});

test("an IP literal among the names becomes an iPAddress entry (Go checks it for an https://IP URL)", () => {
  const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "prime256v1" });
  const der = signCertificate({
    subject: "t",
    dnsNames: ["localhost", "127.0.0.1", "2001:db8::1"],
    publicKey,
    issuer: { subject: "t", key: privateKey },
    role: "plain",
    notBefore: new Date(Date.now() - 60_000),
    notAfter: new Date(Date.now() + 60_000),
  });
  const cert = new X509Certificate(der);
  assert.equal(cert.subjectAltName, "DNS:localhost, IP Address:127.0.0.1, IP Address:2001:DB8:0:0:0:0:0:1");
  assert.equal(cert.checkIP("127.0.0.1"), "127.0.0.1");
  assert.equal(cert.checkHost("localhost"), "localhost");
});
