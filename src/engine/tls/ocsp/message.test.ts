// message.test.ts: checkResponse against responses `openssl ocsp` signs offline (a real
// responder's encoding): good and revoked verify; a flipped byte, a stranger's signature, another
// certificate's response and an out-of-date one are each refused with their reason.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { certIdOf, checkResponse, ocspRequest, ocspUrlOf, OcspError } from "./message.ts";

let dir = "";
const ossl = (...args: string[]) => execFileSync("openssl", args, { cwd: dir, stdio: "pipe" });
const x509 = (f: string) => new X509Certificate(readFileSync(join(dir, f)));
const EC = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];

before(() => {
  dir = mkdtempSync(join(tmpdir(), "portico-ocsp-unit-"));
  for (const ca of ["ca", "other"])
    ossl(
      "req",
      "-x509",
      ...EC,
      "-keyout",
      `${ca}.key`,
      "-out",
      `${ca}.pem`,
      "-days",
      "2",
      "-subj",
      `/CN=${ca}`,
    );
  writeFileSync(join(dir, "leaf.ext"), "authorityInfoAccess=OCSP;URI:http://127.0.0.1:9/ocsp\n");
  for (const [name, serial] of [
    ["a", "0a01"],
    ["b", "0a02"],
  ] as const) {
    ossl("req", ...EC, "-keyout", `${name}.key`, "-out", `${name}.csr`, "-subj", `/CN=${name}`);
    ossl(
      "x509",
      "-req",
      "-in",
      `${name}.csr`,
      "-CA",
      "ca.pem",
      "-CAkey",
      "ca.key",
      "-set_serial",
      `0x${serial}`,
      "-days",
      "2",
      "-extfile",
      "leaf.ext",
      "-out",
      `${name}.pem`,
    );
  }
  writeFileSync(
    join(dir, "index.txt"),
    "V\t301231235959Z\t\t0A01\tunknown\t/CN=a\nR\t301231235959Z\t261201000000Z\t0A02\tunknown\t/CN=b\n",
  );
});
after(() => rmSync(dir, { recursive: true, force: true }));

// respond has openssl answer our own request for leaf, signed by signer (the CA by default).
function respond(leaf: string, signer = "ca", extra: string[] = ["-nmin", "10"]): Buffer {
  const id = certIdOf(x509(leaf), x509("ca.pem"));
  writeFileSync(join(dir, "req.der"), ocspRequest(id));
  ossl(
    "ocsp",
    "-index",
    "index.txt",
    "-CA",
    "ca.pem",
    "-rsigner",
    `${signer}.pem`,
    "-rkey",
    `${signer}.key`,
    "-reqin",
    "req.der",
    "-respout",
    "resp.der",
    ...extra,
  );
  return readFileSync(join(dir, "resp.der"));
}

const idOf = (leaf: string) => certIdOf(x509(leaf), x509("ca.pem"));
const reason = (f: () => unknown) => {
  try {
    f();
  } catch (err) {
    if (err instanceof OcspError) return err.reason;
    throw err;
  }
  return "accepted";
};

test("ocspUrlOf reads the AIA responder; our request is one openssl answers", () => {
  assert.equal(ocspUrlOf(x509("a.pem")), "http://127.0.0.1:9/ocsp");
  assert.equal(ocspUrlOf(x509("ca.pem")), undefined);
  const now = new Date();
  const a = checkResponse(respond("a.pem"), idOf("a.pem"), x509("ca.pem"), now);
  assert.equal(a.status, "good");
  assert.ok(a.thisUpdate <= new Date(now.getTime() + 1000) && a.nextUpdate > now);
  assert.equal(checkResponse(respond("b.pem"), idOf("b.pem"), x509("ca.pem"), now).status, "revoked");
});

test("checkResponse refuses what must not be stapled", () => {
  const now = new Date();
  const good = respond("a.pem");
  // Without the signer's certificate the response ends in its signature: flip its last byte.
  const flipped = respond("a.pem", "ca", ["-nmin", "10", "-resp_no_certs"]);
  flipped[flipped.length - 1]! ^= 0x01;
  assert.equal(
    reason(() => checkResponse(flipped, idOf("a.pem"), x509("ca.pem"), now)),
    "signature",
  );
  // Signed by a key the issuer never delegated to.
  assert.equal(
    reason(() => checkResponse(respond("a.pem", "other"), idOf("a.pem"), x509("ca.pem"), now)),
    "signature",
  );
  // Another certificate's response.
  assert.equal(
    reason(() => checkResponse(good, idOf("b.pem"), x509("ca.pem"), now)),
    "mismatch",
  );
  // Past nextUpdate (ten minutes on).
  const later = new Date(now.getTime() + 11 * 60_000);
  assert.equal(
    reason(() => checkResponse(good, idOf("a.pem"), x509("ca.pem"), later)),
    "stale",
  );
  assert.equal(
    reason(() => checkResponse(Buffer.from("not DER"), idOf("a.pem"), x509("ca.pem"), now)),
    "invalid",
  );
});
