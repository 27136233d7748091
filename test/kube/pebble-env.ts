// pebble-env.ts: Pebble (Debian's pebble) and pebble-challtestsrv for the Kubernetes tests.
// challtestsrv is only Pebble's DNS: every name resolves to the given address (the Ingress VIP),
// where Pebble validates HTTP-01 on port 80 and TLS-ALPN-01 on 443.
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { openSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { freePort, type KubeEnv } from "../../scripts/kube/env.ts";
import { caAndLeaf } from "../support/certs.ts";
import { waitFor } from "./helper.ts";

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

/** startPebble runs Pebble with challtestsrv resolving every name to address; logs in env.dir/logs. */
export async function startPebble(env: KubeEnv, address: string): Promise<Pebble> {
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
  const procs: ChildProcess[] = [
    spawn(
      "pebble-challtestsrv",
      [
        ...["-defaultIPv4", address, "-defaultIPv6", "", "-dns01", `127.0.0.1:${dnsPort}`],
        ...["-http01", "", "-https01", "", "-tlsalpn01", "", "-management", `127.0.0.1:${chMgmt}`],
      ],
      { stdio: ["ignore", out("challtestsrv"), out("challtestsrv")] },
    ),
    spawn("pebble", ["-config", cfg, "-dnsserver", `127.0.0.1:${dnsPort}`], {
      env: { ...process.env, PEBBLE_VA_NOSLEEP: "1", PEBBLE_WFE_NONCEREJECT: "0", PEBBLE_AUTHZREUSE: "0" },
      stdio: ["ignore", out("pebble"), out("pebble")],
    }),
  ];
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
