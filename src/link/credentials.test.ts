import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, statSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  createCredentials,
  CredentialError,
  LINK_FILES,
  loadOrCreateCredentials,
  parseSecretData,
  secretData,
} from "./credentials.ts";

function dir(): string {
  return mkdtempSync(join(tmpdir(), "link-cred-"));
}

test("a new directory gets a CA and a server certificate for portico-controller that openssl verifies", () => {
  const d = dir();
  try {
    const c = loadOrCreateCredentials(d);
    assert.equal(c.created.length, 5);
    const out = execFileSync("openssl", [
      "verify",
      "-CAfile",
      join(d, LINK_FILES.ca),
      "-verify_hostname",
      "portico-controller",
      "-purpose",
      "sslserver",
      join(d, LINK_FILES.cert),
    ]).toString();
    assert.match(out, /: OK/);
    const ca = execFileSync("openssl", ["x509", "-in", join(d, LINK_FILES.ca), "-noout", "-text"]).toString();
    assert.match(ca, /CA:TRUE/);
    assert.match(ca, /Certificate Sign/);
    // A name the certificate does not carry fails the same check.
    assert.throws(() =>
      execFileSync(
        "openssl",
        [
          "verify",
          "-CAfile",
          join(d, LINK_FILES.ca),
          "-verify_hostname",
          "evil.example",
          join(d, LINK_FILES.cert),
        ],
        { stdio: "pipe" },
      ),
    );
    assert.match(c.token, /^[A-Za-z0-9_-]{43}$/, "32 random bytes, base64url");
    for (const f of [LINK_FILES.caKey, LINK_FILES.key, LINK_FILES.token])
      assert.equal(statSync(join(d, f)).mode & 0o777, 0o600, `${f} is a secret`);
  } finally {
    rmSync(d, { recursive: true, force: true });
  }
});

test("a second start loads the same credentials; a lost server certificate is signed again by the same CA", () => {
  const d = dir();
  try {
    const first = loadOrCreateCredentials(d);
    const again = loadOrCreateCredentials(d);
    assert.deepEqual(again.created, []);
    assert.equal(again.token, first.token);
    assert.equal(again.caPem, first.caPem);
    assert.equal(again.certPem, first.certPem);
    unlinkSync(join(d, LINK_FILES.cert));
    const resigned = loadOrCreateCredentials(d);
    assert.equal(resigned.caPem, first.caPem, "engines keep their CA file");
    assert.notEqual(resigned.certPem, first.certPem);
    assert.match(
      execFileSync("openssl", [
        "verify",
        "-CAfile",
        join(d, LINK_FILES.ca),
        join(d, LINK_FILES.cert),
      ]).toString(),
      /: OK/,
    );
  } finally {
    rmSync(d, { recursive: true, force: true });
  }
});

test("a damaged key or a short token is refused naming the file and the fix", () => {
  const d = dir();
  try {
    loadOrCreateCredentials(d);
    writeFileSync(join(d, LINK_FILES.token), "short\n");
    assert.throws(
      () => loadOrCreateCredentials(d),
      (e: unknown) =>
        e instanceof CredentialError && /engine-token.*at least 16.*delete the file/.test(e.message),
    );
    unlinkSync(join(d, LINK_FILES.token));
    writeFileSync(join(d, LINK_FILES.caKey), "not a key");
    assert.throws(
      () => loadOrCreateCredentials(d),
      (e: unknown) =>
        e instanceof CredentialError && /engine-ca\.key is not a PEM private key/.test(e.message),
    );
  } finally {
    rmSync(d, { recursive: true, force: true });
  }
});

test("credentials made in memory round-trip through a Secret's data; damage names the key and the fix", () => {
  const c = createCredentials();
  const b64 = (o: Record<string, string>) =>
    Object.fromEntries(Object.entries(o).map(([k, v]) => [k, Buffer.from(v).toString("base64")]));
  const data = b64(secretData(c));
  assert.deepEqual(Object.keys(data).sort(), ["ca.crt", "tls.crt", "tls.key", "token"]);
  assert.deepEqual(parseSecretData(data, "ns/portico-engine-link"), c);
  const where = "ns/portico-engine-link";
  const broken = (over: Record<string, string>) => () => parseSecretData({ ...data, ...b64(over) }, where);
  assert.throws(
    () => parseSecretData({ ...data, token: "" }, where),
    /has no token; delete the Secret ns\/portico-engine-link/,
  );
  assert.throws(broken({ token: "short" }), /key token holds 5 characters/);
  assert.throws(
    broken({ "tls.key": createCredentials().keyPem }),
    /tls.key is not the key of .*tls.crt; delete the Secret/,
  );
  assert.throws(broken({ "ca.crt": createCredentials().caPem }), /tls.crt is not signed by .*ca.crt/);
  assert.throws(broken({ "ca.crt": "garbage" }), CredentialError);
});
