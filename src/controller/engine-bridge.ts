// engine-bridge.ts: the EnginePort contract across a thread boundary. `portico run` keeps the
// engine (the data plane) on the main thread and runs the controller — file source, parsing,
// translation, IPAM, state store, admin API — in a worker thread, so reading and translating a
// big input never pauses traffic (docs/reloads.md). The controller's side holds a RemoteEngine,
// an EnginePort whose calls are messages; the engine's side answers them with serveEngine.
import type { MessagePort, Worker } from "node:worker_threads";
import type { EngineStatus } from "../engine/engine.ts";
import { combineLoads, LoadQueue } from "../engine/load.ts";
import type { EngineLoad } from "../link/protocol.ts";
import type { AnnounceStatus } from "../announce/types.ts";
import type { AnalyticsBatch } from "../analytics/types.ts";
import type { EnginePort } from "./standalone.ts";
import { LoopWatch, type EngineLiveness } from "./loop-watch.ts";

/** EngineHeartbeat is the engine thread's loop report, sent every HEARTBEAT_MS for /healthz; load
 * is the engine's load since the previous beat (EnginePort.load), when the engine reports one, and
 * analytics its AnalyticsBatch since the previous beat (EnginePort.analytics), when it has one. */
export interface EngineHeartbeat {
  type: "engine-heartbeat";
  stallMs: number;
  load?: EngineLoad;
  analytics?: AnalyticsBatch;
}

/** HEARTBEAT_MS is how often the engine thread reports its loop; far below the 5 s stall limit. */
export const HEARTBEAT_MS = 1_000;

/** EngineStatusUpdate carries the engine's listener bind state to the controller thread, which
 * reads it synchronously (readiness, conditions, the banner): before every apply reply, and when
 * a listener's bind state changes (a bind retry that succeeds). Endpoints stay behind: the
 * controller does not read them, and they can be many. */
export interface EngineStatusUpdate {
  type: "engine-status";
  status: EngineStatus;
}

/** EngineAnnounceUpdate carries the engine's announcement report (EnginePort.announce) to the
 * controller thread, pushed when it changes: the Announced conditions, `portico explain` and
 * `portico get pools -o wide` of `portico run` read it there. */
export interface EngineAnnounceUpdate {
  type: "engine-announce";
  status: AnnounceStatus;
}

/** EngineCall is a controller → engine request; method names an EnginePort method. */
export interface EngineCall {
  type: "engine-call";
  id: number;
  method: "apply" | "metrics";
  args: unknown[];
}

/** EngineReply answers one EngineCall with its value or the error it threw. */
export interface EngineReply {
  type: "engine-reply";
  id: number;
  value?: unknown;
  error?: string;
}

/** CALL_TIMEOUT_MS: an engine call unanswered this long is rejected, so /metrics answers 503
 * and an update reports a failure instead of waiting forever on a wedged engine thread. */
export const CALL_TIMEOUT_MS = 10_000;

/** Endpoint is either side of the channel: a worker's parentPort or the Worker object. */
type Endpoint = Pick<MessagePort | Worker, "postMessage" | "on" | "off">;

/** serveEngine answers the EngineCalls arriving on port with engine and pushes its bind state;
 * returns a stop function. */
export function serveEngine(
  port: Endpoint,
  engine: EnginePort,
  opts: { heartbeatMs?: number } = {},
): () => void {
  const loop = new LoopWatch();
  const beat = setInterval(
    () =>
      port.postMessage({
        type: "engine-heartbeat",
        stallMs: loop.longestStallMs(),
        ...loadOf(engine),
        ...analyticsOf(engine),
      } satisfies EngineHeartbeat),
    opts.heartbeatMs ?? HEARTBEAT_MS,
  ).unref();
  let lastStatus = "";
  let stopped = false;
  const pushStatus = (): void => {
    if (stopped) return;
    const s = engine.status();
    if (s === undefined) return;
    const status: EngineStatus = { ...s, endpoints: [] };
    const text = JSON.stringify(status);
    if (text === lastStatus) return;
    lastStatus = text;
    port.postMessage({ type: "engine-status", status } satisfies EngineStatusUpdate);
  };
  let lastAnnounce = "";
  const pushAnnounce = (): void => {
    const status = engine.announce?.();
    if (stopped || status === undefined) return;
    const text = JSON.stringify(status);
    if (text === lastAnnounce) return;
    lastAnnounce = text;
    port.postMessage({ type: "engine-announce", status } satisfies EngineAnnounceUpdate);
  };
  const onMessage = (m: unknown): void => {
    const call = m as EngineCall;
    if (call?.type !== "engine-call") return;
    const reply = (r: Omit<EngineReply, "type" | "id">) => {
      // The status first: the controller reads it as soon as apply resolves.
      pushStatus();
      pushAnnounce();
      port.postMessage({ type: "engine-reply", id: call.id, ...r } satisfies EngineReply);
    };
    const run = async (): Promise<unknown> =>
      call.method === "apply"
        ? engine.apply(call.args[0] as Parameters<EnginePort["apply"]>[0])
        : engine.metrics();
    run().then(
      (value) => reply({ value }),
      (e: unknown) => reply({ error: e instanceof Error ? e.message : String(e) }),
    );
  };
  port.on("message", onMessage);
  // Pushed on change, not polled: the data plane's thread computes a status only when one moved.
  engine.onListenerChange?.(pushStatus);
  engine.onAnnounceChange?.(pushAnnounce);
  return () => {
    stopped = true;
    clearInterval(beat);
    loop.stop();
    port.off("message", onMessage);
  };
}

/**
 * flushAnalytics cuts the engine's interval still being counted and posts every batch it holds, on
 * a graceful stop before the controller is told to stop: the port is ordered, so the controller
 * ingests them (and saves them with its history) before it stops, and the last seconds count.
 * Resolves once posted (a WorkerGroup's workers answer the cut first).
 */
export async function flushAnalytics(port: Endpoint, engine: EnginePort): Promise<void> {
  await engine.cutAnalytics?.();
  for (let b = engine.analytics?.(); b !== undefined; b = engine.analytics?.())
    port.postMessage({ type: "engine-heartbeat", stallMs: 0, analytics: b } satisfies EngineHeartbeat);
}

/** loadOf samples the engine's load for a heartbeat ({} when it reports none). */
function loadOf(engine: EnginePort): { load?: EngineLoad } {
  const load = engine.load?.();
  return load === undefined ? {} : { load };
}

/** analyticsOf takes the engine's analytics batch for a heartbeat ({} when it has none). */
function analyticsOf(engine: EnginePort): { analytics?: AnalyticsBatch } {
  const analytics = engine.analytics?.();
  return analytics === undefined ? {} : { analytics };
}

/** RemoteEngine is the controller thread's EnginePort: each call is answered by serveEngine. */
export class RemoteEngine implements EnginePort {
  #port: Endpoint;
  #next = 1;
  #waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  #status: EngineStatus | undefined;
  #announce: AnnounceStatus | undefined;
  #announceChanged: (() => void)[] = [];

  #timeoutMs: number;
  /** #heard is when the engine thread last reported its loop (construction time before the first). */
  #heard = { at: performance.now(), stallMs: 0 };
  #loads = new LoadQueue();
  #analytics: ((batch: AnalyticsBatch) => void)[] = [];

  /** constructor listens for replies on port (the worker's parentPort). */
  constructor(port: Endpoint, opts: { timeoutMs?: number } = {}) {
    this.#port = port;
    this.#timeoutMs = opts.timeoutMs ?? CALL_TIMEOUT_MS;
    port.on("message", (m: unknown) => {
      if ((m as EngineHeartbeat)?.type === "engine-heartbeat") {
        const beat = m as EngineHeartbeat;
        this.#heard = { at: performance.now(), stallMs: beat.stallMs };
        if (beat.load !== undefined) this.#loads.push(beat.load);
        // No one listening yet (the store not set up): the interval is not kept, nothing piles up.
        if (beat.analytics !== undefined) for (const fn of this.#analytics) fn(beat.analytics);
        return;
      }
      if ((m as EngineStatusUpdate)?.type === "engine-status") {
        this.#status = (m as EngineStatusUpdate).status;
        return;
      }
      if ((m as EngineAnnounceUpdate)?.type === "engine-announce") {
        this.#announce = (m as EngineAnnounceUpdate).status;
        for (const fn of this.#announceChanged) fn();
        return;
      }
      const r = m as EngineReply;
      if (r?.type !== "engine-reply") return;
      const w = this.#waiting.get(r.id);
      this.#waiting.delete(r.id);
      if (r.error !== undefined) w?.reject(new Error(r.error));
      else w?.resolve(r.value);
    });
  }

  #call<T>(method: EngineCall["method"], args: unknown[]): Promise<T> {
    const id = this.#next++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiting.delete(id);
        reject(new Error(`engine did not answer ${method} within ${this.#timeoutMs / 1000} s`));
      }, this.#timeoutMs).unref();
      const done =
        <A>(fn: (a: A) => void) =>
        (a: A) => {
          clearTimeout(timer);
          fn(a);
        };
      this.#waiting.set(id, { resolve: done(resolve as (v: unknown) => void), reject: done(reject) });
      this.#port.postMessage({ type: "engine-call", id, method, args } satisfies EngineCall);
    });
  }

  /** apply sends snapshot to the engine (structured clone) and resolves with its answer. */
  apply(snapshot: Parameters<EnginePort["apply"]>[0]): Promise<Awaited<ReturnType<EnginePort["apply"]>>> {
    return this.#call("apply", [snapshot]);
  }

  /** metrics fetches the engine's Prometheus text. */
  metrics(): Promise<string> {
    return this.#call("metrics", []);
  }

  /** status is the engine's bind state as last pushed (endpoints left out); undefined before. */
  status(): EngineStatus | undefined {
    return this.#status;
  }

  /** announce is the engine's announcement report as last pushed; undefined before any. */
  announce(): AnnounceStatus | undefined {
    return this.#announce;
  }

  /** onAnnounceChange registers fn for each pushed announcement report. */
  onAnnounceChange(fn: () => void): void {
    this.#announceChanged.push(fn);
  }

  /** liveness is the engine thread's last loop report and how long ago it came. */
  liveness(): EngineLiveness {
    return { ageMs: Math.round(performance.now() - this.#heard.at), stallMs: this.#heard.stallMs };
  }

  /** load is the engine's load since the previous call, from the heartbeats (once a second). */
  load(): EngineLoad | undefined {
    return combineLoads([this.#loads.take()]);
  }

  /** onAnalytics registers fn for every analytics batch the engine thread ships (engine "local"). */
  onAnalytics(fn: (batch: AnalyticsBatch) => void): void {
    this.#analytics.push(fn);
  }

  /** close is the engine side's business (it outlives the controller thread); nothing to do here. */
  close(): void {}
}
