// kcm.ts: kube-controller-manager (built by scripts/kube/build.sh from the same release) against a
// test environment from env.ts, with only the controllers a cluster without a kubelet needs: Pods
// come from Deployments and ReplicaSets, Services get EndpointSlices, namespaces and owners are
// cleaned up. Not nodelifecycle: with no kubelet heartbeats it would taint and evict test/node's
// Node. Not the ServiceAccount token controller: env.ts turns the ServiceAccount admission plugin
// off, so Pods need no token.
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, openSync } from "node:fs";
import https from "node:https";
import { join } from "node:path";
import { BIN_DIR, freePort, stopProc, type KubeEnv } from "./env.ts";

/** KCM_BIN is the kube-controller-manager binary build.sh writes. */
export const KCM_BIN = join(BIN_DIR, "kube-controller-manager");

/** DEFAULT_CONTROLLERS are the controllers a test cluster without a kubelet needs. */
export const DEFAULT_CONTROLLERS: readonly string[] = [
  "deployment-controller",
  "replicaset-controller",
  "endpointslice-controller",
  "endpointslice-mirroring-controller",
  "serviceaccount-controller",
  "namespace-controller",
  "garbage-collector-controller",
];

/** kcmMissing says what is missing to start kube-controller-manager, or "" when it is there. */
export function kcmMissing(): string {
  return existsSync(KCM_BIN) ? "" : `missing ${KCM_BIN}; run scripts/kube/build.sh (needs Go)`;
}

/** ControllerManager is a running kube-controller-manager. */
export interface ControllerManager {
  /** stop ends the process (SIGTERM, then SIGKILL after 5 s). */
  stop(): Promise<void>;
}

/** startControllerManager runs kube-controller-manager as the env's admin, logging to
 * env.dir/logs/kube-controller-manager.log, and resolves once its /healthz answers ok. */
export async function startControllerManager(
  env: KubeEnv,
  opts: { controllers?: readonly string[]; flags?: readonly string[] } = {},
): Promise<ControllerManager> {
  const missing = kcmMissing();
  if (missing) throw new Error(missing);
  const port = await freePort();
  const proc = spawn(
    KCM_BIN,
    [
      `--kubeconfig=${env.adminKubeconfig}`,
      `--controllers=${(opts.controllers ?? DEFAULT_CONTROLLERS).join(",")}`,
      "--leader-elect=false",
      "--bind-address=127.0.0.1",
      `--secure-port=${port}`,
      // Informers resync every 30-60 s instead of 12-24 h: a missed event heals within a test.
      "--min-resync-period=30s",
      "--v=1",
      ...(opts.flags ?? []),
    ],
    { stdio: ["ignore", "ignore", openSync(join(env.dir, "logs", "kube-controller-manager.log"), "a")] },
  );
  const guard = () => proc.kill("SIGKILL");
  process.once("exit", guard);
  const stop = () => {
    process.off("exit", guard);
    return stopProc(proc);
  };
  try {
    await healthy(proc, port);
  } catch (e) {
    await stop();
    throw e;
  }
  return { stop };
}

/** healthy polls https://127.0.0.1:port/healthz (self-signed; /healthz needs no credentials). */
async function healthy(proc: ChildProcess, port: number): Promise<void> {
  const end = Date.now() + 60_000;
  while (Date.now() < end) {
    if (proc.exitCode !== null)
      throw new Error(`kube-controller-manager exited with ${proc.exitCode}; see its log in the env's logs/`);
    const ok = await new Promise<boolean>((done) => {
      const req = https.get(
        { host: "127.0.0.1", port, path: "/healthz", rejectUnauthorized: false, timeout: 2_000 },
        (res) => {
          res.resume();
          done(res.statusCode === 200);
        },
      );
      req.on("error", () => done(false));
      req.on("timeout", () => req.destroy());
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error("kube-controller-manager: /healthz not ok after 60 s; see its log in the env's logs/");
}
