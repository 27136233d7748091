// run.ts: runs the official Gateway API conformance suite (built unmodified by build.sh) against
// `portico controller` on a real kube-apiserver, with kube-controller-manager and the test node
// agent running the suite's Pods as local processes. One command:
//   sh scripts/node.sh scripts/conformance/run.ts [--profiles=GATEWAY-HTTP,...] [--run-test=NAME]
//     [--supported-features=A,B] [--skip-tests=A,B] [--keep-logs] [--report=PATH]
// Writes conformance/reports/v<gateway-api version>/<report>.yaml (a --run-test run writes under
// .cache/conformance/reports instead: one test is not a publishable report; --report names
// another path, as the CI test does to compare a run with the committed report), prints per-profile
// passed/skipped/failed and the run time, and stops everything it started, also on Ctrl-C.
import { spawn, type ChildProcess } from "node:child_process";
import { appendFileSync, cpSync, existsSync, mkdirSync, openSync, readFileSync, writeSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { freePort, startKube, type KubeEnv } from "../kube/env.ts";
import { startNodeHarness, type NodeHarness } from "./harness.ts";
import { acquireRunLock } from "./lock.ts";
import { GATEWAY_API } from "./versions.ts";
import { formatSummary, summarizeReport } from "./report.ts";

const root = resolve(import.meta.dirname, "../..");
const CACHE = join(root, ".cache/conformance");
/** PROFILES are every Gateway profile of the v1.6 suite (MESH-* need a mesh; Portico is none). */
const PROFILES = ["GATEWAY-HTTP", "GATEWAY-TLS", "GATEWAY-GRPC", "GATEWAY-TCP", "GATEWAY-UDP"];
/** The VipPool the Gateways draw from; USABLE is its last address (free unless 249 are taken), for
 * GatewayStaticAddresses, and UNUSABLE lies outside every pool. */
const POOL = "127.50.0.1-127.50.0.250";
const USABLE = "127.50.0.250";
const UNUSABLE = "127.51.0.1";

const { values: opts } = parseArgs({
  options: {
    profiles: { type: "string", default: PROFILES.join(",") },
    "run-test": { type: "string" },
    "supported-features": { type: "string" },
    "skip-tests": { type: "string" },
    "keep-logs": { type: "boolean", default: false },
    report: { type: "string" },
  },
});

const started = Date.now();
const procs: ChildProcess[] = [];
let env: KubeEnv | undefined;
let harness: NodeHarness | undefined;
let logDir = "";

function say(line: string): void {
  process.stderr.write(`conformance: ${line}\n`);
}

async function build(script: string): Promise<void> {
  say(`${script} (builds only what is missing)`);
  await new Promise<void>((ok, fail) => {
    const p = spawn("bash", [join(root, script)], { stdio: ["ignore", "inherit", "inherit"] });
    procs.push(p);
    p.once("exit", (code) =>
      code === 0 ? ok() : fail(new Error(`${script} exited with ${code}; see its output above`)),
    );
  });
}

/** startLogged starts a process whose stdout and stderr go to logDir/name.log. */
function startLogged(name: string, cmd: string, args: string[], vars: Record<string, string> = {}) {
  const log = openSync(join(logDir, `${name}.log`), "a");
  const p = spawn(cmd, args, { stdio: ["ignore", log, log], env: { ...process.env, ...vars } });
  procs.push(p);
  p.once("exit", (code, signal) => {
    if (!stopping) say(`${name} exited (${signal ?? code}); its log: ${join(logDir, `${name}.log`)}`);
  });
  return p;
}

async function waitFor<T>(what: string, check: () => Promise<T | undefined>, ms: number): Promise<T> {
  const end = Date.now() + ms;
  let last = "";
  for (;;) {
    const v = await check().catch((e: unknown) => {
      last = String(e);
      return undefined;
    });
    if (v !== undefined) return v;
    if (Date.now() > end)
      throw new Error(`${what}: not after ${ms / 1000} s${last ? ` (${last})` : ""}; logs in ${logDir}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

let stopping = false;
let starting: Promise<unknown> = Promise.resolve();

/** begin awaits a start (API server, node harness) that a signal may interrupt: cleanup waits for it
 * and then stops what it started, instead of leaking it; keep records the result before that. */
async function begin<T>(start: Promise<T>, keep: (v: T) => void): Promise<T> {
  const kept = start.then((v) => (keep(v), v));
  starting = kept.catch(() => undefined);
  const v = await kept;
  if (stopping) throw new Error("stopped by a signal while starting");
  return v;
}

let cleaning: Promise<void> | undefined;
/** cleanup stops everything started, once: a second caller (main's end racing a signal's handler)
 * waits for the same stop rather than exiting under it. */
function cleanup(): Promise<void> {
  cleaning ??= stopAll();
  return cleaning;
}

async function stopAll(): Promise<void> {
  stopping = true;
  await starting;
  for (const p of procs.reverse()) {
    if (p.exitCode === null && p.signalCode === null) p.kill("SIGTERM");
  }
  await Promise.all(
    procs.map(
      (p) =>
        new Promise<void>((done) => {
          if (p.exitCode !== null || p.signalCode !== null) return done();
          const t = setTimeout(() => p.kill("SIGKILL"), 5_000);
          p.once("exit", () => (clearTimeout(t), done()));
        }),
    ),
  );
  await harness?.stop();
  if (env && opts["keep-logs"]) {
    const keep = join(CACHE, "logs", new Date(started).toISOString().replace(/[:.]/g, "-"));
    mkdirSync(keep, { recursive: true });
    cpSync(join(env.dir, "logs"), keep, { recursive: true });
    say(`logs kept in ${keep}`);
  }
  await env?.stop();
}

for (const sig of ["SIGINT", "SIGTERM"] as const) {
  process.once(sig, () => {
    say(`${sig}: stopping everything started`);
    void cleanup().then(() => process.exit(130));
  });
}

function reportPath(): string {
  if (opts.report) return resolve(opts.report);
  if (opts["run-test"]) return join(CACHE, "reports", `${opts["run-test"]}.yaml`);
  const profiles = opts.profiles.split(",");
  const name =
    profiles.length === 1
      ? profiles[0]
      : PROFILES.every((p) => profiles.includes(p))
        ? "gateway"
        : profiles.join("+");
  return join(root, "conformance/reports", `v${GATEWAY_API}`, `${name}.yaml`);
}

async function main(): Promise<number> {
  for (const p of opts.profiles.split(",")) {
    if (!PROFILES.includes(p))
      throw new Error(`--profiles: unknown profile ${p}; choose from ${PROFILES.join(", ")}`);
  }
  mkdirSync(CACHE, { recursive: true });
  // Before the builds: a second run would rebuild the binaries the first is running.
  const lock = await acquireRunLock(join(CACHE, "run.lock"), { waitMs: 30 * 60_000, say });
  process.once("exit", () => lock.release());
  await build("scripts/kube/build.sh");
  await build("scripts/conformance/build.sh");
  // The node agent's Node lists a Hostname nothing resolves; Pod logs must go to its InternalIP.
  const kube = await begin(startKube(["--kubelet-preferred-address-types=InternalIP"]), (e) => (env = e));
  logDir = join(kube.dir, "logs");
  say(`kube-apiserver ${kube.server}; logs in ${logDir}`);
  const node = await begin(
    startNodeHarness(kube, {
      images: join(CACHE, "images.json"),
      logDir,
      log: (line) => appendFileSync(join(logDir, "node-agent.log"), `${new Date().toISOString()} ${line}\n`),
    }),
    (h) => (harness = h),
  );
  say(`node agent: Node ${node.agent.nodeName}, pods in ${node.agent.podCidr}`);
  const adminPort = await freePort();
  startLogged(
    "portico",
    process.execPath,
    [
      "--disable-warning=ExperimentalWarning",
      join(root, "src/cli/main.ts"),
      "controller",
      `--kubeconfig=${kube.porticoKubeconfig}`,
      "--identity=conformance",
      "--no-leader-elect",
      `--admin=127.0.0.1:${adminPort}`,
    ],
    { KUBERNETES_SERVICE_HOST: "" },
  );
  await kube.kubectl(["apply", "-f", "-"], {
    input: `apiVersion: portico.dev/v1alpha1
kind: VipPool
metadata: {name: conformance}
spec:
  addresses: ["${POOL}"]
---
apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: portico}
spec: {controllerName: portico.dev/gateway-controller}
`,
  });
  const features = await waitFor(
    "GatewayClass portico Accepted with supportedFeatures",
    async () => {
      const gc = JSON.parse(await kube.kubectl(["get", "gatewayclass", "portico", "-o", "json"]));
      const accepted = gc.status?.conditions?.some(
        (c: { type: string; status: string }) => c.type === "Accepted" && c.status === "True",
      );
      const names = (gc.status?.supportedFeatures ?? []).map((f: { name: string }) => f.name) as string[];
      if (accepted && names.length > 0) return names;
      throw new Error(`status now: ${JSON.stringify(gc.status ?? {})}`);
    },
    60_000,
  );
  say(`GatewayClass portico claims ${features.length} features: ${features.join(", ")}`);
  const out = reportPath();
  mkdirSync(resolve(out, ".."), { recursive: true });
  const version = (JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { version: string })
    .version;
  const args = [
    "-test.v",
    "-test.timeout=3h",
    "-test.run=^TestConformance$",
    "--gateway-class=portico",
    `--conformance-profiles=${opts.profiles}`,
    `--report-output=${out}`,
    "--organization=portico",
    "--project=portico",
    "--url=https://github.com/portico-dev/portico",
    `--version=v${version}`,
    "--contact=https://github.com/portico-dev/portico/issues",
    `--usable-address=${USABLE}`,
    `--unusable-address=${UNUSABLE}`,
    ...(opts["supported-features"] ? [`--supported-features=${opts["supported-features"]}`] : []),
    ...(opts["run-test"] ? [`--run-test=${opts["run-test"]}`] : []),
    ...(opts["skip-tests"] ? [`--skip-tests=${opts["skip-tests"]}`] : []),
  ];
  say(`suite: conformance.test ${args.join(" ")}`);
  const suiteLog = join(logDir, "suite.log");
  const suite = spawn(join(CACHE, "bin/conformance.test"), args, {
    cwd: CACHE,
    env: { ...process.env, KUBECONFIG: kube.adminKubeconfig },
    stdio: ["ignore", "pipe", "pipe"],
  });
  procs.push(suite);
  const log = openSync(suiteLog, "a");
  // The suite's own lines go to its log; the outcome of each test (--- PASS/FAIL/SKIP) to the
  // terminal, so a long run shows progress without drowning it.
  let partial = "";
  const onData = (b: Buffer) => {
    writeSync(log, b);
    const lines = (partial + b.toString()).split("\n");
    partial = lines.pop() ?? "";
    for (const l of lines)
      if (/^\s*--- (PASS|FAIL|SKIP)/.test(l) || /^(ok|FAIL|PASS)\b/.test(l)) process.stdout.write(`${l}\n`);
  };
  suite.stdout.on("data", onData);
  suite.stderr.on("data", onData);
  const code = await new Promise<number>((done) => suite.once("exit", (c) => done(c ?? 1)));
  const minutes = ((Date.now() - started) / 60_000).toFixed(1);
  if (existsSync(out)) {
    process.stdout.write(`\nreport: ${out}\n${formatSummary(summarizeReport(readFileSync(out, "utf8")))}\n`);
  } else {
    process.stdout.write(`\nno report written (suite exit ${code}); its output: ${suiteLog}\n`);
  }
  process.stdout.write(
    `run time: ${minutes} min (suite exit ${code}; full output ${suiteLog}${opts["keep-logs"] ? "" : ", removed at exit unless --keep-logs"})\n`,
  );
  return code;
}

let code = 1;
try {
  code = await main();
} catch (e) {
  say(String(e instanceof Error ? e.message : e));
} finally {
  await cleanup();
}
process.exit(code);
