// options.test.ts: a listener's TlsOptions and ECDSA + RSA alternates, over real sockets with
// openssl s_client as the client: what is refused is refused by OpenSSL in the handshake, and the
// certificate a client gets follows the signature algorithms and suites it offers.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import net from "node:net";
import type { AddressInfo } from "node:net";
import type { Certificate, ListenerTls } from "../../model/ir.ts";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { caAndLeaf, selfSigned } from "../../../test/support/certs.ts";
import { compileTls } from "./terminate.ts";

const servers: net.Server[] = [];
after(() => {
  for (const s of servers) s.close();
});

const certs: Record<string, Certificate> = {
  "ns/ec": selfSigned(["a.test"], "ec"),
  "ns/rsa": selfSigned(["a.test"], "rsa"),
  "ns/other": selfSigned(["other.test"], "ec"),
};

// serve terminates TLS on a loopback port with cfg and answers "ok" on each connection.
async function serve(cfg: ListenerTls): Promise<number> {
  const t = compileTls("test:443", cfg, certs);
  const srv = net.createServer((s) => t.wrap(s, (secure) => secure.end("ok\n"), []));
  servers.push(srv);
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  return (srv.address() as AddressInfo).port;
}

interface Hello {
  ok: boolean;
  protocol?: string;
  cipher?: string;
  peerKey?: string;
  out: string;
}

// sClient runs openssl s_client with args; ok is true when the server answered "ok".
function sClient(port: number, args: string[]): Promise<Hello> {
  return new Promise((resolve) => {
    const child = execFile(
      "openssl",
      [
        "s_client",
        "-connect",
        `127.0.0.1:${port}`,
        ...(args.includes("-servername") ? [] : ["-servername", "a.test"]),
        "-ign_eof",
        ...args,
      ],
      { timeout: 20_000 },
      (_err, stdout, stderr) => {
        const out = `${stdout}\n${stderr}`;
        resolve({
          ok: /^ok$/m.test(stdout),
          protocol: /Protocol\s*:\s*(\S+)/.exec(out)?.[1] ?? /New, (TLSv[\d.]+)/.exec(out)?.[1],
          cipher: /Cipher is (\S+)/.exec(out)?.[1],
          peerKey: /Server public key is (\d+) bit/.exec(out)?.[1],
          out,
        });
      },
    );
    child.stdin?.end();
  });
}

const base: ListenerTls = {
  sni: [{ hostname: "a.test", certificate: "ns/ec" }],
  defaultCertificate: "ns/other",
};

test("defaults: TLS 1.1 and a CBC suite are refused, TLS 1.2 with ECDHE + AEAD and TLS 1.3 are served", async () => {
  const port = await serve(base);
  const old = await sClient(port, ["-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0"]);
  assert.equal(old.ok, false, old.out);
  assert.match(old.out, /alert protocol version|no protocols available|unsupported protocol/i);
  const cbc = await sClient(port, ["-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-SHA256"]);
  assert.equal(cbc.ok, false, cbc.out);
  const v12 = await sClient(port, ["-tls1_2"]);
  assert.equal(v12.ok, true, v12.out);
  assert.equal(v12.protocol, "TLSv1.2");
  const v13 = await sClient(port, []);
  assert.equal(v13.ok, true, v13.out);
  assert.equal(v13.protocol, "TLSv1.3");
});

test("minVersion TLSv1.3 refuses TLS 1.2; maxVersion TLSv1.2 refuses TLS 1.3", async () => {
  const only13 = await serve({ ...base, options: { minVersion: "TLSv1.3" } });
  assert.equal((await sClient(only13, ["-tls1_2"])).ok, false);
  assert.equal((await sClient(only13, ["-tls1_3"])).ok, true);
  const only12 = await serve({ ...base, options: { maxVersion: "TLSv1.2" } });
  assert.equal((await sClient(only12, ["-tls1_3"])).ok, false);
  const r = await sClient(only12, []);
  assert.equal(r.ok, true, r.out);
  assert.equal(r.protocol, "TLSv1.2");
});

test("a cipher list refuses a TLS 1.2 suite outside it, serves one inside it, and keeps TLS 1.3 on", async () => {
  const port = await serve({ ...base, options: { ciphers: "ECDHE-ECDSA-AES256-GCM-SHA384" } });
  const outside = await sClient(port, ["-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-GCM-SHA256"]);
  assert.equal(outside.ok, false, outside.out);
  assert.match(outside.out, /handshake failure/);
  const inside = await sClient(port, ["-tls1_2"]);
  assert.equal(inside.ok, true, inside.out);
  assert.equal(inside.cipher, "ECDHE-ECDSA-AES256-GCM-SHA384");
  const v13 = await sClient(port, ["-tls1_3"]);
  assert.equal(v13.ok, true, v13.out);
});

test("ecdhCurves P-384 refuses a client offering only X25519 and serves one offering P-384", async () => {
  const port = await serve({ ...base, options: { ecdhCurves: "P-384" } });
  assert.equal((await sClient(port, ["-groups", "X25519"])).ok, false);
  const r = await sClient(port, ["-groups", "P-384"]);
  assert.equal(r.ok, true, r.out);
  assert.match(r.out, /Server Temp Key: ECDH, secp384r1|Negotiated TLS1.3 group: secp384r1|P-384/);
});

test("ECDSA + RSA for one host: ECDSA for a client that offers it, RSA for an RSA-only client (sigalgs or suites)", async () => {
  // The fallback context (other.test) has no RSA certificate: the SNI switch must carry both.
  const port = await serve({ ...base, alternates: [{ primary: "ns/ec", certificate: "ns/rsa" }] });
  const modern = await sClient(port, []);
  assert.equal(modern.ok, true, modern.out);
  assert.equal(modern.peerKey, "256", "ECDSA P-256 for a client offering ECDSA");
  assert.match(modern.out, /Peer signature type: ECDSA/);
  const rsaSigalgs = await sClient(port, ["-sigalgs", "rsa_pss_rsae_sha256:RSA+SHA256"]);
  assert.equal(rsaSigalgs.ok, true, rsaSigalgs.out);
  assert.equal(rsaSigalgs.peerKey, "2048");
  const rsaSuite = await sClient(port, ["-tls1_2", "-cipher", "ECDHE-RSA-AES128-GCM-SHA256"]);
  assert.equal(rsaSuite.ok, true, rsaSuite.out);
  assert.equal(rsaSuite.peerKey, "2048");
  // Without the alternate, the RSA-only client is refused: the test can fail.
  const ecOnly = await serve(base);
  assert.equal((await sClient(ecOnly, ["-sigalgs", "rsa_pss_rsae_sha256:RSA+SHA256"])).ok, false);
});

test("per-host client validation (Ingress auth-tls): one name asks for a certificate, another on the port does not", async () => {
  const ca = caAndLeaf(["client.test"]);
  const stranger = selfSigned(["client.test"]);
  const dir = mkdtempSync(join(tmpdir(), "portico-mtls-"));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const write = (name: string, c: Certificate) => {
    writeFileSync(join(dir, `${name}.crt`), c.certPem);
    writeFileSync(join(dir, `${name}.key`), c.keyPem);
    return ["-cert", join(dir, `${name}.crt`), "-key", join(dir, `${name}.key`)];
  };
  const good = write("good", ca.leaf);
  const bad = write("bad", stranger);
  const port = await serve({
    sni: [
      {
        hostname: "a.test",
        certificate: "ns/ec",
        clientValidation: { caPem: ca.caPem, mode: "AllowValidOnly" },
      },
      {
        hostname: "b.test",
        certificate: "ns/ec",
        clientValidation: { caPem: ca.caPem, mode: "AllowValidOrNone" },
      },
      { hostname: "other.test", certificate: "ns/other" },
    ],
  });
  const as = (name: string, args: string[]) => sClient(port, ["-servername", name, ...args]);
  assert.equal((await as("a.test", [])).ok, false, "on: no certificate, refused");
  assert.equal((await as("a.test", bad)).ok, false, "on: a certificate the CA did not sign, refused");
  const ok = await as("a.test", good);
  assert.equal(ok.ok, true, ok.out);
  assert.equal((await as("b.test", [])).ok, true, "optional: no certificate, served");
  assert.equal((await as("b.test", bad)).ok, false, "optional: a bad certificate, refused");
  assert.equal((await as("b.test", good)).ok, true, "optional: a good certificate, served");
  const other = await as("other.test", []);
  assert.equal(other.ok, true, other.out);
  assert.doesNotMatch(other.out, /Acceptable client certificate CA names/, "other.test is not asked");
});
