// mix.ts: `npm run bench:mix` — does a protocol mix slow plain HTTP? (issue 21, item 4: a round of
// HTTP/1.1 after HTTPS and HTTP/2 rounds on the same engine is within 5% of a fresh engine.)
// Each round starts two bare engines (bench/portico-engine.ts, as the main bench runs Portico):
// "mixed" serves HTTP/1.1 keep-alive (recorded as "before"), then HTTPS keep-alive and HTTP/2
// over TLS; "fresh" has served only a 1 s HTTP warm-up, as "mixed" had before its first round.
// Then both run HTTP/1.1 keep-alive back to back (order alternating per round), and the
// report gives mixed-after ÷ fresh per round, with CPU time per request, and mixed after ÷ before.
//   --rounds=N      rounds (default 5), each with two new engine processes
//   --duration=S    seconds per load run (default 10)
//   --quick         1 round of 3-second runs (proves the harness; numbers not comparable)
//   --mix=a,b       the rounds the mixed engine serves between (default https-ka,h2-tls): one
//                   of them alone tells which protocol leaves plain HTTP slower
//   --skip-install  do not call apt-get
import { mkdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { CASES, type BenchCase } from "./cases.ts";
import { environment } from "./env-info.ts";
import { Lifecycle, RUN_OPTIONS, timing, warmUp } from "./harness.ts";
import { cpuSeconds, runCommand, type Running } from "./procs.ts";
import { makeRunDir, startBackends, startProxy } from "./proxies.ts";
import { ensureTools } from "./setup.ts";
import { median, optMedian } from "./summary.ts";
import { defaultTopology, makeCertificate, type Topology } from "./topology.ts";
import { spreadOf } from "./user-report.ts";

const root = resolve(import.meta.dirname, "..");
const { values: opt } = parseArgs({
  options: {
    ...RUN_OPTIONS,
    mix: { type: "string", default: "https-ka,h2-tls" },
  },
});
const { rounds, seconds } = timing(opt);
const byId = (id: string): BenchCase => CASES.find((c) => c.id === id)!;
const HTTP = byId("http-ka-64");
const OTHERS = opt.mix.split(",").map((id) => {
  const c = CASES.find((x) => x.id === id);
  if (c === undefined) throw new Error(`--mix: no case "${id}"; see bench/cases.ts`);
  return c;
});
/** MAX_LOSS is item 4's budget: the mixed engine's HTTP/1.1 within 5% of a fresh engine's. */
const MAX_LOSS = 0.05;
// The main bench's Portico address for the mixed engine; the fresh one beside it.
const FRESH = "127.0.0.13";
const log = (msg: string): void =>
  console.log(`[bench:mix ${new Date().toISOString().slice(11, 19)}] ${msg}`);

const life = new Lifecycle(log);
const running = life.running;

/** Run is one recorded load run. */
interface Run {
  round: number;
  what: "before" | "after" | "fresh";
  rps: number;
  cpuUs?: number;
  p99Ms?: number;
  errors: number;
}

/** load runs case c against host and measures proc's CPU per request. */
async function load(c: BenchCase, host: string, proc: Running, t: Topology, rawDir: string, tag: string) {
  const argv = ["taskset", "-c", t.loadCpus, ...c.argv(host, t, seconds)];
  const cpu0 = cpuSeconds(proc.pid);
  const began = performance.now();
  const { stdout } = await runCommand(argv, (seconds + 30) * 1000);
  const cpu = cpuSeconds(proc.pid) - cpu0;
  writeFileSync(join(rawDir, `${tag}.txt`), `${argv.join(" ")}\n\n${stdout}`);
  const r = c.parse(stdout, performance.now() - began);
  const cpuUs = r.value > 0 ? (cpu * 1e6) / (r.value * seconds) : undefined;
  log(
    `${tag}: ${r.value.toFixed(0)} req/s cpu ${cpuUs?.toFixed(1)}µs/req${r.errors ? ` errors ${r.errors}` : ""}`,
  );
  return { rps: r.value, cpuUs, p99Ms: r.p99Ms, errors: r.errors };
}

async function main(): Promise<void> {
  const startedAt = new Date().toISOString().replace(/\.\d+Z$/, "Z");
  const resultsDir = join(root, "bench", "results");
  const rawDir = join(resultsDir, `mix-${startedAt.replaceAll(":", "-")}-raw`);
  mkdirSync(rawDir, { recursive: true });
  if (!opt["skip-install"]) ensureTools(log);
  const env = environment();
  const dir = makeRunDir(tmpdir());
  const t = defaultTopology(dir);
  makeCertificate(t);
  const tFresh: Topology = { ...t, proxies: { ...t.proxies, Portico: FRESH } };
  running.push(...(await startBackends(t)));
  const runs: Run[] = [];
  const notes: string[] = [];
  for (let round = 1; round <= rounds; round++) {
    const mixed = await startProxy("Portico", t, { cpus: t.proxyCpus });
    running.push(mixed);
    const host = t.proxies.Portico;
    await warmUp(t, host, ["http"]);
    runs.push({
      round,
      what: "before",
      ...(await load(HTTP, host, mixed, t, rawDir, `${round}-mixed-before`)),
    });
    for (const c of OTHERS) await load(c, host, mixed, t, rawDir, `${round}-mixed-${c.id}`);
    // Started only now, so it has not idled longer than the mixed one before its measured round.
    const fresh = await startProxy("Portico", tFresh, { cpus: t.proxyCpus });
    running.push(fresh);
    await warmUp(t, FRESH, ["http"]);
    const pair = [
      { what: "after" as const, host, proc: mixed },
      { what: "fresh" as const, host: FRESH, proc: fresh },
    ];
    for (const p of round % 2 ? pair : pair.reverse())
      runs.push({
        round,
        what: p.what,
        ...(await load(HTTP, p.host, p.proc, t, rawDir, `${round}-${p.what}`)),
      });
    for (const p of [fresh, mixed]) await life.stop(p);
  }
  await life.stopAll();

  const of = (w: Run["what"]) => runs.filter((r) => r.what === w).sort((a, b) => a.round - b.round);
  const paired = (a: Run["what"], b: Run["what"], f: (r: Run) => number | undefined) =>
    of(a).flatMap((x) => {
      const y = of(b).find((r) => r.round === x.round);
      const fx = f(x);
      const fy = y && f(y);
      return fx !== undefined && fy ? [fx / fy] : [];
    });
  const afterFresh = paired("after", "fresh", (r) => r.rps);
  const cpuAfterFresh = paired("after", "fresh", (r) => r.cpuUs);
  const afterBefore = paired("after", "before", (r) => r.rps);
  const ratio = median(of("after").map((r) => r.rps)) / median(of("fresh").map((r) => r.rps));
  const spread = spreadOf(afterFresh) ?? 0;
  const errors = runs.some((r) => r.errors > 0);
  const verdict = errors
    ? "errors: not met"
    : spread > 0.15
      ? `spread ±${(spread * 100).toFixed(0)}% > ±15%: repeat the run`
      : ratio >= 1 - MAX_LOSS
        ? "meets (≥ 0.95×: no more than 5% slower)"
        : "more than 5% slower";
  const fmt = (xs: number[], d = 2) => xs.map((x) => x.toFixed(d)).join(", ");
  const lines = [
    `# Protocol mix (\`npm run bench:mix\`), ${startedAt}`,
    "",
    `- machine: ${env.CPU}, load average at start ${env["load average at start"]}`,
    `- between "before" and "after" the mixed engine served: ${OTHERS.map((c) => c.id).join(", ")}`,
    `- ${rounds} round(s) × ${seconds} s; engines on CPU ${t.proxyCpus}, load and backend on CPU ${t.loadCpus}`,
    `- command: npm run bench:mix --${process.argv.length > 2 ? ` ${process.argv.slice(2).join(" ")}` : ""}`,
    "",
    "| HTTP/1.1 keep-alive (wrk -c64) | median req/s | CPU µs/req | rounds |",
    "| --- | ---: | ---: | --- |",
    ...(["before", "after", "fresh"] as const).map(
      (w) =>
        `| ${{ before: "mixed engine, before the mix", after: "mixed engine, after the mix", fresh: "fresh engine" }[w]} | ${median(of(w).map((r) => r.rps)).toFixed(0)} | ${optMedian(of(w).map((r) => r.cpuUs))?.toFixed(1) ?? "—"} | ${fmt(
          of(w).map((r) => r.rps),
          0,
        )} |`,
    ),
    "",
    `after ÷ fresh: **${ratio.toFixed(3)}×** (medians; per round ${fmt(afterFresh, 3)}, spread ±${(spread * 100).toFixed(0)}%) — ${verdict}`,
    `CPU per request after ÷ fresh, per round: ${fmt(cpuAfterFresh, 3)} (median ${optMedian(cpuAfterFresh)?.toFixed(3) ?? "—"})`,
    `after ÷ before (same engine), per round: ${fmt(afterBefore, 3)}`,
    ...(notes.length ? ["", ...notes.map((n) => `- ${n}`)] : []),
  ];
  const report = lines.join("\n");
  const md = join(resultsDir, `mix-${startedAt.replaceAll(":", "-")}.md`);
  life.finish(report, md, dir);
}

life.run(main);
