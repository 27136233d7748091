// controller.ts: `portico controller` — run Portico against a cluster: watch the API, serve the
// VIPs with an in-process engine, write status, Events and the Lease. Exits on SIGINT/SIGTERM,
// releasing the Lease so a standby replica takes over at once.
import { hostname } from "node:os";
import { randomBytes } from "node:crypto";
import { parseArgs } from "node:util";
import { KubeConfig } from "@kubernetes/client-node";
import { CliError } from "./args.ts";
import { stateDirOf } from "../state/location.ts";
import { createLogger } from "../controller/log.ts";
import { createEnginePort } from "../controller/engine-port.ts";
import { KubeController } from "../controller/kube.ts";
import { KubeClient } from "../sources/kube/client.ts";

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
}

function num(text: string | undefined, flag: string, def: number, min = 1, max = 65535): number {
  if (text === undefined) return def;
  const n = Number(text);
  if (!Number.isFinite(n) || n < min || n > max)
    throw new CliError(`${flag} must be a number ${min}-${max}, not "${text}"`);
  return n;
}

/** parseControllerFlags reads the flags; unknown flags are an error naming the flag. */
export function parseControllerFlags(argv: string[]): ControllerFlags {
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
  };
  if (v.kubeconfig) flags.kubeconfig = v.kubeconfig;
  if (v["state-dir"]) flags.stateDir = v["state-dir"];
  if (flags.renewDeadlineMs >= flags.leaseDurationMs)
    throw new CliError("--renew-deadline must be shorter than --lease-duration");
  return flags;
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
  const engine = await createEnginePort(log);
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
    translate: {
      serveClasslessServices: flags.classless,
      ingressHttpPort: flags.httpPort,
      ingressHttpsPort: flags.httpsPort,
    },
    log,
    ...(store ? { store } : {}),
  });
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
  await controller.stop(true);
  await engine.close();
  store?.close();
  client.close();
  return 0;
}
