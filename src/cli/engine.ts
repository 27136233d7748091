// engine.ts: `portico engine` — a data-plane process of a Service Engine group (docs/engines.md).
// It dials the controller (agent.ts), serves the snapshots it is given with the engine's hitless
// swap, and keeps serving the last good one while the controller is away. Listeners bind with
// SO_REUSEPORT, so several engines on one machine can serve one VIP:port and a rolling restart
// hands connections over. SIGTERM, SIGINT or the controller's drain message close the listeners,
// let open connections finish (up to --drain-timeout), and exit 0.
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { EngineAgent } from "../agent/agent.ts";
import { engineAdminView } from "../agent/admin-view.ts";
import { engineIdentity, readOptional } from "../agent/identity.ts";
import { startAdmin } from "../api/admin.ts";
import { createEnginePort, resolveWorkers } from "../controller/engine-port.ts";
import { createLogger } from "../controller/log.ts";
import { DEFAULT_ENGINE_GROUP } from "../k8s/engine-group.ts";
import { defaultEngineLimits } from "../engine/limits.ts";
import { CliError, LIMIT_OPTIONS, limitFlags, onOff, splitHostPort } from "./args.ts";
import { ANALYTICS_ENV } from "../analytics/types.ts";
import { parseDuration } from "./reload-flags.ts";
import { version } from "./version.ts";

/** ENGINE_ADMIN is the engine's default admin address (the controller's is 127.0.0.1:9901). */
export const ENGINE_ADMIN = "127.0.0.1:9902";
/** DRAIN_TIMEOUT_MS is how long a draining engine lets open connections run by default. */
export const DRAIN_TIMEOUT_MS = 30_000;

/** EngineFlags are `portico engine`'s settings, checked. */
export interface EngineFlags {
  /** controllers are the controller addresses, tried in turn (only a cluster's leader listens). */
  controllers: { host: string; port: number }[];
  ca: string;
  token: string;
  name?: string;
  group: string;
  node?: string;
  zone?: string;
  admin: { host: string; port: number };
  workers: number;
  accessLog?: string;
  wafLog?: string;
  limits: ReturnType<typeof limitFlags>;
  drainTimeoutMs: number;
  /** analytics is --analytics on|off (default on): the traffic figures sent to the controller. */
  analytics: boolean;
}

/** parseEngineFlags reads argv and the files it names; a problem is a one-line CliError. */
export function parseEngineFlags(argv: string[], env: NodeJS.ProcessEnv = process.env): EngineFlags {
  let v;
  try {
    ({ values: v } = parseArgs({
      args: argv,
      options: {
        controller: { type: "string" },
        "ca-file": { type: "string" },
        "token-file": { type: "string" },
        name: { type: "string" },
        group: { type: "string" },
        node: { type: "string" },
        zone: { type: "string" },
        admin: { type: "string" },
        workers: { type: "string" },
        "access-log": { type: "string" },
        "waf-log": { type: "string" },
        ...LIMIT_OPTIONS,
        "drain-timeout": { type: "string" },
        analytics: { type: "string" },
      },
    }));
  } catch (err) {
    throw new CliError(`${(err as Error).message}\nRun 'portico help' for usage.`);
  }
  if (v.controller === undefined)
    throw new CliError(
      "engine needs --controller HOST:PORT[,HOST:PORT...]: the controller's engine port (several: tried in turn)",
    );
  // Port 0 (a free port, logged) suits the admin server in tests; the controller needs a real one.
  const hostPort = (text: string, flag: string, min: number) => {
    try {
      const hp = splitHostPort(text);
      if (hp.port < min) throw new CliError(`port ${hp.port}`);
      return hp;
    } catch {
      throw new CliError(`${flag} must be HOST:PORT with a port ${min}-65535, not "${text}"`);
    }
  };
  const ca = readFlagFile(
    v["ca-file"],
    "--ca-file FILE",
    "the controller's engine CA certificate (PEM: engine-ca.pem in its state dir, or ca.crt of the Secret portico-engine-link)",
  );
  if (!ca.includes("-----BEGIN CERTIFICATE-----"))
    throw new CliError(`--ca-file ${v["ca-file"]} holds no PEM certificate; give the controller's engine CA`);
  const token =
    v["token-file"] !== undefined
      ? readFlagFile(v["token-file"], "--token-file FILE", "the engine token").trim()
      : (env.PORTICO_ENGINE_TOKEN ?? "").trim();
  if (token === "")
    throw new CliError(
      "engine needs a token: --token-file FILE or $PORTICO_ENGINE_TOKEN (engine-token in the controller's state dir, or token of the Secret portico-engine-link)",
    );
  let workers: number;
  try {
    workers = resolveWorkers(v.workers);
  } catch (err) {
    throw new CliError((err as Error).message);
  }
  const drain = v["drain-timeout"] ?? "30s";
  const drainTimeoutMs = parseDuration(drain);
  if (drainTimeoutMs === undefined)
    throw new CliError(`--drain-timeout must be a duration like "30s", not "${drain}"`);
  return {
    controllers: v.controller.split(",").map((a) => hostPort(a.trim(), "--controller", 1)),
    ca,
    token,
    name: v.name,
    group: v.group ?? DEFAULT_ENGINE_GROUP,
    node: v.node,
    zone: v.zone,
    admin: hostPort(v.admin ?? ENGINE_ADMIN, "--admin", 0),
    workers,
    accessLog: v["access-log"],
    wafLog: v["waf-log"],
    limits: limitFlags(v),
    drainTimeoutMs,
    analytics: onOff(v.analytics, "--analytics"),
  };
}

// readFlagFile reads a file a flag names; absent or unreadable is a usage error saying what to pass.
function readFlagFile(file: string | undefined, flag: string, what: string): string {
  if (file === undefined) throw new CliError(`engine needs ${flag}: ${what}`);
  try {
    return readFileSync(file, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? "";
    throw new CliError(`${flag}: cannot read ${file} (${code || (err as Error).message}); give ${what}`);
  }
}

/** main runs the engine until drained; resolves with the exit code. */
export async function main(argv: string[]): Promise<number> {
  const f = parseEngineFlags(argv);
  const log = createLogger();
  const limits = { ...defaultEngineLimits(), ...f.limits };
  const identity = engineIdentity({
    name: f.name,
    group: f.group,
    node: f.node,
    zone: f.zone,
    version: version(),
    limits: { maxConnections: limits.maxConnections, maxConnectionRate: limits.connectionRatePerClient },
  });
  // Before the engine starts: its worker processes inherit the environment at fork.
  if (!f.analytics) process.env[ANALYTICS_ENV] = "off";
  const engine = await createEnginePort(log, {
    workers: f.workers,
    accessLog: f.accessLog,
    wafLog: f.wafLog,
    limits: f.limits,
    reusePort: true,
  });
  let draining = false;
  let drainAsked: (deadlineMs: number) => void = () => {};
  const drainRequested = new Promise<number>((resolve) => (drainAsked = resolve));
  const [first, ...alternates] = f.controllers;
  const agent = new EngineAgent({
    ...first!,
    alternates,
    ca: f.ca,
    token: f.token,
    identity,
    engine,
    log,
    // The load report is also what `portico size` and autoscaling read (engine/load.ts).
    load: () => engine.load?.(),
    // Traffic figures for the controller's analytics (off with PORTICO_ANALYTICS=off).
    analytics: () => engine.analytics?.(),
    onDrain: (ms) => drainAsked(ms > 0 ? ms : f.drainTimeoutMs),
  });
  const controller = f.controllers.map((c) => `${c.host}:${c.port}`).join(",");
  const view = engineAdminView({
    engine,
    agent,
    controller,
    labels: { engine: identity.name, group: identity.group },
    draining: () => draining,
  });
  let admin;
  try {
    admin = await startAdmin(view, f.admin.host, f.admin.port, { log });
  } catch (err) {
    await engine.close();
    throw new CliError(`--admin ${f.admin.host}:${f.admin.port}: ${(err as Error).message}`, 1);
  }
  log("info", "engine started", {
    name: identity.name,
    group: identity.group,
    node: identity.node,
    controller,
    admin: admin.url,
    workers: f.workers,
    vcpu: identity.vcpu,
    memoryBytes: identity.memoryBytes,
  });
  agent.start();
  // Said once at start, where an operator reads it, rather than discovered as resets at a drain.
  if (readOptional("/proc/sys/net/ipv4/tcp_migrate_req")?.trim() === "0")
    log(
      "info",
      "net.ipv4.tcp_migrate_req is 0: at a drain, connections the kernel queued on this engine but it had not accepted yet are reset; set it to 1 (Linux 5.14+) so they move to the other engines on the same VIP:port",
    );

  const onSignal = () => drainAsked(f.drainTimeoutMs);
  process.once("SIGTERM", onSignal);
  process.once("SIGINT", onSignal);
  const deadlineMs = await drainRequested;
  draining = true;
  // A second signal ends the process at once.
  process.once("SIGTERM", () => process.exit(1));
  process.once("SIGINT", () => process.exit(1));
  agent.stop();
  log("info", "draining: announcements withdrawn first, then listeners close and open connections finish", {
    deadlineMs,
  });
  const started = performance.now();
  const finished = (await engine.drain?.(deadlineMs)) ?? true;
  const ms = Math.round(performance.now() - started);
  if (finished) log("info", "drained: every connection finished", { ms });
  else log("warn", "drain deadline passed; closing the connections still open", { ms });
  await engine.close();
  const closed = new Promise<void>((r) => admin.server.close(() => r()));
  admin.server.closeAllConnections();
  await closed;
  return 0;
}
