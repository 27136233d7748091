// certs.ts: test helper that makes self-signed certificates with the openssl CLI, for every test
// that needs one (engine, translator goldens, e2e, kube), so there is one recipe to keep right.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Certificate } from "../../src/model/ir.ts";

/**
 * selfSigned returns a fresh self-signed certificate for names (first is the CN): EC P-256 unless
 * keyType says RSA 2048, valid `days` from now. A name with a SAN type prefix ("URI:spiffe://…",
 * "IP:…") is used as it is; any other is a DNS name.
 */
export function selfSigned(names: string[], keyType: "ec" | "rsa" = "ec", days = 2): Certificate {
  const newkey =
    keyType === "ec"
      ? ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"]
      : ["-newkey", "rsa:2048"];
  const dir = mkdtempSync(join(tmpdir(), "portico-cert-"));
  try {
    const key = join(dir, "key.pem");
    const cert = join(dir, "cert.pem");
    execFileSync(
      "openssl",
      [
        "req",
        "-x509",
        ...newkey,
        "-nodes",
        "-keyout",
        key,
        "-out",
        cert,
        "-days",
        String(days),
        "-subj",
        `/CN=${names[0]}`,
        "-addext",
        `subjectAltName=${names.map((n) => (/^(URI|IP|DNS):/.test(n) ? n : `DNS:${n}`)).join(",")}`,
      ],
      { stdio: "ignore" },
    );
    return { certPem: readFileSync(cert, "utf8"), keyPem: readFileSync(key, "utf8") };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** writeSelfSigned writes selfSigned(names) to dir/<file>.crt and .key (for curl, openssl, Secrets). */
export function writeSelfSigned(dir: string, file: string, names: string[]): { crt: string; key: string } {
  const c = selfSigned(names);
  const crt = join(dir, `${file}.crt`);
  const key = join(dir, `${file}.key`);
  writeFileSync(crt, c.certPem);
  writeFileSync(key, c.keyPem);
  return { crt, key };
}

/** CaAndLeaf is a CA certificate and a leaf it signed (with the leaf's key). */
export interface CaAndLeaf {
  caPem: string;
  leaf: Certificate;
}

/** caAndLeaf makes an EC P-256 CA and a server certificate it signs for names (DNS SANs), with openssl. */
export function caAndLeaf(names: string[]): CaAndLeaf {
  const dir = mkdtempSync(join(tmpdir(), "portico-ca-"));
  const f = (n: string) => join(dir, n);
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  const run = (args: string[]) => execFileSync("openssl", args, { stdio: "ignore" });
  try {
    run([
      "req",
      "-x509",
      ...ec,
      "-keyout",
      f("ca.key"),
      "-out",
      f("ca.pem"),
      "-days",
      "2",
      "-subj",
      "/CN=test engine CA",
    ]);
    run(["req", ...ec, "-keyout", f("leaf.key"), "-out", f("leaf.csr"), "-subj", `/CN=${names[0]}`]);
    writeFileSync(f("ext"), `subjectAltName=${names.map((n) => `DNS:${n}`).join(",")}\n`);
    run(
      [
        "x509",
        "-req",
        "-in",
        f("leaf.csr"),
        "-CA",
        f("ca.pem"),
        "-CAkey",
        f("ca.key"),
        "-CAcreateserial",
      ].concat(["-out", f("leaf.pem"), "-days", "2", "-extfile", f("ext")]),
    );
    return {
      caPem: readFileSync(f("ca.pem"), "utf8"),
      leaf: { certPem: readFileSync(f("leaf.pem"), "utf8"), keyPem: readFileSync(f("leaf.key"), "utf8") },
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * expiredSelfSigned makes an EC P-256 self-signed certificate for names that expired a day ago
 * (openssl 3.0's `x509 -days -1`: notAfter is the day before notBefore), for the
 * "never serve an expired certificate" tests against the real clock.
 */
export function expiredSelfSigned(names: string[]): Certificate {
  const dir = mkdtempSync(join(tmpdir(), "portico-expired-"));
  const f = (n: string) => join(dir, n);
  const run = (args: string[]) => execFileSync("openssl", args, { stdio: "ignore" });
  try {
    run([
      "req",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:prime256v1",
      "-nodes",
      "-keyout",
      f("key.pem"),
      "-out",
      f("req.csr"),
      "-subj",
      `/CN=${names[0]}`,
    ]);
    writeFileSync(f("ext"), `subjectAltName=${names.map((n) => `DNS:${n}`).join(",")}\n`);
    run(
      ["x509", "-req", "-in", f("req.csr"), "-signkey", f("key.pem"), "-days", "-1"].concat([
        "-out",
        f("cert.pem"),
        "-extfile",
        f("ext"),
      ]),
    );
    return { certPem: readFileSync(f("cert.pem"), "utf8"), keyPem: readFileSync(f("key.pem"), "utf8") };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** cnOnly makes an EC P-256 self-signed certificate with subject CN=cn and no SAN extension. */
export function cnOnly(cn: string): Certificate {
  const dir = mkdtempSync(join(tmpdir(), "portico-cn-"));
  const f = (n: string) => join(dir, n);
  try {
    const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
    execFileSync(
      "openssl",
      ["req", "-x509", ...ec, "-keyout", f("k"), "-out", f("c"), "-days", "2", "-subj", `/CN=${cn}`],
      { stdio: "ignore" },
    );
    return { certPem: readFileSync(f("c"), "utf8"), keyPem: readFileSync(f("k"), "utf8") };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
