// h2load.ts: nghttp2's h2load as the analytics tests' reference load generator (issue 15, "Verified
// by"). A native client in a process of its own: its latency of a request runs from the request's
// submission to the read that completed its response, in C on its own event loop, so it adds far
// less time of its own than a generator sharing a Node event loop with its bookkeeping. Its
// --log-file gives one row per request (status, microseconds), so counts are exact and quantiles are
// the true order statistics of the samples, as test/support/loadgen.ts records them.
import { spawn } from "node:child_process";
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { countBy, exactQuantiles, type LoadResult, type RequestRecord } from "./loadgen.ts";
import { StallMonitor } from "./stalls.ts";

/** H2loadOptions say where to send what (one virtual host per run), how hard. */
export interface H2loadOptions {
  host: string;
  port: number;
  /** authority is the :authority (HTTP/1.1: Host) every request carries. */
  authority: string;
  /** paths are requested round-robin on every connection (h2load's order). */
  paths: string[];
  connections: number;
  requests: number;
  /** http2 over TLS when set (ALPN h2); else HTTP/1.1 keep-alive over TCP. */
  tls?: boolean;
}

/** h2loadAvailable says whether h2load is installed (scripts/peers.sh installs nghttp2-client). */
export async function h2loadAvailable(): Promise<boolean> {
  return (await run(["--version"])).code === 0;
}

/**
 * runH2load runs h2load to completion and returns its per-request record as a LoadResult (paths
 * are not logged by h2load: a record's path is left ""). loopDelay is the lateness of a 1 ms timer
 * in this (idle) test process meanwhile: how late the machine schedules a ready process. floor is
 * the record with every such stall taken out of the requests it overlapped: on the shared machine
 * every process stops at once now and then (100–120 ms, seen in the test, the backends and both
 * of Portico's threads at the same millisecond), and a request whose bytes sat in a socket buffer
 * meanwhile carries the stall on the client only.
 */
export async function runH2load(o: H2loadOptions): Promise<LoadResult> {
  const dir = mkdtempSync(join(tmpdir(), "portico-h2load-"));
  const log = join(dir, "requests.log");
  const scheme = o.tls ? "https" : "http";
  const args = [
    ...(o.tls ? [] : ["--h1"]),
    `--clients=${o.connections}`,
    `--requests=${o.requests}`,
    "--max-concurrent-streams=1",
    `--connect-to=${o.host}:${o.port}`,
    `--header=:authority: ${o.authority}`,
    "--header=user-agent: portico-loadgen",
    `--log-file=${log}`,
    ...o.paths.map((p) => `${scheme}://${o.authority}:${o.port}${p}`),
  ];
  const stalls = new StallMonitor();
  const started = performance.now();
  try {
    const r = await run(args);
    const elapsedMs = performance.now() - started;
    stalls.stop();
    if (r.code !== 0) throw new Error(`h2load ${args.join(" ")}: exit ${r.code}: ${r.out.slice(-2000)}`);
    const keep = process.env.PORTICO_TEST_H2LOAD_LOG;
    if (keep) copyFileSync(log, `${keep}.${o.authority}.log`);
    const records: (RequestRecord & { startMs: number })[] = readFileSync(log, "latin1")
      .split("\n")
      .filter((l) => l !== "")
      .map((l, i) => {
        const [startUs, status, us] = l.split("\t");
        return {
          i,
          path: "",
          status: Number(status),
          ms: Number(us) / 1000,
          conn: 0,
          startMs: Number(startUs) / 1000,
        };
      });
    if (records.length !== o.requests) {
      throw new Error(`h2load logged ${records.length} of ${o.requests} requests: ${r.out.slice(-2000)}`);
    }
    return {
      records: records.map(({ startMs: _, ...rec }) => rec),
      byStatus: countBy(records, (x) => String(x.status)),
      latency: exactQuantiles(records.map((x) => x.ms)),
      loopDelay: exactQuantiles(stalls.lateness),
      floor: exactQuantiles(records.map((x) => x.ms - stalls.overlap(x.startMs, x.startMs + x.ms))),
      elapsedMs,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function run(args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    let out = "";
    const p = spawn("h2load", args, { stdio: ["ignore", "pipe", "pipe"] });
    p.stdout.on("data", (d: Buffer) => (out += d.toString()));
    p.stderr.on("data", (d: Buffer) => (out += d.toString()));
    p.on("error", (e) => resolve({ code: -1, out: String(e) }));
    p.on("close", (code) => resolve({ code: code ?? -1, out }));
  });
}
