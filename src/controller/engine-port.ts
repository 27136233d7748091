// engine-port.ts: the engine behind the controller's EnginePort — in this process (workers: 1),
// or a WorkerGroup of engine processes sharing the VIP listeners (workers > 1). apply() resolves
// once every listener made its first bind attempt; status() reports how each bind went (readiness).
import { availableParallelism, tmpdir } from "node:os";
import { drainWithin, Engine } from "../engine/engine.ts";
import { LIMITS_ENV, workerLimits, type EngineLimits } from "../engine/limits.ts";
import { compileHttp } from "../engine/l7/compile.ts";
import { LoadSampler } from "../engine/load.ts";
import { startCollector } from "../analytics/collector.ts";
import { Metrics } from "../engine/metrics.ts";
import { WorkerGroup } from "../engine/workers/group.ts";
import { METRICS_PUSH_MS } from "../engine/workers/protocol.ts";
import { ACCESS_LOG_STOP_MS, startAccessLog } from "../engine/access-log.ts";
import { departNow } from "../engine/net/write-batch.ts";
import { startWafLog } from "../engine/waf-log.ts";
import type { EnginePort } from "./standalone.ts";
import type { Logger } from "./log.ts";
import { withAnnouncer } from "./announce-port.ts";
import { BirdDriver } from "../announce/bird/driver.ts";
import { join } from "node:path";
import type { Announcer, BgpDriver } from "../announce/types.ts";

/** EnginePortOptions: workers is the number of engine processes (1: in-process). */
export interface EnginePortOptions {
  workers?: number;
  /** accessLog, when set, is a file (or "-" for stdout) that gets a JSON line per HTTP request. */
  accessLog?: string;
  /** wafLog, when set, is a file (or "-") that gets a JSON line per exchange with WAF hits. */
  wafLog?: string;
  /** limits set by flags; with workers, each worker applies its share (limits.ts workerLimits). */
  limits?: Partial<EngineLimits>;
  /** reusePort binds the in-process engine's listeners with SO_REUSEPORT (workers always do), so
   * several `portico engine` processes on one machine serve the same VIP:port. */
  reusePort?: boolean;
  /** bgp makes the BGP driver for snapshots that announce VIPs by BGP (default: a BirdDriver). */
  bgp?: () => BgpDriver;
  /** announcer replaces the kernel announcer (tests that must not touch this host's addresses). */
  announcer?: () => Announcer;
  /** soleAnnouncer: no fleet sends this engine snapshots (`portico run` without --engine-listen; withAnnouncer's sole). */
  soleAnnouncer?: boolean;
}

/** resolveWorkers turns a --workers value ("auto", a count, or nothing) into a count ≥ 1. */
export function resolveWorkers(text: string | undefined): number {
  if (text === undefined || text === "") return 1;
  if (text === "auto") return availableParallelism();
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > 256)
    throw new Error(`--workers must be 1-256 or "auto", not "${text}"`);
  return n;
}

/**
 * createEnginePort starts the engine: in this process, or as a group of worker processes. Either
 * announces the VIPs of snapshots that carry `announce` (announce-port.ts; nothing runs otherwise).
 */
export async function createEnginePort(log: Logger, opts: EnginePortOptions = {}): Promise<EnginePort> {
  // BGP runs the engine's own BIRD; its files (the config holds peer passwords, the control
  // socket) go in a 0700 directory of this process under the temporary directory (a memory /tmp
  // in the engine's pod), named by pid so engines sharing a machine never share a BIRD.
  const bgp =
    opts.bgp ?? (() => new BirdDriver({ runDir: join(tmpdir(), `portico-bird-${process.pid}`), log }));
  return withAnnouncer(await startEngine(log, opts), {
    log,
    bgp,
    create: opts.announcer,
    sole: opts.soleAnnouncer === true,
  });
}

async function startEngine(log: Logger, opts: EnginePortOptions): Promise<EnginePort> {
  const workers = opts.workers ?? 1;
  if (workers > 1) {
    // Workers inherit the environment at fork; each opens the access log itself.
    if (opts.accessLog) process.env.PORTICO_ACCESS_LOG = opts.accessLog;
    if (opts.wafLog) process.env.PORTICO_WAF_LOG = opts.wafLog;
    if (opts.limits) process.env[LIMITS_ENV] = JSON.stringify(workerLimits(opts.limits, workers));
    const group = await WorkerGroup.start({ workers, log });
    log("info", "engine workers started", { workers, pids: group.workers().map((w) => w.pid) });
    return group;
  }
  const changed = new Set<() => void>();
  const engine = new Engine({
    compileHttp,
    log,
    limits: opts.limits,
    reusePort: opts.reusePort,
    onListenerChange: () => changed.forEach((fn) => fn()),
  });
  const metrics = new Metrics({
    endpoints: () => engine.status().endpoints,
    connections: () => engine.connections(),
  }).subscribe();
  const load = new LoadSampler({ connectionsOpen: () => engine.connections().active }).subscribe();
  // Off with PORTICO_ANALYTICS=off (`portico run --analytics off`), as in the workers.
  const analytics = startCollector(() => engine.snapshot?.analytics);
  const stopAccessLog = opts.accessLog ? startAccessLog(opts.accessLog) : undefined;
  const stopWafLog = opts.wafLog ? startWafLog(opts.wafLog) : undefined;
  // While a listener fails, its attempt count climbs without a change event (listeners.ts reports
  // real changes only); tell subscribers once a second then, as workers do with their metrics push.
  const retrying = setInterval(() => {
    if (engine.listenerStatus().some((l) => l.state === "error")) changed.forEach((fn) => fn());
  }, METRICS_PUSH_MS).unref();
  return {
    async apply(snapshot) {
      const result = engine.apply(snapshot);
      if (result.ok) await engine.settled();
      return result;
    },
    metrics: () => metrics.render(),
    status: () => engine.status(),
    load: () => load.sample(),
    analytics: () => analytics?.take(),
    cutAnalytics: () => analytics?.cut(),
    onListenerChange: (fn) => void changed.add(fn),
    drain: (deadlineMs) => drainWithin(engine, deadlineMs),
    async close() {
      clearInterval(retrying);
      // Exchanges that finished earlier in this turn publish their events before the unsubscribe.
      departNow();
      metrics.close();
      load.close();
      analytics?.close();
      const logged = stopAccessLog?.(ACCESS_LOG_STOP_MS);
      stopWafLog?.();
      await engine.close();
      await logged;
    },
  };
}
