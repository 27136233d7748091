// reload.test.ts: the file source's defences — rename-style saves seen, partial reads held back,
// removals confirmed by a second read, oversized files and directories refused with their names.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  mkdirSync,
  mkdtempSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  truncateSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ResourceSet } from "../../k8s/resource-set.ts";
import { FileSource, loadDirs, type Log } from "./source.ts";
import { readStable } from "./read.ts";

const svc = (name: string, port = 80) =>
  `apiVersion: v1\nkind: Service\nmetadata:\n  name: ${name}\n  namespace: default\nspec:\n  ports:\n    - port: ${port}\n`;
const quiet: Log = () => {};
const ports = (s: ResourceSet) => s.services.map((x) => `${x.metadata.name}:${x.spec!.ports![0]!.port}`);

/** watching starts a FileSource on a fresh dir holding files, and gives a way to await a set. */
async function watching(files: Record<string, string>, timing = {}, limits = {}) {
  const root = mkdtempSync(join(tmpdir(), "portico-reload-"));
  for (const [p, t] of Object.entries(files)) writeFileSync(join(root, p), t);
  const sets: ResourceSet[] = [];
  let wake = () => {};
  const src = new FileSource(
    [root],
    quiet,
    (s) => (sets.push(s), wake()),
    { holdOffMs: 20, ...timing },
    limits,
  );
  await src.start();
  const until = async (pred: (s: ResourceSet) => boolean, what: string, ms = 5000) => {
    const deadline = Date.now() + ms;
    while (!sets.some(pred)) {
      if (Date.now() > deadline) throw new Error(`no set ${what} within ${ms} ms`);
      await new Promise<void>((r) => {
        wake = r;
        setTimeout(r, 50);
      });
    }
    return sets.find(pred)!;
  };
  return { root, src, sets, until, [Symbol.asyncDispose]: () => src.close() };
}

test("after rename-style saves, in-place writes and further renames are all seen", async () => {
  await using w = await watching({ "a.yaml": svc("a", 1) });
  for (let n = 2; n <= 7; n++) {
    if (n % 2) writeFileSync(join(w.root, "a.yaml"), svc("a", n));
    else {
      writeFileSync(join(w.root, ".a.tmp"), svc("a", n));
      renameSync(join(w.root, ".a.tmp"), join(w.root, "a.yaml"));
    }
    await w.until((s) => ports(s).join() === `a:${n}`, `with port ${n}`);
  }
});

test("a read that removes objects waits for a second, agreeing read; one that adds does not", async () => {
  await using w = await watching({ "a.yaml": svc("a") + "---\n" + svc("b") }, { confirmMs: 600 });
  const t = Date.now();
  writeFileSync(join(w.root, "a.yaml"), svc("a")); // b removed: held back
  await w.until((s) => s.services.length === 1, "without b");
  assert.ok(
    Date.now() - t >= 600,
    `removal took effect after ${Date.now() - t} ms, before the 600 ms confirmation`,
  );
  const before = w.sets.length;
  writeFileSync(join(w.root, "a.yaml"), svc("a") + "---\n" + svc("c"));
  await w.until((s) => ports(s).join() === "a:80,c:80", "with c");
  assert.equal(w.sets.length, before + 1);
});

test("a partial write that a later write completes is never served", async () => {
  await using w = await watching(
    { "a.yaml": svc("a") + "---\n" + svc("b") },
    { confirmMs: 2000, settleMs: 30 },
  );
  writeFileSync(join(w.root, "a.yaml"), svc("a")); // the writer pauses here…
  await new Promise((r) => setTimeout(r, 300)); // …past the hold-off, inside the confirmation
  writeFileSync(join(w.root, "a.yaml"), svc("a") + "---\n" + svc("b", 81));
  await w.until((s) => ports(s).join() === "a:80,b:81", "with b's new port");
  assert.ok(
    w.sets.every((s) => s.services.length === 2),
    "b was never removed",
  );
});

test("a deleted file's objects go only after a second listing agrees", async () => {
  await using w = await watching({ "a.yaml": svc("a"), "b.yaml": svc("b") }, { confirmMs: 400 });
  rmSync(join(w.root, "b.yaml"));
  writeFileSync(join(w.root, "b.yaml"), svc("b", 82)); // delete and re-create
  await w.until((s) => ports(s).join() === "a:80,b:82", "with b re-created");
  rmSync(join(w.root, "b.yaml"));
  await w.until((s) => s.services.length === 1, "without b");
  assert.ok(w.sets.every((s) => s.services.some((x) => x.metadata.name === "a")));
});

test("a file over the size limit is refused unread, naming it; the last version read keeps serving", async () => {
  await using w = await watching({ "a.yaml": svc("a") }, {}, { maxFileBytes: 1000 });
  truncateSync(join(w.root, "a.yaml"), 5000);
  const set = await w.until((s) => s.errors.length > 0, "with the error");
  assert.match(set.errors[0]!.message, /is 5000 bytes, above the limit of 1000 bytes; it was not read/);
  assert.equal(set.errors[0]!.file, join(w.root, "a.yaml"));
  assert.deepEqual(ports(set), ["a:80"]);
  const r = await readStable(join(w.root, "a.yaml"), { settleMs: 0, maxBytes: 1000, now: Date.now() });
  assert.deepEqual(r, { kind: "tooBig", size: 5000 });
});

test("a directory over the object limit is refused, naming it; it serves again once under", async () => {
  await using w = await watching({ "a.yaml": svc("a") }, {}, { maxObjects: 2 });
  writeFileSync(join(w.root, "b.yaml"), svc("b") + "---\n" + svc("c"));
  const refused = await w.until((s) => s.errors.length > 0, "with the error");
  assert.deepEqual(
    refused.errors.map((e) => [e.file, /holds 3 objects, above the limit of 2/.test(e.message)]),
    [[w.root, true]],
  );
  assert.deepEqual(ports(refused), ["a:80"]);
  rmSync(join(w.root, "a.yaml"));
  await w.until((s) => ports(s).join() === "b:80,c:80" && s.errors.length === 0, "b and c served");
  const offline = await loadDirs([w.root], { maxObjects: 1 });
  assert.match(offline.errors[0]?.message ?? "", /holds 2 objects/);
});

test("the periodic rescan sees what no watcher reports: a symlinked file's target edited in place", async () => {
  const elsewhere = mkdtempSync(join(tmpdir(), "portico-reload-target-"));
  writeFileSync(join(elsewhere, "real.yaml"), svc("a"));
  await using w = await watching({}, { rescanMs: 300 });
  symlinkSync(join(elsewhere, "real.yaml"), join(w.root, "a.yaml"));
  await w.until((s) => ports(s).join() === "a:80", "with the link");
  writeFileSync(join(elsewhere, "real.yaml"), svc("a", 83)); // an event in a directory nobody watches
  await w.until((s) => ports(s).join() === "a:83", "after the rescan");
  rmSync(elsewhere, { recursive: true });
});

test("a root that is a symlink to a directory follows the symlink being swapped", async () => {
  const base = mkdtempSync(join(tmpdir(), "portico-reload-swap-"));
  for (const [v, port] of [
    ["v1", 1],
    ["v2", 2],
  ] as const) {
    mkdirSync(join(base, v));
    writeFileSync(join(base, v, "a.yaml"), svc("a", port));
  }
  symlinkSync("v1", join(base, "current"));
  const sets: ResourceSet[] = [];
  const src = new FileSource([join(base, "current")], quiet, (s) => sets.push(s), {
    holdOffMs: 20,
    rescanMs: 0,
  });
  await src.start();
  try {
    symlinkSync("v2", join(base, "next"));
    renameSync(join(base, "next"), join(base, "current"));
    const deadline = Date.now() + 5000;
    while (!sets.some((s) => ports(s).join() === "a:2")) {
      assert.ok(Date.now() < deadline, "the swap was not seen within 5 s");
      await new Promise((r) => setTimeout(r, 25));
    }
  } finally {
    await src.close();
    rmSync(base, { recursive: true });
  }
});

test("readStable counts a write in the current millisecond as fresh, not as an mtime in the future", async () => {
  const root = mkdtempSync(join(tmpdir(), "portico-reload-"));
  const file = join(root, "a.yaml");
  writeFileSync(file, svc("a"));
  // Date.now() truncates to the millisecond; the mtime keeps its fraction, so it can look ahead.
  const now = Math.floor(statSync(file).mtimeMs);
  const r = await readStable(file, { settleMs: 60_000, maxBytes: 1e6, now });
  assert.equal(r.kind, "unstable");
  assert.ok(r.kind === "unstable" && r.retryMs === 60_000, JSON.stringify(r));
  rmSync(root, { recursive: true });
});

test("readStable waits out a fresh write and reports how long", async () => {
  const root = mkdtempSync(join(tmpdir(), "portico-reload-"));
  writeFileSync(join(root, "a.yaml"), svc("a"));
  const r = await readStable(join(root, "a.yaml"), { settleMs: 60_000, maxBytes: 1e6, now: Date.now() });
  assert.equal(r.kind, "unstable");
  assert.ok(r.kind === "unstable" && r.retryMs > 0 && r.retryMs <= 60_000);
  const ok = await readStable(join(root, "a.yaml"), { settleMs: 0, maxBytes: 1e6, now: Date.now() });
  assert.equal(ok.kind === "read" && ok.bytes.toString(), svc("a"));
  const same = await readStable(join(root, "a.yaml"), {
    settleMs: 0,
    maxBytes: 1e6,
    now: Date.now(),
    prev: ok.kind === "read" ? ok.seen : undefined,
  });
  assert.equal(same.kind, "unchanged");
  rmSync(root, { recursive: true });
});
