// harness.ts: helpers for end-to-end tests — run `portico` as a real child process on a temp
// directory of manifests, wait on conditions with deadlines (never fixed sleeps), call real clients.
import { spawn, execFile, type ChildProcess } from "node:child_process";
import { mkdtempSync, writeFileSync, mkdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";

const root = join(import.meta.dirname, "..", "..");
const main = join(root, "src/cli/main.ts");
const loopTrace = join(root, "test/support/loop-trace.ts");

/** tempDir makes a fresh directory removed by the returned cleanup. */
export function tempDir(prefix = "portico-e2e-"): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** writeManifest writes text to dir/name, creating folders. */
export function writeManifest(dir: string, name: string, text: string): void {
  mkdirSync(dirname(join(dir, name)), { recursive: true });
  writeFileSync(join(dir, name), text);
}

/** waitFor polls check until it returns a value other than undefined/false, or fails after ms. */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined | false> | T | undefined | false,
  ms = 10_000,
): Promise<T> {
  const deadline = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined && v !== false) return v as T;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline)
      throw new Error(`timed out after ${ms} ms waiting for ${what}${last ? `: ${String(last)}` : ""}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** StatusEntry is one element of GET /api/v1/status. */
export interface StatusEntry {
  kind: string;
  namespace?: string;
  name: string;
  status: {
    loadBalancer?: { ingress?: { ip?: string }[] };
    conditions?: { type: string; status: string; reason?: string; message?: string }[];
    [field: string]: unknown;
  };
}

/** Portico is a running `portico run` child process. */
export interface Portico {
  proc: ChildProcess;
  adminUrl: string;
  logs: string[];
  stdout: () => string;
  status(): Promise<StatusEntry[]>;
  vip(kind: string, ns: string, name: string): Promise<string | undefined>;
  stop(): Promise<void>;
}

/**
 * startPortico runs `portico run dir args...` with admin on a free loopback port and waits for
 * /readyz (a snapshot applied, every listener bound); waitHealthy: false skips that wait.
 */
export async function startPortico(
  dirs: string[],
  args: string[] = [],
  opts: { waitHealthy?: boolean; command?: string[] } = {},
): Promise<Portico> {
  // command replaces how portico is started (default: the .ts sources on this Node), e.g. bin/portico.
  // PORTICO_TEST_LOOP_TRACE=FILE loads test/support/loop-trace.ts into the engine (a diagnostic).
  const trace = process.env.PORTICO_TEST_LOOP_TRACE ? ["--import", loopTrace] : [];
  const [cmd, ...pre] = opts.command ?? [
    process.execPath,
    "--disable-warning=ExperimentalWarning",
    ...trace,
    main,
  ];
  // A state directory of its own unless the test gives one: the default (/var/lib/portico as root)
  // is locked by one Portico at a time, and two test files running at once collided on it.
  const state = args.includes("--state-dir") ? undefined : tempDir("portico-state-");
  const stateArgs = state === undefined ? [] : ["--state-dir", state];
  const proc = spawn(cmd!, [...pre, "run", ...dirs, "--admin", "127.0.0.1:0", ...stateArgs, ...args], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, PORTICO_LOG_LEVEL: "debug" },
  });
  const logs: string[] = [];
  let out = "";
  let partial = "";
  proc.stdout!.on("data", (d) => (out += d));
  proc.stderr!.on("data", (d: Buffer) => {
    partial += d.toString();
    const lines = partial.split("\n");
    partial = lines.pop()!;
    logs.push(...lines);
  });
  const exited = new Promise<void>((r) => proc.once("exit", () => r()));
  if (state !== undefined) void exited.then(() => removeDir(state));
  // If the test process dies (a timeout), the child must not outlive it holding VIP ports.
  const reap = () => proc.kill("SIGKILL");
  process.once("exit", reap);
  exited.then(() => process.off("exit", reap));
  const died = exited.then(() => {
    throw new Error(`portico exited ${proc.exitCode}: ${logs.join("\n")}`);
  });
  died.catch(() => {});
  // A start that fails must not leave the child running: its pipes would keep this test file's
  // process alive after the test failed, and the suite would hang there (seen under load).
  const abandon = (e: unknown): never => {
    proc.kill("SIGKILL");
    throw e;
  };
  const adminUrl = await Promise.race([
    died,
    waitFor(
      "admin API to listen",
      () => {
        for (const l of logs) {
          try {
            const j = JSON.parse(l);
            if (j.msg === "admin API listening") return j.url as string;
          } catch {
            /* not JSON */
          }
        }
        return undefined;
      },
      // Generous, like readyz below: a loaded 2-core machine is slow to start Node and the controller.
      30_000,
    ),
  ]).catch(abandon);
  const p: Portico = {
    proc,
    adminUrl,
    logs,
    stdout: () => out,
    async status() {
      return (await (await fetch(`${adminUrl}/api/v1/status`)).json()) as StatusEntry[];
    },
    async vip(kind, ns, name) {
      const s = (await p.status()).find(
        (x) => x.kind === kind && (x.namespace ?? "") === ns && x.name === name,
      );
      return s?.status?.loadBalancer?.ingress?.[0]?.ip;
    },
    async stop() {
      if (proc.exitCode === null) proc.kill("SIGTERM");
      await exited;
    },
  };
  if (opts.waitHealthy !== false) {
    let last = "";
    try {
      await waitFor(
        "readyz 200",
        async () => {
          const r = await fetch(`${adminUrl}/readyz`);
          last = await r.text();
          return r.status === 200;
          // Generous: a loaded 2-core CI machine starting kube-apiserver beside it is slow to start us.
        },
        30_000,
      );
    } catch (e) {
      // Say why it was not ready: the checks, and what Portico logged at warn or error.
      const problems = logs.filter((l) => /"level":"(warn|error)"/.test(l)).slice(-10);
      abandon(
        new Error(`${(e as Error).message}\n/readyz said:\n${last}\n${problems.join("\n")}`, {
          cause: e,
        }),
      );
    }
  }
  return p;
}

/** watchChild collects a child's stderr lines into logs and kills it if this test process exits first. */
export function watchChild(proc: ChildProcess): { logs: string[]; exited: Promise<number | null> } {
  const logs: string[] = [];
  let partial = "";
  proc.stderr?.on("data", (d: Buffer) => {
    const lines = (partial + d.toString()).split("\n");
    partial = lines.pop()!;
    logs.push(...lines);
  });
  const exited = new Promise<number | null>((r) => proc.once("exit", (code) => r(code)));
  // If the test process dies (a timeout), the child must not outlive it holding ports.
  const reap = () => proc.kill("SIGKILL");
  process.once("exit", reap);
  void exited.then(() => process.off("exit", reap));
  return { logs, exited };
}

/** logLines returns p's JSON log lines whose msg is msg. */
export function logLines(p: Portico, msg: string): Record<string, unknown>[] {
  return p.logs.flatMap((l) => {
    try {
      const j = JSON.parse(l) as Record<string, unknown>;
      return j.msg === msg ? [j] : [];
    } catch {
      return [];
    }
  });
}

/** run executes a command and resolves with its exit code and output (never rejects on non-zero). */
export function run(
  cmd: string,
  args: string[],
  input?: string,
  timeoutMs = 20_000,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(cmd, args, { timeout: timeoutMs, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      const status = (err as { code?: unknown } | null)?.code;
      const code = err ? (typeof status === "number" ? status : 1) : 0;
      resolve({ code, stdout, stderr });
    });
    if (input !== undefined) child.stdin!.end(input);
  });
}

/** portico runs the CLI once (offline commands) and resolves with its result. */
export function portico(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return run(process.execPath, ["--disable-warning=ExperimentalWarning", main, ...args]);
}

/** removeDir deletes a temp dir. */
export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}
