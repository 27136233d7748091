// workspace.test.ts: how migrated files are written — untouched documents byte for byte, edited
// ones with their comments, replaced ones keeping their leading comment, List items, and the diff.
import { test } from "node:test";
import assert from "node:assert/strict";
import { unifiedDiff } from "./diff.ts";
import { MigrateError, parseFile, Workspace } from "./workspace.ts";

const text = `# a comment about a
apiVersion: v1
kind: A
metadata: { name: a }   # odd spacing kept
---
# about b
apiVersion: v1
kind: B
metadata:
  name: b # trailing
spec:
  list: [x, y]
  map: { k: v }
---
apiVersion: v1
kind: List
items:
  - { apiVersion: v1, kind: C, metadata: { name: c1 } }
  - { apiVersion: v1, kind: C, metadata: { name: c2 } }
`;

test("untouched documents stay byte for byte; edits keep comments and flow style; replacements keep the leading comment", () => {
  const ws = new Workspace([parseFile("f.yaml", undefined, text)]);
  const [a, b, c1, c2] = ws.objects;
  assert.deepEqual(
    ws.objects.map((o) => [o.obj.kind, o.line]),
    [
      ["A", 2],
      ["B", 7],
      ["C", 18],
      ["C", 19],
    ],
  );
  ws.set(b!, ["spec", "added"], "yes");
  ws.replace(c1!, [{ apiVersion: "v1", kind: "D", metadata: { name: "d" } }]);
  ws.replace(c2!, []);
  const out = ws.render("h")[0]!.after!;
  assert.ok(
    out.startsWith(
      "# a comment about a\napiVersion: v1\nkind: A\nmetadata: { name: a }   # odd spacing kept\n---\n",
    ),
  );
  assert.match(out, /# about b\n/);
  assert.match(out, /name: b # trailing/);
  assert.match(out, /list: \[x, y\]\n {2}map: \{ k: v \}\n {2}added: yes/);
  assert.match(out, /kind: D/);
  assert.doesNotMatch(out, /c1|c2/);
  ws.replace(a!, [{ kind: "Z" }]);
  assert.ok(ws.render("h")[0]!.after!.startsWith("# a comment about a\nkind: Z\n---\n"));
  const none = new Workspace([parseFile("f.yaml", undefined, text)]).render("h")[0]!;
  assert.equal(none.after, none.before);
});

test("a YAML syntax error names the file and line", () => {
  assert.throws(
    () => parseFile("bad.yaml", undefined, "a: 1\nb: [\n"),
    (e: unknown) => {
      assert.ok(e instanceof MigrateError);
      assert.match(e.message, /^bad\.yaml:\d+: YAML syntax error/);
      return true;
    },
  );
});

test("unifiedDiff: hunks with context, removed lines before added ones, new and deleted files", () => {
  const a = "1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n";
  const b = "1\n2\n3\nfour\n5\n6\n7\n8\n9\n10\n";
  assert.equal(
    unifiedDiff("a/f", "b/f", a, b),
    "--- a/f\n+++ b/f\n@@ -1,7 +1,7 @@\n 1\n 2\n 3\n-4\n+four\n 5\n 6\n 7\n",
  );
  assert.equal(unifiedDiff("a/f", "b/f", a, a), "");
  assert.equal(unifiedDiff("/dev/null", "b/f", "", "x\n"), "--- /dev/null\n+++ b/f\n@@ -0,0 +1,1 @@\n+x\n");
  assert.equal(
    unifiedDiff("a/f", "/dev/null", "x\ny\n", ""),
    "--- a/f\n+++ /dev/null\n@@ -1,2 +0,0 @@\n-x\n-y\n",
  );
  // Two changes far apart are two hunks.
  const far = a.replace("1\n", "one\n").replace("10\n", "ten\n");
  assert.equal((unifiedDiff("a", "b", a, far).match(/^@@/gm) ?? []).length, 2);
});
