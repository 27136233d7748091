// calibrate.ts: `portico size --calibrate` — measures what one core of this machine carries, the
// figure sizing divides by (controller/fleet/sizing.ts). It runs the benchmark's pieces (bench/):
// one engine process (bench/portico-engine, counters on as in production) pinned to one CPU, in
// front of the fast nginx backend, driven by wrk on the other CPUs with the benchmark's own cases —
// keep-alive HTTP, keep-alive HTTPS, and HTTPS with a new connection per request (a full handshake
// each). Each rate is divided by the CPU time the engine process used, so the figure is per core
// even when wrk could not fill the core.
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { availableParallelism, cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { CASES } from "../../bench/cases.ts";
import {
  cpuSeconds,
  pinned,
  portTaken,
  runCommand,
  startProcess,
  waitForPort,
  type Running,
} from "../../bench/procs.ts";
import { porticoEngineArgv, startWebBackend } from "../../bench/proxies.ts";
import { defaultTopology, makeCertificate, type Topology } from "../../bench/topology.ts";
import type { Calibration } from "../k8s/engine-group.ts";
import { CliError } from "./args.ts";

/** CalibrationRun is one measured case: the wrk rate, the engine's CPU and the per-core figure. */
export interface CalibrationRun {
  id: string;
  requestsPerSecond: number;
  engineCores: number;
  perCore: number;
  errors: number;
}

/** CALIBRATION_CASES map each Calibration figure to the bench case that measures it. */
const CALIBRATION_CASES = {
  httpRequestsPerSecond: "http-ka-64",
  httpsRequestsPerSecond: "https-ka",
  tlsHandshakesPerSecond: "https-handshake",
} as const;

/** requireTools fails in one line, saying how to install, when wrk, nginx or taskset is missing. */
function requireTools(): void {
  const tools = [
    ["wrk", "-v", "wrk (the load generator)", "wrk"],
    ["nginx", "-v", "nginx (the fast backend)", "nginx"],
    ["taskset", "-V", "taskset (CPU pinning)", "util-linux"],
  ] as const;
  for (const [cmd, flag, what, pkg] of tools) {
    const r = spawnSync(cmd, [flag], { stdio: "ignore" });
    if (r.error !== undefined)
      throw new CliError(
        `portico size --calibrate needs ${what}: install it (apt-get install ${pkg}, or sh scripts/peers.sh) and run again`,
        1,
      );
  }
}

/** topology places the engine and backend on free loopback addresses, engine on the last CPU. */
async function topology(dir: string): Promise<Topology> {
  const n = availableParallelism();
  const t = defaultTopology(dir);
  t.proxyCpus = String(n - 1);
  t.loadCpus = n > 2 ? `0-${n - 2}` : "0";
  // Not the benchmark's addresses: a bench run on this machine must not be measured instead.
  for (let tries = 0; tries < 20; tries++) {
    const x = 150 + Math.floor(Math.random() * 100);
    const engine = `127.0.0.${x}`;
    const backend = `127.0.0.${x + 1}`;
    const taken = await Promise.all([
      ...[t.httpPort, t.httpsPort, t.tcpPort].map((p) => portTaken(engine, p)),
      portTaken(backend, t.backend.port),
    ]);
    if (taken.some(Boolean)) continue;
    t.proxies.Portico = engine;
    t.backend = { address: backend, port: t.backend.port };
    return t;
  }
  throw new CliError("no free loopback address found for the calibration (127.0.0.150-250 are busy)", 1);
}

/** startEngine runs bench/portico-engine from the tree this module runs from (the sources or the build). */
async function startEngine(t: Topology): Promise<Running> {
  const fromSource = import.meta.url.endsWith(".ts");
  const script = new URL(`../../bench/portico-engine.${fromSource ? "ts" : "js"}`, import.meta.url).pathname;
  const argv = porticoEngineArgv(script, t, 1, [`--metrics`]);
  const proc = startProcess("engine", pinned(t.proxyCpus, argv), { ...process.env, NODE_ENV: "production" });
  for (const port of [t.httpPort, t.httpsPort])
    await Promise.race([
      waitForPort(t.proxies.Portico, port, 30_000, proc),
      proc.exited.then((code) => {
        throw new CliError(`the engine exited (${code}) while starting: ${proc.output()}`, 1);
      }),
    ]);
  return proc;
}

/** calibrate measures this machine's per-core capacity; progress lines go to say(). */
export async function calibrate(
  seconds: number,
  say: (line: string) => void,
): Promise<{ calibration: Calibration; runs: CalibrationRun[] }> {
  requireTools();
  const dir = mkdtempSync(join(tmpdir(), "portico-calibrate-"));
  const running: Running[] = [];
  try {
    const t = await topology(dir);
    makeCertificate(t);
    running.push(await startWebBackend(t));
    const engine = await startEngine(t);
    running.push(engine);
    say(
      `engine pid ${engine.pid} on CPU ${t.proxyCpus} (${t.proxies.Portico}); wrk and nginx on CPU ${t.loadCpus}`,
    );
    const host = t.proxies.Portico;
    // Warm-up, unrecorded, as the benchmark does: JIT, pools and session caches primed.
    for (const scheme of ["http", "https"] as const)
      await runCommand(
        [
          "taskset",
          "-c",
          t.loadCpus,
          "wrk",
          "-t1",
          "-c64",
          "-d1s",
          `${scheme}://${host}:${scheme === "http" ? t.httpPort : t.httpsPort}/`,
        ],
        30_000,
      );
    const runs: CalibrationRun[] = [];
    for (const id of Object.values(CALIBRATION_CASES)) {
      const c = CASES.find((k) => k.id === id)!;
      const before = cpuSeconds(engine.pid);
      const began = performance.now();
      const { stdout } = await runCommand(
        ["taskset", "-c", t.loadCpus, ...c.argv(host, t, seconds)],
        (seconds + 30) * 1000,
      );
      const cpu = cpuSeconds(engine.pid) - before;
      const r = c.parse(stdout, performance.now() - began);
      if (cpu <= 0)
        throw new CliError(`${id}: the engine used no CPU time; is it serving? ${engine.output()}`, 1);
      // wrk's rate is over its own `seconds`; the engine's CPU over the same run.
      const run = {
        id,
        requestsPerSecond: r.value,
        engineCores: cpu / seconds,
        perCore: (r.value * seconds) / cpu,
        errors: r.errors,
      };
      say(
        `${id}: ${Math.round(run.requestsPerSecond)} req/s using ${run.engineCores.toFixed(2)} cores → ${Math.round(run.perCore)} per core${r.errors ? ` (${r.errors} errors)` : ""}`,
      );
      runs.push(run);
    }
    const by = (id: string) => Math.round(runs.find((r) => r.id === id)!.perCore);
    const calibration: Calibration = {
      measuredAt: new Date().toISOString().replace(/\.\d+Z$/, "Z"),
      how: how(seconds, t),
      perCore: {
        httpRequestsPerSecond: by(CALIBRATION_CASES.httpRequestsPerSecond),
        httpsRequestsPerSecond: by(CALIBRATION_CASES.httpsRequestsPerSecond),
        tlsHandshakesPerSecond: by(CALIBRATION_CASES.tlsHandshakesPerSecond),
      },
    };
    return { calibration, runs };
  } finally {
    for (const p of running.reverse()) await p.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** how says what ran where, so a reader can rerun it and judge the figures. */
function how(seconds: number, t: Topology): string {
  const wrk = spawnSync("wrk", ["-v"], { encoding: "utf8" });
  const version = /wrk (\S+)/.exec(`${wrk.stdout}${wrk.stderr}`)?.[1] ?? "?";
  return (
    `portico size --calibrate --duration ${seconds}s: one engine process (Node ${process.version}) on CPU ${t.proxyCpus}, ` +
    `wrk ${version} -t1 -c64 (HTTP/1.1 keep-alive, HTTPS keep-alive, HTTPS Connection: close) and nginx on CPU ${t.loadCpus}, ` +
    `ECDSA P-256; machine: ${cpus()[0]?.model.trim() ?? "unknown CPU"} × ${availableParallelism()}`
  );
}
