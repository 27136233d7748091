// analytics.ts: `npm run bench:analytics` — what analytics costs (issue 15, item 7: at most 5%).
// Two `portico run` processes serve the same manifests on their own addresses, one with analytics
// on (the default) and one with PORTICO_ANALYTICS=off (ANALYTICS_ENV), both pinned to the proxy
// CPU in front of the bench's nginx backend; wrk drives them in interleaved rounds with the main
// bench's keep-alive HTTP and HTTPS cases. The order alternates per round (on off, off on, ...)
// so neither variant always runs second. The whole `portico run` is measured — collector, the
// batches, the controller's store — since that is what a user turns on.
//   --rounds=N      interleaved rounds (default 5)
//   --duration=S    seconds per wrk run (default 10)
//   --quick         1 round of 3-second runs (proves the harness; numbers not comparable)
//   --only=a,b      case ids (default http-ka-64,https-ka)
//   --skip-install  do not call apt-get
import { mkdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { ANALYTICS_ENV, type ServiceSummary } from "../src/analytics/types.ts";
import { renderAbReport, summariseAb, type AbSample, type Variant } from "./analytics-report.ts";
import { CASES } from "./cases.ts";
import { environment } from "./env-info.ts";
import { Lifecycle, RUN_OPTIONS, timing, warmUp } from "./harness.ts";
import { cpuSeconds, runCommand, type Running } from "./procs.ts";
import { startPorticoRun } from "./portico-run.ts";
import { makeRunDir, startWebBackend } from "./proxies.ts";
import { REQUIRED, ensureTools } from "./setup.ts";
import { defaultTopology, makeCertificate, type Topology } from "./topology.ts";

const root = resolve(import.meta.dirname, "..");
const { values: opt } = parseArgs({
  options: {
    ...RUN_OPTIONS,
    only: { type: "string", default: "http-ka-64,https-ka" },
  },
});
const { rounds, seconds } = timing(opt);
const cases = CASES.filter((c) => opt.only.split(",").includes(c.id));
// Not the main bench's addresses (127.0.0.2-12), nor bench:engines' (20-21), nor calibration's.
const VIPS: Record<Variant, string> = { on: "127.0.0.32", off: "127.0.0.33" };
const BACKEND = { address: "127.0.0.31", port: 8080 };
const log = (msg: string): void =>
  console.log(`[bench:analytics ${new Date().toISOString().slice(11, 19)}] ${msg}`);

const life = new Lifecycle(log);
const running = life.running;

/** startVariant runs `portico run` for one variant on its own address, state and admin port. */
async function startVariant(v: Variant, dir: string, t: Topology): Promise<{ proc: Running; admin: string }> {
  const env: NodeJS.ProcessEnv = { ...process.env, PORTICO_LOG_LEVEL: "warn" };
  if (v === "off") env[ANALYTICS_ENV] = "off";
  else delete env[ANALYTICS_ENV];
  const started = await startPorticoRun({ name: `analytics-${v}`, vip: VIPS[v], dir, t, env });
  running.push(started.proc);
  return started;
}

/** recorded says what a variant's analytics API counted (sum of requests over its services). */
async function recorded(admin: string): Promise<string> {
  try {
    const r = await fetch(`${admin}/api/v1/analytics/services?window=1h`);
    if (!r.ok) return `HTTP ${r.status}`;
    const j = (await r.json()) as ServiceSummary[] | { services: ServiceSummary[] };
    const list = Array.isArray(j) ? j : j.services;
    return `${list.reduce((n, s) => n + s.requests, 0)} requests in ${list.length} virtual service(s)`;
  } catch (e) {
    return `unreadable: ${(e as Error).message}`;
  }
}

async function main(): Promise<void> {
  const startedAt = new Date().toISOString().replace(/\.\d+Z$/, "Z");
  const resultsDir = join(root, "bench", "results");
  const rawDir = join(resultsDir, `analytics-${startedAt.replaceAll(":", "-")}-raw`);
  mkdirSync(rawDir, { recursive: true });
  // Only what this bench runs: nginx (the backend), wrk, taskset, openssl.
  const needs = new Set(["nginx", "wrk", "util-linux", "openssl"]);
  if (!opt["skip-install"])
    ensureTools(
      log,
      REQUIRED.filter((r) => needs.has(r.pkg)),
    );
  const env = environment();
  await runCommand(["sh", join(root, "scripts/build.sh")], 180_000);
  const dir = makeRunDir(tmpdir());
  const t = defaultTopology(dir);
  t.backend = BACKEND;
  makeCertificate(t);
  running.push(await startWebBackend(t));
  const variants = {
    on: await startVariant("on", dir, t),
    off: await startVariant("off", dir, t),
  };
  log(
    `Portico analytics on at ${VIPS.on}, off at ${VIPS.off} (CPU ${t.proxyCpus}); wrk and nginx on CPU ${t.loadCpus}`,
  );
  // Warm-up, unrecorded, as the main bench does: JIT, pools and session caches primed alike.
  for (const v of ["on", "off"] as const) await warmUp(t, VIPS[v]);

  const samples: AbSample[] = [];
  const notes: string[] = [];
  for (let round = 1; round <= rounds; round++) {
    const order: Variant[] = round % 2 ? ["on", "off"] : ["off", "on"];
    for (const c of cases) {
      for (const v of order) {
        const { proc } = variants[v];
        const argv = ["taskset", "-c", t.loadCpus, ...c.argv(VIPS[v], t, seconds)];
        const cpuBefore = cpuSeconds(proc.pid);
        const began = performance.now();
        try {
          const { stdout } = await runCommand(argv, (seconds + 30) * 1000);
          const cpu = cpuSeconds(proc.pid) - cpuBefore;
          writeFileSync(join(rawDir, `${round}-${c.id}-${v}.txt`), `${argv.join(" ")}\n\n${stdout}`);
          const r = c.parse(stdout, performance.now() - began);
          const cpuUs = r.value > 0 ? (cpu * 1e6) / (r.value * seconds) : undefined;
          samples.push({
            caseId: c.id,
            variant: v,
            round,
            requestsPerSecond: r.value,
            p50Ms: r.p50Ms,
            p99Ms: r.p99Ms,
            errors: r.errors,
            cpuUs,
          });
          log(
            `round ${round} ${c.id} analytics ${v}: ${r.value.toFixed(0)} req/s p50 ${r.p50Ms}ms p99 ${r.p99Ms}ms cpu ${cpuUs?.toFixed(1)}µs/req${r.errors ? ` errors ${r.errors}` : ""}`,
          );
        } catch (e) {
          const msg = `round ${round} ${c.id} analytics ${v} failed: ${(e as Error).message.split("\n")[0]}`;
          log(msg);
          notes.push(msg);
        }
      }
    }
  }
  // What each recorded: the check that the switch works (the last interval may still be in flight).
  const rec = { on: "", off: "" };
  for (const v of ["on", "off"] as const) rec[v] = await recorded(variants[v].admin);
  await life.stopAll();

  const rows = summariseAb(
    cases.map((c) => c.id),
    samples,
  );
  if (opt.quick)
    notes.unshift("Quick smoke run (--quick): one short round; these numbers are not for comparison.");
  const report = renderAbReport({
    startedAt,
    environment: env,
    settings: {
      rounds: String(rounds),
      "seconds per run": String(seconds),
      "Portico CPUs": t.proxyCpus,
      "wrk + backend CPUs": t.loadCpus,
      command: `npm run bench:analytics --${process.argv.length > 2 ? ` ${process.argv.slice(2).join(" ")}` : ""}`,
    },
    rows,
    commands: Object.fromEntries(
      cases.map((c) => [c.id, `taskset -c ${t.loadCpus} ${c.argv("VIP", t, seconds).join(" ")}`]),
    ),
    recorded: rec,
    notes,
  });
  const md = join(resultsDir, `analytics-${startedAt.replaceAll(":", "-")}.md`);
  life.finish(report, md, dir);
}

life.run(main);
