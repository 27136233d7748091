// run-controller.ts: the controller thread of `portico run` (a node:worker_threads Worker started
// by run.ts). File source, parsing, translation, IPAM, the state store and the admin API run here;
// the engine stays on the main thread and is reached through a RemoteEngine, so a big manifest
// costs this thread's time, never the data plane's.
import { parentPort, workerData } from "node:worker_threads";
import { resolve } from "node:path";
import { splitHostPort, type CommonFlags } from "./args.ts";
import { createLogger } from "../controller/log.ts";
import { Controller } from "../controller/standalone.ts";
import { RemoteEngine } from "../controller/engine-bridge.ts";
import { FileSource, FileSourceError } from "../sources/file/source.ts";
import { openStateStore } from "../state/store.ts";
import { startAdmin } from "../api/admin.ts";
import { vipTable } from "./vip-table.ts";
import { LargeInputGc } from "../controller/heap.ts";

/** ControllerEvent is what this thread tells run.ts besides engine calls. */
export type ControllerEvent =
  { type: "started" } | { type: "fatal"; message: string; usage: boolean } | { type: "stopped" };

/** ControllerData is the workerData run.ts starts this thread with. */
export interface ControllerData {
  flags: CommonFlags;
}

const port = parentPort!;
const { flags } = workerData as ControllerData;
const tell = (e: ControllerEvent) => port.postMessage(e);
const log = createLogger();

async function start(): Promise<() => Promise<void>> {
  const stateDir = resolve(flags.stateDir ?? ".portico");
  const store = openStateStore(stateDir);
  const controller = new Controller(
    new RemoteEngine(port),
    store,
    {
      serveClasslessServices: flags.classless,
      ingressHttpPort: flags.httpPort,
      ingressHttpsPort: flags.httpsPort,
    },
    log,
  );
  const { host, port: adminPort } = splitHostPort(flags.admin);
  const admin = await startAdmin(controller, host, adminPort);
  log("info", "admin API listening", { url: admin.url, stateDir });

  // Updates are serialised: a burst of file changes applies in order, one snapshot at a time.
  let chain = Promise.resolve();
  let printed = false;
  const heap = new LargeInputGc();
  const source = new FileSource(
    flags.positionals,
    log,
    (set) => {
      chain = chain
        .then(() => controller.update(set))
        // After a large input arrives or leaves, give its memory back rather than keep it idle.
        .then(() => {
          if (heap.observe(source.inputBytes())) log("debug", "controller heap collected");
        })
        .catch((err) => log("error", "update failed", { error: String(err) }));
    },
    flags.reload.timing,
    flags.reload.limits,
  );
  controller.onUpdate(() => {
    if (printed || !controller.ready()) return;
    printed = true;
    process.stdout.write(vipTable(controller.snapshot()!, admin.url));
  });
  await source.start();
  return async () => {
    await source.close();
    await chain;
    admin.server.close();
    admin.server.closeAllConnections();
    store.close();
  };
}

try {
  const stop = await start();
  // The port also carries engine replies: only a stop message stops.
  port.on("message", (m: { type?: string }) => {
    if (m?.type === "stop") void stop().finally(() => tell({ type: "stopped" }));
  });
  tell({ type: "started" });
} catch (err) {
  // A missing directory is the user's to fix (exit 2, like other usage errors); others are faults.
  tell({ type: "fatal", message: (err as Error).message, usage: err instanceof FileSourceError });
}
