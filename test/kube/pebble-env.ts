// pebble-env.ts: Pebble (Debian's pebble) and pebble-challtestsrv for the Kubernetes tests.
// challtestsrv is only Pebble's DNS: every name resolves to the given address (the Ingress VIP),
// where Pebble validates HTTP-01 on port 80 and TLS-ALPN-01 on 443. For DNS-01 Pebble resolves
// through Portico's own DNS instead (no challtestsrv). Also what the ACME tests share: their skip
// reason, the issuer YAML, and the certificate a VIP serves for a name (openssl s_client).
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { openSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { freePort, type KubeEnv } from "../../scripts/kube/env.ts";
import { caAndLeaf } from "../support/certs.ts";
import { kubeSkip, waitFor } from "./helper.ts";

const run = promisify(execFile);

/** Pebble is a running Pebble: its directory, the CA its HTTPS port is signed by, and its DNS. */
export interface Pebble {
  /** directory is https://localhost:PORT/dir. */
  directory: string;
  /** tlsCaPem signed the directory's HTTPS certificate (an issuer's caBundle). */
  tlsCaPem: string;
  /** rootPem is the root Pebble issues certificates under (what clients verify served ones with). */
  rootPem: string;
  dnsPort: number;
  /** stop ends both processes and waits for them. */
  stop(): Promise<void>;
}

/** pebbleMissing is false when pebble and pebble-challtestsrv are installed, else the reason. */
export async function pebbleMissing(): Promise<string | false> {
  for (const b of ["pebble", "pebble-challtestsrv"]) {
    const absent = await run("sh", ["-c", `command -v ${b}`]).then(
      () => false,
      () => true,
    );
    if (absent) return `${b} not installed (scripts/peers.sh, Debian package pebble)`;
  }
  return false;
}

/** acmeSkip is false when the Kubernetes ACME tests can run (control plane, Pebble, root), else why not. */
export async function acmeSkip(): Promise<string | false> {
  const why =
    kubeSkip() ||
    (await pebbleMissing()) ||
    (process.getuid?.() !== 0 ? "needs root to bind the VIP's ports 80 and 443" : false);
  if (why) process.stderr.write(`\n*** SKIPPING built-in ACME Kubernetes test: ${why} ***\n\n`);
  return why;
}

/** PebbleDns is who answers Pebble's lookups: challtestsrv pointing every name at address, or server. */
export type PebbleDns = { address: string } | { server: string };

/** startPebble runs Pebble resolving through dns (see PebbleDns); logs in env.dir/logs. */
export async function startPebble(env: KubeEnv, dns: PebbleDns): Promise<Pebble> {
  const out = (name: string) => openSync(join(env.dir, "logs", `${name}.log`), "a");
  const [dnsPort, acmePort, mgmtPort, chMgmt] = [
    await freePort(),
    await freePort(),
    await freePort(),
    await freePort(),
  ];
  const { caPem, leaf } = caAndLeaf(["localhost"]);
  const [pcrt, pkey] = [join(env.dir, "pebble.crt"), join(env.dir, "pebble.key")];
  writeFileSync(pcrt, leaf.certPem);
  writeFileSync(pkey, leaf.keyPem);
  const cfg = join(env.dir, "pebble.json");
  writeFileSync(
    cfg,
    JSON.stringify({
      pebble: {
        listenAddress: `127.0.0.1:${acmePort}`,
        managementListenAddress: `127.0.0.1:${mgmtPort}`,
        certificate: pcrt,
        privateKey: pkey,
        httpPort: 80,
        tlsPort: 443,
        ocspResponderURL: "",
        externalAccountBindingRequired: false,
      },
    }),
  );
  const procs: ChildProcess[] = [];
  if ("address" in dns)
    procs.push(
      spawn(
        "pebble-challtestsrv",
        [
          ...["-defaultIPv4", dns.address, "-defaultIPv6", "", "-dns01", `127.0.0.1:${dnsPort}`],
          ...["-http01", "", "-https01", "", "-tlsalpn01", "", "-management", `127.0.0.1:${chMgmt}`],
        ],
        { stdio: ["ignore", out("challtestsrv"), out("challtestsrv")] },
      ),
    );
  const server = "server" in dns ? dns.server : `127.0.0.1:${dnsPort}`;
  procs.push(
    spawn("pebble", ["-config", cfg, "-dnsserver", server], {
      env: { ...process.env, PEBBLE_VA_NOSLEEP: "1", PEBBLE_WFE_NONCEREJECT: "0", PEBBLE_AUTHZREUSE: "0" },
      stdio: ["ignore", out("pebble"), out("pebble")],
    }),
  );
  const kill = () => procs.forEach((p) => p.kill("SIGKILL"));
  process.once("exit", kill);
  await waitFor(
    "pebble",
    async () => (await run("curl", ["-sk", `https://127.0.0.1:${acmePort}/dir`])).stdout.includes("newOrder"),
    20_000,
    200,
  );
  const rootPem = (await run("curl", ["-sk", `https://127.0.0.1:${mgmtPort}/roots/0`])).stdout;
  return {
    directory: `https://localhost:${acmePort}/dir`,
    tlsCaPem: caPem,
    rootPem,
    dnsPort,
    async stop() {
      process.off("exit", kill);
      for (const p of procs.reverse()) {
        if (p.exitCode !== null || p.signalCode !== null) continue;
        const exited = new Promise((r) => p.once("exit", r));
        p.kill("SIGTERM");
        await exited;
      }
    },
  };
}

/** issuerYaml is a cluster-scoped CertificateIssuer for p's directory with challenge, trusting caPem. */
export function issuerYaml(name: string, p: Pebble, challenge: string, caPem = p.tlsCaPem): string {
  const bundle = caPem
    .trim()
    .split("\n")
    .map((l) => `      ${l}`)
    .join("\n");
  return `apiVersion: portico.dev/v1alpha1
kind: CertificateIssuer
metadata: {name: ${name}}
spec:
  acme:
    server: ${p.directory}
    email: ops@example.test
    challenge: ${challenge}
    caBundle: |
${bundle}
---
`;
}

/** servedCert is the certificate address:443 presents for name, and whether it verifies against caFile. */
export async function servedCert(
  address: string,
  name: string,
  caFile: string,
): Promise<{ ok: boolean; pem: string }> {
  const c = run("openssl", [
    ...["s_client", "-connect", `${address}:443`, "-servername", name],
    ...["-verify_hostname", name, "-CAfile", caFile],
  ]);
  c.child.stdin?.on("error", () => undefined);
  c.child.stdin?.end("");
  const out = (await c).stdout;
  const pem = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/.exec(out)?.[0] ?? "";
  return { ok: /Verify return code: 0 \(ok\)/.test(out), pem };
}
