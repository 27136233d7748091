// reload-helpers.ts: for the reload end-to-end tests — a client that keeps sending requests and
// records every failure and latency, and the ways editors and tools save a file.
import { Agent, request } from "node:http";
import { renameSync, symlinkSync, unlinkSync, writeFileSync, mkdirSync, rmSync, readlinkSync } from "node:fs";
import { join } from "node:path";
import { run } from "./harness.ts";

/** get sends one GET to vip:port with Host host and resolves with status and body (never rejects). */
export function get(
  vip: string,
  port: number,
  host: string,
  path: string,
  agent?: Agent,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve) => {
    const req = request({ host: vip, port, path, headers: { host }, agent, timeout: 5000 }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (d) => (body += d));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      res.on("error", (e) => resolve({ status: 0, body: String(e) }));
    });
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", (e) => resolve({ status: 0, body: String(e) }));
    req.end();
  });
}

/** Load is a client sending requests back to back until stopped. */
export interface Load {
  /** stop ends the loop and resolves with its counts and latencies (ms). */
  stop(): Promise<{ sent: number; failed: string[]; latencies: number[] }>;
  /** mark starts a window; window() returns the largest latency since the mark. */
  mark(): void;
  window(): number;
}

/** load sends GET host/path to vip:port in a loop over keep-alive; a non-200 or wrong body fails. */
export function load(vip: string, port: number, host: string, path: string, expect: string): Load {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const failed: string[] = [];
  const latencies: number[] = [];
  let sent = 0;
  let stopping = false;
  let windowMax = 0;
  const loop = (async () => {
    while (!stopping) {
      const t = performance.now();
      const r = await get(vip, port, host, path, agent);
      const ms = performance.now() - t;
      latencies.push(ms);
      windowMax = Math.max(windowMax, ms);
      sent++;
      if (r.status !== 200 || r.body !== expect) failed.push(`${r.status} ${r.body.slice(0, 80)}`);
      // Yield a moment between requests so the loop paces itself rather than saturating a core.
      await new Promise((r) => setTimeout(r, 2));
    }
  })();
  return {
    async stop() {
      stopping = true;
      await loop;
      agent.destroy();
      return { sent, failed, latencies };
    },
    mark: () => (windowMax = 0),
    window: () => windowMax,
  };
}

/** percentile returns the p-th percentile (0-100) of xs. */
export function percentile(xs: readonly number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))] ?? NaN;
}

/** SaveStyle writes text to dir/name the way one kind of tool does. */
export type SaveStyle = (dir: string, name: string, text: string, n: number) => Promise<void> | void;

/** SAVE_STYLES are the ways a file gets saved; each replaces the file's content with text. */
export const SAVE_STYLES: Record<string, SaveStyle> = {
  /** in place: open with O_TRUNC and write, as shell redirection and many programs do. */
  "in place": (dir, name, text) => writeFileSync(join(dir, name), text),
  /** atomic rename: write a temporary file beside it and rename it over (most editors' safe save). */
  rename: (dir, name, text) => {
    writeFileSync(join(dir, `.${name}.tmp`), text);
    renameSync(join(dir, `.${name}.tmp`), join(dir, name));
  },
  /** sed -i: the real sed, which writes a temporary file and renames it over the original. */
  "sed -i": async (dir, name, text) => {
    writeFileSync(join(dir, `.${name}.want`), text);
    // Replace the whole file with the wanted text: delete every line, read the wanted file in.
    const r = await run("sed", ["-i", "-e", `1r ${join(dir, `.${name}.want`)}`, "-e", "d", join(dir, name)]);
    if (r.code !== 0) throw new Error(`sed -i failed: ${r.stderr}`);
    unlinkSync(join(dir, `.${name}.want`));
  },
  /** cp over: the real cp onto the existing file. */
  "cp over": async (dir, name, text) => {
    writeFileSync(join(dir, `.${name}.src`), text);
    const r = await run("cp", [join(dir, `.${name}.src`), join(dir, name)]);
    if (r.code !== 0) throw new Error(`cp failed: ${r.stderr}`);
  },
  /** vim with backupcopy=no: rename the original to name~, write a new file, delete the backup. */
  "vim backup rename": (dir, name, text) => {
    renameSync(join(dir, name), join(dir, `${name}~`));
    writeFileSync(join(dir, name), text);
    unlinkSync(join(dir, `${name}~`));
  },
  /** delete and re-create. */
  "delete and re-create": (dir, name, text) => {
    unlinkSync(join(dir, name));
    writeFileSync(join(dir, name), text);
  },
  /** git checkout: the real git writes the file from its index (unlink, then create). */
  "git checkout": async (dir, name, text) => {
    const git = (args: string[], input?: string) => run("git", ["-C", dir, ...args], input);
    if ((await git(["rev-parse", "--git-dir"])).code !== 0) {
      await git(["init", "-q"]);
    }
    const blob = (await git(["hash-object", "-w", "--stdin"], text)).stdout.trim();
    await git(["update-index", "--add", "--cacheinfo", `100644,${blob},${name}`]);
    const r = await git(["checkout", "--", name]);
    if (r.code !== 0) throw new Error(`git checkout failed: ${r.stderr}`);
  },
  /**
   * ConfigMap volume: name is a symlink to ..data/name, ..data a symlink to a timestamped dir; an
   * update writes a new dir and swaps ..data by rename, as the kubelet's AtomicWriter does.
   */
  "configmap ..data swap": (dir, name, text, n) => {
    const next = `..v${n}`;
    mkdirSync(join(dir, next), { recursive: true });
    writeFileSync(join(dir, next, name), text);
    let old: string | undefined;
    try {
      old = readlinkSync(join(dir, "..data"));
    } catch {
      /* first write */
    }
    symlinkSync(next, join(dir, "..data_tmp"));
    renameSync(join(dir, "..data_tmp"), join(dir, "..data"));
    try {
      symlinkSync(join("..data", name), join(dir, name));
    } catch {
      /* the file link already exists */
    }
    if (old) rmSync(join(dir, old), { recursive: true, force: true });
  },
};
