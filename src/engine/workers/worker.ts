// worker.ts: the entry point of one engine worker process (forked by WorkerGroup). It runs an
// Engine whose listeners share their VIP:port with the other workers (SO_REUSEPORT: the kernel
// spreads new connections), applies every snapshot the group sends, and answers ACK/NACK once its
// listeners made their first bind attempt. It exits when the group goes away.
import type { CompileDeps } from "../contracts.ts";
import { drainWithin, Engine } from "../engine.ts";
import { LIMITS_ENV, type EngineLimits } from "../limits.ts";
import { compileHttp } from "../l7/compile.ts";
import { LoadSampler } from "../load.ts";
import { startCollector } from "../../analytics/collector.ts";
import { Metrics } from "../metrics.ts";
import { ACCESS_LOG_STOP_MS, startAccessLog } from "../access-log.ts";
import { departNow } from "../net/write-batch.ts";
import { startWafLog } from "../waf-log.ts";
import { METRICS_PUSH_MS, type FromWorker, type ToWorker } from "./protocol.ts";

const id = process.env.PORTICO_WORKER_ID ?? "?";
// Log lines go straight to the inherited stderr, in the controller's JSON line format.
const rank = { debug: 0, info: 1, warn: 2, error: 3 } as const;
const floor = rank[process.env.PORTICO_LOG_LEVEL as keyof typeof rank] ?? rank.info;
const log: CompileDeps["log"] = (level, msg, fields) => {
  if (rank[level] < floor) return;
  const line = { time: new Date().toISOString(), level, msg, worker: id, ...fields };
  process.stderr.write(JSON.stringify(line) + "\n");
};
// Limits set by `portico run` flags arrive as this worker's share (limits.ts workerLimits).
const limits = process.env[LIMITS_ENV] ? (JSON.parse(process.env[LIMITS_ENV]) as Partial<EngineLimits>) : {};
// The group merges every worker's bind state, so a change is pushed at once (the listener manager
// calls this once per burst of real changes), not with metrics.
const engine: Engine = new Engine({
  compileHttp,
  log,
  reusePort: true,
  limits,
  onListenerChange: () => send({ type: "status", status: engine.status() }),
});
const metrics = new Metrics({
  endpoints: () => engine.status().endpoints,
  connections: () => engine.connections(),
});
// The benchmark turns counters off (like its references): then there is no load report either.
const counting = process.env.PORTICO_WORKER_METRICS !== "0";
if (counting) metrics.subscribe();
const load = counting
  ? new LoadSampler({ connectionsOpen: () => engine.connections().active }).subscribe()
  : undefined;
// Analytics ride the same push; off with counters, or with PORTICO_ANALYTICS=off (`--analytics off`).
const analytics = counting ? startCollector(() => engine.snapshot?.analytics) : undefined;
// Every worker appends its own requests to the same access log (lines are written whole).
const stopAccessLog = process.env.PORTICO_ACCESS_LOG
  ? startAccessLog(process.env.PORTICO_ACCESS_LOG)
  : undefined;
const stopWafLog = process.env.PORTICO_WAF_LOG ? startWafLog(process.env.PORTICO_WAF_LOG) : undefined;

function send(m: FromWorker): void {
  if (process.connected) process.send!(m);
}

// Snapshots apply one at a time, in the order they came.
let chain = Promise.resolve();
process.on("message", (m: ToWorker) => {
  if (m.type === "close") return void shutdown();
  if (m.type === "drain") return void drain(m.deadlineMs);
  if (m.type === "cut") return void shipLast().then(() => send({ type: "shipped" }));
  if (m.type !== "apply") return;
  chain = chain.then(async () => {
    const result = engine.apply(m.snapshot);
    if (result.ok) await engine.settled();
    send({ type: "applied", id: m.id, result, status: engine.status() });
  });
});

// A failing listener's attempt count moves every retry: it rides here, not in a status message each.
const push = setInterval(() => {
  const batch = analytics?.take();
  const listeners = engine.listenerStatus();
  const failing = listeners.some((l) => l.state === "error");
  send({
    type: "metrics",
    text: metrics.render(),
    ...(failing ? { listeners } : {}),
    ...(load ? { load: load.sample() } : {}),
    ...(batch ? { analytics: batch } : {}),
  });
}, METRICS_PUSH_MS);
push.unref();

// shipLast cuts the interval still being counted and sends it with every batch still queued (one
// message each: the queue holds one per interval), so a worker's last seconds (a drain's finishing
// connections) are not lost when it exits; resolves once the channel took the messages.
function shipLast(): Promise<void> {
  // Exchanges that finished earlier in this turn publish their events now, not after the unsubscribe.
  departNow();
  analytics?.cut();
  const sent: Promise<void>[] = [];
  for (let batch = analytics?.take(); batch !== undefined && process.connected; batch = analytics?.take()) {
    const m: FromWorker = { type: "metrics", text: metrics.render(), analytics: batch };
    sent.push(new Promise((done) => process.send!(m, undefined, {}, () => done())));
  }
  return Promise.all(sent).then(() => undefined);
}

let closing = false;
async function shutdown(): Promise<void> {
  if (closing) return;
  closing = true;
  clearInterval(push);
  await shipLast();
  metrics.close();
  load?.close();
  analytics?.close();
  const logged = stopAccessLog?.(ACCESS_LOG_STOP_MS);
  stopWafLog?.();
  await engine.close();
  // exit cuts the access log's last asynchronous write: wait for the stream's finish, but
  // not for good (a reader alive and not reading): the worker must not outlive its group.
  await logged;
  process.exit(0);
}
// drain lets open connections finish (up to the deadline) with the listeners closed, then exits.
async function drain(deadlineMs: number): Promise<void> {
  const ok = await drainWithin(engine, deadlineMs);
  // Before "drained": the group holds the last batch by the time its drain resolves.
  await shipLast();
  send({ type: "drained", ok });
  await shutdown();
}

// The group died or closed the channel: a worker must never outlive it.
process.on("disconnect", () => void shutdown());
// The group decides when a worker stops: a terminal's ^C, or systemd's SIGTERM to the whole
// control group, reaches every process, and a worker that quit at once would cut the connections
// a draining `portico engine` is letting finish. A group that is gone still ends it (disconnect).
process.on("SIGTERM", () => {});
process.on("SIGINT", () => {});
send({ type: "ready" });
