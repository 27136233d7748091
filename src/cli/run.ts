// run.ts: `portico run DIR...` — serve the manifests in DIR until interrupted.
import { parseCommon, splitHostPort, CliError, type CommonFlags } from "./args.ts";
import { createLogger, type Logger } from "../controller/log.ts";
import { Controller } from "../controller/standalone.ts";
import { createEnginePort, resolveWorkers } from "../controller/engine-port.ts";
import { FileSource } from "../sources/file/source.ts";
import { openStateStore, type StateStore } from "../state/store.ts";
import { refuseLegacyDefault, stateDirOf } from "../state/location.ts";
import { startAdmin } from "../api/admin.ts";
import { vipTable } from "./vip-table.ts";
import { requireDirs } from "./dirs.ts";

/**
 * openState locks and opens the state directory, refusing a state file it cannot trust with a
 * StateError that main prints as one line. One call, so it moves with whatever owns the store.
 */
function openState(flags: CommonFlags, log: Logger): { store: StateStore; stateDir: string } {
  const stateDir = stateDirOf(flags.stateDir);
  if (!flags.freshState) refuseLegacyDefault(flags.stateDir, stateDir);
  const store = openStateStore(stateDir, { fresh: flags.freshState });
  if (store.keptAside.length > 0)
    log("warn", "--fresh-state: saved state set aside", { files: store.keptAside });
  if (store.created)
    log("warn", "new state database: every LoadBalancer object gets a new address", { file: store.file });
  return { store, stateDir };
}

/** main runs until SIGINT/SIGTERM; resolves with the exit code. */
export async function main(argv: string[]): Promise<number> {
  const flags = parseCommon(argv);
  const dirs = flags.positionals;
  if (dirs.length === 0)
    throw new CliError("give at least one directory of manifests, e.g. portico run examples/quickstart");
  requireDirs(dirs);
  const log = createLogger();
  const { store, stateDir } = openState(flags, log);
  let workers: number;
  try {
    workers = resolveWorkers(flags.workers);
  } catch (err) {
    throw new CliError((err as Error).message);
  }
  const engine = await createEnginePort(log, { workers, accessLog: flags.accessLog, limits: flags.limits });
  const controller = new Controller(
    engine,
    store,
    {
      serveClasslessServices: flags.classless,
      ingressHttpPort: flags.httpPort,
      ingressHttpsPort: flags.httpsPort,
    },
    log,
  );
  const { host, port } = splitHostPort(flags.admin);
  const admin = await startAdmin(controller, host, port);
  log("info", "admin API listening", { url: admin.url, stateDir });

  // Updates are serialised: a burst of file changes applies in order, one snapshot at a time.
  let chain = Promise.resolve();
  let printed = false;
  const source = new FileSource(
    dirs,
    log,
    (set) => {
      chain = chain
        .then(() => controller.update(set))
        .catch((err) => log("error", "update failed", { error: String(err) }));
    },
    {},
    store,
  );
  controller.onUpdate(() => {
    const served = controller.snapshot();
    if (printed || served === undefined) return;
    printed = true;
    process.stdout.write(vipTable(served, admin.url, controller.listenerStatus()));
  });
  await source.start();

  await new Promise<void>((done) => {
    process.once("SIGINT", done);
    process.once("SIGTERM", done);
    // A closed stdout/stderr (the parent went away) ends the run instead of failing every log line.
    for (const stream of [process.stdout, process.stderr]) stream.on("error", () => done());
  });
  log("info", "shutting down");
  // A second signal, or a shutdown stuck past 10 s, ends the process at once.
  const force = () => process.exit(1);
  process.once("SIGINT", force);
  process.once("SIGTERM", force);
  setTimeout(force, 10_000).unref();
  source.close();
  await chain;
  admin.server.close();
  await engine.close();
  controller.close();
  store.close();
  return 0;
}
