// x509.test.ts: certificates written by hand must be ones OpenSSL loads, every time — the serial is
// random, so one run checks many.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createSecureContext } from "node:tls";
import { selfSigned } from "./default-cert.ts";

test("1,500 generated certificates all load in OpenSSL (a random serial never breaks DER)", () => {
  // Before the serial's first byte was kept at 0x01-0x7f, 1 in 256 failed with "illegal padding":
  // 1,500 draws miss that with probability 0.3 %.
  const now = new Date();
  for (let i = 0; i < 1500; i++) {
    const c = selfSigned(now);
    assert.doesNotThrow(() => createSecureContext({ cert: c.certPem, key: c.keyPem }), `certificate ${i}`);
  }
});
