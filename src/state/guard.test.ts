// guard.test.ts: each way a state directory goes wrong, injected on real files: a second owner,
// zero-length, truncated, garbage, unreadable, newer-schema and missing databases are refused with
// one line and left as they were; restore brings back the last good write; reset starts afresh.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  truncateSync,
  unlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { after, test } from "node:test";
import type { AllocationState } from "../ipam/types.ts";
import { MIGRATIONS, inTransaction } from "./schema.ts";
import { openStateStore, readAllocations } from "./store.ts";
import { resetState, restoreState } from "./restore.ts";
import type { StateErrorCode } from "./errors.ts";

const root = mkdtempSync(join(tmpdir(), "portico-guard-"));
after(() => rmSync(root, { recursive: true, force: true }));
const storeModule = join(import.meta.dirname, "store.ts");

/** many is enough allocations to fill several database pages, so a truncation cuts real data. */
const many: AllocationState = Object.fromEntries(
  Array.from({ length: 300 }, (_, i) => [
    `Service/default/svc-${i}`,
    {
      addresses: [`10.1.${i >> 8}.${i & 255}`],
      pools: ["blue"],
      ports: [{ port: 80, protocol: "TCP" as const }],
    },
  ]),
);

/** saved makes a fresh state directory holding `many`, closed cleanly. */
function saved(name: string): string {
  const dir = join(root, name);
  const store = openStateStore(dir);
  store.saveAllocations(many);
  store.close();
  return dir;
}

/** refused asserts that opening dir throws code with a one-line message matching advice. */
function refused(dir: string, code: StateErrorCode, advice: RegExp): string {
  const db = join(dir, "portico.db");
  const before = existsSync(db) && statSync(db).isFile() ? readFileSync(db) : undefined;
  let message = "";
  assert.throws(
    () => openStateStore(dir),
    (err: Error & { code?: string }) => {
      message = err.message;
      return err.code === code;
    },
  );
  assert.doesNotMatch(message, /\n/, "one line");
  assert.match(message, advice);
  if (before) assert.deepEqual(readFileSync(db), before, "the refused file is left as it was");
  // The refusal released the lock: restore or reset can run next.
  return message;
}

const restoreAdvice = /portico state restore --state-dir .*portico state reset/;

test("a second owner is refused naming the holder's pid; the holder's rows are intact", () => {
  const dir = saved("twice");
  const first = openStateStore(dir);
  const msg = refused(
    dir,
    "PORTICO_STATE_LOCKED",
    new RegExp(`in use by another Portico \\(pid ${process.pid}\\)`),
  );
  assert.match(msg, /--state-dir/);
  assert.deepEqual(first.loadAllocations(), many);
  assert.equal(readFileSync(join(dir, "portico.pid"), "utf8"), `${process.pid}\n`);
  first.close();
  assert.equal(existsSync(join(dir, "portico.pid")), false, "a clean stop removes its pid");
  openStateStore(dir).close();
});

test("the lock dies with its process, kill -9 included", async (t) => {
  const dir = saved("killed");
  // The store stays referenced: a collected DatabaseSync closes, and its lock with it.
  const script = `const { openStateStore } = await import(${JSON.stringify(storeModule)});
    globalThis.store = openStateStore(${JSON.stringify(dir)}); console.log("held"); setInterval(() => {}, 1000);`;
  const child = spawn(
    process.execPath,
    ["--disable-warning=ExperimentalWarning", "--input-type=module", "-e", script],
    {
      stdio: ["ignore", "pipe", "inherit"],
    },
  );
  t.after(() => child.kill("SIGKILL"));
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on("data", (d: Buffer) => d.toString().includes("held") && resolve());
    child.once("exit", (code) => reject(new Error(`child exited ${code}`)));
  });
  refused(dir, "PORTICO_STATE_LOCKED", new RegExp(`\\(pid ${child.pid}\\)`));
  const exited = new Promise((r) => child.once("exit", r));
  child.kill("SIGKILL");
  await exited;
  const store = openStateStore(dir);
  assert.deepEqual(store.loadAllocations(), many);
  store.close();
});

test("a zero-length database is refused, not opened as a new empty one", () => {
  const dir = saved("zero");
  truncateSync(join(dir, "portico.db"), 0);
  refused(dir, "PORTICO_STATE_EMPTY", restoreAdvice);
  assert.equal(statSync(join(dir, "portico.db")).size, 0);
});

test("a truncated database is refused", () => {
  const dir = saved("truncated");
  const db = join(dir, "portico.db");
  truncateSync(db, Math.floor(statSync(db).size / 2));
  refused(dir, "PORTICO_STATE_CORRUPT", restoreAdvice);
  truncateSync(db, 4096);
  refused(dir, "PORTICO_STATE_CORRUPT", restoreAdvice);
  truncateSync(db, 50);
  refused(dir, "PORTICO_STATE_CORRUPT", restoreAdvice);
});

test("garbage in place of the database is refused", () => {
  const dir = saved("garbage");
  writeFileSync(join(dir, "portico.db"), Buffer.alloc(8192, "not a database, just bytes "));
  refused(dir, "PORTICO_STATE_CORRUPT", /is not a SQLite database.*portico state restore/);
  assert.throws(() => readAllocations(dir), { code: "PORTICO_STATE_CORRUPT" });
});

test("a corrupt page inside a valid header is refused", () => {
  const dir = saved("bitrot");
  const db = join(dir, "portico.db");
  const bytes = readFileSync(db);
  bytes.fill(0xa5, 4096 + 16, 4096 + 400);
  writeFileSync(db, bytes);
  refused(dir, "PORTICO_STATE_CORRUPT", restoreAdvice);
});

test("a directory where the database should be is refused as unreadable", () => {
  const dir = join(root, "isdir");
  mkdirSync(join(dir, "portico.db"), { recursive: true });
  refused(dir, "PORTICO_STATE_UNREADABLE", /cannot be opened .*not a regular file/);
});

test("a database the user may not read is refused as unreadable (checked as uid 65534)", async (t) => {
  if (process.getuid?.() !== 0) return t.skip("needs root to run the check as another user");
  const dir = saved("perm");
  chmodSync(root, 0o711);
  chmodSync(dir, 0o777);
  chmodSync(join(dir, "portico.db"), 0o600);
  const script = `const { openStateStore } = await import(${JSON.stringify(storeModule)});
    try { openStateStore(${JSON.stringify(dir)}); console.log("opened"); } catch (e) { console.log(e.code + " " + e.message); }`;
  const out = await new Promise<string>((resolve) => {
    let text = "";
    const child = spawn(
      process.execPath,
      ["--disable-warning=ExperimentalWarning", "--input-type=module", "-e", script],
      {
        uid: 65534,
        gid: 65534,
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    child.stdout.on("data", (d) => (text += d));
    child.stderr.on("data", (d) => (text += d));
    child.once("exit", () => resolve(text));
  });
  assert.match(out, /^PORTICO_STATE_UNREADABLE state file .*portico\.db cannot be opened \(EACCES/);
});

test("a database from a newer Portico is refused with what to do", () => {
  const dir = saved("newer");
  const db = new DatabaseSync(join(dir, "portico.db"));
  db.exec(`PRAGMA user_version = ${MIGRATIONS.length + 1}`);
  db.close();
  refused(
    dir,
    "PORTICO_STATE_SCHEMA",
    /newer Portico .*run the Portico that wrote it, or 'portico state reset/,
  );
  assert.throws(() => readAllocations(dir), { code: "PORTICO_STATE_SCHEMA" });
});

test("a missing database where a backup shows state existed is refused; a new directory is not", () => {
  const dir = saved("missing");
  unlinkSync(join(dir, "portico.db"));
  refused(dir, "PORTICO_STATE_MISSING", /held state before .*portico state restore/);
  const fresh = openStateStore(join(root, "new"));
  assert.equal(fresh.created, true);
  fresh.close();
  const again = openStateStore(join(root, "new"));
  assert.equal(again.created, false);
  again.close();
});

test("restore gives back the allocations of the last good write; the broken file is kept aside", () => {
  const dir = saved("restore");
  assert.ok(existsSync(join(dir, "portico.db.bak")));
  writeFileSync(join(dir, "portico.db"), "garbage");
  const out = restoreState(dir);
  assert.equal(out.allocations, Object.keys(many).length);
  assert.equal(out.keptAside.length, 1);
  assert.equal(readFileSync(out.keptAside[0]!, "utf8"), "garbage");
  const store = openStateStore(dir);
  assert.deepEqual(store.loadAllocations(), many);
  store.close();
});

test("restore refuses while Portico runs, and when the backup is damaged too", () => {
  const dir = saved("restore-refused");
  const running = openStateStore(dir);
  assert.throws(() => restoreState(dir), { code: "PORTICO_STATE_LOCKED" });
  running.close();
  writeFileSync(join(dir, "portico.db.bak"), "garbage");
  assert.throws(
    () => restoreState(dir),
    (err: Error & { code?: string }) => {
      assert.equal(err.code, "PORTICO_STATE_CORRUPT");
      assert.match(
        err.message,
        /portico\.db\.bak is not a SQLite database.*backup cannot be used either; 'portico state reset/,
      );
      return true;
    },
  );
  rmSync(join(dir, "portico.db.bak"));
  assert.throws(() => restoreState(dir), { code: "PORTICO_STATE_NO_BACKUP" });
});

test("reset and --fresh-state start empty and keep the old files aside", () => {
  const dir = saved("reset");
  writeFileSync(join(dir, "portico.db"), "garbage");
  const { keptAside } = resetState(dir);
  assert.deepEqual(keptAside.map((f) => f.replace(/\.reset-.*$/, "").replace(/^.*\//, "")).sort(), [
    "portico.db",
    "portico.db.bak",
  ]);
  const store = openStateStore(dir);
  assert.deepEqual(store.loadAllocations(), {});
  store.saveAllocations(many);
  store.close();
  assert.deepEqual(
    resetState(join(root, "reset-new", "deeper")).keptAside,
    [],
    "reset makes a missing directory",
  );
  const fresh = openStateStore(dir, { fresh: true });
  assert.equal(fresh.created, true);
  assert.equal(fresh.keptAside.length, 2);
  assert.deepEqual(fresh.loadAllocations(), {});
  fresh.close();
});

test("the backup follows every write that changed something", () => {
  const dir = saved("backup");
  const store = openStateStore(dir);
  const one: AllocationState = { "Service/a/b": { addresses: ["10.9.9.9"], pools: ["p"], ports: [] } };
  store.saveAllocations(one);
  const copy = new DatabaseSync(join(dir, "portico.db.bak"), { readOnly: true });
  assert.deepEqual(
    { ...(copy.prepare("SELECT key, addresses FROM allocations").get() as object) },
    {
      key: "Service/a/b",
      addresses: '["10.9.9.9"]',
    },
  );
  copy.close();
  store.close();
});

test("readAllocations reads while the owner runs, without its lock", () => {
  const dir = saved("reader");
  const owner = openStateStore(dir);
  assert.deepEqual(readAllocations(dir), many);
  owner.close();
  assert.deepEqual(readAllocations(join(root, "never-made")), {});
});

test("a full database reports SQLite's error, not a failed ROLLBACK", () => {
  const db = new DatabaseSync(join(root, "full.db"));
  db.exec("CREATE TABLE t (v TEXT)");
  db.exec(
    `PRAGMA max_page_count = ${(db.prepare("PRAGMA page_count").get() as { page_count: number }).page_count}`,
  );
  assert.throws(
    () =>
      inTransaction(db, "BEGIN IMMEDIATE", () =>
        db.prepare("INSERT INTO t VALUES (?)").run("x".repeat(100_000)),
      ),
    /database or disk is full/,
  );
  db.close();
});
