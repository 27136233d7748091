// credentials.test.ts: the webhook's serving files are checked at start, the error naming both files.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { issue } from "../../engine/tls/x509.ts";
import { AdmissionCredentialError, readPair } from "./credentials.ts";

test("readPair: a matching pair is read; a mismatched or non-PEM one names both files and what to give", () => {
  const dir = mkdtempSync(join(tmpdir(), "portico-adm-cred-"));
  try {
    const a = issue({ subject: "a", role: "server", dnsNames: ["a"], now: new Date(), days: 1 });
    const b = issue({ subject: "b", role: "server", dnsNames: ["b"], now: new Date(), days: 1 });
    const f = (name: string, text: string) => (writeFileSync(join(dir, name), text), join(dir, name));
    const cert = f("tls.crt", a.certPem);
    assert.equal(readPair(cert, f("tls.key", a.keyPem)).certPem, a.certPem);
    for (const [c, k] of [
      [cert, f("other.key", b.keyPem)],
      [f("junk.crt", "not a certificate\n"), f("a.key", a.keyPem)],
    ] as const)
      assert.throws(
        () => readPair(c, k),
        (e: Error) =>
          e instanceof AdmissionCredentialError &&
          e.message.includes(`--admission-cert ${c} and --admission-key ${k}`) &&
          /give tls\.crt and tls\.key of the same kubernetes\.io\/tls Secret$/.test(e.message),
      );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
