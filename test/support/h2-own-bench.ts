// h2-own-bench.ts: h2load against the test server on Portico's own HTTP/2 codec and against the
// node:http2 equivalent (same fixed response), in interleaved rounds, each server pinned to the
// same CPU and h2load to the other; prints requests/s per round and the median ratio own ÷ node.
// A quick A/B for docs/http2.md, not a benchmark of the engine (bench/ does that).
// Usage: sh scripts/node.sh test/support/h2-own-bench.ts [tls|h2c] [rounds] [requests]
import { spawn, execFileSync } from "node:child_process";
import { once } from "node:events";
import path from "node:path";

const transport = process.argv[2] ?? "tls";
const rounds = Number(process.argv[3] ?? 5);
const requests = Number(process.argv[4] ?? 200_000);
const node = path.resolve(import.meta.dirname, "../../scripts/node.sh");
const serve = path.resolve(import.meta.dirname, "h2-own-serve.ts");

async function start(kind: string): Promise<{ port: number; stop(): void }> {
  const p = spawn("taskset", ["-c", "0", "sh", node, serve, kind, transport], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  let out = "";
  p.stdout.setEncoding("utf8");
  while (!/PORT (\d+)/.test(out)) {
    const [d] = (await once(p.stdout, "data")) as [string];
    out += d;
  }
  return { port: Number(/PORT (\d+)/.exec(out)![1]), stop: () => p.kill("SIGTERM") };
}

function h2load(port: number, n: number): { rps: number; cpu: string } {
  const scheme = transport === "tls" ? "https" : "http";
  const out = execFileSync(
    "taskset",
    ["-c", "1", "h2load", "-c", "64", "-m", "10", "-n", String(n), `${scheme}://127.0.0.1:${port}/`],
    { encoding: "utf8" },
  );
  const rps = Number(/finished in [\d.]+m?s, ([\d.]+) req\/s/.exec(out)?.[1]);
  const ok = /requests: .* (\d+) succeeded, (\d+) failed/.exec(out);
  if (!ok || ok[2] !== "0") throw new Error(`h2load failed:\n${out}`);
  return { rps, cpu: "" };
}

const servers = { own: await start("own"), node: await start("node") };
try {
  for (const s of Object.values(servers)) h2load(s.port, 20_000); // warm-up (JIT)
  const own: number[] = [];
  const nod: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const a = h2load(servers.own.port, requests).rps;
    const b = h2load(servers.node.port, requests).rps;
    own.push(a);
    nod.push(b);
    console.log(
      `round ${r + 1}: own ${a.toFixed(0)} req/s, node:http2 ${b.toFixed(0)} req/s, ratio ${(a / b).toFixed(2)}`,
    );
  }
  const med = (x: number[]) => [...x].sort((p, q) => p - q)[Math.floor(x.length / 2)]!;
  console.log(
    `median (${transport}, 64 connections × 10 streams): own ${med(own).toFixed(0)}, node:http2 ${med(nod).toFixed(0)}, own ÷ node ${(med(own) / med(nod)).toFixed(2)}`,
  );
} finally {
  servers.own.stop();
  servers.node.stop();
}
