// pebble.ts: Pebble (Debian's ACME test server, installed by scripts/peers.sh) for the built-in
// issuer's end-to-end tests: a child process with its own TLS certificate, the CertificateIssuer
// that trusts it, the certificate a TLS handshake gets, and the DNS relay DNS-01 tests put between
// Pebble and Portico's DNS.
import { spawn, type ChildProcess } from "node:child_process";
import { createSocket, type RemoteInfo } from "node:dgram";
import { once } from "node:events";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import tls from "node:tls";
import { decodeMessage } from "../../src/engine/dns/message.ts";
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

/** DnsRelay forwards Pebble's UDP queries to Portico's DNS, holding `_acme-challenge` TXT queries until released. */
export interface DnsRelay {
  /** port is the relay's UDP port on 127.0.0.1 (Pebble's -dnsserver). */
  port: number;
  /** held counts the `_acme-challenge` TXT queries waiting for release. */
  held(): number;
  /** asked are the names of every TXT query seen (lower case, no trailing dot). */
  asked: string[];
  /** release forwards the held queries and every later one at once. */
  release(): void;
  close(): void;
}

/**
 * startDnsRelay relays to upstream address:port. Holding the CA's first `_acme-challenge` query
 * until the test has asked Portico itself makes "the record is served during the order" a fact
 * the test checks, not a race it may lose.
 */
export async function startDnsRelay(address: string, port: number): Promise<DnsRelay> {
  const socket = createSocket("udp4");
  const held: { msg: Buffer; from: RemoteInfo }[] = [];
  const asked: string[] = [];
  let released = false;
  const forward = (msg: Buffer, from: RemoteInfo) => {
    const up = createSocket("udp4");
    up.on("message", (answer) => {
      socket.send(answer, from.port, from.address);
      up.close();
    });
    up.send(msg, port, address);
  };
  socket.on("message", (msg, from) => {
    const q = decodeMessage(msg).question[0];
    const name = q?.name.toLowerCase().replace(/\.$/, "") ?? "";
    if (q?.type === 16) asked.push(name);
    if (q?.type === 16 && name.startsWith("_acme-challenge.") && !released) held.push({ msg, from });
    else forward(msg, from);
  });
  socket.bind(0, "127.0.0.1");
  await once(socket, "listening");
  return {
    port: socket.address().port,
    held: () => held.length,
    asked,
    release() {
      released = true;
      for (const h of held.splice(0)) forward(h.msg, h.from);
    },
    close: () => socket.close(),
  };
}
