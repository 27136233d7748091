// conn-ab.ts: CPU per new connection of two engine builds, their rounds interleaved — another
// checkout (--base, e.g. `git archive main | tar -x -C /tmp/base`, node_modules linked, then
// `sh scripts/build.sh` there) and this one. Each engine (bench/portico-engine.js from its tree's
// JS build, as `npm run bench` runs Portico) is pinned to CPU 1; a raw Node backend and wrk run on
// CPU 0. Per round and engine (which goes first alternates): wrk with "Connection: close" (plain
// HTTP, or a full TLS handshake per request with --tls), the engine's user and system time from
// /proc/PID/stat divided by the requests wrk completed. On a shared machine rates mean nothing;
// CPU per connection moves far less, and the paired ratio (this ÷ base, same round) less still.
// --h2 measures HTTP/2 over TLS instead, as the bench's h2-tls (h2load, --conns connections × 10
// streams, ALPN h2): CPU per request rather than per connection. --flags passes Node flags to both
// engines (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof"; the engines stop with SIGTERM so that a
// profile is written).
// Not a test: figures depend on the machine.
//   sh scripts/node.sh bench/conn-ab.ts --base=/tmp/base [--tls|--h2] [--rounds=8] [--duration=3] [--conns=64]
//     [--net=127.0.0.30] [--keep-alive] [--flags=...] [--base-engine-flags=...]
// --base-engine-flags replaces ENGINE_NODE_FLAGS (v8-tuning.ts) for the base's engine only: with
// --base=. and --base-engine-flags= (empty) the ratio is what those flags do.
// With --base=. both engines are this tree: the ratio's spread is then the noise floor. --net=A.B.C.D
// moves the three addresses (backend D, engines D+1 and D+2), so two runs on one machine do not collide.
// --keep-alive drops the "Connection: close": CPU per request on kept connections instead.
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { defaultTopology, makeCertificate } from "./topology.ts";
import { ENGINE_NODE_FLAGS } from "../src/engine/v8-tuning.ts";

const { values: v } = parseArgs({
  options: {
    base: { type: "string" },
    tls: { type: "boolean", default: false },
    "keep-alive": { type: "boolean", default: false },
    h2: { type: "boolean", default: false },
    flags: { type: "string", default: "" },
    "base-engine-flags": { type: "string" },
    rounds: { type: "string", default: "8" },
    duration: { type: "string", default: "3" },
    conns: { type: "string", default: "64" },
    net: { type: "string", default: "127.0.0.30" },
  },
});
if (v.base === undefined) throw new Error("--base=DIR: the other source tree, built (sh scripts/build.sh)");
const trees = [resolve(v.base), resolve(import.meta.dirname, "..")];
// engineFlags are the Node flags engine i (0: the base) starts with besides --flags.
const engineFlags = (i: number): readonly string[] =>
  i === 0 && v["base-engine-flags"] !== undefined
    ? v["base-engine-flags"].split(" ").filter((f) => f !== "")
    : ENGINE_NODE_FLAGS;
const names = ["base", "this"];
const rounds = Number(v.rounds);
const at = (k: number): string => {
  const p = v.net!.split(".").map(Number);
  if (p.length !== 4 || p[0] !== 127 || p.some((x) => !(x >= 0 && x + k <= 255)))
    throw new Error(`--net=${v.net}: give an address in 127.0.0.0/8 with room for two after it`);
  return [p[0], p[1], p[2], p[3]! + k].join(".");
};
const BACKEND = { address: at(0), port: 18080 };
const ADDRS = [at(1), at(2)];
const dir = mkdtempSync(join(tmpdir(), "conn-ab-"));
// The bench's own certificate (ECDSA P-256), written where defaultTopology(dir) puts it.
const cert = join(dir, "cert.pem");
const key = join(dir, "key.pem");
const children: ChildProcess[] = [];

// backend answers every request head (no bodies come: wrk sends GETs) with a fixed response.
const RESPONSE = Buffer.from(
  "HTTP/1.1 200 OK\r\nContent-Length: 13\r\nContent-Type: text/plain\r\n\r\nHello, world!",
);

function stop(): void {
  for (const c of children) c.kill(v.flags === "" ? "SIGKILL" : "SIGTERM");
  rmSync(dir, { recursive: true, force: true });
}
process.on("exit", stop);

function cpuTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return Number(f[11]) + Number(f[12]);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 === 1 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

async function waitFor(url: string): Promise<void> {
  const deadline = Date.now() + 20000;
  for (;;) {
    try {
      execFileSync("curl", ["-sk", "-o", "/dev/null", "--max-time", "1", url]);
      return;
    } catch {
      if (Date.now() > deadline) throw new Error(`${url} did not answer within 20 s`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

async function main(): Promise<void> {
  makeCertificate(defaultTopology(dir));
  const backend = spawn(
    "taskset",
    [
      "-c",
      "0",
      process.execPath,
      "-e",
      `
      const net = require("node:net");
      const R = Buffer.from(${JSON.stringify(RESPONSE.toString("latin1"))}, "latin1");
      net.createServer({ noDelay: true }, (s) => {
        let tail = "";
        s.on("data", (b) => {
          const t = tail + b.toString("latin1");
          let n = 0, i = -1;
          while ((i = t.indexOf("\\r\\n\\r\\n", i + 1)) !== -1) n++;
          tail = t.slice(Math.max(0, t.lastIndexOf("\\r\\n\\r\\n") + 4));
          if (n === 1) s.write(R); else if (n > 1) s.write(Buffer.concat(Array(n).fill(R)));
        });
        s.on("error", () => s.destroy());
      }).listen(${BACKEND.port}, "${BACKEND.address}");
    `,
    ],
    { stdio: "inherit" },
  );
  children.push(backend);
  const pids: number[] = [];
  for (let i = 0; i < 2; i++) {
    const script = join(trees[i]!, ".cache/dist/bench/portico-engine.js");
    const c = spawn(
      "taskset",
      [
        "-c",
        "1",
        process.execPath,
        "--max-semi-space-size=8",
        ...engineFlags(i),
        ...v.flags!.split(" ").filter((f) => f !== ""),
        script,
        `--address=${ADDRS[i]}`,
        "--http-port=8000",
        "--https-port=8443",
        "--tcp-port=9000",
        `--backend=${BACKEND.address}:${BACKEND.port}`,
        "--tcp-backend=127.0.0.3:5201",
        `--cert=${cert}`,
        `--key=${key}`,
      ],
      {
        stdio: ["ignore", "ignore", "inherit"],
        env: { ...process.env, NODE_ENV: "production", MALLOC_ARENA_MAX: "2" },
      },
    );
    children.push(c);
    pids.push(c.pid!);
  }
  const url = (i: number) => (v.tls || v.h2 ? `https://${ADDRS[i]}:8443/` : `http://${ADDRS[i]}:8000/`);
  for (let i = 0; i < 2; i++) await waitFor(url(i));
  const wrk = (i: number, secs: string): { n: number; p99: number } =>
    v.h2 ? h2load(i, secs) : http1(i, secs);
  const h2load = (i: number, secs: string): { n: number; p99: number } => {
    const out = execFileSync(
      "taskset",
      ["-c", "0", "h2load", "-D", secs, "-c", v.conns!, "-m", "10", "-t", "1", url(i)],
      { encoding: "utf8" },
    );
    const m = /requests: \d+ total, \d+ started, \d+ done, (\d+) succeeded/.exec(out);
    if (m === null) throw new Error(`h2load said: ${out}`);
    return { n: Number(m[1]), p99: Number.NaN };
  };
  const http1 = (i: number, secs: string): { n: number; p99: number } => {
    const out = execFileSync(
      "taskset",
      [
        "-c",
        "0",
        "wrk",
        "-t1",
        `-c${v.conns}`,
        `-d${secs}s`,
        "--latency",
        ...(v["keep-alive"] ? [] : ["-H", "Connection: close"]),
        url(i),
      ],
      { encoding: "utf8" },
    );
    const m = /(\d+) requests in/.exec(out);
    const q = /99%\s+([\d.]+)(us|ms|s)/.exec(out);
    if (m === null || q === null) throw new Error(`wrk said: ${out}`);
    const p99 = Number(q[1]) * (q[2] === "us" ? 0.001 : q[2] === "s" ? 1000 : 1);
    return { n: Number(m[1]), p99 };
  };
  // Warm both (JIT, pools).
  for (let i = 0; i < 2; i++) wrk(i, "2");
  const cpu: number[][] = [[], []];
  const rate: number[][] = [[], []];
  const ratio: number[] = [];
  const p99: number[][] = [[], []];
  for (let r = 0; r < rounds; r++) {
    const got = [0, 0];
    for (let j = 0; j < 2; j++) {
      const i = r % 2 === 0 ? j : 1 - j;
      const before = cpuTicks(pids[i]!);
      const t0 = performance.now();
      const { n, p99: tail } = wrk(i, v.duration!);
      p99[i]!.push(tail);
      const secs = (performance.now() - t0) / 1000;
      const used = (cpuTicks(pids[i]!) - before) * 10000; // ticks of 10 ms, in µs
      got[i] = used / n;
      cpu[i]!.push(used / n);
      rate[i]!.push(n / secs);
    }
    ratio.push(got[1]! / got[0]!);
    console.log(
      `round ${r + 1}: base ${got[0]!.toFixed(1)} µs, this ${got[1]!.toFixed(1)} µs, this/base ${(got[1]! / got[0]!).toFixed(3)}; p99 ${p99[0]!.at(-1)} / ${p99[1]!.at(-1)} ms`,
    );
  }
  const load = readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");
  for (let i = 0; i < 2; i++)
    console.log(
      `${names[i]}: CPU per ${v.h2 ? "request" : "connection"} median ${median(cpu[i]!).toFixed(1)} µs (${Math.min(...cpu[i]!).toFixed(1)}–${Math.max(...cpu[i]!).toFixed(1)}), rate median ${median(rate[i]!).toFixed(0)}/s, p99 median ${median(p99[i]!).toFixed(2)} ms`,
    );
  const lower = ratio.filter((x) => x < 1).length;
  const tails = p99[1]!.map((x, k) => x / p99[0]![k]!);
  // h2load reports no percentiles of its own here.
  if (!v.h2)
    console.log(
      `p99 this/base paired median ${median(tails).toFixed(3)} (${Math.min(...tails).toFixed(3)}–${Math.max(...tails).toFixed(3)})`,
    );
  console.log(
    `this/base paired median ${median(ratio).toFixed(3)} (${Math.min(...ratio).toFixed(3)}–${Math.max(...ratio).toFixed(3)}), lower in ${lower} of ${rounds}; load ${load}`,
  );
  process.exit(0);
}

await main();
