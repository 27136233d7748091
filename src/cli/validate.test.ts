// validate.test.ts: `portico validate` over a directory, as users run it: exit 1 and one line per
// error naming file, line, object and what to do.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const main = join(import.meta.dirname, "main.ts");

/** validate runs `portico validate dir` and resolves with its exit code and output. */
const validate = (dir: string) =>
  new Promise<{ code: number; stdout: string }>((resolve) => {
    execFile(
      process.execPath,
      ["--disable-warning=ExperimentalWarning", main, "validate", dir],
      (err, stdout) => {
        const code = (err as { code?: unknown } | null)?.code;
        resolve({ code: err ? (typeof code === "number" ? code : 1) : 0, stdout });
      },
    );
  });

test("portico validate: an unknown field exits 1 with file, line, object and the fix", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "portico-validate-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, "svc.yaml");
  writeFileSync(
    file,
    "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\nspec:\n  portz:\n    - port: 80\n",
  );
  const bad = await validate(dir);
  assert.equal(bad.code, 1);
  assert.match(
    bad.stdout,
    new RegExp(
      `^error: ${file.replace(/[.]/g, "\\.")}:6: Service/default/web: unknown field "spec\\.portz"; remove it or fix its spelling`,
      "m",
    ),
  );
  writeFileSync(
    file,
    "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\nspec:\n  ports:\n    - port: 80\n",
  );
  const good = await validate(dir);
  assert.equal(good.code, 0, good.stdout);
  assert.match(good.stdout, /^ok: 1 objects valid$/m);
});

test("portico validate: a pool whose addresses do not parse exits 1 naming file, line and entry", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "portico-validate-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, "pool.yaml");
  const pool = (range: string) =>
    `# lab pool\napiVersion: portico.dev/v1alpha1\nkind: VipPool\nmetadata: { name: lab }\nspec:\n  addresses: ["${range}"]\n`;
  writeFileSync(file, pool("127.0.40.1-127.0.40.600"));
  const bad = await validate(dir);
  assert.equal(bad.code, 1, bad.stdout);
  assert.match(
    bad.stdout,
    new RegExp(
      `^error: ${file.replace(/[.]/g, "\\.")}:2: VipPool/lab: spec\\.addresses: .*127\\.0\\.40\\.600`,
      "m",
    ),
  );
  writeFileSync(file, pool("127.0.40.1-127.0.40.6"));
  const good = await validate(dir);
  assert.equal(good.code, 0, good.stdout);
});

test("portico validate: an annotation Portico cannot honour is a notice naming the object", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "portico-validate-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(
    join(dir, "ing.yaml"),
    [
      "apiVersion: networking.k8s.io/v1",
      "kind: IngressClass",
      "metadata: { name: portico }",
      "spec: { controller: portico.dev/ingress-controller }",
      "---",
      "apiVersion: networking.k8s.io/v1",
      "kind: Ingress",
      "metadata:",
      "  name: web",
      "  annotations: { portico.dev/request-body-buffer: lots }",
      "spec:",
      "  ingressClassName: portico",
      "  defaultBackend: { service: { name: web, port: { number: 80 } } }",
      "",
    ].join("\n"),
  );
  const r = await validate(dir);
  assert.match(r.stdout, /^notice: Ingress\/default\/web: .*request-body-buffer.*lots/m);
});

test("portico validate: an invalid EngineGroup is one error at its file and line, with the field", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "portico-validate-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(
    join(dir, "groups.yaml"),
    "apiVersion: portico.dev/v1alpha1\nkind: EngineGroup\nmetadata: {name: ok}\n---\n" +
      "apiVersion: portico.dev/v1alpha1\nkind: EngineGroup\nmetadata: {name: web}\nspec:\n  autoscaling: {minReplicas: 3, maxReplicas: 2}\n",
  );
  const r = await validate(dir);
  assert.equal(r.code, 1);
  const lines = r.stdout.split("\n").filter((l) => l.includes("EngineGroup/web"));
  assert.deepEqual(lines, [
    `error: ${join(dir, "groups.yaml")}:5: EngineGroup/web: spec.autoscaling.minReplicas 3 is above maxReplicas 2; nothing valid to keep serving; fix the object to apply changes`,
  ]);
});
