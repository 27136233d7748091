// grpc.ts: `npm run bench:grpc` — gRPC unary calls through a GRPCRoute (issue 21, item 1), beside
// HAProxy. Portico runs as a user runs it (`portico run` on a directory holding a Gateway with an
// h2c and an HTTPS listener and a GRPCRoute, bench/grpc-configs.ts); HAProxy runs mode http with
// `proto h2` to the backend. The backend is bench/grpc-echo (Go standard library, HTTP/2
// cleartext), the load generator ghz (a grpc-go client, so every call's grpc-status is checked and
// latency percentiles come from real calls); both are built by scripts/grpc-bench/build.sh into
// .cache/grpc-bench. The proxies are pinned to the proxy CPU, ghz and the backend to the load CPU;
// rounds are interleaved and the starting contestant rotates per round. "direct" (ghz straight to
// the backend, h2c only) is the load generator's and backend's ceiling: a proxy near it is limited
// by the load CPU, not by itself.
//   --rounds=N        interleaved rounds (default 5)
//   --duration=S      seconds per ghz run (default 10)
//   --quick           1 round of 3-second runs (proves the harness; numbers not comparable)
//   --only=a,b        cases (default grpc-h2c,grpc-tls)
//   --who=a,b         contestants (default HAProxy,Portico,direct)
//   --connections=N   client connections (default 16)
//   --concurrency=N   calls in flight, spread over the connections (default 128)
//   --client=NAME     ghz (default) or h2load. ghz checks each call's grpc-status and gives p50/p99,
//                     but a grpc-go client costs far more CPU per call than a proxy does, so on one
//                     load core it can be the limit (compare "direct"). h2load has that headroom;
//                     it reads HTTP statuses only, so its successes are checked against the calls
//                     grpc-echo answered OK, and it reports a mean latency only. The unrecorded
//                     warm-up always uses ghz, so every route's gRPC statuses are checked.
//   --skip-install    do not call apt-get
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import http2 from "node:http2";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { environment } from "./env-info.ts";
import {
  DEFAULT_LOAD,
  GRPC_BACKEND,
  GRPC_CASES,
  HAPROXY_VIP,
  PORTICO_VIP,
  ghzArgv,
  grpcBody,
  grpcHaproxyConfig,
  h2loadArgv,
  grpcManifest,
  type GrpcCase,
  type Load,
} from "./grpc-configs.ts";
import {
  GRPC_WHO,
  parseGhz,
  parseH2loadGrpc,
  renderGrpcReport,
  type GhzResult,
  type GrpcSample,
  type GrpcWho,
} from "./grpc-report.ts";
import { Lifecycle, noted, RUN_OPTIONS, timing } from "./harness.ts";
import { startPorticoRun } from "./portico-run.ts";
import {
  cpuSeconds,
  pinned,
  portTaken,
  runCommand,
  startProcess,
  waitForPort,
  type Running,
} from "./procs.ts";
import { makeRunDir } from "./proxies.ts";
import { ensureTools, REQUIRED } from "./setup.ts";
import { defaultTopology, makeCertificate, type Topology } from "./topology.ts";

const root = resolve(import.meta.dirname, "..");
const TOOLS = join(root, ".cache/grpc-bench");
const PROTO = join(root, "bench/grpc-echo/echo.proto");
const { values: opt } = parseArgs({
  options: {
    ...RUN_OPTIONS,
    only: { type: "string", default: GRPC_CASES.map((c) => c.id).join(",") },
    who: { type: "string", default: GRPC_WHO.join(",") },
    connections: { type: "string", default: String(DEFAULT_LOAD.connections) },
    concurrency: { type: "string", default: String(DEFAULT_LOAD.concurrency) },
    client: { type: "string", default: "ghz" },
  },
});
const { rounds, seconds } = timing(opt);
const cases = GRPC_CASES.filter((c) => opt.only.split(",").includes(c.id));
const who = GRPC_WHO.filter((w) => opt.who.split(",").includes(w));
const load: Load = { connections: Number(opt.connections), concurrency: Number(opt.concurrency) };
if (opt.client !== "ghz" && opt.client !== "h2load")
  throw new Error(`--client=${opt.client}: give ghz or h2load`);
const client = opt.client;
const log = (msg: string): void =>
  console.log(`[bench:grpc ${new Date().toISOString().slice(11, 19)}] ${msg}`);

const life = new Lifecycle(log);
const running = life.running;

/** target is where contestant w takes case c's calls; undefined when it does not run that case. */
function target(w: GrpcWho, c: GrpcCase, t: Topology): { host: string; port: number } | undefined {
  if (w === "direct") return c.tls ? undefined : { host: GRPC_BACKEND.address, port: GRPC_BACKEND.port };
  const host = w === "HAProxy" ? HAPROXY_VIP : PORTICO_VIP;
  return { host, port: c.tls ? t.httpsPort : t.httpPort };
}

/** ghz runs one ghz on the load CPUs against w for case c and returns its raw summary. */
async function ghz(
  w: GrpcWho,
  c: GrpcCase,
  t: Topology,
  secs: number,
): Promise<{ argv: string[]; out: string }> {
  const to = target(w, c, t)!;
  const argv = [
    "taskset",
    "-c",
    t.loadCpus,
    ...ghzArgv({ ghz: join(TOOLS, "ghz"), proto: PROTO, ...to, tls: c.tls, seconds: secs, load }),
  ];
  const { stdout } = await runCommand(argv, (secs + 60) * 1000);
  return { argv, out: stdout };
}

/** answeredOk asks grpc-echo (GET /stats over h2c) how many calls it answered OK so far. */
async function answeredOk(): Promise<number> {
  const session = http2.connect(`http://${GRPC_BACKEND.address}:${GRPC_BACKEND.port}`);
  try {
    const body = await new Promise<string>((res, rej) => {
      session.on("error", rej);
      const req = session.request({ ":method": "GET", ":path": "/stats" });
      let text = "";
      req.on("data", (b: Buffer) => (text += b.toString()));
      req.on("end", () => res(text));
      req.on("error", rej);
    });
    return Number(body.trim());
  } finally {
    session.close();
  }
}

/** measure runs the chosen client against w for case c and reads its result. */
async function measure(
  w: GrpcWho,
  c: GrpcCase,
  t: Topology,
  secs: number,
  body: string,
): Promise<{ argv: string[]; out: string; r: GhzResult }> {
  if (client === "ghz") {
    const { argv, out } = await ghz(w, c, t, secs);
    return { argv, out, r: parseGhz(out) };
  }
  const to = target(w, c, t)!;
  const argv = ["taskset", "-c", t.loadCpus, ...h2loadArgv({ body, ...to, tls: c.tls, seconds: secs, load })];
  const before = await answeredOk();
  const { stdout } = await runCommand(argv, (secs + 60) * 1000);
  const ok = (await answeredOk()) - before;
  const out = `${stdout}\ngrpc-echo answered OK during the run: ${ok}\n`;
  return { argv, out, r: parseH2loadGrpc(stdout, ok) };
}

async function startHaproxy(t: Topology): Promise<Running> {
  for (const port of [t.httpPort, t.httpsPort])
    if (await portTaken(HAPROXY_VIP, port))
      throw new Error(
        `${HAPROXY_VIP}:${port} is already in use (a leftover run?): \`ss -ltnp | grep ${HAPROXY_VIP}\``,
      );
  const cfg = join(t.dir, "haproxy-grpc.cfg");
  writeFileSync(cfg, grpcHaproxyConfig(t));
  await runCommand(["haproxy", "-c", "-q", "-f", cfg], 10000);
  const proc = startProcess("HAProxy", pinned(t.proxyCpus, ["haproxy", "-db", "-f", cfg]));
  try {
    for (const port of [t.httpPort, t.httpsPort]) await waitForPort(HAPROXY_VIP, port, 10000, proc);
  } catch (e) {
    await proc.stop();
    throw e;
  }
  return proc;
}

async function main(): Promise<void> {
  const startedAt = new Date().toISOString().replace(/\.\d+Z$/, "Z");
  const resultsDir = join(root, "bench", "results");
  const rawDir = join(resultsDir, `grpc-${startedAt.replaceAll(":", "-")}-raw`);
  mkdirSync(rawDir, { recursive: true });
  if (!opt["skip-install"])
    ensureTools(
      log,
      REQUIRED.filter((r) =>
        ["haproxy", "util-linux", "openssl", ...(client === "h2load" ? ["nghttp2-client"] : [])].includes(
          r.pkg,
        ),
      ),
    );
  const env = environment();
  log("building ghz and grpc-echo (scripts/grpc-bench/build.sh; minutes the first time)");
  await runCommand(["bash", join(root, "scripts/grpc-bench/build.sh")], 900_000).catch((e: Error) => {
    throw new Error(`scripts/grpc-bench/build.sh failed (Go from the module proxy is needed): ${e.message}`);
  });
  await runCommand(["sh", join(root, "scripts/build.sh")], 180_000);
  const dir = makeRunDir(tmpdir());
  const t = defaultTopology(dir);
  makeCertificate(t);
  const body = join(dir, "call.bin");
  writeFileSync(body, grpcBody());

  if (await portTaken(GRPC_BACKEND.address, GRPC_BACKEND.port))
    throw new Error(`${GRPC_BACKEND.address}:${GRPC_BACKEND.port} is already in use (a leftover grpc-echo?)`);
  const backend = startProcess(
    "grpc-echo",
    pinned(t.loadCpus, [join(TOOLS, "grpc-echo"), "-listen", `${GRPC_BACKEND.address}:${GRPC_BACKEND.port}`]),
  );
  running.push(backend);
  await waitForPort(GRPC_BACKEND.address, GRPC_BACKEND.port, 10000, backend);
  const procs = new Map<GrpcWho, Running>();
  // Each process joins `running` as soon as it is up, so a failure further on stops it too.
  const up = (w: GrpcWho, p: Running) => {
    procs.set(w, p);
    running.push(p);
    log(`${w} up (pid ${p.pid}, CPU ${t.proxyCpus})`);
  };
  if (who.includes("HAProxy")) up("HAProxy", await startHaproxy(t));
  if (who.includes("Portico")) {
    // Defaults as a user gets them: analytics and metrics on, log level info.
    const penv = { ...process.env };
    delete penv.PORTICO_ANALYTICS;
    delete penv.PORTICO_LOG_LEVEL;
    const { proc } = await startPorticoRun({
      name: "grpc",
      vip: PORTICO_VIP,
      dir,
      t,
      env: penv,
      manifest: grpcManifest({
        t,
        certPem: readFileSync(t.certFile, "utf8"),
        keyPem: readFileSync(t.keyFile, "utf8"),
      }),
    });
    up("Portico", proc);
  }

  // Unrecorded warm-up: 1 s per case and contestant, so JITs, sessions and pools are primed alike;
  // a proxy that fails a call here stops the run with ghz's own words.
  for (const c of cases)
    for (const w of who) {
      if (!target(w, c, t)) continue;
      const { out } = await ghz(w, c, t, 1);
      if (parseGhz(out).errors > 0)
        throw new Error(
          `warm-up: ${w} ${c.id} had failed calls (is the route served?):\n${out.slice(-1500)}`,
        );
    }

  const samples: GrpcSample[] = [];
  const notes: string[] = [];
  for (let round = 1; round <= rounds; round++) {
    const order = who.map((_, i) => who[(i + round - 1) % who.length]!);
    for (const c of cases)
      for (const w of order) {
        if (!target(w, c, t)) continue;
        const proc = procs.get(w);
        const cpu0 = proc ? cpuSeconds(proc.pid) : 0;
        await noted(`round ${round} ${c.id} ${w}`, notes, log, async () => {
          const { argv, out, r } = await measure(w, c, t, seconds, body);
          const cpu = proc ? cpuSeconds(proc.pid) - cpu0 : 0;
          writeFileSync(join(rawDir, `${round}-${c.id}-${w}.txt`), `${argv.join(" ")}\n\n${out}`);
          const done = r.count - r.cancelled;
          const cpuUs = proc && done > 0 ? (cpu * 1e6) / done : undefined;
          samples.push({ caseId: c.id, who: w, round, ...r, cpuUs });
          log(
            `round ${round} ${c.id} ${w}: ${r.rps.toFixed(0)} calls/s p50 ${r.p50Ms}ms p99 ${r.p99Ms}ms cpu ${cpuUs?.toFixed(1) ?? "—"}µs/call${r.errors ? ` failed ${r.errors}` : ""}`,
          );
        });
      }
  }
  await life.stopAll();
  if (opt.quick)
    notes.unshift("Quick smoke run (--quick): one short round; these numbers are not for comparison.");
  const cmd = (c: GrpcCase) => {
    const at = { host: "HOST", port: c.tls ? t.httpsPort : t.httpPort, tls: c.tls, seconds, load };
    const argv =
      client === "ghz"
        ? ghzArgv({ ghz: "ghz", proto: "bench/grpc-echo/echo.proto", ...at })
        : h2loadArgv({ body: "call.bin", ...at });
    return `taskset -c ${t.loadCpus} ${argv.join(" ")}`;
  };
  const report = renderGrpcReport({
    startedAt,
    settings: {
      machine: `${env.CPU}, load average ${env["load average at start"] ?? "?"}`,
      rounds: String(rounds),
      "seconds per run": String(seconds),
      load: `${load.connections} connections, ${load.concurrency} calls in flight, ${client === "ghz" ? `ghz ${readFileSync(join(TOOLS, ".ghz-version"), "utf8").trim()}` : `${env.h2load} (successes checked against grpc-echo's count)`}`,
      "proxy CPUs": t.proxyCpus,
      "ghz + backend CPUs": t.loadCpus,
      Portico: `\`portico run\` (Gateway + GRPCRoute, metrics and analytics at their defaults) on ${PORTICO_VIP}`,
      HAProxy: `${(env.HAProxy ?? "HAProxy").split(" - ")[0]}, mode http, \`proto h2\` to the backend, on ${HAPROXY_VIP}`,
      command: `npm run bench:grpc --${process.argv.length > 2 ? ` ${process.argv.slice(2).join(" ")}` : ""}`,
    },
    cases,
    samples,
    commands: Object.fromEntries(cases.map((c) => [c.id, cmd(c)])),
    notes,
  });
  const md = join(resultsDir, `grpc-${startedAt.replaceAll(":", "-")}.md`);
  life.finish(report, md, dir);
}

life.run(main);
