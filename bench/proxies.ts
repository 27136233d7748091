// proxies.ts: starts the backends and each proxy under test with its configuration, pinned.
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { backendConfig, haproxyConfig, nginxProxyConfig } from "./configs.ts";
import { pinned, portTaken, runCommand, startProcess, waitForPort, type Running } from "./procs.ts";
import type { ProxyName, Topology } from "./topology.ts";
import { ENGINE_NODE_FLAGS } from "../src/engine/v8-tuning.ts";

const here = import.meta.dirname;

/** ProxyOptions tune a proxy start; workers applies to Portico only. */
export interface ProxyOptions {
  cpus: string;
  workers?: number;
  /** env is Portico's environment (default this process's), e.g. PORTICO_OWN_SOCKETS=off for an A/B. */
  env?: NodeJS.ProcessEnv;
}

/** startBackends starts the nginx HTTP backend and the iperf3 server on the load CPUs. */
export async function startBackends(t: Topology): Promise<Running[]> {
  await refuseTaken(t.iperf.address, [t.iperf.port]);
  const web = await startWebBackend(t);
  const iperf = startProcess(
    "iperf3-server",
    pinned(t.loadCpus, ["iperf3", "-s", "-B", t.iperf.address, "-p", String(t.iperf.port)]),
  );
  await waitForPort(t.iperf.address, t.iperf.port, 10000, iperf);
  return [web, iperf];
}

/** startWebBackend starts the fast nginx HTTP backend on the load CPUs (also `portico size --calibrate`). */
export async function startWebBackend(t: Topology): Promise<Running> {
  // A backend left running by hand (same address, other configuration) would answer for ours.
  await refuseTaken(t.backend.address, [t.backend.port]);
  const conf = join(t.dir, "backend.conf");
  writeFileSync(conf, backendConfig(t));
  const web = startProcess("backend", pinned(t.loadCpus, ["nginx", "-e", "stderr", "-p", t.dir, "-c", conf]));
  await waitForPort(t.backend.address, t.backend.port, 10000, web);
  return web;
}

/** refuseTaken throws when something already listens on one of host's ports, saying how to find it. */
async function refuseTaken(host: string, ports: number[]): Promise<void> {
  for (const port of ports) {
    if (await portTaken(host, port))
      throw new Error(
        `${host}:${port} is already in use (a leftover process from an earlier run?): stop it, e.g. \`ss -ltnp | grep ${host}:${port}\``,
      );
  }
}

/** startProxy starts one proxy and resolves once all three of its ports accept connections. */
export async function startProxy(name: ProxyName, t: Topology, o: ProxyOptions): Promise<Running> {
  const host = t.proxies[name];
  // A leftover process on these ports would pass the readiness check below and be measured instead.
  await refuseTaken(host, [t.httpPort, t.httpsPort, t.tcpPort]);
  const proc = await launch(name, t, o);
  for (const port of [t.httpPort, t.httpsPort, t.tcpPort]) {
    await Promise.race([
      waitForPort(host, port, 30000, proc),
      proc.exited.then((code) => {
        throw new Error(`${name} exited (${code}) while starting: ${proc.output()}`);
      }),
    ]);
  }
  return proc;
}

/** launch writes the proxy's configuration and spawns it in the foreground. */
async function launch(name: ProxyName, t: Topology, o: ProxyOptions): Promise<Running> {
  if (name === "HAProxy") {
    const cfg = join(t.dir, "haproxy.cfg");
    writeFileSync(cfg, haproxyConfig(t));
    await runCommand(["haproxy", "-c", "-q", "-f", cfg], 10000);
    return startProcess(name, pinned(o.cpus, ["haproxy", "-db", "-f", cfg]));
  }
  if (name === "nginx") {
    const conf = join(t.dir, "nginx-proxy.conf");
    writeFileSync(conf, nginxProxyConfig(t));
    await runCommand(["nginx", "-t", "-q", "-e", "stderr", "-p", t.dir, "-c", conf], 10000);
    return startProcess(name, pinned(o.cpus, ["nginx", "-e", "stderr", "-p", t.dir, "-c", conf]));
  }
  // Portico runs from the JS build, as bin/portico does (no type stripper in the engine process).
  await runCommand(["sh", join(here, "../scripts/build.sh")], 120000);
  const script = join(here, "../.cache/dist/bench/portico-engine.js");
  const args = porticoEngineArgv(script, t, o.workers ?? 1);
  return startProcess(name, pinned(o.cpus, args), { ...(o.env ?? process.env), NODE_ENV: "production" });
}

/** porticoEngineArgv runs script (portico-engine.js, or .ts from the sources) on t's Portico address. */
export function porticoEngineArgv(
  script: string,
  t: Topology,
  workers: number,
  extra: string[] = [],
): string[] {
  return [
    process.execPath,
    "--disable-warning=ExperimentalWarning",
    ...ENGINE_NODE_FLAGS,
    script,
    `--address=${t.proxies.Portico}`,
    `--http-port=${t.httpPort}`,
    `--https-port=${t.httpsPort}`,
    `--tcp-port=${t.tcpPort}`,
    `--backend=${t.backend.address}:${t.backend.port}`,
    `--tcp-backend=${t.iperf.address}:${t.iperf.port}`,
    `--cert=${t.certFile}`,
    `--key=${t.keyFile}`,
    `--workers=${workers}`,
    ...extra,
  ];
}

/** porticoAvailable says whether the engine exists yet (the harness runs without it otherwise). */
export function porticoAvailable(): boolean {
  return existsSync(resolve(here, "../src/engine/engine.ts"));
}

/** makeRunDir creates a fresh temporary directory for configs, cert and pid files. */
export function makeRunDir(base: string): string {
  const dir = join(base, `portico-bench-${process.pid}-${Date.now()}`);
  mkdirSync(dir, { recursive: true });
  return dir;
}
