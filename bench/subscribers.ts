// subscribers.ts: `npm run bench:subscribers` — what each subscriber of the engine's response event
// costs per event, in one process: no sockets, so the figure does not swing with whatever else
// runs on the machine as bench:user-causes' do. Events shaped as a keep-alive request's (every
// field, all four timings) are published on the real channel to the subscribers `portico run`
// has: Prometheus metrics (engine/metrics.ts), the load sampler (engine/load.ts) and the
// analytics collector (analytics/collector.ts); "noop" is a subscriber that does nothing (the
// publish alone). Each set runs in its own child process (the others' code stays cold), best of
// several runs, and reports CPU ns per event (collections included, at the engine's young
// generation size) and the bytes allocated per event: the heap's growth over a few thousand
// events that fit in the young generation, read only when no collection ran meanwhile.
//   --sets=a,b     subscriber sets (default none,noop,metrics,load,analytics,metrics+load+analytics)
//   --events=N     events per run (default 200000)
//   --runs=N       runs per set, the best one reported (default 5)
import { execFileSync } from "node:child_process";
import { channel, subscribe } from "node:diagnostics_channel";
import { PerformanceObserver } from "node:perf_hooks";
import { parseArgs } from "node:util";
import { startCollector } from "../src/analytics/collector.ts";
import { HTTP_RESPONSE_CHANNEL, type HttpResponseEvent } from "../src/engine/l7/events.ts";
import { LoadSampler } from "../src/engine/load.ts";
import { Metrics } from "../src/engine/metrics.ts";

const { values: opt } = parseArgs({
  options: {
    sets: { type: "string", default: "none,noop,metrics,load,analytics,metrics+load+analytics" },
    events: { type: "string", default: "200000" },
    runs: { type: "string", default: "5" },
    child: { type: "string" },
  },
});
const N = Number(opt.events);

/** event is one keep-alive GET's response event as Exchange.depart builds it; i varies the times. */
function event(i: number): HttpResponseEvent {
  const d = 0.2 + (i % 100) / 1000;
  return {
    listener: "IngressClass/portico:80",
    route: "Ingress/bench/web#0.0",
    vhost: "*",
    pool: "bench/web:80",
    backend: "127.0.0.2:8080",
    status: 200,
    durationMs: d,
    bytesIn: 0,
    bytesOut: 612,
    client: "127.0.0.1",
    method: "GET",
    authority: "bench.local",
    path: "/",
    protocol: "HTTP/1.1",
    error: "",
    timings: { request: d / 4, connect: 0, ttfb: d / 2, transfer: d / 4 },
    tls: "",
    userAgent: "wrk",
  };
}

/** measure subscribes the set and publishes N events (after a warm-up); prints one JSON line. */
async function measure(set: string): Promise<void> {
  if (set.includes("metrics")) new Metrics({ connections: () => ({ active: 1, max: 0 }) }).subscribe();
  if (set.includes("load")) new LoadSampler({ connectionsOpen: () => 1 }).subscribe();
  if (set.includes("analytics")) {
    // As engine-port.ts starts it (settings of no snapshot: the defaults); the heartbeat takes batches.
    const shipper = startCollector(() => undefined, {});
    setInterval(() => shipper?.take(), 1000).unref();
  }
  if (set.includes("noop")) subscribe(HTTP_RESPONSE_CHANNEL, () => {});
  const ch = channel(HTTP_RESPONSE_CHANNEL);
  let collections = 0;
  new PerformanceObserver((l) => (collections += l.getEntries().length)).observe({ entryTypes: ["gc"] });
  for (let i = 0; i < 3 * N; i++) ch.publish(event(i));
  // Let the observer report the warm-up's collections before counting.
  await new Promise((r) => setTimeout(r, 50));
  const cpu = process.cpuUsage();
  for (let i = 0; i < N; i++) ch.publish(event(i));
  const used = process.cpuUsage(cpu);
  // A collection now, so the young generation is empty and the few events below fit in it.
  await new Promise((r) => setTimeout(r, 50));
  const few = 4000;
  let bytes: number | undefined;
  for (let tries = 0; tries < 5 && bytes === undefined; tries++) {
    const before = collections;
    const heap = process.memoryUsage().heapUsed;
    for (let i = 0; i < few; i++) ch.publish(event(i));
    const grown = process.memoryUsage().heapUsed - heap;
    await new Promise((r) => setTimeout(r, 20));
    if (collections === before) bytes = grown / few;
  }
  console.log(JSON.stringify({ ns: ((used.user + used.system) * 1000) / N, bytes }));
}

if (opt.child !== undefined) await measure(opt.child);
else {
  const rows: string[] = [];
  for (const set of opt.sets.split(",")) {
    const runs = Array.from({ length: Number(opt.runs) }, () => {
      const out = execFileSync(
        process.execPath,
        // The young generation Portico runs with (scripts/node.sh).
        ["--max-semi-space-size=8", import.meta.filename, `--child=${set}`, `--events=${N}`],
        { encoding: "utf8" },
      );
      return JSON.parse(out.trim().split("\n").at(-1)!) as { ns: number; bytes?: number };
    });
    const best = runs.reduce((a, b) => (b.ns < a.ns ? b : a));
    const bytes = runs.map((r) => r.bytes).filter((b) => b !== undefined);
    rows.push(
      `| ${set} | ${best.ns.toFixed(0)} | ${bytes.length > 0 ? Math.min(...bytes).toFixed(0) : "?"} | ${runs.map((r) => r.ns.toFixed(0)).join(", ")} |`,
    );
  }
  console.log(
    [
      `${N} response events per run, best of ${opt.runs} runs (CPU time; each set in its own process)`,
      "",
      "| subscribers | ns/event | bytes/event | every run, ns |",
      "| --- | ---: | ---: | --- |",
      ...rows,
    ].join("\n"),
  );
}
