// dns.ts: `npm run bench:dns` — queries per second per core of Portico's authoritative DNS server
// against knotd (Debian's Knot DNS, one UDP worker) serving the same zones, in the same run, with
// dnsperf (Debian) as the client. Each server runs pinned to one CPU with dnsperf on another;
// "per core" divides the answered queries by the CPU seconds the server process used, so a
// server that did not saturate its core is not flattered or penalised. The zones and queries are
// the differential test's (test/e2e/dns-zones.ts): exact names, wildcards, CNAME chains, NXDOMAIN,
// NODATA, case variants and names outside the zones, with the engine's metrics on as in production.
//   --duration=S   seconds per dnsperf run (default 10)
//   --serve=PORT   internal: run only Portico's server on 127.0.0.91:PORT (the child this bench starts)
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { Engine } from "../src/engine/engine.ts";
import { Metrics } from "../src/engine/metrics.ts";
import { typeName } from "../src/engine/dns/wire.ts";
import { dnsServer, dnsSnapshot, startKnot, query } from "../test/e2e/dns-helpers.ts";
import { diffQueries, diffZones } from "../test/e2e/dns-zones.ts";
import { freePort } from "../test/e2e/l4-helpers.ts";
import { waitFor } from "../test/e2e/harness.ts";
import { cpuSeconds, pinned, runCommand, startProcess } from "./procs.ts";

const PORTICO = "127.0.0.91";
const KNOT = "127.0.0.92";
const root = resolve(import.meta.dirname, "..");
const arg = (name: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.split("=")[1];
const zones = diffZones();

if (arg("serve") !== undefined) {
  // The server child: one engine, metrics subscribed as `portico run` has them.
  const engine = new Engine();
  const metrics = new Metrics().subscribe();
  const r = engine.apply(dnsSnapshot(1, [dnsServer("DnsZone/bench", PORTICO, Number(arg("serve")), zones)]));
  if (!r.ok) throw new Error(r.error);
  await engine.settled();
  process.on("SIGTERM", () => {
    metrics.close();
    void engine.close().then(() => process.exit(0));
  });
} else await main();

/** Side is one server's measured run. */
interface Side {
  server: string;
  qps: number;
  lost: number;
  cpuSeconds: number;
  perCore: number;
}

async function measure(
  server: string,
  address: string,
  port: number,
  pid: number,
  file: string,
  seconds: number,
): Promise<Side> {
  // A short warm-up first (JIT, caches), not counted.
  await runCommand(
    pinned("1", ["dnsperf", "-s", address, "-p", String(port), "-d", file, "-l", "2"]),
    30_000,
  );
  const cpu0 = cpuSeconds(pid);
  const { stdout } = await runCommand(
    pinned("1", [
      "dnsperf",
      "-s",
      address,
      "-p",
      String(port),
      "-d",
      file,
      "-l",
      String(seconds),
      "-q",
      "200",
    ]),
    (seconds + 30) * 1000,
  );
  const cpu = cpuSeconds(pid) - cpu0;
  const qps = Number(/Queries per second:\s+([\d.]+)/.exec(stdout)?.[1] ?? NaN);
  const completed = Number(/Queries completed:\s+(\d+)/.exec(stdout)?.[1] ?? NaN);
  const lost = Number(/Queries lost:\s+(\d+)/.exec(stdout)?.[1] ?? NaN);
  if (!Number.isFinite(qps)) throw new Error(`${server}: cannot read dnsperf's output:\n${stdout}`);
  return { server, qps, lost, cpuSeconds: cpu, perCore: cpu > 0 ? completed / cpu : NaN };
}

async function main(): Promise<void> {
  const seconds = Number(arg("duration") ?? 10);
  for (const tool of ["dnsperf", "knotd", "taskset"])
    if (spawnSync("sh", ["-c", `command -v ${tool}`]).status !== 0)
      throw new Error(
        `${tool} is not installed: run scripts/peers.sh (Debian packages dnsperf, knot, util-linux)`,
      );
  const dir = mkdtempSync(join(tmpdir(), "portico-bench-dns-"));
  const file = join(dir, "queries.txt");
  // dnsperf reads "name type" lines; names as generated, letter case variants included.
  writeFileSync(
    file,
    diffQueries(zones, 20_000)
      .map((q) => `${q.name} ${typeName(q.type)}`)
      .join("\n") + "\n",
  );
  const pport = await freePort(PORTICO, "UDP");
  const kport = await freePort(KNOT, "UDP");
  const portico = startProcess(
    "portico",
    pinned("0", ["sh", join(root, "scripts/node.sh"), join(root, "bench/dns.ts"), `--serve=${pport}`]),
  );
  const knot = await startKnot(KNOT, kport, zones);
  spawnSync("taskset", ["-a", "-p", "-c", "0", String(knot.proc.pid)], { stdio: "ignore" });
  try {
    await waitFor(
      "portico answering",
      async () => (await query(PORTICO, pport, zones[0]!.name, 6, { timeoutMs: 300 })).rcode === 0,
      20_000,
    );
    const sides = [
      await measure("portico", PORTICO, pport, portico.pid, file, seconds),
      await measure("knotd", KNOT, kport, knot.proc.pid!, file, seconds),
    ];
    const [p, k] = sides as [Side, Side];
    const lines = [
      `DNS authoritative, UDP, ${seconds} s per side, dnsperf -q 200 pinned to CPU 1, server pinned to CPU 0, ${availableParallelism()} CPUs`,
      "server    queries/s   lost   server CPU s   queries/s per core",
      ...sides.map(
        (s) =>
          `${s.server.padEnd(8)}  ${s.qps.toFixed(0).padStart(9)}  ${String(s.lost).padStart(5)}  ${s.cpuSeconds.toFixed(2).padStart(13)}  ${s.perCore.toFixed(0).padStart(19)}`,
      ),
      `portico / knotd: ${(p.qps / k.qps).toFixed(2)} in queries/s, ${(p.perCore / k.perCore).toFixed(2)} per core (target: >= 30000 queries/s per core)`,
    ];
    console.log(lines.join("\n"));
    writeFileSync(join(dir, "result.json"), JSON.stringify(sides, null, 2));
  } finally {
    await portico.stop();
    await knot.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
