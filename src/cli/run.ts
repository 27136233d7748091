// run.ts: `portico run DIR...` — serve the manifests in DIR until interrupted. The engine (the
// data plane) runs on this thread; the controller (files, parsing, translation, IPAM, state, admin
// API) in a worker thread, run-controller.ts, so reading a big manifest never pauses traffic.
import { Worker } from "node:worker_threads";
import { serverToken } from "./admin-token.ts";
import { parseCommon, CliError, refuseFlags, splitHostPort, type CommonFlags } from "./args.ts";
import { createLogger } from "../controller/log.ts";
import { createEnginePort, resolveWorkers } from "../controller/engine-port.ts";
import { flushAnalytics, serveEngine } from "../controller/engine-bridge.ts";
import type { ControllerData, ControllerEvent } from "./run-controller.ts";
import { requireDirs } from "./dirs.ts";
import { ANALYTICS_ENV } from "../analytics/types.ts";

// The build (.cache/dist) holds .js files; tests run the .ts sources.
const controllerFile = new URL(
  import.meta.url.endsWith(".ts") ? "./run-controller.ts" : "./run-controller.js",
  import.meta.url,
);

/** main runs until SIGINT/SIGTERM; resolves with the exit code. */
export async function main(argv: string[]): Promise<number> {
  const flags = parseCommon(argv);
  if (flags.positionals.length === 0)
    throw new CliError("give at least one directory of manifests, e.g. portico run examples/quickstart");
  // Before anything is opened or bound: a wrong path leaves nothing behind.
  requireDirs(flags.positionals);
  // Fail closed, also before anything starts: a non-loopback --admin without a token is refused.
  serverToken(flags.admin, flags.adminTokenFile);
  const log = createLogger();
  let workers: number;
  try {
    workers = resolveWorkers(flags.workers);
  } catch (err) {
    throw new CliError((err as Error).message);
  }
  checkEngineFlags(flags);
  // Before the engine starts: its worker processes inherit the environment at fork.
  if (!flags.analytics) process.env[ANALYTICS_ENV] = "off";
  // --no-local-engine: a pure controller; the engines that dial --engine-listen serve the traffic.
  const engine = flags.localEngine
    ? await createEnginePort(log, {
        workers,
        accessLog: flags.accessLog,
        wafLog: flags.wafLog,
        limits: flags.limits,
        // Without a fleet no snapshot comes to end a freeze's withdrawal (announce-port.ts).
        soleAnnouncer: flags.engineListen === undefined,
      })
    : undefined;
  const controller = new Worker(controllerFile, { workerData: { flags } satisfies ControllerData });
  const stopServing = engine ? serveEngine(controller, engine) : () => undefined;
  const events = (type: ControllerEvent["type"]) =>
    new Promise<ControllerEvent>((resolve) => {
      const on = (m: ControllerEvent) => {
        if (m?.type !== type && m?.type !== "fatal") return;
        controller.off("message", on);
        resolve(m);
      };
      controller.on("message", on);
    });
  // The controller thread must not die unseen: without it nothing reloads and the admin API is gone.
  const died = new Promise<string>((resolve) => {
    controller.once("error", (e) => resolve(`controller thread failed: ${e.stack ?? String(e)}`));
    controller.once("exit", (code) => resolve(`controller thread exited (code ${code})`));
  });

  const first = await Promise.race([events("started"), died]);
  if (typeof first === "string" || first.type === "fatal") {
    stopServing();
    await controller.terminate();
    await engine?.close();
    if (typeof first === "string") throw new Error(first);
    // The user's to fix (a usage error: exit 2; a refused state directory: exit 1): one line.
    if (first.exitCode !== undefined) throw new CliError(first.message, first.exitCode);
    throw new Error(first.message);
  }

  const why = await Promise.race([
    died,
    new Promise<undefined>((done) => {
      process.once("SIGINT", () => done(undefined));
      process.once("SIGTERM", () => done(undefined));
      // A closed stdout/stderr (the parent went away) ends the run instead of failing every log line.
      for (const stream of [process.stdout, process.stderr]) stream.on("error", () => done(undefined));
    }),
  ]);
  if (why) {
    log("error", why);
    stopServing();
    await engine?.close();
    return 1;
  }
  log("info", "shutting down");
  // A second signal, or a shutdown stuck past 10 s, ends the process at once.
  const force = () => process.exit(1);
  process.once("SIGINT", force);
  process.once("SIGTERM", force);
  setTimeout(force, 10_000).unref();
  // The controller finishes its last update (the engine still answers), then the engine closes.
  const stopped = events("stopped");
  // The interval still being counted goes first, so the controller saves it with its history.
  if (engine) await flushAnalytics(controller, engine);
  controller.postMessage({ type: "stop" });
  await Promise.race([stopped, died]);
  stopServing();
  await controller.terminate();
  await engine?.close();
  return 0;
}

/** checkEngineFlags refuses engine flags that cannot work together, before anything starts. */
function checkEngineFlags(flags: CommonFlags): void {
  if (flags.engineListen !== undefined) {
    try {
      splitHostPort(flags.engineListen);
    } catch (err) {
      throw new CliError(`--engine-listen: ${(err as Error).message}`);
    }
  }
  if (flags.localEngine) return;
  if (flags.engineListen === undefined)
    throw new CliError(
      "--no-local-engine needs --engine-listen HOST:PORT: without the in-process engine, remote engines serve the traffic",
    );
  refuseFlags(
    flags,
    [
      "--workers",
      "--access-log",
      "--waf-log",
      "--max-connections",
      "--max-connections-per-listener",
      "--max-connection-rate",
      "--request-body-buffer",
      "--request-body-timeout",
      "--analytics",
    ],
    "these configure the in-process engine, which --no-local-engine turns off (set them on each portico engine)",
  );
}
