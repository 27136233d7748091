// waf.ts: `npm run bench:waf` — what the WAF costs (issue 16): Portico without a WAF vs Portico
// with the OWASP CRS at paranoia level 1 in Enforcement, and nginx vs nginx + ModSecurity v3
// (Debian's libnginx-mod-http-modsecurity, libmodsecurity3) running the same CRS files, on a GET
// with two query arguments and a 4 KiB urlencoded POST. Throughput with 16 connections, latency
// with 1 (p50 at light load: the WAF's own added time, not queueing). Servers on CPU 1; wrk and
// the nginx backend on CPU 0. Rounds are interleaved; medians are reported. Requests carry a
// site's Host (BENCH_HOST), not the server's address, which the CRS flags (waf-configs.ts).
//   --rounds=N (3)  --duration=S (5)  --quick (1 round of 2 s: a smoke test)  --skip-install
//   --check-only    start every server and check its answers (benign 200, attack 403), no load
// Portico runs from the JS build (bench/waf-portico.ts), as the main bench's Portico does.
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { parseWrk, type LoadResult } from "./parse.ts";
import { pinned, runCommand, startProcess, waitForPort, type Running } from "./procs.ts";
import { startWebBackend } from "./proxies.ts";
import { ensureTools } from "./setup.ts";
import { median } from "./summary.ts";
import { defaultTopology } from "./topology.ts";
import {
  ATTACK_PATH,
  BENCH_HOST,
  GET_PATH,
  modsecCompatible,
  modsecRules,
  nginxWafConfig,
  postBody,
  wrkPostScript,
  type Endpoint,
} from "./waf-configs.ts";
import { wafReport, type WafSample } from "./waf-report.ts";

const root = resolve(import.meta.dirname, "..");
const { values: opt } = parseArgs({
  options: {
    rounds: { type: "string" },
    duration: { type: "string" },
    quick: { type: "boolean", default: false },
    "check-only": { type: "boolean", default: false },
    "skip-install": { type: "boolean", default: false },
  },
});

const MODSEC_MODULE = "/usr/lib/nginx/modules/ngx_http_modsecurity_module.so";
const PORT = 8000;
/** SERVERS: each server under test and its loopback address (none shared with bench/run.ts's). */
const SERVERS = [
  { name: "Portico", address: "127.0.0.60" },
  { name: "Portico+CRS", address: "127.0.0.61" },
  { name: "nginx", address: "127.0.0.63" },
  { name: "nginx+ModSecurity", address: "127.0.0.64" },
] as const;
const log = (msg: string): void =>
  console.log(`[bench:waf ${new Date().toISOString().slice(11, 19)}] ${msg}`);

/** startServer starts one server pinned to CPU 1 and waits until it accepts connections. */
async function startServer(
  name: string,
  at: Endpoint,
  backend: Endpoint,
  dir: string,
  crsDir: string,
): Promise<Running> {
  let proc: Running;
  if (name.startsWith("Portico")) {
    const argv = [process.execPath, join(root, ".cache/dist/bench/waf-portico.js")];
    argv.push(`--address=${at.address}`, `--port=${at.port}`, `--backend=${backend.address}:${backend.port}`);
    if (name === "Portico+CRS") argv.push("--waf");
    // The build lives under .cache/dist: name the CRS directory rather than let it be derived.
    const env = { ...process.env, NODE_ENV: "production", PORTICO_CRS_DIR: crsDir };
    proc = startProcess(name, pinned("1", argv), env);
  } else {
    const tag = name === "nginx" ? "nginx-plain" : "nginx-modsec";
    let rulesFile: string | undefined;
    if (name === "nginx+ModSecurity") {
      rulesFile = join(dir, "modsec-rules.conf");
      writeFileSync(rulesFile, modsecRules(modsecCrsCopy(crsDir, join(dir, "crs"))));
    }
    const conf = join(dir, `${tag}.conf`);
    writeFileSync(conf, nginxWafConfig({ at, backend, dir, tag, rulesFile }));
    await runCommand(["nginx", "-t", "-q", "-e", "stderr", "-p", dir, "-c", conf], 120_000);
    proc = startProcess(name, pinned("1", ["nginx", "-e", "stderr", "-p", dir, "-c", conf]));
  }
  // Compiling the CRS takes seconds on a shared core.
  await waitForPort(at.address, at.port, 180_000, proc);
  return proc;
}

/** modsecCrsCopy copies the CRS to dir with modsecCompatible applied to the rule files; returns dir. */
function modsecCrsCopy(crsDir: string, dir: string): string {
  mkdirSync(join(dir, "rules"), { recursive: true });
  copyFileSync(join(crsDir, "crs-setup.conf.example"), join(dir, "crs-setup.conf.example"));
  for (const f of readdirSync(join(crsDir, "rules"))) {
    const from = join(crsDir, "rules", f);
    if (f.endsWith(".conf"))
      writeFileSync(join(dir, "rules", f), modsecCompatible(readFileSync(from, "latin1")), "latin1");
    else copyFileSync(from, join(dir, "rules", f));
  }
  return dir;
}

/**
 * check sends the GET and the POST once: both must be answered 200 (a 403: the CRS flagged them);
 * a server with a WAF must refuse ATTACK_PATH with 403, or it is not running the WAF at all.
 */
async function check(name: string, at: Endpoint, body: string): Promise<void> {
  const base = `http://${at.address}:${at.port}`;
  const attack = await fetch(base + ATTACK_PATH);
  await attack.text();
  const wants = name.includes("+") ? 403 : 200;
  if (attack.status !== wants)
    throw new Error(`${name}: the attack GET answered ${attack.status}, ${wants} expected`);
  const get = await fetch(base + GET_PATH);
  const post = await fetch(base + "/form", {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body,
  });
  await Promise.all([get.text(), post.text()]);
  if (get.status !== 200 || post.status !== 200)
    throw new Error(`${name}: GET answered ${get.status}, POST ${post.status} (200 expected for both)`);
}

/** CASES: request × connections; the c1 runs give the latency figures. */
const CASES = [
  { id: "get-c16", request: "GET", conns: 16 },
  { id: "post4k-c16", request: "POST", conns: 16 },
  { id: "get-c1", request: "GET", conns: 1 },
  { id: "post4k-c1", request: "POST", conns: 1 },
] as const;

async function main(): Promise<void> {
  const rounds = Number(opt.rounds ?? (opt.quick ? 1 : 3));
  const seconds = Number(opt.duration ?? (opt.quick ? 2 : 5));
  const crsDir = process.env.PORTICO_CRS_DIR ?? join(root, ".cache/crs/current");
  const notes: string[] = [];
  const required = [
    { file: "/usr/sbin/nginx", pkg: "nginx" },
    { file: "/usr/bin/wrk", pkg: "wrk" },
    { file: "/usr/bin/taskset", pkg: "util-linux" },
  ];
  if (!opt["skip-install"]) {
    ensureTools(log, required);
    try {
      ensureTools(log, [{ file: MODSEC_MODULE, pkg: "libnginx-mod-http-modsecurity" }]);
    } catch (err) {
      notes.push(`nginx+ModSecurity not measured: ${(err as Error).message}`);
    }
  }
  await runCommand(["sh", join(root, "scripts/build.sh")], 300_000);
  const dir = mkdtempSync(join(tmpdir(), "portico-bench-waf-"));
  const t = { ...defaultTopology(dir), backend: { address: "127.0.0.62", port: 8080 } };
  const body = postBody();
  const script = join(dir, "post.lua");
  writeFileSync(script, wrkPostScript(body));
  const running: Running[] = [];
  const stopAll = async (): Promise<void> => {
    for (const p of running.splice(0).reverse()) await p.stop();
  };
  process.on("SIGINT", () => void stopAll().then(() => process.exit(130)));
  const samples: WafSample[] = [];
  try {
    running.push(await startWebBackend(t));
    const live: (typeof SERVERS)[number][] = [];
    for (const s of SERVERS) {
      const at = { address: s.address, port: PORT };
      try {
        log(`starting ${s.name} on ${s.address}:${PORT}`);
        running.push(await startServer(s.name, at, t.backend, dir, crsDir));
        await check(s.name, at, body);
        live.push(s);
      } catch (err) {
        notes.push(`${s.name} not measured: ${(err as Error).message.split("\n").slice(0, 3).join(" ")}`);
        log(notes.at(-1)!);
      }
    }
    for (let round = 1; round <= (opt["check-only"] ? 0 : rounds); round++) {
      for (const c of CASES) {
        for (const s of live) {
          const url = `http://${s.address}:${PORT}${c.request === "GET" ? GET_PATH : "/form"}`;
          const argv = ["taskset", "-c", "0", "wrk", "-t1", `-c${c.conns}`, `-d${seconds}s`, "--latency"];
          argv.push("-H", `Host: ${BENCH_HOST}`);
          if (c.request === "POST") argv.push("-s", script);
          const { stdout } = await runCommand([...argv, url], (seconds + 60) * 1000);
          const result: LoadResult = parseWrk(stdout);
          samples.push({ server: s.name, caseId: c.id, round, result });
          log(
            `round ${round} ${c.id} ${s.name}: ${result.value.toFixed(0)} req/s, p50 ${result.p50Ms?.toFixed(3)} ms`,
          );
        }
      }
    }
  } finally {
    await stopAll();
    rmSync(dir, { recursive: true, force: true });
  }
  if (opt["check-only"]) {
    log(`checked: ${notes.length ? notes.join("; ") : "every server answers as it should"}`);
    return;
  }
  const report = wafReport(samples, { rounds, seconds, notes, median });
  mkdirSync(join(root, "bench/results"), { recursive: true });
  const out = join(root, "bench/results", `waf-${new Date().toISOString().replace(/[:.]/g, "-")}.md`);
  writeFileSync(out, report);
  console.log(report);
  log(`report written to ${out}`);
}

await main();
