// user.ts: `npm run bench:user` — Portico exactly as a user runs it (issue 21, item 2): `portico run`
// on a manifest directory (controller thread, admin API, metrics and analytics at their defaults),
// with the access log off and on, beside HAProxy and nginx with the main bench's configurations
// (nginx once more with its access log on) and beside the bare engine the main bench measures
// (bench/portico-engine.ts), so the cost of the user mode over the engine is read in the same run.
// Every process is pinned to the proxy CPU, wrk and the backend to the load CPU, as in `npm run
// bench`; rounds are interleaved and the starting contestant rotates per round.
//   --rounds=N      interleaved rounds (default 5)
//   --duration=S    seconds per wrk run (default 10)
//   --quick         1 round of 3-second runs (proves the harness; numbers not comparable)
//   --only=a,b      case ids (default http-ka-64,https-ka)
//   --who=a,b       contestants (default HAProxy,nginx,nginx+log,engine,run,run+log; run-node and
//                   engine-node are `portico run` and the engine with PORTICO_OWN_SOCKETS=off, the
//                   own socket layer's A/B)
//   --skip-install  do not call apt-get
import { mkdirSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { CASES } from "./cases.ts";
import { nginxProxyConfig } from "./configs.ts";
import { environment } from "./env-info.ts";
import { Lifecycle, RUN_OPTIONS, timing, warmUp } from "./harness.ts";
import { cpuSeconds, pinned, runCommand, startProcess, waitForPort, type Running } from "./procs.ts";
import { startPorticoRun } from "./portico-run.ts";
import { makeRunDir, startBackends, startProxy } from "./proxies.ts";
import { ensureTools } from "./setup.ts";
import { defaultTopology, makeCertificate, type Topology } from "./topology.ts";
import { CONTESTANTS, renderUserReport, type Contestant, type UserSample } from "./user-report.ts";

const root = resolve(import.meta.dirname, "..");
const { values: opt } = parseArgs({
  options: {
    ...RUN_OPTIONS,
    only: { type: "string", default: "http-ka-64,https-ka" },
    who: { type: "string", default: CONTESTANTS.filter((c) => !c.endsWith("-node")).join(",") },
  },
});
const { rounds, seconds } = timing(opt);
const cases = CASES.filter((c) => opt.only.split(",").includes(c.id));
const who = CONTESTANTS.filter((c) => opt.who.split(",").includes(c));
// HAProxy, nginx and the engine keep the main bench's addresses (127.0.0.10-12); these are new.
const ADDRESSES: Partial<Record<Contestant, string>> = {
  run: "127.0.0.40",
  "run+log": "127.0.0.41",
  "nginx+log": "127.0.0.42",
  "run-node": "127.0.0.43",
  "engine-node": "127.0.0.44",
};
const log = (msg: string): void =>
  console.log(`[bench:user ${new Date().toISOString().slice(11, 19)}] ${msg}`);

const life = new Lifecycle(log);
const running = life.running;

/**
 * startNginxLogging is the main bench's nginx configuration with `access_log FILE combined
 * buffer=64k flush=1s`: buffered, as Portico's access log is (a turn's lines in one write, at once
 * past 64 KiB), so run+log / nginx+log compares like with like. nginx has no per-turn flush; its
 * buffer is written when 64 KiB filled or a second passed, so it makes fewer, larger writes.
 */
async function startNginxLogging(t: Topology, file: string): Promise<Running> {
  const address = ADDRESSES["nginx+log"]!;
  const conf = nginxProxyConfig({ ...t, proxies: { ...t.proxies, nginx: address } })
    .replace("access_log off;", `access_log ${file} combined buffer=64k flush=1s;`)
    .replace("nginx-proxy.pid", "nginx-log.pid");
  const path = join(t.dir, "nginx-log.conf");
  writeFileSync(path, conf);
  await runCommand(["nginx", "-t", "-q", "-e", "stderr", "-p", t.dir, "-c", path], 10000);
  const proc = startProcess(
    "nginx+log",
    pinned(t.proxyCpus, ["nginx", "-e", "stderr", "-p", t.dir, "-c", path]),
  );
  await waitForPort(address, t.httpPort, 10000, proc);
  return proc;
}

/** start brings up one contestant and returns its process and address. */
async function start(
  c: Contestant,
  t: Topology,
  logs: Record<string, string>,
): Promise<{ proc: Running; host: string }> {
  if (c === "HAProxy" || c === "nginx")
    return { proc: await startProxy(c, t, { cpus: t.proxyCpus }), host: t.proxies[c] };
  if (c === "engine")
    return { proc: await startProxy("Portico", t, { cpus: t.proxyCpus }), host: t.proxies.Portico };
  if (c === "engine-node") {
    // The bare engine on Node's net.Socket accept path: the own socket layer's A/B.
    const host = ADDRESSES[c]!;
    const env = { ...process.env, PORTICO_OWN_SOCKETS: "off" };
    const tn = { ...t, proxies: { ...t.proxies, Portico: host } };
    return { proc: await startProxy("Portico", tn, { cpus: t.proxyCpus, env }), host };
  }
  if (c === "nginx+log") return { proc: await startNginxLogging(t, logs[c]!), host: ADDRESSES[c]! };
  // Defaults as a user gets them: analytics and metrics on, log level info.
  const env = { ...process.env };
  delete env.PORTICO_ANALYTICS;
  delete env.PORTICO_LOG_LEVEL;
  // run-node is `portico run` on Node's net.Socket accept path: the own socket layer's A/B.
  if (c === "run-node") env.PORTICO_OWN_SOCKETS = "off";
  else delete env.PORTICO_OWN_SOCKETS;
  const flags = c === "run+log" ? ["--access-log", logs[c]!] : [];
  const { proc } = await startPorticoRun({
    name: c.replace("+", "-"),
    vip: ADDRESSES[c]!,
    dir: t.dir,
    t,
    env,
    flags,
  });
  return { proc, host: ADDRESSES[c]! };
}

async function main(): Promise<void> {
  const startedAt = new Date().toISOString().replace(/\.\d+Z$/, "Z");
  const resultsDir = join(root, "bench", "results");
  const rawDir = join(resultsDir, `user-${startedAt.replaceAll(":", "-")}-raw`);
  mkdirSync(rawDir, { recursive: true });
  if (!opt["skip-install"]) ensureTools(log);
  const env = environment();
  await runCommand(["sh", join(root, "scripts/build.sh")], 180_000);
  const dir = makeRunDir(tmpdir());
  const t = defaultTopology(dir);
  makeCertificate(t);
  running.push(...(await startBackends(t)));
  // The access logs are truncated before each run so a long bench does not fill the disk; both
  // writers append (O_APPEND), so they keep writing at the new end.
  const logs: Record<string, string> = {
    "nginx+log": join(dir, "nginx-access.log"),
    "run+log": join(dir, "portico-access.log"),
  };
  const procs = new Map<Contestant, { proc: Running; host: string }>();
  for (const c of who) {
    const p = await start(c, t, logs);
    running.push(p.proc);
    procs.set(c, p);
    log(`${c} up on ${p.host} (pid ${p.proc.pid}, CPU ${t.proxyCpus})`);
  }
  for (const [, p] of procs) await warmUp(t, p.host);

  const samples: UserSample[] = [];
  const notes: string[] = [];
  for (let round = 1; round <= rounds; round++) {
    // Rotate the order so no contestant always runs first or after the same neighbour.
    const order = who.map((_, i) => who[(i + round - 1) % who.length]!);
    for (const c of cases)
      for (const w of order) {
        const { proc, host } = procs.get(w)!;
        if (logs[w]) truncateSync(logs[w]!);
        const argv = ["taskset", "-c", t.loadCpus, ...c.argv(host, t, seconds)];
        const cpuBefore = cpuSeconds(proc.pid);
        const began = performance.now();
        try {
          const { stdout } = await runCommand(argv, (seconds + 30) * 1000);
          const cpu = cpuSeconds(proc.pid) - cpuBefore;
          writeFileSync(
            join(rawDir, `${round}-${c.id}-${w.replace("+", "-")}.txt`),
            `${argv.join(" ")}\n\n${stdout}`,
          );
          const r = c.parse(stdout, performance.now() - began);
          const cpuUs = r.value > 0 ? (cpu * 1e6) / (r.value * seconds) : undefined;
          samples.push({
            caseId: c.id,
            who: w,
            round,
            requestsPerSecond: r.value,
            p99Ms: r.p99Ms,
            errors: r.errors,
            cpuUs,
          });
          log(
            `round ${round} ${c.id} ${w}: ${r.value.toFixed(0)} req/s p99 ${r.p99Ms}ms cpu ${cpuUs?.toFixed(1)}µs/req${r.errors ? ` errors ${r.errors}` : ""}`,
          );
        } catch (e) {
          const msg = `round ${round} ${c.id} ${w} failed: ${(e as Error).message.split("\n")[0]}`;
          log(msg);
          notes.push(msg);
        }
      }
  }
  await life.stopAll();
  if (opt.quick)
    notes.unshift("Quick smoke run (--quick): one short round; these numbers are not for comparison.");
  const report = renderUserReport({
    startedAt,
    settings: {
      machine: `${env.CPU}, load average ${env["load average at start"] ?? "?"}`,
      rounds: String(rounds),
      "seconds per run": String(seconds),
      "proxy CPUs": t.proxyCpus,
      "wrk + backend CPUs": t.loadCpus,
      command: `npm run bench:user --${process.argv.length > 2 ? ` ${process.argv.slice(2).join(" ")}` : ""}`,
    },
    caseIds: cases.map((c) => c.id),
    samples,
    commands: Object.fromEntries(
      cases.map((c) => [c.id, `taskset -c ${t.loadCpus} ${c.argv("HOST", t, seconds).join(" ")}`]),
    ),
    notes,
  });
  const md = join(resultsDir, `user-${startedAt.replaceAll(":", "-")}.md`);
  life.finish(report, md, dir);
}

life.run(main);
