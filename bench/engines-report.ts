// engines-report.ts: the pure parts of `npm run bench:engines` (engines.ts): its flags, the
// manifest the controller serves, where each engine is pinned, and the markdown report.
import { parseArgs } from "node:util";
import { median, optMedian } from "./summary.ts";

/** EnginesOptions are bench:engines' settings, checked. */
export interface EnginesOptions {
  /** seconds is each wrk run's length; rounds how many times every engine count is measured. */
  seconds: number;
  rounds: number;
  /** counts are the engine counts measured in each round, ascending (default 1, 2, 3). */
  counts: number[];
  /** calibration is a calibration.json to reuse instead of running `portico size --calibrate`. */
  calibration?: string;
  /** calibrateSeconds is each `portico size --calibrate` run's length when one is made. */
  calibrateSeconds: number;
  skipInstall: boolean;
}

/** ENGINES_USAGE says how to call bench:engines. */
export const ENGINES_USAGE =
  "usage: npm run bench:engines -- [--duration=S] [--rounds=N] [--engines=1,2,3] [--calibration=FILE] [--calibrate-duration=S] [--skip-install]";

/** positiveInt reads a whole number ≥ 1 for flag, or throws naming the flag. */
function positiveInt(text: string, flag: string, max: number): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > max)
    throw new Error(`--${flag} must be a whole number from 1 to ${max}, not "${text}"\n${ENGINES_USAGE}`);
  return n;
}

/** parseEnginesArgs reads argv (without node and the script); a bad value throws with the usage. */
export function parseEnginesArgs(argv: string[]): EnginesOptions {
  let v;
  try {
    ({ values: v } = parseArgs({
      args: argv,
      options: {
        duration: { type: "string", default: "10" },
        rounds: { type: "string", default: "3" },
        engines: { type: "string", default: "1,2,3" },
        calibration: { type: "string" },
        "calibrate-duration": { type: "string", default: "3" },
        "skip-install": { type: "boolean", default: false },
      },
    }));
  } catch (e) {
    throw new Error(`${(e as Error).message}\n${ENGINES_USAGE}`);
  }
  const counts = [...new Set(v.engines.split(",").map((s) => positiveInt(s.trim(), "engines", 16)))];
  // Ratios are to the smallest count, so it must be measured: 1 unless the user asks otherwise.
  counts.sort((a, b) => a - b);
  return {
    seconds: positiveInt(v.duration, "duration", 3600),
    rounds: positiveInt(v.rounds, "rounds", 100),
    counts,
    calibration: v.calibration,
    calibrateSeconds: positiveInt(v["calibrate-duration"], "calibrate-duration", 600),
    skipInstall: v["skip-install"],
  };
}

/**
 * engineCpuList says which CPU each engine is pinned to: CPU 0 carries wrk, the backend and the
 * controller, and the engines take CPUs 1..n-1 in turn (on a 2-CPU machine all share CPU 1).
 */
export function engineCpuList(cpuCount: number, engines: number): string[] {
  const spare = Math.max(cpuCount - 1, 1);
  return Array.from({ length: engines }, (_, i) => String(cpuCount > 1 ? 1 + (i % spare) : 0));
}

/** enginesManifest is one HTTP VIP on the group "edge" (ActiveActive) forwarding / to the backend. */
export function enginesManifest(o: {
  vip: string;
  replicas: number;
  backend: { address: string; port: number };
}): string {
  return `# Written by bench/engines.ts: one VIP served by every engine of the group "edge".
apiVersion: portico.dev/v1alpha1
kind: VipPool
metadata: { name: edge }
spec: { addresses: ["${o.vip}/32"], engineGroup: edge }
---
apiVersion: portico.dev/v1alpha1
kind: EngineGroup
metadata: { name: edge }
spec: { replicas: ${o.replicas}, haMode: ActiveActive }
---
apiVersion: networking.k8s.io/v1
kind: IngressClass
metadata:
  name: portico
  annotations: { ingressclass.kubernetes.io/is-default-class: "true" }
spec: { controller: portico.dev/ingress-controller }
---
apiVersion: v1
kind: Service
metadata: { name: web, namespace: bench }
spec: { ports: [{ name: http, port: 80, targetPort: ${o.backend.port} }] }
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: { name: web-1, namespace: bench, labels: { kubernetes.io/service-name: web } }
addressType: IPv4
ports: [{ name: http, port: ${o.backend.port}, protocol: TCP }]
endpoints: [{ addresses: ["${o.backend.address}"], conditions: { ready: true } }]
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: { name: web, namespace: bench }
spec:
  rules:
    - http: { paths: [{ path: /, pathType: Prefix, backend: { service: { name: web, port: { number: 80 } } } }] }
`;
}

/** EnginesSample is one wrk run with a given number of engines. */
export interface EnginesSample {
  engines: number;
  round: number;
  requestsPerSecond: number;
  p99Ms?: number;
  errors: number;
  /** engineCores is each engine's CPU time over the run ÷ its length (1.0 = one core busy). */
  engineCores: number[];
}

/** EnginesRow is the medians of one engine count over the rounds. */
export interface EnginesRow {
  engines: number;
  requestsPerSecond: number;
  ratio?: number;
  p99Ms?: number;
  /** engineCores are the per-engine medians (engine 1, 2, ...); totalCores their sum's median. */
  engineCores: number[];
  totalCores: number;
  errors: number;
  values: number[];
}

/** summariseEngines turns samples into one row per engine count; ratios are to the smallest count. */
export function summariseEngines(samples: readonly EnginesSample[]): EnginesRow[] {
  const counts = [...new Set(samples.map((s) => s.engines))].sort((a, b) => a - b);
  const rows = counts.map((n): EnginesRow => {
    const of = samples.filter((s) => s.engines === n);
    return {
      engines: n,
      requestsPerSecond: median(of.map((s) => s.requestsPerSecond)),
      p99Ms: optMedian(of.map((s) => s.p99Ms)),
      engineCores: Array.from({ length: n }, (_, i) => median(of.map((s) => s.engineCores[i] ?? 0))),
      totalCores: median(of.map((s) => s.engineCores.reduce((a, b) => a + b, 0))),
      errors: of.reduce((a, s) => a + s.errors, 0),
      values: of.map((s) => s.requestsPerSecond),
    };
  });
  const base = rows[0]?.requestsPerSecond;
  for (const r of rows) r.ratio = base ? r.requestsPerSecond / base : undefined;
  return rows;
}

/** EnginesReportInput is everything the report shows. */
export interface EnginesReportInput {
  startedAt: string;
  environment: Record<string, string>;
  settings: Record<string, string>;
  rows: EnginesRow[];
  /** wrkCommand is the load command with VIP standing for the address. */
  wrkCommand: string;
  /** cpuCount is the machine's CPU count, for the caveat. */
  cpuCount: number;
  /** engineCpus is the CPU each engine was pinned to (engine 1 first). */
  engineCpus: string[];
  sizeCommand: string;
  sizeOutput: string;
  notes: string[];
}

const num = (v: number | undefined, digits: number): string =>
  v === undefined || !Number.isFinite(v) ? "—" : v.toFixed(digits);
const rate = (v: number): string => Math.round(v).toLocaleString("en-US");

/** renderEnginesReport returns the markdown report of one bench:engines run. */
export function renderEnginesReport(r: EnginesReportInput): string {
  const out = [`# Portico engines behind one VIP — ${r.startedAt}`, "", "| | |", "|---|---|"];
  for (const [k, v] of Object.entries({ ...r.environment, ...r.settings })) out.push(`| ${k} | ${v} |`);
  out.push("");
  if (r.cpuCount <= 2)
    out.push(
      `> **Read this first.** This machine has ${r.cpuCount} CPU${r.cpuCount === 1 ? "" : "s"}: wrk, the backend, the controller and every engine share them, and all engines share one core. The ratio to one engine therefore measures what splitting the same CPU between more engine processes costs (contention), not how a fleet scales, where each engine has cores of its own and the load comes from elsewhere.`,
      "",
    );
  for (const n of [...caveats(r), ...r.notes]) out.push(`> ${n}`, "");
  out.push(
    "## Throughput",
    "",
    "HTTP/1.1 keep-alive, 64 connections, through one VIP:port that the engines share with SO_REUSEPORT (the kernel spreads the connections over their sockets); one worker per engine.",
    "",
    "```sh",
    r.wrkCommand,
    "```",
    "",
    "| engines | median req/s | ratio to 1 | p99 ms | CPU per engine (cores) | CPU all engines | errors | all rounds |",
    "|---:|---:|---:|---:|---|---:|---:|---|",
  );
  for (const row of r.rows)
    out.push(
      `| ${row.engines} | ${rate(row.requestsPerSecond)} | ${row.ratio === undefined ? "—" : `${row.ratio.toFixed(2)}×`} | ${num(row.p99Ms, 2)} | ${row.engineCores.map((c) => num(c, 2)).join(", ")} | ${num(row.totalCores, 2)} | ${row.errors} | ${row.values.map(rate).join(", ")} |`,
    );
  out.push(
    "",
    "## portico size after the last run",
    "",
    "```",
    `$ ${r.sizeCommand}`,
    r.sizeOutput.trimEnd(),
    "```",
    "",
  );
  return out.join("\n");
}

/** caveats are what the figures themselves say about how far they can be read. */
export function caveats(r: Pick<EnginesReportInput, "rows" | "engineCpus">): string[] {
  const out: string[] = [];
  const shared = new Set(r.engineCpus).size;
  if (shared < r.engineCpus.length)
    out.push(
      `The ${r.engineCpus.length} engines share ${shared} CPU${shared === 1 ? "" : "s"}, but each reports one vCPU (one worker): \`portico size\` below counts ${r.engineCpus.length} vCPUs, so its saturation reads up to ${(r.engineCpus.length / shared).toFixed(0)}× low here.`,
    );
  const idle = r.rows.filter(
    (row) => row.totalCores < 0.9 * new Set(r.engineCpus.slice(0, row.engines)).size,
  );
  if (idle.length > 0)
    out.push(
      `With ${idle.map((row) => row.engines).join(", ")} engine(s) the engines left part of their CPU unused (${idle.map((row) => row.totalCores.toFixed(2)).join(", ")} cores): the load side — wrk, the backend and the controller on their own CPU — set the rate, not the engines.`,
    );
  return out;
}
