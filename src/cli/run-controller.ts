// run-controller.ts: the controller thread of `portico run` (a node:worker_threads Worker started
// by run.ts). File source, parsing, translation, IPAM, the state store and the admin API run here;
// the engine stays on the main thread and is reached through a RemoteEngine, so a big manifest
// costs this thread's time, never the data plane's.
import { parentPort, workerData } from "node:worker_threads";
import { bindError, CliError, splitHostPort, type CommonFlags } from "./args.ts";
import { createLogger, type Logger } from "../controller/log.ts";
import { Controller } from "../controller/standalone.ts";
import { RemoteEngine } from "../controller/engine-bridge.ts";
import type { EnginePort } from "../controller/standalone.ts";
import { Hub } from "../controller/fleet/hub.ts";
import { FleetPort } from "../controller/fleet/fleet-port.ts";
import { loadOrCreateCredentials } from "../link/credentials.ts";
import { hostname } from "node:os";
import { version } from "./version.ts";
import { readCalibration } from "../state/calibration.ts";
import { AcmeManager } from "../controller/acme/manager.ts";
import { FileSource, FileSourceError } from "../sources/file/source.ts";
import { openStateStore, type StateStore } from "../state/store.ts";
import { refuseLegacyDefault, stateDirOf } from "../state/location.ts";
import { StateError } from "../state/errors.ts";
import { startAdmin } from "../api/admin.ts";
import { vipTable } from "./vip-table.ts";
import { LargeInputGc } from "../controller/heap.ts";
import { RecheckTimer } from "../controller/recheck.ts";
import { AnalyticsStore } from "../analytics/store.ts";
import { AnalyticsPersistence } from "../analytics/persist.ts";

/** ControllerEvent is what this thread tells run.ts besides engine calls. A fatal event with an
 * exitCode is the user's to fix and is printed as one line; without one it is a fault. */
export type ControllerEvent =
  { type: "started" } | { type: "fatal"; message: string; exitCode?: number } | { type: "stopped" };

/** ControllerData is the workerData run.ts starts this thread with. */
export interface ControllerData {
  flags: CommonFlags;
}

const port = parentPort!;
const { flags } = workerData as ControllerData;
const tell = (e: ControllerEvent) => port.postMessage(e);
const log = createLogger();

/**
 * openState locks and opens the state directory, refusing a state file it cannot trust with a
 * StateError (one line, exit 1). One call, so it moves with whatever owns the store.
 */
function openState(log: Logger): { store: StateStore; stateDir: string } {
  const stateDir = stateDirOf(flags.stateDir);
  if (!flags.freshState) refuseLegacyDefault(flags.stateDir, stateDir);
  const store = openStateStore(stateDir, { fresh: flags.freshState });
  if (store.keptAside.length > 0)
    log("warn", "--fresh-state: saved state set aside", { files: store.keptAside });
  if (store.created)
    log("warn", "new state database: every LoadBalancer object gets a new address", { file: store.file });
  return { store, stateDir };
}

async function start(): Promise<() => Promise<void>> {
  // Whatever opened is closed again if a later step throws: the lock is released, the port freed.
  const undo: (() => unknown)[] = [];
  try {
    return await startAll(undo);
  } catch (err) {
    for (const fn of undo.reverse()) await Promise.resolve(fn()).catch(() => undefined);
    throw err;
  }
}

async function startAll(undo: (() => unknown)[]): Promise<() => Promise<void>> {
  const { store, stateDir } = openState(log);
  undo.push(() => store.close());
  const engine = await engineOf(store, stateDir, undo);
  const controller = new Controller(
    engine,
    store,
    {
      serveClasslessServices: flags.classless,
      ingressHttpPort: flags.httpPort,
      ingressHttpsPort: flags.httpsPort,
      standalone: true,
    },
    log,
  );
  undo.push(() => controller.close());
  // Traffic history per virtual service, kept in the state database across restarts; the engines'
  // batches (the local engine's and, with --engine-listen, every engine's) reach it through the
  // controller's analytics hook.
  const analytics = new AnalyticsStore();
  const history = new AnalyticsPersistence(analytics, store, log);
  const loaded = history.start();
  if (loaded > 0) log("info", "analytics history loaded", { buckets: loaded });
  undo.push(() => history.close());
  controller.setAnalytics(analytics);
  const { host, port: adminPort } = splitHostPort(flags.admin);
  let admin: Awaited<ReturnType<typeof startAdmin>>;
  // The issuer starts below; until then nothing is requested, so a renewal finds nothing.
  const acmeRef: { m?: AcmeManager } = {};
  try {
    const view = Object.assign(controller, {
      analytics: { store: analytics, snapshot: () => controller.snapshot() },
    });
    admin = await startAdmin(view, host, adminPort, {
      log,
      renew: (secret) => acmeRef.m?.renew(secret) ?? false,
    });
  } catch (err) {
    throw bindError(err, "--admin", flags.admin);
  }
  undo.push(() => {
    admin.server.close();
    admin.server.closeAllConnections();
  });
  log("info", "admin API listening", { url: admin.url, stateDir });

  // Updates are serialised: a burst of file changes applies in order, one snapshot at a time.
  let chain = Promise.resolve();
  let printed = false;
  // Certificates expire with no input changing: rebuild from the last set when one's state is next
  // due to change (expired, valid, a day less left), so it is replaced and reported on time.
  let lastSet: Parameters<typeof controller.update>[0] | undefined;
  const recheck = new RecheckTimer(() => {
    const set = lastSet;
    chain = chain
      .then(() => (set !== undefined ? controller.update(set) : undefined))
      .then(scheduleRecheck)
      .catch((err) => log("error", "update failed", { error: String(err) }));
  });
  const scheduleRecheck = () => recheck.schedule(lastSet === undefined ? undefined : controller.recheckAt());
  undo.push(() => recheck.stop());
  const heap = new LargeInputGc();
  // The built-in ACME issuer: its orders re-apply the last set (issued Secrets, challenges).
  const reapply = () => {
    chain = chain
      .then(() => (lastSet ? controller.update(lastSet) : undefined))
      .then(scheduleRecheck)
      .catch((err) => log("error", "update failed", { error: String(err) }));
    return chain;
  };
  const acme = new AcmeManager({ store, log, refresh: reapply, dns: controller });
  acmeRef.m = acme;
  controller.setExtras(acme);
  undo.push(() => acme.close());
  const source = new FileSource(
    flags.positionals,
    log,
    (set) => {
      lastSet = set;
      acme.sync(set);
      chain = chain
        .then(() => controller.update(set))
        .then(scheduleRecheck)
        // After a large input arrives or leaves, give its memory back rather than keep it idle.
        .then(() => {
          if (heap.observe(source.inputBytes())) log("debug", "controller heap collected");
        })
        .catch((err) => log("error", "update failed", { error: String(err) }));
    },
    flags.reload.timing,
    flags.reload.limits,
    store,
  );
  controller.onUpdate(() => {
    const served = controller.snapshot();
    if (printed || served === undefined) return;
    printed = true;
    process.stdout.write(vipTable(served, admin.url, controller.listenerStatus()));
  });
  undo.push(() => source.close());
  await source.start();
  return async () => {
    recheck.stop();
    await source.close();
    await chain;
    admin.server.close();
    admin.server.closeAllConnections();
    acme.close();
    controller.close();
    // The hub's links close with it; the main thread's engine is closed by run.ts.
    await engine.close();
    history.close();
    store.close();
  };
}

/**
 * engineOf is the controller's EnginePort: the main thread's engine (a RemoteEngine over the
 * thread port) or, with --engine-listen, a FleetPort over it (unless --no-local-engine) and the
 * engines that dial the hub. The hub's credentials live in the state directory; the epoch is
 * bumped in the state database at each start.
 */
async function engineOf(store: StateStore, stateDir: string, undo: (() => unknown)[]): Promise<EnginePort> {
  const local = flags.localEngine ? new RemoteEngine(port) : undefined;
  if (flags.engineListen === undefined) return local!;
  const creds = loadOrCreateCredentials(stateDir);
  if (creds.created.length > 0) log("warn", "engine link credentials created", { files: creds.created });
  const epoch = store.bumpEpoch();
  const hub = new Hub({
    certPem: creds.certPem,
    keyPem: creds.keyPem,
    token: creds.token,
    epoch,
    controller: hostname(),
    log,
  });
  let address: string;
  let dial: string;
  try {
    const { host, port: enginePort } = splitHostPort(flags.engineListen);
    const a = await hub.listen(host, enginePort);
    address = a.family === "IPv6" ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`;
    // Bound to every interface: an engine dials this host by name, not 0.0.0.0.
    if (a.address === "0.0.0.0" || a.address === "::") dial = `${hostname()}:${a.port}`;
    else dial = address;
  } catch (err) {
    await hub.close();
    throw bindError(err, "--engine-listen", flags.engineListen);
  }
  const fleet = new FleetPort({
    hub,
    ...(local ? { local } : {}),
    log,
    version: version(),
    // Read per view: `portico size --calibrate` may write it while Portico runs.
    calibration: () => readCalibrationQuietly(stateDir, log),
  });
  undo.push(() => fleet.close());
  // One line with everything an engine needs (the token file's path, never the token).
  log("info", "engine port listening", {
    address,
    epoch,
    ca: creds.files.ca,
    token: creds.files.token,
    run: `portico engine --controller ${dial} --ca-file ${creds.files.ca} --token-file ${creds.files.token}`,
  });
  return fleet;
}

/** exitCodeOf says how main should end for err: 2 for a usage error, 1 for a refused state file. */
function exitCodeOf(err: unknown): number | undefined {
  if (err instanceof CliError) return err.exitCode;
  if (err instanceof FileSourceError) return 2;
  if (err instanceof StateError) return 1;
  return undefined;
}

try {
  const stop = await start();
  // The port also carries engine replies: only a stop message stops.
  port.on("message", (m: { type?: string }) => {
    if (m?.type === "stop") void stop().finally(() => tell({ type: "stopped" }));
  });
  tell({ type: "started" });
} catch (err) {
  const exitCode = exitCodeOf(err);
  const message = exitCode === undefined ? ((err as Error).stack ?? String(err)) : (err as Error).message;
  tell({ type: "fatal", message, ...(exitCode !== undefined ? { exitCode } : {}) });
}

/** readCalibrationQuietly is the state dir's calibration, or undefined (a damaged file is logged once). */
let calibrationWarned = "";
function readCalibrationQuietly(dir: string, log: Logger): ReturnType<typeof readCalibration> {
  try {
    return readCalibration(dir);
  } catch (e) {
    const msg = (e as Error).message;
    if (msg !== calibrationWarned) log("warn", "calibration not read", { error: msg });
    calibrationWarned = msg;
    return undefined;
  }
}
