// h2-own-bench.ts: h2load against the test server on Portico's own HTTP/2 codec and against the
// node:http2 equivalent (same fixed response), in interleaved rounds, each server pinned to the
// same CPU and h2load to the other; prints requests/s per round and the median ratio own ÷ node.
// A quick A/B for docs/http2.md, not a benchmark of the engine (bench/ does that).
// Usage: sh scripts/node.sh test/support/h2-own-bench.ts [tls|h2c] [rounds] [requests]
import { spawn, execFileSync } from "node:child_process";
import { once } from "node:events";
import { readFileSync } from "node:fs";
import path from "node:path";

const transport = process.argv[2] ?? "tls";
const rounds = Number(process.argv[3] ?? 5);
const requests = Number(process.argv[4] ?? 200_000);
const node = path.resolve(import.meta.dirname, "../../scripts/node.sh");
const serve = path.resolve(import.meta.dirname, "h2-own-serve.ts");

// cpuMs reads a process's user + system CPU time (clock ticks of 10 ms) from /proc.
function cpuMs(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return (Number(f[11]) + Number(f[12])) * 10;
}

async function start(kind: string): Promise<{ port: number; pid: number; stop(): void }> {
  const p = spawn("taskset", ["-c", "0", "sh", node, serve, kind, transport], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  let out = "";
  p.stdout.setEncoding("utf8");
  while (!/PORT (\d+)/.test(out)) {
    const [d] = (await once(p.stdout, "data")) as [string];
    out += d;
  }
  return { port: Number(/PORT (\d+)/.exec(out)![1]), pid: p.pid!, stop: () => p.kill("SIGTERM") };
}

function h2load(server: { port: number; pid: number }, n: number): { rps: number; cpuUs: number } {
  const port = server.port;
  const cpu0 = cpuMs(server.pid);
  const scheme = transport === "tls" ? "https" : "http";
  const out = execFileSync(
    "taskset",
    ["-c", "1", "h2load", "-c", "64", "-m", "10", "-n", String(n), `${scheme}://127.0.0.1:${port}/`],
    { encoding: "utf8" },
  );
  const rps = Number(/finished in [\d.]+m?s, ([\d.]+) req\/s/.exec(out)?.[1]);
  const ok = /requests: .* (\d+) succeeded, (\d+) failed/.exec(out);
  if (!ok || ok[2] !== "0") throw new Error(`h2load failed:\n${out}`);
  return { rps, cpuUs: ((cpuMs(server.pid) - cpu0) * 1000) / n };
}

const servers = { own: await start("own"), node: await start("node") };
try {
  for (const s of Object.values(servers)) h2load(s, 20_000); // warm-up (JIT)
  const own: number[] = [];
  const nod: number[] = [];
  const ownCpu: number[] = [];
  const nodCpu: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const a = h2load(servers.own, requests);
    const b = h2load(servers.node, requests);
    own.push(a.rps);
    nod.push(b.rps);
    ownCpu.push(a.cpuUs);
    nodCpu.push(b.cpuUs);
    console.log(
      `round ${r + 1}: own ${a.rps.toFixed(0)} req/s ${a.cpuUs.toFixed(1)} µs CPU/req, ` +
        `node:http2 ${b.rps.toFixed(0)} req/s ${b.cpuUs.toFixed(1)} µs CPU/req, ratio ${(a.rps / b.rps).toFixed(2)}`,
    );
  }
  const med = (x: number[]) => [...x].sort((p, q) => p - q)[Math.floor(x.length / 2)]!;
  console.log(
    `median (${transport}, 64 connections × 10 streams, ${requests} requests): own ${med(own).toFixed(0)} req/s ` +
      `${med(ownCpu).toFixed(1)} µs CPU/req, node:http2 ${med(nod).toFixed(0)} req/s ${med(nodCpu).toFixed(1)} µs CPU/req, ` +
      `own ÷ node ${(med(own) / med(nod)).toFixed(2)} (req/s), ${(med(nodCpu) / med(ownCpu)).toFixed(2)} (CPU per request)`,
  );
} finally {
  servers.own.stop();
  servers.node.stop();
}
