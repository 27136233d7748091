// lock.test.ts: the conformance run's machine-wide lock (scripts/conformance/lock.ts) against real
// processes: a live holder makes a second run wait and then fail naming it, its exit lets the
// waiter in, and a dead holder's lock is taken over.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { once } from "node:events";
import { acquireRunLock } from "../../scripts/conformance/lock.ts";

/** holderProcess is a live process other than this one, to stand in for another run. */
async function holderProcess(): Promise<ChildProcess> {
  const p = spawn(process.execPath, ["-e", "setInterval(() => {}, 1e6)"], { stdio: "ignore" });
  await once(p, "spawn");
  return p;
}

/** inTempDir runs body with a fresh directory for the lock, removed afterwards. */
async function inTempDir(body: (dir: string) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "portico-lock-"));
  try {
    await body(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** withHolder runs body with a lock file held by another live process, killed afterwards. */
async function withHolder(body: (file: string, other: ChildProcess) => Promise<void>): Promise<void> {
  const other = await holderProcess();
  try {
    await inTempDir((dir) => body(lockOf(dir, other.pid!), other));
  } finally {
    other.kill("SIGKILL");
  }
}

function lockOf(dir: string, pid: number): string {
  const file = join(dir, "run.lock");
  writeFileSync(file, JSON.stringify({ pid, started: "2026-12-07T12:00:00.000Z", cwd: "/other/worktree" }));
  return file;
}

test("a free lock is taken and released, leaving no file behind", () =>
  inTempDir(async (dir) => {
    const file = join(dir, "run.lock");
    const lock = await acquireRunLock(file, { waitMs: 0, say: () => assert.fail("nothing to say") });
    assert.equal(JSON.parse(readFileSync(file, "utf8")).pid, process.pid);
    lock.release();
    assert.equal(existsSync(file), false);
    assert.deepEqual(readdirSync(dir), [], "the private file the lock was linked from is removed");
  }));

test("a live holder makes a run wait, saying who holds it, and fail naming it at the deadline", () =>
  withHolder(async (file, other) => {
    const said: string[] = [];
    await assert.rejects(
      acquireRunLock(file, { waitMs: 300, pollMs: 50, say: (l) => said.push(l) }),
      new RegExp(`still held by pid ${other.pid} in /other/worktree.*kill ${other.pid}`),
    );
    assert.equal(said.length, 1, "says once that it waits, not once per poll");
    assert.match(said[0]!, new RegExp(`holds .*run\\.lock \\(pid ${other.pid} .*127\\.50\\.0\\.1–250`));
    assert.equal(JSON.parse(readFileSync(file, "utf8")).pid, other.pid, "the holder's lock is untouched");
  }));

test("a waiting run takes the lock once its holder ends", () =>
  withHolder(async (file, other) => {
    // The holder ends once the waiter has said it waits; the waiter then gets the (now stale) lock.
    const lock = await acquireRunLock(file, {
      waitMs: 60_000,
      pollMs: 20,
      say: (l) => {
        if (l.startsWith("another conformance run")) other.kill("SIGKILL");
      },
    });
    assert.equal(JSON.parse(readFileSync(file, "utf8")).pid, process.pid);
    lock.release();
  }));

test("a dead holder's lock is taken over at once", () =>
  inTempDir(async (dir) => {
    const gone = await holderProcess();
    gone.kill("SIGKILL");
    await once(gone, "exit");
    const file = lockOf(dir, gone.pid!);
    const said: string[] = [];
    const lock = await acquireRunLock(file, { waitMs: 0, say: (l) => said.push(l) });
    assert.equal(JSON.parse(readFileSync(file, "utf8")).pid, process.pid);
    assert.deepEqual(said, [
      `taking over the stale lock ${file} of pid ${gone.pid} in /other/worktree, started 2026-12-07T12:00:00.000Z (no longer running)`,
    ]);
    lock.release();
  }));
