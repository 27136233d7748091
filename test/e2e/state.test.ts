// state.test.ts: the state directory guarded, end to end with the real bin/portico. A second
// instance on one directory exits naming the first's pid and touches nothing; damaged state files
// are refused in one line and `portico state restore` brings back the same addresses; a full disk
// under a running Portico fails no request and moves no address, shows in the log, /api/v1/errors
// and /healthz, and recovers by itself when space returns. VIPs on 127.0.63.0/29 port 80, ports 1863x.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import {
  cpSync,
  closeSync,
  openSync,
  readFileSync,
  rmSync,
  statSync,
  truncateSync,
  writeFileSync,
  writeSync,
  mkdirSync,
} from "node:fs";
import { request } from "node:http";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { tempDir, writeManifest, startPortico, removeDir, run, waitFor, type Portico } from "./harness.ts";
import { backendService, httpBackend, pool, type HttpBackend } from "./fixtures.ts";
import { readAllocations } from "../../src/state/store.ts";

const root = join(import.meta.dirname, "..", "..");
const bin = join(root, "bin/portico");
const PORT = 80;
const cleanups: (() => void | Promise<void>)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

let web: HttpBackend;

/** lbService is a LoadBalancer Service on port 80 → the web backend; the pool picks its address. */
function lbService(name: string): string {
  return backendService("default", name, web.port, "  type: LoadBalancer");
}

/** manifests makes a directory with the pool and one LoadBalancer Service per name. */
async function manifests(...names: string[]): Promise<string> {
  web ??= await httpBackend("web");
  if (cleanups.length === 0) cleanups.push(() => web.close());
  const dir = tempDir();
  cleanups.push(() => removeDir(dir));
  writeManifest(dir, "pool.yaml", pool("state", ["127.0.63.0/29"]));
  for (const n of names) writeManifest(dir, `${n}.yaml`, lbService(n));
  return dir;
}

/** start runs bin/portico on dir with state in stateDir. */
async function start(dir: string, stateDir: string): Promise<Portico> {
  const p = await startPortico(
    [dir],
    ["--state-dir", stateDir, "--http-port", "18638", "--https-port", "18639"],
    {
      command: ["sh", bin],
    },
  );
  cleanups.push(() => p.stop());
  return p;
}

/** addresses maps each served Service to its VIP. */
async function addresses(p: Portico): Promise<Record<string, string | undefined>> {
  const out: Record<string, string | undefined> = {};
  for (const s of await p.status())
    if (s.kind === "Service") out[s.name] = s.status.loadBalancer?.ingress?.[0]?.ip;
  return out;
}

/** saved maps each Service in stateDir's database to its VIP. */
function saved(stateDir: string): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const [key, a] of Object.entries(readAllocations(stateDir))) out[key.split("/")[2]!] = a.addresses[0];
  return out;
}

/** refusal runs `portico run` on a state dir expected to be refused; returns its one message line. */
async function refusal(dir: string, stateDir: string): Promise<string> {
  const r = await run("sh", [
    bin,
    "run",
    dir,
    "--state-dir",
    stateDir,
    "--admin",
    "127.0.0.1:0",
    "--http-port",
    "18636",
  ]);
  assert.equal(r.code, 1, r.stderr);
  const lines = r.stderr.split("\n").filter((l) => l.startsWith("portico:"));
  assert.equal(lines.length, 1, r.stderr);
  assert.doesNotMatch(r.stderr, /^\s+at /m, "no stack trace");
  return lines[0]!;
}

let good: { dir: string; state: string; vips: Record<string, string | undefined> };

test("a second portico run on the same state dir exits naming the first's pid; the first's rows stay", async () => {
  const dir = await manifests("a", "b");
  const state = tempDir();
  cleanups.push(() => removeDir(state));
  const first = await start(dir, state);
  const vips = await waitFor("both VIPs", async () => {
    const v = await addresses(first);
    return v.a && v.b ? v : undefined;
  });
  const line = await refusal(dir, state);
  assert.match(
    line,
    new RegExp(`state directory ${state} is in use by another Portico \\(pid ${first.proc.pid}\\)`),
  );
  assert.deepEqual(await addresses(first), vips);
  const res = await fetch(`http://${vips.a}:${PORT}/x`);
  assert.equal(res.status, 200);
  await first.stop();
  assert.deepEqual(saved(state), vips, "the first's rows are intact");
  good = { dir, state, vips };
});

/** Each fault is applied to a copy of the good state directory. */
const faults: [string, (db: string) => void, RegExp][] = [
  ["zero-length", (db) => truncateSync(db, 0), /is empty \(0 bytes; truncated\?\)/],
  ["truncated", (db) => truncateSync(db, 4096), /is damaged/],
  ["garbage", (db) => writeFileSync(db, Buffer.alloc(16384, "garbage ")), /is not a SQLite database/],
  [
    "newer-schema",
    (db) => {
      const d = new DatabaseSync(db);
      d.exec("PRAGMA user_version = 99");
      d.close();
    },
    /written by a newer Portico \(schema version 99; this one knows up to \d+\); run the Portico that wrote it, or 'portico state reset/,
  ],
  [
    "directory-in-place",
    (db) => {
      rmSync(db);
      mkdirSync(db);
    },
    /cannot be opened \(it is not a regular file\)/,
  ],
];

for (const [name, inject, message] of faults) {
  test(`a ${name} state file is refused in one line, left as it was, and restore brings the addresses back`, async () => {
    assert.ok(good, "needs the first test's state");
    const state = tempDir();
    cleanups.push(() => removeDir(state));
    cpSync(good.state, state, { recursive: true });
    const db = join(state, "portico.db");
    inject(db);
    const before = statSync(db).isFile() ? readFileSync(db) : undefined;
    const line = await refusal(good.dir, state);
    assert.match(line, message);
    if (name !== "newer-schema")
      assert.match(line, new RegExp(`'portico state restore --state-dir ${state}'`));
    if (before) assert.deepEqual(readFileSync(db), before, "nothing overwritten");
    if (name === "newer-schema") return; // its backup is from the same newer Portico's run: nothing to restore
    if (name === "directory-in-place") rmSync(db, { recursive: true });
    const r = await run("sh", [bin, "state", "restore", "--state-dir", state]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /restored .* 2 VIP allocations/);
    assert.deepEqual(saved(state), good.vips);
    if (name === "truncated") {
      const p = await start(good.dir, state);
      assert.deepEqual(await addresses(p), good.vips, "the restored state serves the same addresses");
      await p.stop();
    }
  });
}

test("a full disk: no failed request, no moved address, the error visible; freeing space recovers", async (t) => {
  if (process.getuid?.() !== 0) return t.skip("needs root to mount a tmpfs");
  const dir = await manifests("a");
  const state = tempDir();
  execFileSync("mount", ["-t", "tmpfs", "-o", "size=2m", "tmpfs", state]);
  cleanups.push(() => {
    execFileSync("umount", [state]);
    removeDir(state);
  });
  const p = await start(dir, state);
  const vipA = await waitFor("a's VIP", () => p.vip("Service", "default", "a"));

  // A client keeps asking a's VIP for the whole test, a new connection each time.
  let ok = 0;
  let failed = 0;
  let running = true;
  const client = (async () => {
    while (running) {
      const got = await new Promise<boolean>((resolve) => {
        const req = request({ host: vipA, port: PORT, path: "/x", agent: false, timeout: 5000 }, (res) => {
          res.resume();
          res.on("end", () => resolve(res.statusCode === 200));
        });
        req.on("error", () => resolve(false));
        req.on("timeout", () => req.destroy());
        req.end();
      });
      if (got) ok++;
      else failed++;
    }
  })();

  // Fill the tmpfs to the last byte.
  const fill = join(state, "fill");
  const fd = openSync(fill, "w");
  for (const size of [65536, 4096, 512, 1]) {
    const chunk = Buffer.alloc(size);
    try {
      for (;;) writeSync(fd, chunk);
    } catch (err) {
      assert.equal((err as NodeJS.ErrnoException).code, "ENOSPC");
    }
  }
  closeSync(fd);

  writeManifest(dir, "b.yaml", lbService("b"));
  const vipB = await waitFor("b served from memory", () => p.vip("Service", "default", "b"));
  type Errors = { problems: { source: string; message: string; unready: boolean }[] };
  const stateProblem = async () =>
    ((await (await fetch(`${p.adminUrl}/api/v1/errors`)).json()) as Errors).problems.find(
      (x) => x.source === "state",
    );
  const problem = await waitFor("the save failure at /api/v1/errors", stateProblem);
  assert.match(problem.message, /^not saved since .*: cannot save VIP allocations to .*full/);
  assert.equal(problem.unready, false, "still serving: not a readiness failure");
  const health = await fetch(`${p.adminUrl}/healthz`);
  assert.equal(health.status, 200);
  assert.match(await health.text(), /^ok\n[^]*\nstate: not saved since .*full/);
  const ready = await fetch(`${p.adminUrl}/readyz`);
  assert.equal(ready.status, 200);
  assert.match(await ready.text(), /\[\+\] state: not saved since .*full/);
  const errorLines = () =>
    p.logs.filter((l) => l.includes('"level":"error"') && l.includes("state not saved")).length;
  assert.equal(errorLines(), 1);
  assert.equal(await p.vip("Service", "default", "a"), vipA, "a keeps its address");
  assert.equal((await fetch(`http://${vipB}:${PORT}/y`)).status, 200, "b serves");

  rmSync(fill);
  await waitFor("the save to succeed again", async () => !(await stateProblem()), 20_000);
  // The log pipe is a separate channel from the admin API that said the save succeeded: wait for it.
  await waitFor("the 'state saved again' log line", () =>
    p.logs.some((l) => l.includes("state saved again")),
  );
  assert.equal(errorLines(), 1, "one error line for the whole outage, not one per retry");
  assert.doesNotMatch(await (await fetch(`${p.adminUrl}/healthz`)).text(), /state:/);
  running = false;
  await client;
  await p.stop();
  assert.equal(failed, 0, `${failed} of ${ok + failed} requests failed`);
  assert.ok(ok > 0);
  assert.deepEqual(saved(state), { a: vipA, b: vipB }, "persisted once space came back");
  t.diagnostic(`requests during the outage: ${ok} ok, ${failed} failed`);
});
