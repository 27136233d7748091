// portico-run.ts: starts `portico run` on a manifest directory exactly as a user runs it (the JS
// build, bin/portico's entry point), pinned, and waits until its admin API says it is ready.
// Shared by bench:analytics and bench:user.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer, type AddressInfo } from "node:net";
import { join, resolve } from "node:path";
import { abManifest } from "./analytics-report.ts";
import { pinned, portTaken, startProcess, type Running } from "./procs.ts";
import type { Topology } from "./topology.ts";
import { ENGINE_NODE_FLAGS } from "../src/engine/v8-tuning.ts";

const root = resolve(import.meta.dirname, "..");
/** BUILD is the JS build's tree (scripts/build.sh), which bin/portico runs. */
export const BUILD = join(root, ".cache/dist");

/** freePort is a TCP port free on 127.0.0.1 now (for the admin APIs). */
export async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const port = (s.address() as AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

/** waitReady polls the admin /readyz until 200 (a snapshot applied, every listener bound). */
export async function waitReady(admin: string, proc: Running): Promise<void> {
  const deadline = Date.now() + 90_000;
  for (;;) {
    if (!proc.alive()) throw new Error(`${proc.name} exited while starting: ${proc.output().slice(-1500)}`);
    const ok = await fetch(`${admin}/readyz`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return;
    if (Date.now() > deadline)
      throw new Error(`${proc.name} not ready after 90 s: ${proc.output().slice(-1500)}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** PorticoRunOptions: one `portico run` on its own VIP, state directory and admin port. */
export interface PorticoRunOptions {
  /** name labels the process and its directories (unique per run directory). */
  name: string;
  vip: string;
  /** dir is the run's temporary directory; manifests and state go in subdirectories. */
  dir: string;
  t: Topology;
  /** env is the environment (PORTICO_ANALYTICS etc.); NODE_ENV=production is added. */
  env: NodeJS.ProcessEnv;
  /** flags are extra `portico run` flags (e.g. --access-log FILE). */
  flags?: string[];
  /** build is the tree to run (default BUILD): another build of Portico, for an A/B of a change. */
  build?: string;
  /** nodeFlags go to node before the script (--cpu-prof, --trace-gc: not all are allowed in NODE_OPTIONS). */
  nodeFlags?: string[];
  /** manifest is what the directory holds (default abManifest: an Ingress to the nginx backend). */
  manifest?: string;
}

/** startPorticoRun runs `portico run DIR` serving o.manifest (abManifest) on o.vip; resolves once ready. */
export async function startPorticoRun(
  o: PorticoRunOptions,
): Promise<{ proc: Running; admin: string; manifests: string }> {
  const manifests = join(o.dir, `manifests-${o.name}`);
  const state = join(o.dir, `state-${o.name}`);
  mkdirSync(manifests);
  mkdirSync(state);
  writeFileSync(
    join(manifests, "bench.yaml"),
    o.manifest ??
      abManifest({
        vip: o.vip,
        backend: o.t.backend,
        certPem: readFileSync(o.t.certFile, "utf8"),
        keyPem: readFileSync(o.t.keyFile, "utf8"),
      }),
  );
  for (const port of [o.t.httpPort, o.t.httpsPort])
    if (await portTaken(o.vip, port))
      throw new Error(`${o.vip}:${port} is already in use (a leftover run?): \`ss -ltnp | grep ${o.vip}\``);
  const admin = `127.0.0.1:${await freePort()}`;
  const argv = [
    process.execPath,
    "--disable-warning=ExperimentalWarning",
    ...ENGINE_NODE_FLAGS,
    ...(o.nodeFlags ?? []),
    join(o.build ?? BUILD, "src/cli/main.js"),
    "run",
    manifests,
    ...["--state-dir", state, "--admin", admin],
    ...["--http-port", String(o.t.httpPort), "--https-port", String(o.t.httpsPort)],
    ...(o.flags ?? []),
  ];
  const proc = startProcess(`portico-${o.name}`, pinned(o.t.proxyCpus, argv), {
    ...o.env,
    NODE_ENV: "production",
  });
  try {
    await waitReady(`http://${admin}`, proc);
  } catch (e) {
    await proc.stop();
    throw e;
  }
  return { proc, admin: `http://${admin}`, manifests };
}
