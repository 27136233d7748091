// pebble.ts: Pebble (Debian's ACME test server, installed by scripts/peers.sh) for the built-in
// issuer's end-to-end tests: a child process with its own TLS certificate, the CertificateIssuer
// that trusts it, and the certificate a TLS handshake gets.
import { spawn, type ChildProcess } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import tls from "node:tls";
import { caAndLeaf } from "../support/certs.ts";
import { waitFor } from "./harness.ts";

/** child starts cmd with piped (drained) output, kept in children and killed if the test process exits. */
export function child(
  children: ChildProcess[],
  cmd: string,
  args: string[],
  env: Record<string, string> = {},
): ChildProcess {
  const c = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...env } });
  c.stdout!.resume();
  c.stderr!.resume();
  children.push(c);
  process.once("exit", () => c.kill("SIGKILL"));
  return c;
}

/** PebbleOptions are Pebble's ports (on 127.0.0.1 unless said) and its resolver. */
export interface PebbleOptions {
  work: string;
  port: number;
  managementPort: number;
  /** httpPort and tlsPort are where Pebble's VA validates HTTP-01 and TLS-ALPN-01. */
  httpPort: number;
  tlsPort: number;
  /** dnsServer ("127.0.0.1:PORT") is where Pebble's VA resolves names and DNS-01 records. */
  dnsServer: string;
  validitySeconds?: number;
}

/** startPebble runs Pebble with its directory on https://localhost:port/dir; resolves to its CA (PEM) once up. */
export async function startPebble(children: ChildProcess[], o: PebbleOptions): Promise<string> {
  const { caPem, leaf } = caAndLeaf(["localhost"]);
  writeFileSync(join(o.work, "cert.pem"), leaf.certPem);
  writeFileSync(join(o.work, "key.pem"), leaf.keyPem);
  writeFileSync(
    join(o.work, "pebble.json"),
    JSON.stringify({
      pebble: {
        listenAddress: `127.0.0.1:${o.port}`,
        managementListenAddress: `127.0.0.1:${o.managementPort}`,
        certificate: join(o.work, "cert.pem"),
        privateKey: join(o.work, "key.pem"),
        httpPort: o.httpPort,
        tlsPort: o.tlsPort,
        ocspResponderURL: "",
        externalAccountBindingRequired: false,
        ...(o.validitySeconds ? { certificateValidityPeriod: o.validitySeconds } : {}),
      },
    }),
  );
  child(children, "pebble", ["-config", join(o.work, "pebble.json"), "-dnsserver", o.dnsServer], {
    PEBBLE_VA_NOSLEEP: "1",
    PEBBLE_VA_ALWAYS_VALID: "0",
    PEBBLE_WFE_NONCEREJECT: "0",
    PEBBLE_AUTHZREUSE: "0",
  });
  await waitFor(
    "pebble's directory",
    async () => {
      const s = tls.connect({ host: "127.0.0.1", port: o.port, rejectUnauthorized: false });
      await new Promise((ok, no) => (s.once("secureConnect", ok), s.once("error", no)));
      s.destroy();
      return true;
    },
    20_000,
  );
  return caPem;
}

/** issuerYaml is a CertificateIssuer for Pebble on port with the challenge type, trusting caPem. */
export function issuerYaml(name: string, challenge: string, port: number, caPem: string): string {
  return `apiVersion: portico.dev/v1alpha1
kind: CertificateIssuer
metadata: { name: ${name} }
spec:
  acme:
    server: https://localhost:${port}/dir
    email: ops@example.test
    challenge: ${challenge}
    caBundle: |
${caPem
  .trim()
  .split("\n")
  .map((l) => `      ${l}`)
  .join("\n")}
`;
}

/** peerCert is the certificate a handshake to address:port with SNI name gets. */
export function peerCert(address: string, port: number, name: string): Promise<tls.PeerCertificate> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: address, port, servername: name, rejectUnauthorized: false }, () => {
      const c = s.getPeerCertificate();
      s.end();
      resolve(c);
    });
    s.on("error", reject);
    s.setTimeout(5000, () => s.destroy(new Error("handshake timeout")));
  });
}
