// procs.ts: starting, pinning, watching and stopping the processes of a run.
import { spawn, type ChildProcess } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { connect } from "node:net";

/** Running is a started long-lived process (proxy, backend). */
export interface Running {
  name: string;
  pid: number;
  /** output holds the last few KiB of stdout+stderr, for error messages. */
  output: () => string;
  /** exited resolves with the exit code once the process is gone. */
  exited: Promise<number | null>;
  /** alive is false once the process has exited. */
  alive: () => boolean;
  stop: () => Promise<void>;
}

/**
 * pinned wraps argv so it runs on cpus with the highest open-file limit the machine allows:
 * taskset for the CPU, sh's ulimit for the limit (node cannot setrlimit itself).
 */
export function pinned(cpus: string, argv: string[]): string[] {
  const quoted = argv.map((a) => `'${a.replaceAll("'", `'"'"'`)}'`).join(" ");
  return [
    "taskset",
    "-c",
    cpus,
    "sh",
    "-c",
    `ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"; exec ${quoted}`,
  ];
}

/** startProcess spawns argv in the background and keeps the tail of its output. */
export function startProcess(name: string, argv: string[], env?: NodeJS.ProcessEnv): Running {
  const child: ChildProcess = spawn(argv[0]!, argv.slice(1), { stdio: ["ignore", "pipe", "pipe"], env });
  let tail = "";
  const keep = (b: Buffer): void => {
    tail = (tail + b.toString()).slice(-8192);
  };
  child.stdout!.on("data", keep);
  child.stderr!.on("data", keep);
  const exited = new Promise<number | null>((res) => child.on("exit", (code) => res(code)));
  child.on("error", (e) => keep(Buffer.from(String(e))));
  return {
    name,
    pid: child.pid ?? -1,
    output: () => tail,
    exited,
    alive: () => child.exitCode === null && child.signalCode === null,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** runCommand runs argv to completion and returns its stdout; rejects on a non-zero exit. */
export function runCommand(argv: string[], timeoutMs: number): Promise<{ stdout: string; stderr: string }> {
  return new Promise((res, rej) => {
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (b: Buffer) => (stdout += b.toString()));
    child.stderr.on("data", (b: Buffer) => (stderr += b.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("error", rej);
    child.on("exit", (code, signal) => {
      clearTimeout(timer);
      if (code === 0) res({ stdout, stderr });
      else rej(new Error(`${argv.join(" ")} exited ${code ?? signal}: ${(stderr || stdout).slice(-2000)}`));
    });
  });
}

/** portTaken says whether host:port already accepts TCP connections (someone else listens). */
export function portTaken(host: string, port: number): Promise<boolean> {
  return new Promise<boolean>((res) => {
    const s = connect({ host, port }, () => {
      s.destroy();
      res(true);
    });
    s.on("error", () => res(false));
  });
}

/** waitForPort resolves once host:port accepts a TCP connection, or rejects at the deadline. */
export async function waitForPort(
  host: string,
  port: number,
  timeoutMs: number,
  proc?: Running,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((res) => {
      const s = connect({ host, port }, () => {
        s.destroy();
        res(true);
      });
      s.on("error", () => res(false));
    });
    if (ok) return;
    if (Date.now() > deadline) {
      throw new Error(
        `${host}:${port} not listening after ${timeoutMs} ms${proc ? `; output: ${proc.output()}` : ""}`,
      );
    }
    // A short poll interval: starting takes tens of milliseconds, and this is not synchronisation
    // with the process's internals but a check of the condition we need (the port accepts).
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * statFields reads /proc/PID/stat and returns the fields after the command name, which may contain
 * spaces and parentheses (fields resume after the last ")"): state is [0], ppid [1], utime [11],
 * stime [12]. It throws when the process is gone.
 */
function statFields(pid: number | string): string[] {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  return stat.slice(stat.lastIndexOf(")") + 2).split(" ");
}

/** descendants returns pid and every process below it, read from /proc. */
export function descendants(pid: number): number[] {
  const parent = new Map<number, number[]>();
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const ppid = Number(statFields(name)[1]);
      const list = parent.get(ppid) ?? [];
      list.push(Number(name));
      parent.set(ppid, list);
    } catch {
      // The process ended while we listed /proc.
    }
  }
  const out = [pid];
  for (let i = 0; i < out.length; i++) out.push(...(parent.get(out[i]!) ?? []));
  return out;
}

/** sumOverTree adds read(p) over pid and its descendants; a process gone meanwhile counts 0. */
function sumOverTree(pid: number, read: (p: number) => number): number {
  let total = 0;
  for (const p of descendants(pid)) {
    try {
      total += read(p);
    } catch {
      // Gone already.
    }
  }
  return total;
}

/** rssKiB sums VmRSS over pid and its descendants (nginx master + worker, node workers). */
export function rssKiB(pid: number): number {
  return sumOverTree(pid, (p) => {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${p}/status`, "utf8"));
    return m ? Number(m[1]) : 0;
  });
}

/**
 * cpuSeconds is the user + system CPU time pid and its descendants have used so far. /proc counts
 * it in USER_HZ ticks, which Linux fixes at 100 per second for user space whatever the kernel's HZ.
 */
export function cpuSeconds(pid: number): number {
  const ticks = sumOverTree(pid, (p) => {
    const f = statFields(p);
    return Number(f[11]) + Number(f[12]);
  });
  return ticks / 100;
}

/**
 * threadCpuSeconds is the user + system CPU time of each thread of pid so far, summed by thread
 * name (/proc/PID/task/TID/comm: "node" for the main thread, "V8 DefaultWorke" for V8's helpers
 * that mark and scavenge concurrently, a worker thread's own name): which thread spent a process's time.
 */
export function threadCpuSeconds(pid: number): Map<string, number> {
  const out = new Map<string, number>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const name = readFileSync(`/proc/${pid}/task/${tid}/comm`, "utf8").trim();
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, "utf8");
      const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      out.set(name, (out.get(name) ?? 0) + (Number(f[11]) + Number(f[12])) / 100);
    } catch {
      // The thread ended while we listed it.
    }
  }
  return out;
}

/** RssSampler records the peak RSS of a process tree while a test runs. */
export class RssSampler {
  private peak = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly pid: number;
  constructor(pid: number) {
    this.pid = pid;
  }
  /** start samples every intervalMs until stop. */
  start(intervalMs = 250): void {
    this.peak = rssKiB(this.pid);
    this.timer = setInterval(() => (this.peak = Math.max(this.peak, rssKiB(this.pid))), intervalMs);
  }
  /** stop returns the peak in KiB. */
  stop(): number {
    clearInterval(this.timer);
    return Math.max(this.peak, rssKiB(this.pid));
  }
}
