// user-causes.ts: `npm run bench:user-causes` — what `portico run` adds over the bare engine, one
// cause at a time (issue 21, item 2: "the difference to the bare engine is reported per cause").
// A ladder of processes, each adding one thing `portico run` has over the one before, all pinned
// to the proxy CPU in front of one nginx backend, driven by wrk (`http-ka-64`) in interleaved
// rounds whose order rotates. CPU time per request (every thread of the process) is the figure:
// rates swing with whatever else shares the machine, CPU per request much less.
//   engine            the bare engine (bench/portico-engine.ts), as `npm run bench` runs it
//   engine+event      + a subscriber that does nothing: the response event is timed, built and published
//   engine+prom       + Prometheus metrics as the subscriber
//   engine+metrics    + Prometheus metrics and the load sampler (--metrics)
//   engine+analytics  + the analytics collector, its batch taken once a second (--analytics)
//   run-noanalytics   `portico run --analytics off`: controller thread, admin API, metrics
//   run               `portico run` with its defaults
//   run+log           `portico run --access-log FILE`
//   runB, runB+log    the same from another build (--build-b=DIR, a .cache/dist tree): an A/B
//   engine+stgc, run+stgc  with V8's --single-threaded-gc (no GC helper threads on the one core)
//
//   --rounds=N --duration=S --quick --skip-install   as bench:user
//   --who=a,b         the rungs to run, the first the reference (default
//                     engine,engine+metrics,engine+analytics,run-noanalytics,run)
//   --build-b=DIR     the tree runB and runB+log run (scripts/build.sh output of another commit,
//                     copied out of .cache: a later build there removes older trees)
//   --strace          count each rung's system calls per request during its rounds (strace -c -f;
//                     slows the process: its rates and CPU figures are then not comparable)
//   --together        drive every rung at once in each round (one wrk each, all sharing the proxy
//                     CPU) instead of one after the other: on a shared machine the others' load
//                     then meets every rung alike, and their CPU per request compares per round
//   --node-flags=S    node flags for every Portico process, space-separated (e.g. "--cpu-prof --cpu-prof-dir=D")
import { spawn } from "node:child_process";
import { mkdirSync, readFileSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { CASES } from "./cases.ts";
import { environment } from "./env-info.ts";
import { Lifecycle, RUN_OPTIONS, timing, warmUp } from "./harness.ts";
import {
  cpuSeconds,
  pinned,
  runCommand,
  startProcess,
  threadCpuSeconds,
  waitForPort,
  type Running,
} from "./procs.ts";
import { BUILD, startPorticoRun } from "./portico-run.ts";
import { porticoEngineArgv, makeRunDir, startWebBackend } from "./proxies.ts";
import { ensureTools } from "./setup.ts";
import { defaultTopology, makeCertificate, type Topology } from "./topology.ts";
import { median } from "./summary.ts";

/** RUNGS are the processes the ladder can run, each on its own address (none the other benches use). */
const RUNGS = {
  engine: { address: "127.0.0.50" },
  "engine+event": { address: "127.0.0.58", flags: ["--subscriber=noop"] },
  "engine+prom": { address: "127.0.0.59", flags: ["--subscriber=metrics"] },
  "engine+metrics": { address: "127.0.0.51", flags: ["--metrics"] },
  "engine+analytics": { address: "127.0.0.52", flags: ["--metrics", "--analytics"] },
  "run-noanalytics": { address: "127.0.0.53", run: ["--analytics", "off"] },
  run: { address: "127.0.0.54", run: [] },
  "run+log": { address: "127.0.0.55", run: ["--access-log"] },
  "engine+stgc": { address: "127.0.0.60", node: ["--single-threaded-gc"] },
  "run+stgc": { address: "127.0.0.61", run: [], node: ["--single-threaded-gc"] },
  runB: { address: "127.0.0.56", run: [], b: true },
  "runB+log": { address: "127.0.0.57", run: ["--access-log"], b: true },
} as const satisfies Record<
  string,
  { address: string; flags?: string[]; run?: string[]; b?: boolean; node?: string[] }
>;
type Rung = keyof typeof RUNGS;

const root = resolve(import.meta.dirname, "..");
const { values: opt } = parseArgs({
  options: {
    ...RUN_OPTIONS,
    who: { type: "string", default: "engine,engine+metrics,engine+analytics,run-noanalytics,run" },
    "build-b": { type: "string" },
    "node-flags": { type: "string", default: "" },
    strace: { type: "boolean", default: false },
    together: { type: "boolean", default: false },
  },
});
const { rounds, seconds } = timing(opt);
const kase = CASES.find((c) => c.id === "http-ka-64")!;
const who = opt.who.split(",").map((w) => {
  if (!(w in RUNGS)) throw new Error(`--who: unknown "${w}"; one of ${Object.keys(RUNGS).join(", ")}`);
  return w as Rung;
});
const BACKEND = { address: "127.0.0.49", port: 8080 };
const log = (msg: string): void =>
  console.log(`[bench:user-causes ${new Date().toISOString().slice(11, 19)}] ${msg}`);
const life = new Lifecycle(log);

/** env is the environment every Portico process gets: a user's defaults. */
function env(): NodeJS.ProcessEnv {
  const e: NodeJS.ProcessEnv = { ...process.env, NODE_ENV: "production" };
  delete e.PORTICO_ANALYTICS;
  delete e.PORTICO_LOG_LEVEL;
  return e;
}
const nodeFlags = opt["node-flags"].split(" ").filter((f) => f !== "");

/** start brings up one rung on its address. */
async function start(w: Rung, t: Topology, logFile: string): Promise<Running> {
  const r: {
    address: string;
    flags?: readonly string[];
    run?: readonly string[];
    b?: boolean;
    node?: readonly string[];
  } = RUNGS[w];
  const node = [...nodeFlags, ...(r.node ?? [])];
  const build = r.b ? opt["build-b"] : BUILD;
  if (build === undefined) throw new Error(`${w} needs --build-b=DIR`);
  if (r.run === undefined) {
    const script = join(build, "bench/portico-engine.js");
    const [exe, ...rest] = porticoEngineArgv(
      script,
      { ...t, proxies: { ...t.proxies, Portico: r.address } },
      1,
      [...(r.flags ?? [])],
    );
    const argv = [exe!, ...node, ...rest];
    const proc = startProcess(w, pinned(t.proxyCpus, argv), env());
    await waitForPort(r.address, t.httpPort, 30_000, proc);
    return proc;
  }
  const flags = r.run.map((f) => f);
  if (flags.includes("--access-log")) flags.push(logFile);
  const { proc } = await startPorticoRun({
    name: w.replace("+", "-"),
    vip: r.address,
    dir: t.dir,
    t,
    env: env(),
    flags,
    build,
    nodeFlags: node,
  });
  return proc;
}

async function main(): Promise<void> {
  if (!opt["skip-install"]) ensureTools(log);
  const machine = environment();
  await runCommand(["sh", join(root, "scripts/build.sh")], 180_000);
  const dir = makeRunDir(tmpdir());
  const t: Topology = { ...defaultTopology(dir), backend: BACKEND };
  makeCertificate(t);
  life.running.push(await startWebBackend(t));
  const logFile = join(dir, "access.log");
  const procs = new Map<Rung, Running>();
  for (const w of who) {
    const p = await start(w, t, logFile);
    life.running.push(p);
    procs.set(w, p);
    log(`${w} up on ${RUNGS[w].address} (pid ${p.pid})`);
  }
  for (const w of who) await warmUp(t, RUNGS[w].address, ["http"]);
  const cpu = new Map<Rung, number[]>(who.map((w) => [w, []]));
  const rate = new Map<Rung, number[]>(who.map((w) => [w, []]));
  const syscalls = new Map<Rung, Map<string, number>[]>(who.map((w) => [w, []]));
  // threads: per rung, per thread name, µs of CPU per request in each round.
  const threads = new Map<Rung, Map<string, number[]>>(who.map((w) => [w, new Map()]));
  // measure drives rung w for one round and records its figures; several may run at once (--together).
  const measure = async (w: Rung, round: number): Promise<void> => {
    const proc = procs.get(w)!;
    const argv = ["taskset", "-c", t.loadCpus, ...kase.argv(RUNGS[w].address, t, seconds)];
    const before = cpuSeconds(proc.pid);
    const perThread = threadCpuSeconds(proc.pid);
    const tracer = opt.strace ? startStrace(proc.pid, join(dir, `strace-${w}-${round}.txt`)) : undefined;
    const { stdout } = await runCommand(argv, (seconds + 30) * 1000);
    if (tracer) syscalls.get(w)!.push(await tracer.stop());
    const used = cpuSeconds(proc.pid) - before;
    const r = kase.parse(stdout, seconds * 1000);
    const perRequest = (s: number): number => (s * 1e6) / (r.value * seconds);
    const us = perRequest(used);
    cpu.get(w)!.push(us);
    rate.get(w)!.push(r.value);
    const split: string[] = [];
    for (const [name, s] of threadCpuSeconds(proc.pid)) {
      const t = perRequest(s - (perThread.get(name) ?? 0));
      const list = threads.get(w)!.get(name) ?? [];
      list.push(t);
      threads.get(w)!.set(name, list);
      split.push(`${name} ${t.toFixed(2)}`);
    }
    log(
      `round ${round} ${w}: ${r.value.toFixed(0)} req/s, ${us.toFixed(2)} µs CPU/req (${split.join(", ")})`,
    );
    const calls = syscalls.get(w)!.at(-1);
    if (calls && tracer) {
      const n = r.value * seconds;
      const top = [...calls].sort((a, b) => b[1] - a[1]).slice(0, 8);
      log(
        `  system calls per request: ${top.map(([name, c]) => `${name} ${(c / n).toFixed(3)}`).join(", ")}`,
      );
    }
  };
  for (let round = 1; round <= rounds; round++) {
    truncateSync(ensure(logFile));
    if (opt.together) {
      // Every rung at once, sharing the proxy CPU: whatever else runs on the machine meets all of
      // them alike, so their CPU per request compares within the round.
      await Promise.all(who.map((w) => measure(w, round)));
      continue;
    }
    const order = who.map((_, i) => who[(i + round - 1) % who.length]!);
    for (const w of order) {
      truncateSync(ensure(logFile));
      await measure(w, round);
    }
  }
  await life.stopAll();
  // Other work on the machine only ever adds CPU per request: the lowest round is the least disturbed.
  const base = median(cpu.get(who[0]!)!);
  const low = Math.min(...cpu.get(who[0]!)!);
  const signed = (x: number): string => (x >= 0 ? "+" : "") + x.toFixed(2);
  const lines = [
    `# bench:user-causes ${new Date().toISOString()}`,
    "",
    `${machine.CPU}, load average at start ${machine["load average at start"] ?? "?"}; ${rounds} rounds of ${seconds} s, \`http-ka-64\`, ${opt.together ? "every rung at once" : "interleaved"}.`,
    "",
    `| rung | median req/s | median CPU µs/req | over ${who[0]} | lowest CPU µs/req | over ${who[0]} | ÷ ${who[0]} per round, median | per round µs/req |`,
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ...who.map((w) => {
      const c = median(cpu.get(w)!);
      const lo = Math.min(...cpu.get(w)!);
      // Round by round over the first rung: with --together both met the same load.
      const paired = median(cpu.get(w)!.map((x, i) => x / cpu.get(who[0]!)![i]!));
      return `| ${w} | ${median(rate.get(w)!).toFixed(0)} | ${c.toFixed(2)} | ${signed(c - base)} | ${lo.toFixed(2)} | ${signed(lo - low)} | ${paired.toFixed(3)} | ${cpu
        .get(w)!
        .map((x) => x.toFixed(2))
        .join(", ")} |`;
    }),
    "",
    "CPU µs per request by thread (medians over rounds; a thread that ran in no round is left out):",
    "",
    ...who.map(
      (w) =>
        `- ${w}: ${[...threads.get(w)!]
          .map(([name, xs]) => [name, median(xs)] as const)
          .filter(([, m]) => m > 0)
          .map(([name, m]) => `${name} ${m.toFixed(2)}`)
          .join(", ")}`,
    ),
  ];
  const md = join(
    root,
    "bench",
    "results",
    `user-causes-${new Date().toISOString().replaceAll(":", "-")}.md`,
  );
  mkdirSync(join(root, "bench", "results"), { recursive: true });
  life.finish(lines.join("\n"), md, dir);
}

/**
 * startStrace counts pid's system calls (every thread) until stop, which ends strace and returns
 * the counts by call name.
 */
function startStrace(pid: number, file: string): { stop: () => Promise<Map<string, number>> } {
  const child = spawn("strace", ["-c", "-f", "-p", String(pid), "-o", file], { stdio: "ignore" });
  const exited = new Promise<void>((r) => child.on("exit", () => r()));
  return {
    stop: async () => {
      child.kill("SIGINT");
      await exited;
      const counts = new Map<string, number>();
      // Rows: "% time  seconds  usecs/call  calls  [errors]  syscall".
      for (const line of readFileSync(file, "utf8").split("\n")) {
        const f = line.trim().split(/\s+/);
        if (f.length < 5 || !/^\d/.test(f[0]!) || f.at(-1) === "total") continue;
        counts.set(f.at(-1)!, Number(f[3]));
      }
      return counts;
    },
  };
}

/** ensure creates file empty when missing (truncate needs it to exist). */
function ensure(file: string): string {
  writeFileSync(file, "", { flag: "a" });
  return file;
}

life.run(main);
