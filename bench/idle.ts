// idle.ts: the memory test — RSS of a proxy holding many idle keep-alive connections.
import { spawn } from "node:child_process";
import { pinned, rssKiB, type Running } from "./procs.ts";
import type { IdleResult } from "./report.ts";
import type { ProxyName, Topology } from "./topology.ts";

/**
 * SETTLE_MS is how long the connections are held idle before RSS is read: the figure is what idle
 * connections cost, not the garbage of the burst that opened them, which a proxy with a garbage
 * collector frees once it is quiet (Portico: src/engine/idle-gc.ts, a check every 5 s).
 */
export const SETTLE_MS = 15_000;

/**
 * measureIdle opens count connections to proxy with idle-conns.ts (on the load CPUs, under a
 * raised open-file limit), reads the proxy's RSS after they were held idle SETTLE_MS, then closes
 * them.
 */
export async function measureIdle(
  proxy: ProxyName,
  proc: Running,
  t: Topology,
  count: number,
  script: string,
): Promise<IdleResult> {
  const baseKiB = rssKiB(proc.pid);
  const argv = pinned(t.loadCpus, [
    process.execPath,
    "--disable-warning=ExperimentalWarning",
    script,
    t.proxies[proxy],
    String(t.httpPort),
    String(count),
  ]);
  const child = spawn(argv[0]!, argv.slice(1), { stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (b: Buffer) => (stderr = (stderr + b.toString()).slice(-2000)));
  const exited = new Promise<void>((res) => child.on("exit", () => res()));
  try {
    const line = await new Promise<string>((res, rej) => {
      let buf = "";
      const timer = setTimeout(() => rej(new Error("idle-conns did not report within 120 s")), 120000);
      child.stdout.on("data", (b: Buffer) => {
        buf += b.toString();
        const nl = buf.indexOf("\n");
        if (nl >= 0) {
          clearTimeout(timer);
          res(buf.slice(0, nl));
        }
      });
      child.on("exit", (code) => {
        clearTimeout(timer);
        rej(new Error(`idle-conns exited ${code}: ${stderr}`));
      });
    });
    const { open, failed } = JSON.parse(line) as { open: number; failed: number };
    await new Promise((res) => setTimeout(res, SETTLE_MS));
    const heldKiB = rssKiB(proc.pid);
    return {
      proxy,
      requested: count,
      connections: open,
      failed,
      baseMiB: baseKiB / 1024,
      heldMiB: heldKiB / 1024,
    };
  } finally {
    child.kill("SIGTERM");
    await exited;
  }
}
