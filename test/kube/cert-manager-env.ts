// cert-manager-env.ts: what the cert-manager tests share — the binary and CRDs built by
// scripts/cert-manager/build.sh, installing the CRDs, and running the controller as a local process
// with the admin kubeconfig (cert-manager's own RBAC is its Helm chart's business).
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, openSync } from "node:fs";
import { join, resolve } from "node:path";
import type { KubeEnv } from "../../scripts/kube/env.ts";

const CM_DIR = resolve(import.meta.dirname, "../../.cache/cert-manager");
/** CM_BIN is cert-manager's controller; `CM_BIN acmesolver ARGS` is its HTTP-01 solver. */
export const CM_BIN = join(CM_DIR, "bin/cert-manager");

/** certManagerMissing says what to build, or "" when the binary and CRDs are there. */
export function certManagerMissing(): string {
  return existsSync(CM_BIN) && existsSync(join(CM_DIR, "crds"))
    ? ""
    : `missing ${CM_BIN}; run scripts/cert-manager/build.sh (needs Go and the Go module proxy)`;
}

/** installCertManager installs cert-manager's CRDs and its namespace (ClusterIssuer secrets live there). */
export async function installCertManager(env: KubeEnv): Promise<void> {
  await env.kubectl(["apply", "--server-side", "-f", join(CM_DIR, "crds")]);
  await env.kubectl(["wait", "--for=condition=Established", "--timeout=30s", "crd", "--all"]);
  await env.kubectl(["create", "namespace", "cert-manager"]);
}

/** spawnCertManager starts the controller, logging to env.dir/logs/cert-manager.log. */
export function spawnCertManager(env: KubeEnv, args: string[]): ChildProcess {
  const log = openSync(join(env.dir, "logs", "cert-manager.log"), "a");
  const cm = spawn(
    CM_BIN,
    [`--kubeconfig=${env.adminKubeconfig}`, "--cluster-resource-namespace=cert-manager", ...args],
    { stdio: ["ignore", log, log] },
  );
  process.once("exit", () => cm.kill("SIGKILL"));
  return cm;
}
