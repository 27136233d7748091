// load.ts: what an engine process reports about its own load (EngineLoad, link/protocol.ts) — the
// signal sizing and autoscaling divide by capacity (controller/fleet/sizing.ts). Counters come from
// the diagnostics_channel events the engine already publishes for metrics (responses, connections,
// L4 sessions, TLS handshakes); the process figures from Node's own clocks: CPU time
// (process.cpuUsage), event-loop utilisation and event-loop delay (perf_hooks). Nothing here runs
// on the request path except one subscriber call per event that adds to a number.
import { subscribe, unsubscribe } from "node:diagnostics_channel";
import { monitorEventLoopDelay, performance, type EventLoopUtilization } from "node:perf_hooks";
import type { EngineLoad } from "../link/protocol.ts";
import { L4_SESSION_CHANNEL, type L4SessionEvent } from "./l4/events.ts";
import { CONNECTION_CHANNEL, HTTP_RESPONSE_CHANNEL, type HttpResponseEvent } from "./l7/events.ts";
import { TLS_HANDSHAKE_CHANNEL } from "./tls/terminate.ts";

/** LoadSamplerOptions: connectionsOpen reads the engine's open connection count at each sample. */
export interface LoadSamplerOptions {
  connectionsOpen: () => number;
  /** now is the wall clock (ms since the epoch); tests pass their own. */
  now?: () => number;
}

/** LoadSampler counts the engine's events and answers an EngineLoad over the time since its last sample. */
export class LoadSampler {
  private readonly opts: LoadSamplerOptions;
  private readonly now: () => number;
  private readonly handlers: [string, (m: unknown) => void][] = [];
  // The delay histogram samples the loop every 10 ms on a libuv timer, off the request path.
  private readonly delay = monitorEventLoopDelay({ resolution: 10 });
  private last: { at: number; cpu: NodeJS.CpuUsage; elu: EventLoopUtilization };
  private requests = 0;
  private tlsRequests = 0;
  // tlsListeners are the listeners that completed a TLS handshake: their requests are TLS requests.
  // The response event does not say; a Set lookup per request is the cheapest way to tell.
  private readonly tlsListeners = new Set<string>();
  private connections = 0;
  private handshakes = 0;
  private bytesIn = 0;
  private bytesOut = 0;

  constructor(opts: LoadSamplerOptions) {
    this.opts = opts;
    this.now = opts.now ?? Date.now;
    this.last = { at: this.now(), cpu: process.cpuUsage(), elu: performance.eventLoopUtilization() };
  }

  /** subscribe starts counting and the delay monitor; returns this. */
  subscribe(): this {
    this.on(HTTP_RESPONSE_CHANNEL, (m) => {
      const e = m as HttpResponseEvent;
      this.requests++;
      if (this.tlsListeners.has(e.listener)) this.tlsRequests++;
      this.bytesIn += e.bytesIn;
      this.bytesOut += e.bytesOut;
    });
    this.on(CONNECTION_CHANNEL, (m) => {
      if ((m as { event: string }).event === "open") this.connections++;
    });
    this.on(L4_SESSION_CHANNEL, (m) => {
      const e = m as L4SessionEvent;
      if (e.event === "open") this.connections++;
      else if (e.event === "close") {
        // L4 bytes are known when a session ends: a long session lands in one interval.
        this.bytesIn += e.bytesIn;
        this.bytesOut += e.bytesOut;
      }
    });
    this.on(TLS_HANDSHAKE_CHANNEL, (m) => {
      this.handshakes++;
      // Bounded like metrics' listener labels; past the cap new TLS listeners count as plain.
      const l = (m as { listener: string }).listener;
      if (this.tlsListeners.size < 10_000) this.tlsListeners.add(l);
    });
    this.delay.enable();
    return this;
  }

  /** sample returns the load since the previous sample (or the start) and starts a new interval. */
  sample(): EngineLoad {
    const at = this.now();
    const cpu = process.cpuUsage();
    const elu = performance.eventLoopUtilization();
    const intervalMs = Math.max(1, at - this.last.at);
    const perSecond = (n: number) => (n * 1000) / intervalMs;
    const cpuMicros = cpu.user - this.last.cpu.user + (cpu.system - this.last.cpu.system);
    // percentile() is NaN before the monitor took its first sample.
    const lag = this.delay.count > 0 ? this.delay.percentile(99) / 1e6 : 0;
    const load: EngineLoad = {
      at,
      intervalMs,
      cpuCores: cpuMicros / 1000 / intervalMs,
      eventLoopUtilization: performance.eventLoopUtilization(elu, this.last.elu).utilization,
      lagP99Ms: lag,
      connectionsOpen: this.opts.connectionsOpen(),
      connectionsPerSecond: perSecond(this.connections),
      requestsPerSecond: perSecond(this.requests),
      tlsRequestsPerSecond: perSecond(this.tlsRequests),
      tlsHandshakesPerSecond: perSecond(this.handshakes),
      bytesInPerSecond: perSecond(this.bytesIn),
      bytesOutPerSecond: perSecond(this.bytesOut),
      rssBytes: process.memoryUsage.rss(),
    };
    this.last = { at, cpu, elu };
    this.requests = this.tlsRequests = this.connections = this.handshakes = this.bytesIn = this.bytesOut = 0;
    this.delay.reset();
    return load;
  }

  /** close stops counting and the delay monitor. */
  close(): void {
    for (const [name, fn] of this.handlers) unsubscribe(name, fn);
    this.handlers.length = 0;
    this.delay.disable();
  }

  private on(name: string, fn: (m: unknown) => void): void {
    subscribe(name, fn);
    this.handlers.push([name, fn]);
  }
}

/**
 * LoadQueue holds one process's load reports between reads (a worker's pushes, the engine
 * thread's heartbeats): take() returns the reports since the previous take, or, when none came,
 * the latest again (the rate still best known). Bounded: two minutes of 1 s pushes if no one reads.
 */
export class LoadQueue {
  private pending: EngineLoad[] = [];
  private latest: EngineLoad | undefined;

  /** push adds one report. */
  push(l: EngineLoad): void {
    if (this.pending.length >= 120) this.pending.shift();
    this.pending.push(l);
    this.latest = l;
  }

  /** take returns the reports since the last take (oldest first), or [latest], or [] before any. */
  take(): EngineLoad[] {
    const out = this.pending.length > 0 ? this.pending : this.latest ? [this.latest] : [];
    this.pending = [];
    return out;
  }

  /** clear forgets everything (the process is gone). */
  clear(): void {
    this.pending = [];
    this.latest = undefined;
  }
}

/** idleLoad is a report of nothing happening (every rate and gauge 0): a base for tests and rollups. */
export function idleLoad(at: number, intervalMs: number): EngineLoad {
  return {
    at,
    intervalMs,
    cpuCores: 0,
    eventLoopUtilization: 0,
    lagP99Ms: 0,
    connectionsOpen: 0,
    connectionsPerSecond: 0,
    requestsPerSecond: 0,
    tlsRequestsPerSecond: 0,
    tlsHandshakesPerSecond: 0,
    bytesInPerSecond: 0,
    bytesOutPerSecond: 0,
    rssBytes: 0,
  };
}

/** RATES are the EngineLoad fields that are per-second rates (time-weighted over, summed across). */
const RATES = [
  "cpuCores",
  "connectionsPerSecond",
  "requestsPerSecond",
  "tlsRequestsPerSecond",
  "tlsHandshakesPerSecond",
  "bytesInPerSecond",
  "bytesOutPerSecond",
] as const;

/**
 * combineLoads merges the samples of several worker processes into the load of one engine: each
 * worker's samples (oldest first, as pushed since the last report) are folded over their time
 * (rates and ELU weighted by interval, lag its worst, gauges its latest); across workers CPU,
 * connections, rates and RSS add up, and ELU and lag are the busiest worker's. Undefined when no
 * worker has a sample.
 */
export function combineLoads(perWorker: readonly (readonly EngineLoad[])[]): EngineLoad | undefined {
  const folded = perWorker.filter((s) => s.length > 0).map(foldOverTime);
  if (folded.length === 0) return undefined;
  const out = { ...folded[0]! };
  for (const w of folded.slice(1)) {
    out.at = Math.max(out.at, w.at);
    out.intervalMs = Math.max(out.intervalMs, w.intervalMs);
    for (const k of RATES) out[k] = (out[k] ?? 0) + (w[k] ?? 0);
    out.connectionsOpen += w.connectionsOpen;
    out.rssBytes += w.rssBytes;
    out.eventLoopUtilization = Math.max(out.eventLoopUtilization, w.eventLoopUtilization);
    out.lagP99Ms = Math.max(out.lagP99Ms, w.lagP99Ms);
  }
  return out;
}

/** foldOverTime turns consecutive samples of one process into one over their whole span. */
function foldOverTime(samples: readonly EngineLoad[]): EngineLoad {
  const latest = samples[samples.length - 1]!;
  const total = samples.reduce((t, s) => t + s.intervalMs, 0);
  const weighted = (k: (typeof RATES)[number] | "eventLoopUtilization") =>
    samples.reduce((t, s) => t + (s[k] ?? 0) * s.intervalMs, 0) / total;
  const out: EngineLoad = { ...latest, intervalMs: total };
  for (const k of RATES) out[k] = weighted(k);
  out.eventLoopUtilization = weighted("eventLoopUtilization");
  out.lagP99Ms = Math.max(...samples.map((s) => s.lagP99Ms));
  return out;
}
