import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ResourceSet } from "../../k8s/resource-set.ts";
import { FileSource, FileSourceError, loadDirs, type Log } from "./source.ts";

const svc = (name: string, ns = "default", port = 80) =>
  `apiVersion: v1\nkind: Service\nmetadata:\n  name: ${name}\n  namespace: ${ns}\nspec:\n  ports:\n    - port: ${port}\n`;

/** tree makes a temp dir holding files (path → text) and returns it. */
function tree(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), "portico-file-"));
  for (const [path, text] of Object.entries(files)) write(root, path, text);
  return root;
}

function write(root: string, path: string, text: string): void {
  mkdirSync(join(root, path, ".."), { recursive: true });
  writeFileSync(join(root, path), text);
}

const names = (set: ResourceSet) => set.services.map((s) => `${s.metadata.namespace}/${s.metadata.name}`);
const quiet: Log = () => {};

/** recorder collects every emitted set; next() waits (with a deadline) for one matching pred. */
function recorder() {
  const sets: ResourceSet[] = [];
  const waiting: { pred: (s: ResourceSet) => boolean; done: (s: ResourceSet) => void }[] = [];
  const onChange = (set: ResourceSet) => {
    sets.push(set);
    for (const w of [...waiting]) {
      if (!w.pred(set)) continue;
      waiting.splice(waiting.indexOf(w), 1);
      w.done(set);
    }
  };
  const next = (pred: (s: ResourceSet) => boolean, what: string, ms = 5000) =>
    new Promise<ResourceSet>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no set ${what} within ${ms} ms`)), ms);
      waiting.push({
        pred,
        done: (s) => {
          clearTimeout(timer);
          resolve(s);
        },
      });
    });
  return { sets, onChange, next };
}

test("loadDirs reads nested folders in path order, skips dot-files and other extensions", async () => {
  const root = tree({
    "b.yaml": svc("b") + "---\n" + svc("a", "zz"),
    "sub/deeper/c.yml": svc("c", "aa"),
    "sub/d.json": JSON.stringify({ apiVersion: "v1", kind: "Namespace", metadata: { name: "aa" } }),
    ".hidden.yaml": svc("hidden"),
    ".git/x.yaml": svc("git"),
    "notes.txt": svc("txt"),
  });
  const set = await loadDirs([root]);
  assert.deepEqual(set.errors, []);
  assert.deepEqual(names(set), ["aa/c", "default/b", "zz/a"]);
  assert.equal(set.namespaces[0]?.metadata.name, "aa");
  assert.deepEqual(set.origins.get("Service/zz/a"), { file: join(root, "b.yaml"), line: 10 });
  assert.deepEqual(set.origins.get("Service/aa/c"), { file: join(root, "sub/deeper/c.yml"), line: 1 });
});

test("the set is frozen: mutating lists, objects or origins throws", async () => {
  const set = await loadDirs([tree({ "a.yaml": svc("a") })]);
  assert.throws(() => (set.services as unknown[]).push({}), TypeError);
  assert.throws(() => {
    (set.services[0]!.metadata as { name: string }).name = "x";
  }, TypeError);
  assert.throws(() => (set.origins as Map<string, unknown>).set("k", {}), TypeError);
  assert.throws(() => (set.origins as Map<string, unknown>).delete("Service/default/a"), TypeError);
  assert.throws(() => (set.notices as string[]).push("x"), TypeError);
});

test("a duplicate object across files is an error naming both places; the first path wins", async () => {
  const root = tree({ "1.yaml": svc("web", "default", 80), "2/x.yaml": "\n\n" + svc("web", "default", 81) });
  const set = await loadDirs([root]);
  assert.deepEqual(names(set), ["default/web"]);
  assert.equal(set.services[0]!.spec!.ports![0]!.port, 80);
  assert.equal(set.errors.length, 1);
  const e = set.errors[0]!;
  assert.deepEqual([e.file, e.line, e.object], [join(root, "2/x.yaml"), 3, "Service/default/web"]);
  assert.match(e.message, new RegExp(`also defined at ${join(root, "1.yaml")}:1`));
});

test("an invalid file does not stop the others; unknown kinds become notices; missing dirs are errors", async () => {
  const root = tree({
    "bad.yaml": "kind: [",
    "good.yaml": svc("ok"),
    "deploy.yaml": "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\n",
  });
  const set = await loadDirs([root, join(root, "nope")]);
  assert.deepEqual(names(set), ["default/ok"]);
  assert.deepEqual(
    set.errors.map((e) => [e.file, e.line]),
    [
      [join(root, "bad.yaml"), 1],
      [join(root, "nope"), 0],
    ],
  );
  assert.match(set.errors[1]!.message, /directory not found/);
  assert.deepEqual(set.notices, [
    `${join(root, "deploy.yaml")}:1: skipping apps/v1 Deployment default/web: Portico does not read this kind`,
  ]);
});

test("start rejects a missing directory with a clear error", async () => {
  const src = new FileSource([join(tmpdir(), "portico-no-such-dir-" + process.pid)], quiet, () => {});
  await assert.rejects(
    src.start(),
    (e: unknown) => e instanceof FileSourceError && /not found/.test(e.message),
  );
  await src.close();
});

test("watch: last good version while invalid (error stale), fix clears it, delete removes", async (t) => {
  const root = tree({ "a.yaml": svc("a"), "b.yaml": svc("b") });
  const rec = recorder();
  const src = new FileSource([root], quiet, rec.onChange, { holdOffMs: 20, maxDelayMs: 200 });
  t.after(() => src.close());
  const first = await src.start();
  assert.deepEqual(names(first), ["default/a", "default/b"]);
  assert.equal(rec.sets.length, 1);

  write(root, "a.yaml", svc("a", "default", 8080) + "---\nkind: [\n");
  const broken = await rec.next((s) => s.errors.length > 0, "with the syntax error");
  assert.deepEqual(names(broken), ["default/a", "default/b"]);
  assert.equal(broken.services[0]!.spec!.ports![0]!.port, 80, "the last good version still serves");
  assert.deepEqual(
    broken.errors.map((e) => [e.file, e.line, e.stale]),
    [[join(root, "a.yaml"), 10, true]],
  );

  write(root, "a.yaml", svc("a", "default", 8080));
  const fixed = await rec.next((s) => s.errors.length === 0, "after the fix");
  assert.equal(fixed.services[0]!.spec!.ports![0]!.port, 8080);

  rmSync(join(root, "b.yaml"));
  const gone = await rec.next((s) => s.services.length === 1, "after the delete");
  assert.deepEqual(names(gone), ["default/a"]);
  assert.equal(src.current(), gone);

  write(root, "new/dir/c.yaml", svc("c"));
  const added = await rec.next((s) => s.services.length === 2, "with the new nested file");
  assert.deepEqual(names(added), ["default/a", "default/c"]);
});

test("watch: a burst of writes gives one onChange; a write that changes nothing gives none", async (t) => {
  const root = tree({ "a.yaml": svc("a") });
  const rec = recorder();
  let unchanged: () => void = () => {};
  const log: Log = (_level, msg) => {
    if (msg === "file source: event changed nothing") unchanged();
  };
  const src = new FileSource([root], log, rec.onChange, { holdOffMs: 300, maxDelayMs: 3000 });
  t.after(() => src.close());
  await src.start();

  // Writes spread over ~200 ms, each well inside the hold-off of the one before.
  const final = (s: ResourceSet) => s.services.length === 6 && s.services[5]!.spec!.ports![0]!.port === 1019;
  const done = rec.next(final, "after the burst");
  for (let i = 0; i < 20; i++) {
    write(root, `burst-${i % 5}.yaml`, svc(`s${i % 5}`, "default", 1000 + i));
    await new Promise((r) => setTimeout(r, 10));
  }
  const burst = await done;
  assert.deepEqual(
    burst.services.map((s) => s.spec!.ports![0]!.port),
    [80, 1015, 1016, 1017, 1018, 1019],
  );
  assert.equal(rec.sets.length, 2, "initial and one for the burst");

  const noop = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("no no-op rebuild within 5000 ms")), 5000);
    unchanged = () => {
      clearTimeout(timer);
      resolve();
    };
  });
  write(root, "a.yaml", svc("a")); // same bytes: the rebuild finds nothing to emit
  await noop;
  write(root, "zz-marker.yaml", svc("marker"));
  await rec.next((s) => s.services.some((x) => x.metadata.name === "marker"), "with the marker");
  assert.equal(rec.sets.length, 3, "initial, burst, marker");
});

test("watch: a typo'd field is an error and the last good version of the file keeps serving", async (t) => {
  const root = tree({ "a.yaml": svc("a") });
  const rec = recorder();
  const src = new FileSource([root], quiet, rec.onChange, { holdOffMs: 20, maxDelayMs: 200 });
  t.after(() => src.close());
  await src.start();
  write(root, "a.yaml", svc("a", "default", 8080).replace("    - port:", "    - portt:"));
  const broken = await rec.next((s) => s.errors.length > 0, "with the unknown field");
  assert.equal(broken.services[0]!.spec!.ports![0]!.port, 80, "the last good version still serves");
  assert.deepEqual(
    broken.errors.map((e) => [e.file, e.line, e.object, e.stale]),
    [[join(root, "a.yaml"), 8, "Service/default/a", true]],
  );
  assert.match(broken.errors[0]!.message, /^unknown field "spec\.ports\[0\]\.portt"/);
});
