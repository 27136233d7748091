// waf-path.ts: what the WAF costs through the proxy, A/B between two source trees — the request
// of `npm run bench:waf` (wrk's GET, or its 4 KiB POST) sent through Portico without a WAF and
// through Portico+CRS (bench/waf-configs.ts's BENCH_WAF) of this tree and of another (--base),
// rounds interleaved and the order turned each round, so the load of a shared machine falls on
// all alike. bench/waf-engine.ts measures the rule engine's transaction alone; this measures what
// the request path pays around it as well (fronts, buffering, phase 4, evidence). Each tree runs
// from its own JS build (scripts/build.sh). Not a test: figures depend on the machine.
//   sh scripts/node.sh bench/waf-path.ts --base=/tmp/base [--request=get|post] [--conns=16]
//     [--rounds=7] [--duration=3] [--host=NAME] [--prof]   (--prof: CPU profile of each
//     server, .cache/prof/ADDRESS.cpuprofile, written when it stops)
// Addresses 127.0.0.70-73 (none shared with bench:waf's or bench/run.ts's).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { backendConfig } from "./configs.ts";
import { parseWrk } from "./parse.ts";
import { cpuSeconds, pinned, runCommand, startProcess, waitForPort, type Running } from "./procs.ts";
import { defaultTopology } from "./topology.ts";
import { BENCH_HOST, GET_PATH, postBody, wrkPostScript } from "./waf-configs.ts";

const root = resolve(import.meta.dirname, "..");
const { values: opt } = parseArgs({
  options: {
    base: { type: "string" },
    request: { type: "string", default: "get" },
    conns: { type: "string", default: "16" },
    rounds: { type: "string", default: "7" },
    duration: { type: "string", default: "3" },
    prof: { type: "boolean", default: false },
    host: { type: "string", default: BENCH_HOST },
  },
});
const PORT = 8000;
const BACKEND = { address: "127.0.0.70", port: 8080 };

interface Server {
  name: string;
  tree: string;
  address: string;
  waf: boolean;
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? 0;
}

async function main(): Promise<void> {
  const base = opt.base === undefined ? undefined : resolve(opt.base);
  const servers: Server[] = [
    { name: "Portico", tree: root, address: "127.0.0.71", waf: false },
    { name: "Portico+CRS (this tree)", tree: root, address: "127.0.0.72", waf: true },
  ];
  if (base !== undefined)
    servers.push({ name: "Portico+CRS (base)", tree: base, address: "127.0.0.73", waf: true });
  for (const tree of new Set(servers.map((s) => s.tree)))
    await runCommand(["sh", join(tree, "scripts/build.sh")], 300_000);
  const dir = mkdtempSync(join(tmpdir(), "portico-bench-waf-path-"));
  const running: Running[] = [];
  const pids = new Map<string, number>();
  const profDir = join(root, ".cache/prof");
  try {
    const conf = join(dir, "backend.conf");
    writeFileSync(conf, backendConfig({ ...defaultTopology(dir), backend: BACKEND }));
    const web = startProcess("backend", pinned("0", ["nginx", "-e", "stderr", "-p", dir, "-c", conf]));
    running.push(web);
    await waitForPort(BACKEND.address, BACKEND.port, 10_000, web);
    for (const s of servers) {
      const argv = [process.execPath];
      if (opt.prof) {
        mkdirSync(profDir, { recursive: true });
        argv.push("--cpu-prof", `--cpu-prof-dir=${profDir}`, `--cpu-prof-name=${s.address}.cpuprofile`);
      }
      argv.push(join(s.tree, ".cache/dist/bench/waf-portico.js"), `--address=${s.address}`, `--port=${PORT}`);
      argv.push(`--backend=${BACKEND.address}:${BACKEND.port}`);
      if (s.waf) argv.push("--waf");
      const env = {
        ...process.env,
        NODE_ENV: "production",
        PORTICO_CRS_DIR: join(root, ".cache/crs/current"),
      };
      const p = startProcess(s.name, pinned("1", argv), env);
      running.push(p);
      pids.set(s.name, p.pid);
      await waitForPort(s.address, PORT, 180_000, p);
    }
    const post = opt.request === "post";
    const script = join(dir, "post.lua");
    writeFileSync(script, wrkPostScript(postBody()));
    const rps = new Map<string, number[]>(servers.map((s) => [s.name, []]));
    const p50 = new Map<string, number[]>(servers.map((s) => [s.name, []]));
    // CPU per request: the server's CPU time over the round (/proc, 10 ms ticks) per request
    // answered — steadier than throughput on a shared machine, where other work takes turns.
    const cpu = new Map<string, number[]>(servers.map((s) => [s.name, []]));
    const rounds = Number(opt.rounds);
    for (let r = 0; r < rounds; r++) {
      const order = r % 2 === 0 ? servers : [...servers].reverse();
      for (const s of order) {
        const url = `http://${s.address}:${PORT}${post ? "/form" : GET_PATH}`;
        const argv = [
          "taskset",
          "-c",
          "0",
          "wrk",
          "-t1",
          `-c${opt.conns}`,
          `-d${opt.duration}s`,
          "--latency",
        ];
        // --host= (empty) sends wrk's own Host, the server's address (which the CRS flags).
        if (opt.host !== "") argv.push("-H", `Host: ${opt.host}`);
        if (post) argv.push("-s", script);
        const pid = pids.get(s.name)!;
        const before = cpuSeconds(pid);
        const { stdout } = await runCommand([...argv, url], (Number(opt.duration) + 60) * 1000);
        const used = cpuSeconds(pid) - before;
        const res = parseWrk(stdout);
        cpu.get(s.name)!.push((used * 1e6) / (res.value * Number(opt.duration)));
        rps.get(s.name)!.push(res.value);
        p50.get(s.name)!.push(res.p50Ms ?? 0);
        console.log(
          `round ${r + 1} ${s.name}: ${res.value.toFixed(0)} req/s, p50 ${res.p50Ms?.toFixed(3)} ms, ${cpu.get(s.name)!.at(-1)!.toFixed(1)} µs CPU/request`,
        );
      }
    }
    const plain = rps.get("Portico")!;
    console.log(
      `\n${opt.request} with ${opt.conns} connections, ${rounds} rounds of ${opt.duration} s (medians):`,
    );
    for (const s of servers) {
      const xs = rps.get(s.name)!;
      const ratio = median(xs.map((x, i) => x / plain[i]!));
      console.log(
        `${s.name.padEnd(26)} ${median(xs).toFixed(0).padStart(7)} req/s  p50 ${median(p50.get(s.name)!).toFixed(3)} ms  / Portico ${ratio.toFixed(3)}  ${median(cpu.get(s.name)!).toFixed(1)} µs CPU/request`,
      );
    }
    if (base !== undefined) {
      const a = rps.get("Portico+CRS (base)")!;
      const b = rps.get("Portico+CRS (this tree)")!;
      console.log(
        `this tree / base, req/s (median of rounds' ratios): ${median(b.map((x, i) => x / a[i]!)).toFixed(3)}`,
      );
      const ca = cpu.get("Portico+CRS (base)")!;
      const cb = cpu.get("Portico+CRS (this tree)")!;
      console.log(
        `this tree / base, CPU per request (median of rounds' ratios): ${median(cb.map((x, i) => x / ca[i]!)).toFixed(3)}`,
      );
    }
  } finally {
    for (const p of running.reverse()) await p.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  if (opt.prof) console.log(`CPU profile in ${profDir}`);
}

await main();
