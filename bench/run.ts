// run.ts: `npm run bench` — runs Portico, HAProxy and nginx side by side on this machine and
// reports medians and ratios (issue 6). Everything it needs it installs and starts itself.
//   --quick          1 round of 3-second runs (smoke test; numbers are not comparable)
//   --rounds=N       interleaved rounds (default 5; A B C, A B C ...). Five, not three: on a
//                    shared VM one proxy's rate moves ±10 % and more between rounds, and the
//                    median of five is what keeps a single slow round out of the ratio.
//   --duration=S     seconds per load run (default 10)
//   --only=a,b       test ids (see cases.ts; "idle" is the idle-connection RSS test)
//   --proxies=a,b    subset of HAProxy,nginx,Portico
//   --idle=N         idle keep-alive connections for the RSS test (default 10000)
//   --multicore      also run Portico on CPUs 0-1 with 2 workers (the load shares them)
//   --update-docs    copy the report into docs/performance.md and the chart to docs/performance.png
//   --skip-install   do not call apt-get
import { copyFileSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { CASES, type BenchCase } from "./cases.ts";
import { ratioChartSvg, writeChart } from "./chart.ts";
import { updateDocs } from "./docs.ts";
import { environment } from "./env-info.ts";
import { measureIdle } from "./idle.ts";
import { RssSampler, cpuSeconds, runCommand, type Running } from "./procs.ts";
import { makeRunDir, porticoAvailable, startBackends, startProxy } from "./proxies.ts";
import { renderReport, type IdleResult, type MulticoreResult } from "./report.ts";
import { ensureTools } from "./setup.ts";
import { median, optMedian, summarise, type Sample } from "./summary.ts";
import { PROXIES, defaultTopology, makeCertificate, type ProxyName, type Topology } from "./topology.ts";

const root = resolve(import.meta.dirname, "..");
const { values: opt } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    rounds: { type: "string" },
    duration: { type: "string" },
    only: { type: "string" },
    proxies: { type: "string" },
    idle: { type: "string", default: "10000" },
    multicore: { type: "boolean", default: false },
    "update-docs": { type: "boolean", default: false },
    "skip-install": { type: "boolean", default: false },
  },
});
const rounds = Number(opt.rounds ?? (opt.quick ? 1 : 5));
const seconds = Number(opt.duration ?? (opt.quick ? 3 : 10));
const only = opt.only ? new Set(opt.only.split(",")) : undefined;
const cases = CASES.filter((c) => !only || only.has(c.id));
const idleCount = Number(opt.idle);
const log = (msg: string): void => console.log(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}`);

const running: Running[] = [];
const notes: string[] = [];
let dir = "";
let rawDir = "";
let multiTag = "";

/** stopAll ends every process this run started, backends last. */
async function stopAll(): Promise<void> {
  for (const p of running.splice(0).reverse()) await p.stop();
}

process.on("SIGINT", () => {
  log("interrupted: stopping everything");
  void stopAll().then(() => process.exit(130));
});

/** runCase runs one test against one proxy and returns its sample, or undefined on failure. */
async function runCase(
  c: BenchCase,
  proxy: ProxyName,
  proc: Running,
  t: Topology,
  round: number,
): Promise<Sample | undefined> {
  const argv = ["taskset", "-c", t.loadCpus, ...c.argv(t.proxies[proxy], t, seconds)];
  const rss = new RssSampler(proc.pid);
  rss.start();
  try {
    const began = performance.now();
    const cpuBefore = cpuSeconds(proc.pid);
    const { stdout } = await runCommand(argv, (seconds + 30) * 1000);
    const cpu = cpuSeconds(proc.pid) - cpuBefore;
    const elapsedMs = performance.now() - began;
    // Raw output is kept beside the report, so a surprising number can be checked afterwards.
    writeFileSync(join(rawDir, `${round}-${c.id}-${proxy}${multiTag}.txt`), `${argv.join(" ")}\n\n${stdout}`);
    const result = c.parse(stdout, elapsedMs);
    // CPU per request: the proxy is idle outside the load generator's `seconds` of traffic.
    const cpuUs = c.unit === "req/s" && result.value > 0 ? (cpu * 1e6) / (result.value * seconds) : undefined;
    const sample: Sample = { proxy, caseId: c.id, round, result, rssKiB: rss.stop(), cpuUs };
    const lat =
      result.p99Ms !== undefined
        ? ` p50 ${result.p50Ms}ms p99 ${result.p99Ms}ms`
        : result.meanMs !== undefined
          ? ` mean ${result.meanMs}ms`
          : "";
    log(
      `round ${round} ${c.id} ${proxy}: ${result.value.toFixed(c.unit === "Gbit/s" ? 2 : 0)} ${c.unit}${lat}${cpuUs === undefined ? "" : ` cpu ${cpuUs.toFixed(1)}µs/req`} rss ${(sample.rssKiB / 1024).toFixed(1)} MiB${result.errors ? ` errors ${result.errors}` : ""}`,
    );
    return sample;
  } catch (e) {
    rss.stop();
    const msg = `round ${round} ${c.id} ${proxy} failed: ${(e as Error).message.split("\n")[0]}`;
    log(msg);
    notes.push(msg);
    return undefined;
  }
}

/** commandText shows a test's exact command with HOST standing for the proxy's address. */
function commandText(c: BenchCase, t: Topology): string {
  return `taskset -c ${t.loadCpus} ${c
    .argv("HOST", t, seconds)
    .map((a) => (/[\s"]/.test(a) ? `'${a}'` : a))
    .join(" ")}`;
}

async function main(): Promise<void> {
  const startedAt = new Date().toISOString().replace(/\.\d+Z$/, "Z");
  const stamp = startedAt.replaceAll(":", "-");
  const resultsDir = join(root, "bench", "results");
  rawDir = join(resultsDir, `${stamp}-raw`);
  mkdirSync(rawDir, { recursive: true });
  if (!opt["skip-install"]) ensureTools(log);
  const env = environment();
  dir = makeRunDir(tmpdir());
  const t = defaultTopology(dir);
  makeCertificate(t);
  log(`run directory ${dir}`);

  let proxies = (opt.proxies ? opt.proxies.split(",") : [...PROXIES]) as ProxyName[];
  if (proxies.includes("Portico") && !porticoAvailable()) {
    notes.push("Portico was not run: src/engine/engine.ts does not exist yet.");
    proxies = proxies.filter((p) => p !== "Portico");
  }
  running.push(...(await startBackends(t)));
  log(
    `backends up (nginx on ${t.backend.address}:${t.backend.port}, iperf3 on ${t.iperf.address}:${t.iperf.port})`,
  );
  const procs = new Map<ProxyName, Running>();
  for (const p of proxies) {
    try {
      const proc = await startProxy(p, t, { cpus: t.proxyCpus });
      running.push(proc);
      procs.set(p, proc);
      log(`${p} up on ${t.proxies[p]} (pid ${proc.pid}, CPU ${t.proxyCpus})`);
    } catch (e) {
      const msg = `${p} did not start: ${(e as Error).message.slice(0, 1500)}`;
      log(msg);
      notes.push(msg);
    }
  }
  const active = proxies.filter((p) => procs.has(p));

  // Warm-up: a short unrecorded run per proxy, so JITs, pools and session caches are primed alike.
  for (const p of active) {
    for (const scheme of ["http", "https"] as const) {
      const port = scheme === "http" ? t.httpPort : t.httpsPort;
      await runCommand(
        ["taskset", "-c", t.loadCpus, "wrk", "-t1", "-c64", "-d1s", `${scheme}://${t.proxies[p]}:${port}/`],
        30000,
      ).catch((e: Error) => notes.push(`warm-up of ${p} (${scheme}) failed: ${e.message.split("\n")[0]}`));
    }
  }

  const samples: Sample[] = [];
  const loadCases = cases;
  for (let round = 1; round <= rounds; round++) {
    for (const c of loadCases) {
      for (const p of active) {
        const proc = procs.get(p)!;
        if (!proc.alive()) continue;
        const s = await runCase(c, p, proc, t, round);
        if (s) samples.push(s);
        if (!proc.alive()) {
          const msg = `${p} exited during ${c.id} (round ${round}); its remaining tests were skipped. Output: ${proc.output().slice(-1500)}`;
          log(msg);
          notes.push(msg);
        }
      }
    }
  }

  const idle: IdleResult[] = [];
  if (!only || only.has("idle")) {
    for (const p of active.filter((x) => procs.get(x)!.alive())) {
      try {
        // HAProxy accepts no more than its maxconn (see Topology.haproxyMaxconn); keep a margin.
        const n = p === "HAProxy" ? Math.min(idleCount, t.haproxyMaxconn - 50) : idleCount;
        if (n < idleCount)
          notes.push(
            `HAProxy held ${n} idle connections, not ${idleCount}: its maxconn follows the open-file hard limit.`,
          );
        // Each proxy is restarted first, so the test measures what idle connections cost, not the
        // high-water mark the load tests left behind (heaps, TLS session caches, socket buffers).
        const old = procs.get(p)!;
        await old.stop();
        running.splice(running.indexOf(old), 1);
        const fresh = await startProxy(p, t, { cpus: t.proxyCpus });
        running.push(fresh);
        procs.set(p, fresh);
        const r = await measureIdle(p, fresh, t, n, join(import.meta.dirname, "idle-conns.ts"));
        idle.push(r);
        log(
          `idle ${p}: ${r.connections} held (${r.failed} failed), RSS ${r.baseMiB.toFixed(1)} -> ${r.heldMiB.toFixed(1)} MiB`,
        );
      } catch (e) {
        notes.push(`idle-connection test on ${p} failed: ${(e as Error).message.split("\n")[0]}`);
      }
    }
  }

  const multicore: MulticoreResult[] = [];
  if (opt.multicore && procs.has("Portico")) {
    const one = procs.get("Portico")!;
    await one.stop();
    running.splice(running.indexOf(one), 1);
    const cpus = "0,1";
    try {
      const multi = await startProxy("Portico", t, { cpus, workers: 2 });
      running.push(multi);
      multiTag = "-2cores";
      for (const c of cases.filter((x) => x.id === "http-ka-64" || x.id === "https-ka")) {
        const ms: Sample[] = [];
        for (let round = 1; round <= rounds; round++) {
          const s = await runCase(c, "Portico", multi, t, round);
          if (s) ms.push(s);
        }
        const one = summarise([c], samples)[0]?.stats.Portico;
        multicore.push({
          caseId: c.id,
          workers: 2,
          cpus,
          oneCore: one?.value,
          multi: ms.length ? median(ms.map((s) => s.result.value)) : undefined,
          oneCoreCpuUs: one?.cpuUs,
          multiCpuUs: optMedian(ms.map((s) => s.cpuUs)),
        });
      }
    } catch (e) {
      notes.push(`multi-core run failed: ${(e as Error).message.split("\n")[0]}`);
    }
  }

  await stopAll();
  const summaries = summarise(loadCases, samples);
  const png = `${stamp}.png`;
  const subtitle = `${rounds} round(s) × ${seconds}s, medians; ${env.CPU}; ${startedAt}`;
  let chartFile: string | undefined;
  try {
    writeChart(ratioChartSvg(summaries, subtitle), join(resultsDir, `${stamp}.svg`), join(resultsDir, png));
    chartFile = png;
  } catch (e) {
    notes.push(`chart not drawn: ${(e as Error).message.split("\n")[0]}`);
  }
  if (opt.quick)
    notes.unshift("Quick smoke run (--quick): one short round; these numbers are not for comparison.");
  const report = renderReport({
    startedAt,
    environment: env,
    settings: {
      rounds: String(rounds),
      "seconds per run": String(seconds),
      "proxy CPUs": t.proxyCpus,
      "load generator + backend CPUs": t.loadCpus,
      command: `npm run bench --${process.argv.slice(2).length ? ` ${process.argv.slice(2).join(" ")}` : ""}`,
    },
    summaries,
    commands: Object.fromEntries(loadCases.map((c) => [c.id, commandText(c, t)])),
    idle,
    idleCommand: `taskset -c ${t.loadCpus} sh -c 'ulimit -n 65536 || ulimit -n "$(ulimit -Hn)"; exec node bench/idle-conns.ts HOST ${t.httpPort} ${idleCount}'`,
    multicore,
    chartFile,
    notes,
  });
  // The summary table on the console too, so a run in CI shows its verdict in the log.
  const summaryStart = report.indexOf("## Summary");
  console.log(
    `\n${report.slice(summaryStart, report.indexOf("\n\n", report.indexOf("| test |", summaryStart)))}\n`,
  );
  const mdPath = join(resultsDir, `${stamp}.md`);
  writeFileSync(mdPath, report + "\n");
  log(`report: ${mdPath}`);
  if (chartFile) log(`chart: ${join(resultsDir, png)}`);
  if (opt["update-docs"]) {
    updateDocs(join(root, "docs", "performance.md"), report.replaceAll(`](${png})`, "](performance.png)"));
    if (chartFile) copyFileSync(join(resultsDir, png), join(root, "docs", "performance.png"));
    log("docs/performance.md and docs/performance.png updated");
  }
  rmSync(dir, { recursive: true, force: true });
}

main().catch(async (e: unknown) => {
  console.error(e);
  await stopAll();
  process.exit(1);
});
