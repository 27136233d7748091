// engines.ts: `npm run bench:engines` — the throughput of 1, 2 and 3 `portico engine` processes
// behind one VIP (issue 13). A controller (`portico run --engine-listen --no-local-engine`) serves
// one HTTP VIP in the EngineGroup "edge"; the engines share that VIP:port with SO_REUSEPORT, in
// front of the bench's nginx backend. Each round measures every engine count in turn (1 2 3, 1 2 3
// ...) with the bench's keep-alive HTTP case, then `portico size` reads the last run's load reports.
//   --duration=S            seconds per wrk run (default 10)
//   --rounds=N              interleaved rounds (default 3)
//   --engines=1,2,3         engine counts to measure; ratios are to the smallest
//   --calibration=FILE      reuse this calibration.json instead of `portico size --calibrate`
//   --calibrate-duration=S  seconds per calibration case when one is made (default 3)
//   --skip-install          do not call apt-get
import { copyFileSync, existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type AddressInfo } from "node:net";
import { availableParallelism, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { FleetView } from "../src/controller/fleet/view.ts";
import { CASES } from "./cases.ts";
import {
  engineCpuList,
  enginesManifest,
  parseEnginesArgs,
  renderEnginesReport,
  summariseEngines,
  type EnginesSample,
} from "./engines-report.ts";
import { environment } from "./env-info.ts";
import {
  cpuSeconds,
  pinned,
  portTaken,
  runCommand,
  startProcess,
  waitForPort,
  type Running,
} from "./procs.ts";
import { makeRunDir, startWebBackend } from "./proxies.ts";
import { ensureTools } from "./setup.ts";
import { defaultTopology, type Topology } from "./topology.ts";
import { ENGINE_NODE_FLAGS } from "../src/engine/v8-tuning.ts";

const root = resolve(import.meta.dirname, "..");
const o = parseEnginesArgs(process.argv.slice(2));
const httpCase = CASES.find((c) => c.id === "http-ka-64")!;
// The JS build, as bin/portico runs it (no type stripper in the engines).
const portico = [
  process.execPath,
  "--disable-warning=ExperimentalWarning",
  ...ENGINE_NODE_FLAGS,
  join(root, ".cache/dist/src/cli/main.js"),
];
const env = { ...process.env, NODE_ENV: "production" };
// Not the bench's addresses (127.0.0.2-12) nor calibration's (150-250): both may run here too.
const VIP = "127.0.0.20";
const log = (msg: string): void =>
  console.log(`[bench:engines ${new Date().toISOString().slice(11, 19)}] ${msg}`);

const running: Running[] = [];
/** engines holds the running engines, engine i+1 at index i. */
const engines: Running[] = [];

/** stopAll ends every process this run started, engines first, the backend last. */
async function stopAll(): Promise<void> {
  for (const e of engines.splice(0).reverse()) await e.stop();
  for (const p of running.splice(0).reverse()) await p.stop();
}

process.on("SIGINT", () => {
  log("interrupted: stopping everything");
  void stopAll().then(() => process.exit(130));
});

/** freePort is a TCP port free on 127.0.0.1 now (the controller's flags need numbers up front). */
async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const port = (s.address() as AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

/** fleetOf reads the controller's engine list. */
async function fleetOf(admin: string): Promise<FleetView> {
  const r = await fetch(`http://${admin}/api/v1/engines`);
  if (!r.ok) throw new Error(`GET /api/v1/engines: HTTP ${r.status}`);
  return (await r.json()) as FleetView;
}

/** poll checks cond every 200 ms until it holds, or throws what at the deadline. */
async function poll(what: string, timeoutMs: number, cond: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await cond().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** waitAcked waits until exactly the first n engines are connected, acked the latest push, and ready. */
function waitAcked(admin: string, n: number): Promise<void> {
  const names = Array.from({ length: n }, (_, i) => `e${i + 1}`);
  return poll(`engines ${names.join(", ")} to ack`, 60_000, async () => {
    const f = await fleetOf(admin);
    const connected = f.engines.filter((e) => e.connected && !e.local).map((e) => e.identity.name);
    return (
      connected.length === n &&
      names.every((name) => {
        const e = f.engines.find((x) => x.identity.name === name);
        return e?.ready && e.pending === undefined && e.acked?.epoch === f.epoch;
      })
    );
  });
}

/** setEngines starts or stops engines until exactly n run, each pinned to its CPU. */
async function setEngines(n: number, link: string, state: string, cpus: string[]): Promise<void> {
  while (engines.length > n) await engines.pop()!.stop();
  while (engines.length < n) {
    const i = engines.length + 1;
    const adminPort = await freePort();
    const argv = [
      ...portico,
      "engine",
      ...["--controller", link, "--name", `e${i}`, "--group", "edge", "--workers", "1"],
      ...["--ca-file", join(state, "engine-ca.pem"), "--token-file", join(state, "engine-token")],
      ...["--admin", `127.0.0.1:${adminPort}`, "--drain-timeout", "2s"],
    ];
    engines.push(startProcess(`e${i}`, pinned(cpus[i - 1]!, argv), env));
  }
}

/** measure runs wrk once against the VIP and records each engine's CPU over it. */
async function measure(n: number, round: number, t: Topology, rawDir: string): Promise<EnginesSample> {
  const argv = ["taskset", "-c", t.loadCpus, ...httpCase.argv(VIP, t, o.seconds)];
  const before = engines.map((e) => cpuSeconds(e.pid));
  const began = performance.now();
  const { stdout } = await runCommand(argv, (o.seconds + 30) * 1000);
  const elapsed = (performance.now() - began) / 1000;
  const engineCores = engines.map((e, i) => (cpuSeconds(e.pid) - before[i]!) / elapsed);
  writeFileSync(join(rawDir, `${round}-${n}-engines.txt`), `${argv.join(" ")}\n\n${stdout}`);
  const r = httpCase.parse(stdout, elapsed * 1000);
  log(
    `round ${round}, ${n} engine(s): ${r.value.toFixed(0)} req/s p99 ${r.p99Ms}ms CPU ${engineCores.map((c) => c.toFixed(2)).join(" + ")}${r.errors ? ` errors ${r.errors}` : ""}`,
  );
  return { engines: n, round, requestsPerSecond: r.value, p99Ms: r.p99Ms, errors: r.errors, engineCores };
}

async function main(): Promise<void> {
  const startedAt = new Date().toISOString().replace(/\.\d+Z$/, "Z");
  const stamp = startedAt.replaceAll(":", "-");
  const resultsDir = join(root, "bench", "results");
  const rawDir = join(resultsDir, `engines-${stamp}-raw`);
  mkdirSync(rawDir, { recursive: true });
  if (!o.skipInstall) ensureTools(log);
  const machine = environment();
  await runCommand(["sh", join(root, "scripts/build.sh")], 180_000);
  const dir = makeRunDir(tmpdir());
  const state = join(dir, "state");
  const manifests = join(dir, "manifests");
  mkdirSync(state);
  mkdirSync(manifests);
  const t = defaultTopology(dir);
  t.backend = { address: "127.0.0.21", port: 8080 };
  if (await portTaken(VIP, t.httpPort))
    throw new Error(
      `${VIP}:${t.httpPort} is already in use (a leftover run?): stop it, e.g. \`ss -ltnp | grep ${VIP}\``,
    );
  const cpuCount = availableParallelism();
  const cpus = engineCpuList(cpuCount, Math.max(...o.counts));

  // Calibrate first, with nothing else of ours running, into the controller's state dir (it serves it).
  const calFile = join(state, "calibration.json");
  let calibrationNote: string;
  if (o.calibration) {
    if (!existsSync(o.calibration)) throw new Error(`--calibration ${o.calibration}: no such file`);
    copyFileSync(o.calibration, calFile);
    calibrationNote = `reused ${o.calibration}`;
  } else {
    const argv = [
      ...portico,
      "size",
      "--calibrate",
      "--duration",
      `${o.calibrateSeconds}s`,
      "--state-dir",
      state,
    ];
    log(`calibrating: portico size --calibrate --duration ${o.calibrateSeconds}s`);
    const { stdout } = await runCommand(argv, (o.calibrateSeconds * 3 + 120) * 1000);
    console.log(stdout.trimEnd());
    calibrationNote = `portico size --calibrate --duration ${o.calibrateSeconds}s --state-dir STATE (this run)`;
  }

  running.push(await startWebBackend(t));
  const replicas = Math.max(...o.counts);
  writeFileSync(join(manifests, "bench.yaml"), enginesManifest({ vip: VIP, replicas, backend: t.backend }));
  const link = `127.0.0.1:${await freePort()}`;
  const admin = `127.0.0.1:${await freePort()}`;
  const controller = startProcess(
    "controller",
    pinned(t.loadCpus, [
      ...portico,
      "run",
      manifests,
      ...["--state-dir", state, "--admin", admin, "--http-port", String(t.httpPort)],
      ...["--engine-listen", link, "--no-local-engine"],
    ]),
    env,
  );
  running.push(controller);
  await waitForPort("127.0.0.1", Number(link.split(":")[1]), 60_000, controller);
  log(
    `controller up (admin ${admin}, engine port ${link}); VIP ${VIP}:${t.httpPort}; engines on CPU ${cpus.join(",")}`,
  );

  const samples: EnginesSample[] = [];
  const notes: string[] = [];
  let lastEnd = 0;
  for (let round = 1; round <= o.rounds; round++) {
    for (const n of o.counts) {
      await setEngines(n, link, state, cpus);
      await waitAcked(admin, n).catch(async (e: Error) => {
        // Say why: what the controller sees and what the engines and the controller printed.
        const f = await fleetOf(admin).catch((x: Error) => x.message);
        const seen =
          typeof f === "string"
            ? f
            : JSON.stringify(
                f.engines.map((x) => ({
                  name: x.identity.name,
                  connected: x.connected,
                  ready: x.ready,
                  acked: x.acked,
                  pending: x.pending,
                  nack: x.lastNack,
                  listeners: x.listeners,
                })),
              );
        const out = [controller, ...engines]
          .map((p) => `--- ${p.name}:\n${p.output().slice(-1500)}`)
          .join("\n");
        throw new Error(`${e.message}\nengines: ${seen}\n${out}`);
      });
      const dead = engines.find((e) => !e.alive());
      if (dead) throw new Error(`engine ${dead.name} exited: ${dead.output().slice(-1500)}`);
      if (round === 1 && n === o.counts[0]) {
        // Warm-up, unrecorded: JIT and the backend pool, as the main bench does.
        await runCommand(
          ["taskset", "-c", t.loadCpus, "wrk", "-t1", "-c64", "-d1s", `http://${VIP}:${t.httpPort}/`],
          30_000,
        );
      }
      samples.push(await measure(n, round, t, rawDir));
      lastEnd = Date.now();
    }
  }

  // The last run's load: wait for every engine's report covering its end (one every 2 s), then size it.
  await poll("the engines' load reports after the last run", 15_000, async () => {
    const f = await fleetOf(admin);
    return f.engines.filter((e) => e.connected && !e.local).every((e) => (e.load?.at ?? 0) >= lastEnd);
  }).catch((e: Error) => notes.push(`portico size may miss the last seconds: ${e.message}`));
  const window = Math.max(10, o.seconds + 5);
  if (o.seconds < 10)
    notes.push(
      `portico size sums load in 10-second buckets over at least the last 10 s, so with ${o.seconds}-second runs its peak may fall in a bucket that also holds the run before the last (fewer engines); its percentage is over the engines that reported in that bucket.`,
    );
  const sizeArgs = ["size", "--admin", admin, "--state-dir", state, "--window", `${window}s`];
  const size = await runCommand([...portico, ...sizeArgs], 30_000).catch((e: Error) => ({
    stdout: e.message,
  }));
  await stopAll();

  const rows = summariseEngines(samples);
  const report = renderEnginesReport({
    startedAt,
    environment: {
      CPU: machine.CPU!,
      kernel: machine.kernel!,
      "load average at start": machine["load average at start"]!,
      Node: machine.Node!,
      wrk: machine.wrk!,
      nginx: machine.nginx!,
    },
    settings: {
      rounds: String(o.rounds),
      "seconds per run": String(o.seconds),
      "engine CPUs (engine 1, 2, ...)": cpus.join(", "),
      "wrk + backend + controller CPUs": t.loadCpus,
      calibration: calibrationNote,
      command: `npm run bench:engines --${process.argv.length > 2 ? ` ${process.argv.slice(2).join(" ")}` : ""}`,
    },
    rows,
    wrkCommand: `taskset -c ${t.loadCpus} ${httpCase.argv("VIP", t, o.seconds).join(" ")}`,
    cpuCount,
    engineCpus: cpus,
    sizeCommand: `portico ${sizeArgs.join(" ")}`.replace(state, "STATE"),
    sizeOutput: size.stdout.replaceAll(state, "STATE"),
    notes,
  });
  const mdPath = join(resultsDir, `engines-${stamp}.md`);
  writeFileSync(mdPath, report + "\n");
  console.log(`\n${report}`);
  log(`report: ${mdPath}`);
  rmSync(dir, { recursive: true, force: true });
}

main().catch(async (e: unknown) => {
  console.error(e);
  await stopAll();
  process.exit(1);
});
