// env.ts: a throwaway Kubernetes control plane on 127.0.0.1 — etcd and kube-apiserver built by
// scripts/kube/build.sh — with kubeconfigs for an admin and for Portico's ServiceAccount (bound
// only by deploy/rbac.yaml, so tests prove the RBAC), Portico's and the Gateway API CRDs installed.
// Tests import startKube(); `sh scripts/node.sh scripts/kube/env.ts up` runs one until Ctrl-C.
import { spawn, execFile, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync, mkdirSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);
const root = resolve(import.meta.dirname, "../..");

/** BIN_DIR is where build.sh puts kube-apiserver, kubectl and etcd (PORTICO_KUBE_BIN overrides). */
export const BIN_DIR = process.env.PORTICO_KUBE_BIN ?? join(root, ".cache/k8sbin/bin");
/** GATEWAY_CRDS is where build.sh puts the Gateway API standard-channel CRDs. */
export const GATEWAY_CRDS = join(root, ".cache/k8sbin/gateway-api-crds");
/** PORTICO_SA is the user name the Portico kubeconfig authenticates as (a ServiceAccount's). */
export const PORTICO_SA = "system:serviceaccount:portico-system:portico";

/** kubeBinariesMissing names what is missing to start an environment, or "" when all is there. */
export function kubeBinariesMissing(): string {
  const missing = ["etcd", "kube-apiserver", "kubectl"].filter((b) => !existsSync(join(BIN_DIR, b)));
  return missing.length > 0
    ? `missing ${missing.join(", ")} in ${BIN_DIR}; run scripts/kube/build.sh (needs Go)`
    : "";
}

/** KubeEnv is a running control plane. */
export interface KubeEnv {
  dir: string;
  server: string;
  /** adminKubeconfig authenticates as system:masters. */
  adminKubeconfig: string;
  /** porticoKubeconfig authenticates as Portico's ServiceAccount (RBAC from deploy/rbac.yaml). */
  porticoKubeconfig: string;
  /** kubectl runs kubectl as admin (or with another kubeconfig); rejects on a non-zero exit. */
  kubectl(args: string[], opts?: { kubeconfig?: string; input?: string }): Promise<string>;
  /** compactEtcd compacts etcd's history up to now, so watches from older resourceVersions get 410 Gone. */
  compactEtcd(): Promise<void>;
  /** restartApiServer stops kube-apiserver and starts it again on the same port (etcd keeps data). */
  restartApiServer(): Promise<void>;
  /** stop kills both processes and removes the directory. */
  stop(): Promise<void>;
}

/** freePort asks the kernel for an unused TCP port on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.once("error", fail);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => ok(port));
    });
  });
}

/** waitFor polls check every 100 ms until it resolves true or deadlineMs passes. */
async function waitFor(
  what: string,
  check: () => Promise<boolean>,
  deadlineMs: number,
  proc?: ChildProcess,
): Promise<void> {
  const end = Date.now() + deadlineMs;
  while (Date.now() < end) {
    if (proc && proc.exitCode !== null) throw new Error(`${what}: process exited with ${proc.exitCode}`);
    if (await check().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${what}: not ready after ${deadlineMs} ms`);
}

/** stopProc sends SIGTERM, then SIGKILL after 5 s, and resolves once p has exited. */
export function stopProc(p: ChildProcess | undefined): Promise<void> {
  if (!p || p.exitCode !== null || p.signalCode !== null) return Promise.resolve();
  return new Promise((done) => {
    const t = setTimeout(() => p.kill("SIGKILL"), 5_000);
    p.once("exit", () => {
      clearTimeout(t);
      done();
    });
    p.kill("SIGTERM");
  });
}

function kubeconfig(server: string, ca: string, user: string, token: string): string {
  return JSON.stringify({
    apiVersion: "v1",
    kind: "Config",
    clusters: [{ name: "test", cluster: { server, "certificate-authority": ca } }],
    users: [{ name: user, user: { token } }],
    contexts: [{ name: "test", context: { cluster: "test", user } }],
    "current-context": "test",
  });
}

/** startKube starts etcd and kube-apiserver in a temp dir and installs CRDs and RBAC; apiServerFlags
 * are added to kube-apiserver's command line. */
export async function startKube(apiServerFlags: readonly string[] = []): Promise<KubeEnv> {
  const missing = kubeBinariesMissing();
  if (missing) throw new Error(missing);
  const dir = mkdtempSync(join(tmpdir(), "portico-kube-"));
  const [etcdPort, peerPort, apiPort] = [await freePort(), await freePort(), await freePort()];
  const etcdUrl = `http://127.0.0.1:${etcdPort}`;
  const logs = join(dir, "logs");
  mkdirSync(logs);
  const { openSync } = await import("node:fs");
  const etcd = spawn(
    join(BIN_DIR, "etcd"),
    [
      "--name=default",
      `--data-dir=${join(dir, "etcd")}`,
      `--listen-client-urls=${etcdUrl}`,
      `--advertise-client-urls=${etcdUrl}`,
      `--listen-peer-urls=http://127.0.0.1:${peerPort}`,
      `--initial-advertise-peer-urls=http://127.0.0.1:${peerPort}`,
      `--initial-cluster=default=http://127.0.0.1:${peerPort}`,
      "--unsafe-no-fsync",
      "--log-level=warn",
    ],
    { stdio: ["ignore", "ignore", openSync(join(logs, "etcd.log"), "a")] },
  );
  const procs: { etcd: ChildProcess; api?: ChildProcess } = { etcd };
  // A test process that dies without its after() hook must not leave the control plane running.
  const orphanGuard = () => {
    procs.api?.kill("SIGKILL");
    procs.etcd.kill("SIGKILL");
  };
  process.once("exit", orphanGuard);
  const cleanup = async () => {
    await stopProc(procs.api);
    await stopProc(procs.etcd);
    process.off("exit", orphanGuard);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitFor("etcd", async () => (await fetch(`${etcdUrl}/health`)).ok, 20_000, etcd);
    await run("openssl", ["genrsa", "-out", join(dir, "sa.key"), "2048"]);
    await run("openssl", ["rsa", "-in", join(dir, "sa.key"), "-pubout", "-out", join(dir, "sa.pub")]);
    writeFileSync(
      join(dir, "tokens.csv"),
      `admin-token,admin,uid-admin,"system:masters"\n` +
        `portico-token,${PORTICO_SA},uid-portico,"system:serviceaccounts,system:serviceaccounts:portico-system"\n`,
    );
    const server = `https://127.0.0.1:${apiPort}`;
    const startApi = () =>
      spawn(
        join(BIN_DIR, "kube-apiserver"),
        [
          `--etcd-servers=${etcdUrl}`,
          "--bind-address=127.0.0.1",
          `--secure-port=${apiPort}`,
          "--advertise-address=127.0.0.1",
          "--endpoint-reconciler-type=none",
          `--cert-dir=${join(dir, "certs")}`,
          "--service-cluster-ip-range=10.0.0.0/24",
          "--authorization-mode=RBAC",
          "--disable-admission-plugins=ServiceAccount",
          "--allow-privileged=true",
          "--service-account-issuer=https://kubernetes.default.svc",
          `--service-account-key-file=${join(dir, "sa.pub")}`,
          `--service-account-signing-key-file=${join(dir, "sa.key")}`,
          `--token-auth-file=${join(dir, "tokens.csv")}`,
          "--v=0",
          ...apiServerFlags,
        ],
        { stdio: ["ignore", "ignore", openSync(join(logs, "kube-apiserver.log"), "a")] },
      );
    const ca = join(dir, "certs", "apiserver.crt");
    const adminKubeconfig = join(dir, "admin.kubeconfig");
    const porticoKubeconfig = join(dir, "portico.kubeconfig");
    writeFileSync(adminKubeconfig, kubeconfig(server, ca, "admin", "admin-token"));
    writeFileSync(porticoKubeconfig, kubeconfig(server, ca, "portico", "portico-token"));
    const kubectl = async (args: string[], opts: { kubeconfig?: string; input?: string } = {}) => {
      const child = run(
        join(BIN_DIR, "kubectl"),
        [`--kubeconfig=${opts.kubeconfig ?? adminKubeconfig}`, ...args],
        {
          maxBuffer: 16 << 20,
        },
      );
      if (opts.input !== undefined) {
        child.child.stdin?.end(opts.input);
      }
      return (await child).stdout;
    };
    const ready = async (api: ChildProcess) =>
      waitFor(
        "kube-apiserver",
        async () => (await kubectl(["get", "--raw", "/readyz"]).catch(() => "")).trim() === "ok",
        60_000,
        api,
      );
    procs.api = startApi();
    await ready(procs.api);
    const crds = [
      join(root, "deploy/crds"),
      ...readdirSync(GATEWAY_CRDS)
        .filter((f) => f.endsWith(".yaml"))
        .map((f) => join(GATEWAY_CRDS, f)),
    ];
    await kubectl(["apply", "--server-side", ...crds.flatMap((f) => ["-f", f])]);
    await kubectl(["apply", "-f", join(root, "deploy/rbac.yaml")]);
    await kubectl(["wait", "--for=condition=Established", "--timeout=30s", "crd", "--all"]);
    return {
      dir,
      server,
      adminKubeconfig,
      porticoKubeconfig,
      kubectl,
      async compactEtcd() {
        // etcd's JSON gateway: read the current revision, then compact everything before it.
        const range = await fetch(`${etcdUrl}/v3/kv/range`, {
          method: "POST",
          body: JSON.stringify({ key: Buffer.from("/").toString("base64") }),
        });
        const revision = ((await range.json()) as { header: { revision: string } }).header.revision;
        const res = await fetch(`${etcdUrl}/v3/kv/compaction`, {
          method: "POST",
          body: JSON.stringify({ revision, physical: true }),
        });
        if (!res.ok) throw new Error(`etcd compaction: ${res.status} ${await res.text()}`);
      },
      async restartApiServer() {
        await stopProc(procs.api);
        procs.api = startApi();
        await ready(procs.api);
      },
      stop: cleanup,
    };
  } catch (e) {
    await cleanup();
    throw e;
  }
}

if (process.argv[1] === import.meta.filename && process.argv[2] === "up") {
  const env = await startKube();
  process.stdout.write(
    `kube-apiserver ${env.server}\n  admin:   KUBECONFIG=${env.adminKubeconfig}\n  portico: KUBECONFIG=${env.porticoKubeconfig}\nCtrl-C tears it down.\n`,
  );
  await new Promise<void>((done) => {
    process.once("SIGINT", done);
    process.once("SIGTERM", done);
  });
  await env.stop();
}
