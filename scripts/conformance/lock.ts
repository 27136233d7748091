// lock.ts: one conformance run per machine. Every run binds ports 80/443 on the same VipPool
// (127.50.0.1–250, fixed because the committed report names those addresses) and shares
// .cache/conformance (the suite's binaries, build.sh's output), so a second run — another worktree,
// another terminal — would fail on taken ports or a half-rebuilt binary. A lock file holding the
// owner's pid serialises them; a lock whose pid is dead (a run killed with SIGKILL) is taken over.
import { linkSync, readFileSync, rmSync, unlinkSync, writeFileSync } from "node:fs";

/** Holder is what a lock file records about the run holding it. */
interface Holder {
  pid: number;
  started: string;
  cwd: string;
}

/** RunLock is a held lock; release removes the lock file if it is still this process's. */
export interface RunLock {
  release(): void;
}

function readHolder(file: string): Holder | undefined {
  try {
    return JSON.parse(readFileSync(file, "utf8")) as Holder;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new Error(`${file}: unreadable conformance lock (${String(e)}); remove it if no run is active`);
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: the process exists but is another user's.
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

const describe = (h: Holder) => `pid ${h.pid} in ${h.cwd}, started ${h.started}`;

/**
 * acquireRunLock takes the lock file, waiting (and saying so once) while a live run holds it, for at
 * most waitMs; then it fails naming the holder. The lock is written to a private file first and
 * linked into place, so it appears complete or not at all.
 */
export async function acquireRunLock(
  file: string,
  opts: { waitMs: number; say: (line: string) => void; pollMs?: number },
): Promise<RunLock> {
  const me: Holder = { pid: process.pid, started: new Date().toISOString(), cwd: process.cwd() };
  const mine = `${file}.${process.pid}`;
  writeFileSync(mine, JSON.stringify(me));
  // Also when a signal ends the run while it waits (run.ts exits from its handler).
  const drop = () => rmSync(mine, { force: true });
  process.once("exit", drop);
  const end = Date.now() + opts.waitMs;
  let waiting: number | undefined;
  try {
    for (;;) {
      try {
        linkSync(mine, file);
        break;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
      }
      const holder = readHolder(file);
      if (!holder) continue; // released between the link and the read
      if (!alive(holder.pid)) {
        // Two runs taking over the same stale lock at the same instant could both win; that needs
        // them to start within microseconds of each other after a killed run, which we accept.
        opts.say(`taking over the stale lock ${file} of ${describe(holder)} (no longer running)`);
        unlinkSync(file);
        continue;
      }
      if (waiting !== holder.pid) {
        waiting = holder.pid;
        opts.say(
          `another conformance run holds ${file} (${describe(holder)}); it uses the same Gateway ` +
            `addresses 127.50.0.1–250:80/443, so this one waits for it to end (up to ` +
            `${Math.round(opts.waitMs / 60_000)} min; Ctrl-C to give up)`,
        );
      }
      if (Date.now() > end)
        throw new Error(
          `the conformance lock ${file} is still held by ${describe(holder)} after ` +
            `${Math.round(opts.waitMs / 60_000)} min; wait for that run or stop it (kill ${holder.pid}), then run again`,
        );
      await new Promise((r) => setTimeout(r, opts.pollMs ?? 1_000));
    }
  } finally {
    drop();
    process.off("exit", drop);
  }
  return {
    release() {
      if (readHolder(file)?.pid === process.pid) unlinkSync(file);
    },
  };
}
