// soak.ts: `npm run bench:soak` — a day of traffic compressed into a long bench (issue 21, item 5:
// "a 24 h soak shows no growth"; "RSS after an HTTP/2 load returns to within 10% of its level
// before it"). Portico runs as a user runs it (`portico run` on a manifest directory: an Ingress
// on HTTP and HTTPS to the nginx backend, metrics and analytics at their defaults), pinned to the
// proxy CPU; the load generators and the backend run on the load CPU.
//
// First, the HTTP/2 figure on the fresh process: RSS before, right after h2load (64 connections ×
// 10 streams), and after --settle seconds idle (Portico's idle compaction, src/engine/idle-gc.ts,
// runs after 10–15 s without a request, at most once per 5 minutes: so this comes first).
// Then cycles until --duration is used up. A cycle is a compressed day: HTTP/1.1 keep-alive, a new
// HTTP/1.1 connection per request, HTTPS keep-alive, a full TLS handshake per request, HTTP/2 over
// TLS (each --phase seconds), 32 WebSockets echoing 20 messages each through an Ingress path to
// an echo backend in this process (soak-ws.ts), a configuration reload (a manifest rewritten: an Ingress for a new
// host replaces the last one, and the cycle waits until the snapshot version moves), then --idle
// seconds without traffic. At the end of the idle period it reads RSS and open descriptors from
// /proc and, through bench/soak-probe.js loaded into the process, V8's heap after a full
// collection, external and ArrayBuffer memory and libuv's handles. The forced collection is the
// probe's, once per cycle: the heap read is what is live, so garbage does not hide a leak or fake
// one. soak-report.ts judges growth (the rule is written there) and renders the report.
//   --duration=S    seconds of cycles (default 1800; --quick 240)
//   --phase=S       seconds per load phase (default 3)
//   --idle=S        idle seconds at the end of each cycle (default 10)
//   --warmup=N      first cycles left out of the verdict (default 2)
//   --h2-requests=N requests of the HTTP/2 load (default 200000, as docs/performance.md's probe;
//                   --quick 100000)
//   --settle=S      idle seconds after it before RSS is read again (default 30)
//   --quick         short form (about 5 minutes): 240 s of cycles, 100,000 HTTP/2 requests
//   --skip-install  do not call apt-get
import { mkdirSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { environment } from "./env-info.ts";
import { Lifecycle, warmUp } from "./harness.ts";
import { parseH2load, parseWrk, type LoadResult } from "./parse.ts";
import { startPorticoRun } from "./portico-run.ts";
import { descendants, rssKiB, runCommand } from "./procs.ts";
import { makeRunDir, startWebBackend } from "./proxies.ts";
import { ensureTools, REQUIRED } from "./setup.ts";
import { startWsEcho, wsPhase } from "./soak-ws.ts";
import { renderSoakReport, type H2Return, type SoakSample } from "./soak-report.ts";
import { defaultTopology, makeCertificate, type Topology } from "./topology.ts";

const root = resolve(import.meta.dirname, "..");
const { values: opt } = parseArgs({
  options: {
    duration: { type: "string" },
    phase: { type: "string", default: "3" },
    idle: { type: "string", default: "10" },
    warmup: { type: "string", default: "2" },
    "h2-requests": { type: "string" },
    settle: { type: "string", default: "30" },
    quick: { type: "boolean", default: false },
    "skip-install": { type: "boolean", default: false },
  },
});
const duration = Number(opt.duration ?? (opt.quick ? 240 : 1800));
const phase = Number(opt.phase);
const idle = Number(opt.idle);
const warmupCycles = Number(opt.warmup);
const h2Requests = Number(opt["h2-requests"] ?? (opt.quick ? 100_000 : 200_000));
const settle = Number(opt.settle);
/**
 * VIP and BACKEND are the soak's own addresses, so it runs beside other benches (127.0.0.2-59,
 * bench:grpc's 127.0.0.140-143) without sharing a backend or a listener.
 */
const VIP = "127.0.0.144";
const BACKEND = { address: "127.0.0.145", port: 8080 };
/** WS_BACKEND is the WebSocket echo server (soak-ws.ts), run inside this process. */
const WS_BACKEND = { address: "127.0.0.146", port: 8090 };
const log = (msg: string): void =>
  console.log(`[bench:soak ${new Date().toISOString().slice(11, 19)}] ${msg}`);
const life = new Lifecycle(log);
const MiB = 1024 * 1024;
/** WS_CONNS WebSockets per cycle, each echoing WS_MESSAGES messages one at a time, then closed. */
const WS_CONNS = 32;
const WS_MESSAGES = 20;

/** Phase is one load of a cycle: its command line for the VIP and how to read it. */
interface Phase {
  id: string;
  argv: (t: Topology, secs: number) => string[];
  parse: (out: string) => LoadResult;
}

const wrk = (conns: number, scheme: "http" | "https", close: boolean) => (t: Topology, secs: number) => [
  ...["wrk", "-t1", `-c${conns}`, `-d${secs}s`],
  ...(close ? ["-H", "Connection: close"] : []),
  `${scheme}://${VIP}:${scheme === "http" ? t.httpPort : t.httpsPort}/`,
];

const PHASES: readonly Phase[] = [
  { id: "http-ka", argv: wrk(64, "http", false), parse: parseWrk },
  { id: "http-close", argv: wrk(16, "http", true), parse: parseWrk },
  { id: "https-ka", argv: wrk(64, "https", false), parse: parseWrk },
  { id: "https-handshake", argv: wrk(16, "https", true), parse: parseWrk },
  {
    id: "h2-tls",
    argv: (t, secs) => [
      "h2load",
      "-D",
      String(secs),
      "-c",
      "16",
      "-m",
      "10",
      "-t",
      "1",
      `https://${VIP}:${t.httpsPort}/`,
    ],
    parse: parseH2load,
  },
];

/** probe asks bench/soak-probe.js in the Portico process for its memory and handles. */
function probe(socketPath: string, gc: boolean): Promise<Record<string, unknown>> {
  return new Promise((res, rej) => {
    const req = request({ socketPath, path: gc ? "/?gc=1" : "/" }, (r) => {
      let body = "";
      r.on("data", (b: Buffer) => (body += b.toString()));
      r.on("end", () => res(JSON.parse(body) as Record<string, unknown>));
    });
    req.on("error", (e) =>
      rej(
        new Error(
          `soak probe at ${socketPath} did not answer (${e.message}): was bench/soak-probe.js loaded?`,
        ),
      ),
    );
    req.end();
  });
}

/**
 * fdCounts counts pid's open descriptors (and its descendants'), and among them the connections
 * to backend: the upstream pool keeps those 60 s idle (src/engine/l7/upstream.ts), so their number
 * at the end of a cycle swings with the last load; the other descriptors should not move at all.
 * A socket descriptor names its inode, and /proc/net/tcp maps inodes to addresses.
 */
function fdCounts(
  pid: number,
  backend: { address: string; port: number },
): { other: number; pooled: number } {
  // /proc/net/tcp writes an IPv4 address as the hex of its bytes in host (little-endian) order.
  const hex = (n: number, w: number) => n.toString(16).toUpperCase().padStart(w, "0");
  const ip = backend.address.split(".").map(Number).reverse();
  const remote = `${ip.map((b) => hex(b, 2)).join("")}:${hex(backend.port, 4)}`;
  const toBackend = new Set<string>();
  for (const line of readFileSync(`/proc/${pid}/net/tcp`, "utf8").split("\n").slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f[2] === remote) toBackend.add(f[9]!);
  }
  let other = 0;
  let pooled = 0;
  for (const p of descendants(pid))
    try {
      for (const fd of readdirSync(`/proc/${p}/fd`)) {
        const inode = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${p}/fd/${fd}`))?.[1];
        if (inode !== undefined && toBackend.has(inode)) pooled++;
        else other++;
      }
    } catch {
      // Gone meanwhile (the process, or a descriptor between readdir and readlink).
    }
  return { other, pooled };
}

/** snapshotVersion reads portico_config_snapshot_version from the admin API's /metrics. */
async function snapshotVersion(admin: string): Promise<number> {
  const text = await fetch(`${admin}/metrics`).then((r) => r.text());
  const m = /^portico_config_snapshot_version(?:\{[^}]*\})? (\d+)/m.exec(text);
  if (!m) throw new Error("the admin API's /metrics has no portico_config_snapshot_version");
  return Number(m[1]);
}

/**
 * apply writes file into the manifest directory and polls the snapshot version until the engine
 * has applied the change; false when it did not within 30 s.
 */
async function apply(manifests: string, admin: string, file: string, yaml: string): Promise<boolean> {
  const before = await snapshotVersion(admin);
  writeFileSync(join(manifests, file), yaml);
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if ((await snapshotVersion(admin)) > before) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}

/** reloadYaml is cycle n's reload.yaml: an Ingress for host gen-N.soak, replacing gen-(N−1)'s. */
const reloadYaml = (n: number): string => `# Written by bench/soak.ts, cycle ${n}.
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: { name: reload, namespace: bench, annotations: { soak.portico.dev/cycle: "${n}" } }
spec:
  rules:
    - host: gen-${n}.soak
      http: { paths: [{ path: /, pathType: Prefix, backend: { service: { name: web, port: { number: 80 } } } }] }
`;

/** WS_YAML routes /ws on the soak's Ingress address to the WebSocket echo backend. */
const WS_YAML = `# Written by bench/soak.ts.
apiVersion: v1
kind: Service
metadata: { name: ws, namespace: bench }
spec: { ports: [{ name: http, port: 80, targetPort: ${WS_BACKEND.port} }] }
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: { name: ws-1, namespace: bench, labels: { kubernetes.io/service-name: ws } }
addressType: IPv4
ports: [{ name: http, port: ${WS_BACKEND.port}, protocol: TCP }]
endpoints: [{ addresses: ["${WS_BACKEND.address}"], conditions: { ready: true } }]
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: { name: ws, namespace: bench }
spec:
  rules:
    - http: { paths: [{ path: /ws, pathType: Prefix, backend: { service: { name: ws, port: { number: 80 } } } }] }
`;

/** idleFor leaves the process without traffic for secs: the idle period is what is measured here. */
const idleFor = (secs: number) => new Promise((r) => setTimeout(r, secs * 1000));

async function main(): Promise<void> {
  const startedAt = new Date().toISOString().replace(/\.\d+Z$/, "Z");
  const resultsDir = join(root, "bench", "results");
  mkdirSync(resultsDir, { recursive: true });
  if (!opt["skip-install"])
    ensureTools(
      log,
      REQUIRED.filter((r) => ["nginx", "wrk", "nghttp2-client", "util-linux", "openssl"].includes(r.pkg)),
    );
  const env = environment();
  await runCommand(["sh", join(root, "scripts/build.sh")], 180_000);
  const dir = makeRunDir(tmpdir());
  const t: Topology = { ...defaultTopology(dir), backend: BACKEND };
  makeCertificate(t);
  life.running.push(await startWebBackend(t));
  const socketPath = join(dir, "probe.sock");
  const penv: NodeJS.ProcessEnv = {
    ...process.env,
    // Appended to what scripts/node.sh set (8 MiB semi-spaces), as bin/portico runs it.
    NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ""} --import=${pathToFileURL(join(root, "bench/soak-probe.js")).href}`,
    SOAK_PROBE_SOCKET: socketPath,
  };
  // Defaults as a user gets them: analytics and metrics on, log level info.
  delete penv.PORTICO_ANALYTICS;
  delete penv.PORTICO_LOG_LEVEL;
  const { proc, admin, manifests } = await startPorticoRun({ name: "soak", vip: VIP, dir, t, env: penv });
  life.running.push(proc);
  // unref: the echo server never keeps the bench alive; it ends with this process.
  (await startWsEcho(WS_BACKEND.address, WS_BACKEND.port)).unref();
  if (!(await apply(manifests, admin, "ws.yaml", WS_YAML)))
    throw new Error("the WebSocket route (ws.yaml) was not applied within 30 s");
  log(
    `portico run up on ${VIP} (pid ${proc.pid}, CPU ${t.proxyCpus}); probe ${JSON.stringify(await probe(socketPath, false))}`,
  );
  const notes: string[] = [];
  const load = async (argv: string[], parse: (o: string) => LoadResult, tag: string, secs: number) => {
    const { stdout } = await runCommand(["taskset", "-c", t.loadCpus, ...argv], (secs + 60) * 1000);
    const r = parse(stdout);
    if (r.errors > 0) notes.push(`${tag}: ${r.errors} errors (${argv.join(" ")})`);
    return r;
  };

  // The HTTP/2 figure, on the fresh process (before any forced collection of the probe).
  await warmUp(t, VIP);
  const before = rssKiB(proc.pid) / 1024;
  const h2argv = [
    "h2load",
    "-n",
    String(h2Requests),
    "-c",
    "64",
    "-m",
    "10",
    "-t",
    "1",
    `https://${VIP}:${t.httpsPort}/`,
  ];
  const h2r = await load(h2argv, parseH2load, "HTTP/2 load", 600);
  const after = rssKiB(proc.pid) / 1024;
  log(
    `HTTP/2 load: ${h2r.value.toFixed(0)} req/s; RSS ${before.toFixed(1)} → ${after.toFixed(1)} MiB; idle ${settle} s`,
  );
  await idleFor(settle);
  const h2: H2Return = {
    beforeMiB: before,
    afterMiB: after,
    settledMiB: rssKiB(proc.pid) / 1024,
    settleSeconds: settle,
    requests: h2Requests,
  };
  log(`… ${h2.settledMiB.toFixed(1)} MiB after ${settle} s idle`);

  const samples: SoakSample[] = [];
  const began = Date.now();
  for (let cycle = 1; Date.now() - began < duration * 1000; cycle++) {
    const rates: string[] = [];
    for (const p of PHASES) {
      const r = await load(p.argv(t, phase), p.parse, `cycle ${cycle} ${p.id}`, phase);
      rates.push(`${p.id} ${r.value.toFixed(0)}`);
    }
    const w = await wsPhase(`ws://${VIP}:${t.httpPort}/ws`, WS_CONNS, WS_MESSAGES, 30_000);
    rates.push(`ws ${w.echoed} messages`);
    if (w.failed > 0) notes.push(`cycle ${cycle} ws: ${w.failed} of ${WS_CONNS} connections failed`);
    if (!(await apply(manifests, admin, "reload.yaml", reloadYaml(cycle))))
      notes.push(`cycle ${cycle}: the reload was not applied within 30 s`);
    await idleFor(idle);
    const rss = rssKiB(proc.pid) / 1024;
    const fds = fdCounts(proc.pid, BACKEND);
    const p = (await probe(socketPath, true)) as {
      heapUsed: number;
      heapTotal: number;
      external: number;
      arrayBuffers: number;
      handles: Record<string, number>;
    };
    const handles = Object.values(p.handles).reduce((a, b) => a + b, 0);
    samples.push({
      cycle,
      values: {
        rssMiB: rss,
        heapMiB: p.heapUsed / MiB,
        heapTotalMiB: p.heapTotal / MiB,
        externalMiB: p.external / MiB,
        arrayBuffersMiB: p.arrayBuffers / MiB,
        handles,
        fds: fds.other,
        backendConns: fds.pooled,
      },
    });
    log(
      `cycle ${cycle}: ${rates.join(", ")} req/s; RSS ${rss.toFixed(1)} MiB, heap ${(p.heapUsed / MiB).toFixed(1)} of ${(p.heapTotal / MiB).toFixed(1)} MiB, external ${(p.external / MiB).toFixed(2)} MiB, handles ${handles} ${JSON.stringify(p.handles)}, fds ${fds.other} + ${fds.pooled} to the backend`,
    );
  }
  if (!proc.alive()) notes.push(`portico run exited during the soak: ${proc.output().slice(-500)}`);
  await life.stopAll();
  const report = renderSoakReport({
    startedAt,
    settings: {
      machine: `${env.CPU}, load average ${env["load average at start"] ?? "?"}`,
      Portico: `\`portico run\` (Ingress on HTTP and HTTPS, metrics and analytics at their defaults) on ${VIP}, CPU ${t.proxyCpus}`,
      cycle: `${PHASES.map((p) => p.id).join(", ")} (${phase} s each), ${WS_CONNS} WebSockets × ${WS_MESSAGES} messages, a reload, ${idle} s idle`,
      "cycles of the soak": `${samples.length} in ${((Date.now() - began) / 1000).toFixed(0)} s (--duration=${duration})`,
      "HTTP/2 load": `\`${h2argv.join(" ")}\` (${h2r.value.toFixed(0)} req/s)`,
      command: `npm run bench:soak --${process.argv.length > 2 ? ` ${process.argv.slice(2).join(" ")}` : ""}`,
    },
    h2,
    warmup: samples.slice(0, warmupCycles),
    samples: samples.slice(warmupCycles),
    notes,
  });
  const md = join(resultsDir, `soak-${startedAt.replaceAll(":", "-")}.md`);
  life.finish(report, md, dir);
}

life.run(main);
