// controller.ts: `portico controller` — run Portico against a cluster: watch the API, serve the
// VIPs with an in-process engine, write status, Events and the Lease, keep one engine workload per
// EngineGroup (with --engine-image), and answer /healthz, /readyz and /metrics on --admin. Exits on
// SIGINT/SIGTERM, releasing the Lease so a standby replica takes over at once.
import { hostname } from "node:os";
import { randomBytes } from "node:crypto";
import { parseArgs } from "node:util";
import { KubeConfig } from "@kubernetes/client-node";
import { bindError, CliError, splitHostPort } from "./args.ts";
import { openRequestLog } from "../controller/request-log.ts";
import { feedAnalytics } from "../controller/analytics-feed.ts";
import { fanOut } from "../analytics/fan-out.ts";
import { startAdmin } from "../api/admin.ts";
import { serverToken } from "./admin-token.ts";
import type { AdminTokenEntry } from "../api/admin-auth.ts";
import { stateDirOf } from "../state/location.ts";
import { createLogger } from "../controller/log.ts";
import { createEnginePort } from "../controller/engine-port.ts";
import { KubeController, type KubeControllerOptions } from "../controller/kube.ts";
import type { EnginePort } from "../controller/standalone.ts";
import type { Logger } from "../controller/log.ts";
import { Hub } from "../controller/fleet/hub.ts";
import { FleetPort } from "../controller/fleet/fleet-port.ts";
import { version } from "./version.ts";
import { serveAdmission } from "../controller/admission/serve.ts";
import { AdmissionCredentialError } from "../controller/admission/credentials.ts";
import { KubeClient } from "../sources/kube/client.ts";
import { AnalyticsStore } from "../analytics/store.ts";
import { AnalyticsPersistence } from "../analytics/persist.ts";

/** ControllerFlags are `portico controller`'s flags. */
export interface ControllerFlags {
  kubeconfig?: string;
  namespaces: string[];
  stateDir?: string;
  identity: string;
  leaseNamespace: string;
  leaseName: string;
  leaderElect: boolean;
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
  classless: boolean;
  httpPort: number;
  httpsPort: number;
  /** admin is HOST:PORT of /healthz, /readyz, /metrics, the API and the console (default loopback, as `portico run`). */
  admin: string;
  /** adminToken is --admin-token-file's tokens: required when admin is not loopback. */
  adminToken?: AdminTokenEntry[];
  /** engineNamespace holds the engine workloads and the link Secret. */
  engineNamespace: string;
  /** engineImage runs the engines; without it no engine workload is made (and that is logged). */
  engineImage?: string;
  /** defaultEngineGroup runs engines for the implicit `default` group too. */
  defaultEngineGroup: boolean;
  /** engineListen is HOST:PORT of the engine port the leader opens (default 0.0.0.0:9443 in a cluster, else off). */
  engineListen?: string;
  /** localEngine keeps the in-process engine; --no-local-engine leaves the traffic to the engines. */
  localEngine: boolean;
  /** admission, when set, serves the tenant admission webhook (docs/tenants.md: admission); off by default. */
  admission?: AdmissionFlags;
}

/** AdmissionFlags are --admission-*: where the webhook listens and its certificate (files, or generated with the CA written to caFile). */
export interface AdmissionFlags {
  listen: string;
  cert?: string;
  key?: string;
  caFile?: string;
}

/** ENGINE_LISTEN_IN_CLUSTER is --engine-listen's default when running in a pod. */
export const ENGINE_LISTEN_IN_CLUSTER = "0.0.0.0:9443";

function num(text: string | undefined, flag: string, def: number, min = 1, max = 65535): number {
  if (text === undefined) return def;
  const n = Number(text);
  if (!Number.isFinite(n) || n < min || n > max)
    throw new CliError(`${flag} must be a number ${min}-${max}, not "${text}"`);
  return n;
}

/** parseControllerFlags reads the flags; unknown flags are an error naming the flag. */
export function parseControllerFlags(argv: string[], env: NodeJS.ProcessEnv = process.env): ControllerFlags {
  let v;
  try {
    v = parseArgs({
      args: argv,
      options: {
        kubeconfig: { type: "string" },
        namespaces: { type: "string" },
        "state-dir": { type: "string" },
        identity: { type: "string" },
        "lease-namespace": { type: "string", default: "portico-system" },
        "lease-name": { type: "string", default: "portico-controller" },
        "no-leader-elect": { type: "boolean", default: false },
        "lease-duration": { type: "string" },
        "renew-deadline": { type: "string" },
        "retry-period": { type: "string" },
        "no-classless": { type: "boolean", default: false },
        "http-port": { type: "string" },
        "https-port": { type: "string" },
        admin: { type: "string", default: "127.0.0.1:9901" },
        "admin-token-file": { type: "string" },
        "engine-namespace": { type: "string" },
        "engine-image": { type: "string" },
        "default-engine-group": { type: "boolean", default: false },
        "engine-listen": { type: "string" },
        "no-local-engine": { type: "boolean", default: false },
        "admission-listen": { type: "string" },
        "admission-cert": { type: "string" },
        "admission-key": { type: "string" },
        "admission-ca-file": { type: "string" },
      },
    }).values;
  } catch (err) {
    throw new CliError(`${(err as Error).message}\nRun 'portico help' for usage.`);
  }
  const sec = (t: string | undefined, flag: string, def: number) =>
    Math.round(num(t, flag, def, 0.1, 3600) * 1000);
  const flags: ControllerFlags = {
    namespaces: (v.namespaces ?? "")
      .split(",")
      .map((s) => s.trim())
      .filter((s) => s !== ""),
    identity: v.identity ?? `${hostname()}-${randomBytes(3).toString("hex")}`,
    leaseNamespace: v["lease-namespace"] ?? "portico-system",
    leaseName: v["lease-name"] ?? "portico-controller",
    leaderElect: !v["no-leader-elect"],
    leaseDurationMs: sec(v["lease-duration"], "--lease-duration", 15),
    renewDeadlineMs: sec(v["renew-deadline"], "--renew-deadline", 10),
    retryPeriodMs: sec(v["retry-period"], "--retry-period", 2),
    classless: !v["no-classless"],
    httpPort: num(v["http-port"], "--http-port", 80),
    httpsPort: num(v["https-port"], "--https-port", 443),
    admin: v.admin ?? "127.0.0.1:9901",
    engineNamespace: v["engine-namespace"] ?? (process.env.POD_NAMESPACE || "portico-system"),
    defaultEngineGroup: v["default-engine-group"] ?? false,
    localEngine: !v["no-local-engine"],
  };
  // In a pod engines dial this port through the Service; elsewhere (a laptop, a test) it is opt-in.
  const listen = v["engine-listen"] ?? (env.KUBERNETES_SERVICE_HOST ? ENGINE_LISTEN_IN_CLUSTER : undefined);
  if (listen !== undefined) {
    try {
      splitHostPort(listen);
    } catch (err) {
      throw new CliError(`--engine-listen: ${(err as Error).message}`);
    }
    flags.engineListen = listen;
  } else if (!flags.localEngine)
    throw new CliError(
      "--no-local-engine needs --engine-listen HOST:PORT: without the in-process engine, the engines that dial it serve the traffic",
    );
  try {
    splitHostPort(flags.admin);
  } catch (err) {
    throw new CliError(`--admin: ${(err as Error).message}`);
  }
  // Fail closed before anything starts: a non-loopback admin address without a token is refused.
  const token = serverToken(flags.admin, v["admin-token-file"], env);
  if (token !== undefined) flags.adminToken = token;
  const image = v["engine-image"] ?? process.env.PORTICO_IMAGE;
  if (image) flags.engineImage = image;
  const admission = admissionFlags(v);
  if (admission) flags.admission = admission;
  if (v.kubeconfig) flags.kubeconfig = v.kubeconfig;
  if (v["state-dir"]) flags.stateDir = v["state-dir"];
  if (flags.renewDeadlineMs >= flags.leaseDurationMs)
    throw new CliError("--renew-deadline must be shorter than --lease-duration");
  return flags;
}

/** admissionFlags checks --admission-*: a certificate and its key together, or neither and a CA file to write. */
function admissionFlags(v: Record<string, string | boolean | undefined>): AdmissionFlags | undefined {
  const str = (k: string) => (typeof v[k] === "string" ? (v[k] as string) : undefined);
  const listen = str("admission-listen");
  const [cert, key, caFile] = [str("admission-cert"), str("admission-key"), str("admission-ca-file")];
  if (listen === undefined) {
    if (cert ?? key ?? caFile)
      throw new CliError(
        "--admission-cert, --admission-key and --admission-ca-file need --admission-listen HOST:PORT",
      );
    return undefined;
  }
  try {
    splitHostPort(listen);
  } catch (err) {
    throw new CliError(`--admission-listen: ${(err as Error).message}`);
  }
  if ((cert === undefined) !== (key === undefined))
    throw new CliError("--admission-cert and --admission-key go together (a PEM certificate and its key)");
  if (cert !== undefined && caFile !== undefined)
    throw new CliError(
      "--admission-ca-file is for a certificate Portico makes; with --admission-cert the caBundle is the CA that signed your certificate: drop one of them",
    );
  if (cert === undefined && caFile === undefined)
    throw new CliError(
      "--admission-listen needs a certificate: --admission-cert FILE --admission-key FILE, or --admission-ca-file FILE to have one made (the CA is written there, for the webhook's caBundle)",
    );
  return { listen, ...(cert ? { cert, key: key! } : {}), ...(caFile ? { caFile } : {}) };
}

/** loadKubeConfig reads --kubeconfig, else $KUBECONFIG or ~/.kube/config, else the in-cluster account. */
export function loadKubeConfig(path: string | undefined): KubeConfig {
  const kc = new KubeConfig();
  try {
    if (path) kc.loadFromFile(path);
    else kc.loadFromDefault();
  } catch (err) {
    throw new CliError(`cannot read kubeconfig ${path ?? "(default)"}: ${(err as Error).message}`);
  }
  if (!kc.getCurrentCluster()) throw new CliError("the kubeconfig names no cluster; pass --kubeconfig FILE");
  return kc;
}

/** main runs until SIGINT/SIGTERM; resolves with the exit code. */
export async function main(argv: string[]): Promise<number> {
  const flags = parseControllerFlags(argv);
  const log = createLogger();
  const client = await KubeClient.fromConfig(loadKubeConfig(flags.kubeconfig));
  const store = flags.stateDir
    ? (await import("../state/store.ts")).openStateStore(stateDirOf(flags.stateDir))
    : undefined;
  const { engine, link } = await enginesOf(flags, log);
  // The request log: in the state database with --state-dir, else in memory (bounded either way).
  const requestLog = openRequestLog(store?.file, log);
  // The engine link listens in the controller's own namespace, behind the Service portico-controller.
  const controllerNs = process.env.POD_NAMESPACE || flags.leaseNamespace;
  const linkPort = link?.listen.port ?? 9443;
  if (!flags.engineImage)
    log("warn", "engine workloads off: EngineGroups get no engines; give --engine-image or $PORTICO_IMAGE");
  const translateOpts = {
    serveClasslessServices: flags.classless,
    ingressHttpPort: flags.httpPort,
    ingressHttpsPort: flags.httpsPort,
    // A BGP peer's passwordSecretRef without a namespace names a Secret beside the controller.
    secretNamespace: controllerNs,
  };
  const controller = new KubeController({
    client,
    namespaces: flags.namespaces,
    identity: flags.identity,
    ...(flags.leaderElect
      ? {
          lease: {
            namespace: flags.leaseNamespace,
            name: flags.leaseName,
            timing: {
              leaseDurationMs: flags.leaseDurationMs,
              renewDeadlineMs: flags.renewDeadlineMs,
              retryPeriodMs: flags.retryPeriodMs,
            },
          },
        }
      : {}),
    engine,
    ...(link ? { link } : {}),
    translate: translateOpts,
    log,
    ...(store ? { store } : {}),
    fullLogs: requestLog.fullLogs,
    ...(flags.engineImage
      ? {
          engines: {
            namespace: flags.engineNamespace,
            image: flags.engineImage,
            controllerAddress: `portico-controller.${controllerNs}.svc:${linkPort}`,
            defaultGroup: flags.defaultEngineGroup,
          },
        }
      : {}),
  });
  // Traffic history: in the state database with --state-dir (kept across restarts of this
  // replica), in memory only without it (a new leader starts with empty charts).
  const analytics = new AnalyticsStore();
  const history = store ? new AnalyticsPersistence(analytics, store, log) : undefined;
  history?.start();
  // /readyz also waits for the admission webhook's first listing: a pod the Service sends reviews
  // to before it can judge them would answer 503, which failurePolicy Fail turns into errors.
  let admission: Awaited<ReturnType<typeof serveAdmission>> | undefined;
  const controllerReadiness = controller.readiness.bind(controller);
  const view = Object.assign(controller, {
    readiness: () => [...controllerReadiness(), ...(admission ? [admission.readiness()] : [])],
    analytics: {
      store: analytics,
      snapshot: () => controller.inspect()?.out.snapshot,
      endpoints: () => engine.status()?.endpoints,
    },
  });
  const { host, port } = splitHostPort(flags.admin);
  let admin: Awaited<ReturnType<typeof startAdmin>>;
  try {
    admin = await startAdmin(view, host, port, {
      log,
      logs: requestLog.view(() => controller.last()?.out.snapshot),
      console: true,
      ...(flags.adminToken !== undefined ? { token: flags.adminToken } : {}),
    });
  } catch (err) {
    await engine.close();
    history?.close();
    requestLog.close();
    store?.close();
    client.close();
    throw bindError(err, "--admin", flags.admin);
  }
  if (flags.admission) {
    const a = flags.admission;
    const at = splitHostPort(a.listen);
    try {
      admission = await serveAdmission({
        client,
        namespaces: flags.namespaces,
        host: at.host,
        port: at.port,
        ...(a.cert && a.key ? { files: { cert: a.cert, key: a.key } } : {}),
        ...(a.caFile ? { caFile: a.caFile } : {}),
        namespace: controllerNs,
        // Only the leader's last build knows the incumbents (view.ts).
        memory: () => (controller.leading() ? controller.last()?.out.translate.tenants : undefined),
        translate: translateOpts,
        log,
      });
    } catch (err) {
      admin.server.close();
      await engine.close();
      history?.close();
      requestLog.close();
      store?.close();
      client.close();
      if (err instanceof AdmissionCredentialError) throw new CliError(err.message);
      throw bindError(err, "--admission-listen", a.listen);
    }
    log("info", "admission webhook listening", { address: `${at.host}:${admission.port}` });
  }
  // Every batch the engines ship, fed once: the time series takes its figures, the request log its logs.
  const stopFeed = feedAnalytics(engine, fanOut(analytics, requestLog.logs), log);
  log("info", "admin API listening", { url: admin.url });
  log("info", "portico controller starting", {
    identity: flags.identity,
    namespaces: flags.namespaces.length > 0 ? flags.namespaces : "all",
    user: client.user(),
  });
  controller.start();
  await new Promise<void>((done) => {
    process.once("SIGINT", done);
    process.once("SIGTERM", done);
  });
  log("info", "shutting down");
  admin.server.close();
  admin.server.closeAllConnections();
  await admission?.close();
  await controller.stop(true);
  stopFeed();
  await engine.close();
  history?.close();
  requestLog.close();
  store?.close();
  client.close();
  return 0;
}

/**
 * enginesOf is the controller's EnginePort: the in-process engine, or with --engine-listen a
 * FleetPort over it (unless --no-local-engine) and the hub the leader opens each term (kube-link.ts).
 */
async function enginesOf(
  flags: ControllerFlags,
  log: Logger,
): Promise<{ engine: EnginePort; link?: NonNullable<KubeControllerOptions["link"]> }> {
  const local = flags.localEngine ? await createEnginePort(log) : undefined;
  if (flags.engineListen === undefined) return { engine: local! };
  // Credentials and epoch come from the Secret and the Lease when this replica leads.
  const hub = new Hub({ certPem: "", keyPem: "", token: "", epoch: 0, controller: flags.identity, log });
  const fleet = new FleetPort({ hub, ...(local ? { local } : {}), log, version: version() });
  const listen = splitHostPort(flags.engineListen);
  return { engine: fleet, link: { hub, fleet, listen, namespace: flags.engineNamespace } };
}
