// gate.test.ts: without the control plane binaries the Kubernetes tests skip loudly, and with
// PORTICO_REQUIRE_KUBE=1 (what .ci/run sets) the same run fails instead of passing by skipping.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { resolve } from "node:path";

const file = resolve(import.meta.dirname, "source.test.ts");

function runWithout(extra: Record<string, string>) {
  // NODE_TEST_CONTEXT would make the child think it runs inside this runner and skip its files.
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PORTICO_KUBE_BIN: "/nonexistent/portico-k8sbin",
    ...extra,
  };
  delete env.NODE_TEST_CONTEXT;
  return spawnSync(process.execPath, ["--disable-warning=ExperimentalWarning", "--test-reporter=tap", file], {
    env,
    encoding: "utf8",
    timeout: 60_000,
  });
}

test("missing binaries: the Kubernetes tests are skipped with a loud message", () => {
  const r = runWithout({ PORTICO_REQUIRE_KUBE: "" });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.match(r.stderr, /\*\*\* SKIPPING Kubernetes tests: missing etcd, kube-apiserver, kubectl/);
  assert.match(r.stdout, /ok 1 - kube source # SKIP missing etcd/);
  assert.match(r.stdout, /# fail 0\b/);
});

test("missing binaries with PORTICO_REQUIRE_KUBE=1: the run fails", () => {
  const r = runWithout({ PORTICO_REQUIRE_KUBE: "1" });
  assert.notEqual(r.status, 0);
  assert.match(r.stdout + r.stderr, /PORTICO_REQUIRE_KUBE=1 but the Kubernetes test binaries are missing/);
});
