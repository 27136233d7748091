// goload.ts: runs test/peers/loadgen — the analytics accuracy test's load generator, written for
// the test in Go (standard library only; scripts/loadgen/build.sh builds it into .cache/loadgen) —
// and reads its per-request record. It times each request where its bytes meet the kernel (the
// write that sends it, the read that brings its last bytes), on a paced open-loop schedule after a
// warm-up request per connection: see the comment at the top of test/peers/loadgen/main.go.
import { spawn, spawnSync } from "node:child_process";
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { countBy, exactQuantiles, type ExactQuantiles, type RequestRecord } from "./loadgen.ts";

const root = resolve(import.meta.dirname, "../..");

/** GoTarget is one request of the plan's cycle. */
export interface GoTarget {
  authority: string;
  path: string;
}

/** GoPlan mirrors Plan in test/peers/loadgen/main.go. */
export interface GoPlan {
  /** address is HOST:PORT to connect to; serverName the TLS SNI (tls only). */
  address: string;
  tls?: boolean;
  serverName?: string;
  /** http2: HTTP/2 over TLS (ALPN h2, never a fallback), one stream at a time per connection. */
  http2?: boolean;
  connections: number;
  /** requests in all at rate per second; request i goes to targets[i % targets.length]. */
  requests: number;
  rate: number;
  targets: GoTarget[];
  /** warm: each connection's first request, before the schedule (its own virtual host). */
  warm?: GoTarget;
  keepHeader?: string;
  timeoutMs?: number;
}

/** GoRecord is one request as the generator recorded it (Record in main.go). */
export interface GoRecord {
  i: number;
  phase: "warm" | "load";
  authority: string;
  /** path as sent, with "n=I" added to its query (the key to the proxy's access log). */
  path: string;
  status: number;
  bytes: number;
  conn: number;
  /** startUs/endUs: the write's and the last read's wall clock, µs since the epoch. */
  startUs: number;
  endUs: number;
  /** ns: the latency by the monotonic clock. */
  ns: number;
  /** lateUs: how late the request left against its due time (the schedule's). */
  lateUs: number;
  header?: string;
  error?: string;
}

/**
 * GO_TIMER_MS: the Go runtime's timers wake from epoll_wait, whose timeout is whole milliseconds, so
 * a sleep until a request's due time ends up to 1 ms late on an idle machine (0.6 ms at the median
 * measured, straight to a backend): that much lateness is the timer's, not the machine's.
 */
export const GO_TIMER_MS = 1;

/** GoRun is a run's record: the scheduled requests and the warm-up ones apart. */
export interface GoRun {
  load: GoRecord[];
  warm: GoRecord[];
  /**
   * lateness: quantiles (ms) of how late the scheduled requests left beyond the Go runtime's timer
   * granularity (GO_TIMER_MS): how long the generator, ready to send, waited for a CPU — a loaded
   * machine's sign.
   */
  lateness: ExactQuantiles;
  elapsedMs: number;
}

/**
 * buildLoadgen builds the generator if its sources changed (quick when they did not) and returns
 * the binary's path; it fails saying what to do when Go is missing.
 */
export function buildLoadgen(): string {
  const r = spawnSync("bash", [join(root, "scripts/loadgen/build.sh")], { encoding: "utf8" });
  if (r.status === 3) throw new Error(`the load generator needs Go to build: ${r.stderr.trim()}`);
  if (r.status !== 0) throw new Error(`scripts/loadgen/build.sh failed (exit ${r.status}): ${r.stderr}`);
  return r.stdout.trim();
}

/**
 * runGoload runs one plan to completion. PORTICO_TEST_LOADGEN_LOG=PREFIX keeps the record as
 * PREFIX.NAME.jsonl, to set beside the proxy's access log (docs/analytics.md, "Request by request").
 */
export async function runGoload(name: string, plan: GoPlan): Promise<GoRun> {
  const bin = buildLoadgen();
  const dir = mkdtempSync(join(tmpdir(), "portico-loadgen-"));
  try {
    const planFile = join(dir, "plan.json");
    const out = join(dir, "records.jsonl");
    writeFileSync(planFile, JSON.stringify(plan));
    const r = await run(bin, [planFile, out]);
    if (r.code !== 0) throw new Error(`loadgen ${name}: exit ${r.code}: ${r.out.slice(-2000)}`);
    const keep = process.env.PORTICO_TEST_LOADGEN_LOG;
    if (keep) copyFileSync(out, `${keep}.${name}.jsonl`);
    const records = readFileSync(out, "utf8")
      .split("\n")
      .filter((l) => l !== "")
      .map((l) => JSON.parse(l) as GoRecord);
    const summary = JSON.parse(r.out.trim().split("\n").pop()!) as { elapsedMs: number };
    const load = records.filter((x) => x.phase === "load");
    const broken = records.filter((x) => x.error !== undefined);
    if (broken.length > 0) {
      throw new Error(
        `loadgen ${name}: ${broken.length} requests failed, e.g. ${JSON.stringify(broken.slice(0, 3))}`,
      );
    }
    return {
      load,
      warm: records.filter((x) => x.phase === "warm"),
      lateness: exactQuantiles(load.map((x) => Math.max(0, x.lateUs / 1000 - GO_TIMER_MS))),
      elapsedMs: summary.elapsedMs,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** asRequestRecords turns generator records into the shape the Node generator's helpers take. */
export function asRequestRecords(rs: readonly GoRecord[]): RequestRecord[] {
  return rs.map((x) => ({
    i: x.i,
    path: x.path,
    status: x.status,
    ms: x.ns / 1e6,
    conn: x.conn,
    ...(x.header === undefined ? {} : { header: x.header }),
  }));
}

/** byAuthority groups records by authority. */
export function byAuthority(rs: readonly GoRecord[]): Map<string, GoRecord[]> {
  const out = new Map<string, GoRecord[]>();
  for (const r of rs) {
    const list = out.get(r.authority);
    if (list) list.push(r);
    else out.set(r.authority, [r]);
  }
  return out;
}

/** statusCounts counts records by status code ("200"). */
export function statusCounts(rs: readonly GoRecord[]): Record<string, number> {
  return countBy(asRequestRecords(rs), (r) => String(r.status));
}

function run(bin: string, args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((done) => {
    let out = "";
    const p = spawn(bin, args, { stdio: ["ignore", "pipe", "pipe"] });
    p.stdout.on("data", (d: Buffer) => (out += d.toString()));
    p.stderr.on("data", (d: Buffer) => (out += d.toString()));
    p.on("error", (e) => done({ code: -1, out: String(e) }));
    p.on("close", (code) => done({ code: code ?? -1, out }));
  });
}
