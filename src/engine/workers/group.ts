// group.ts: a WorkerGroup runs the data plane in N engine worker processes (worker.ts) that share
// every VIP listener with SO_REUSEPORT, so all cores serve traffic. Every snapshot goes to every
// worker; it counts as applied when all ACKed. The group validates first (validateSnapshot) so a
// NACK is rare; if a worker still NACKs, the workers that applied it are sent the previous
// snapshot again, so all of them serve the same configuration. A worker that dies is restarted
// and given the current snapshot before it counts as serving. /metrics sums the workers' own.
import { fork, type ChildProcess } from "node:child_process";
import type { EngineSnapshot } from "../../model/ir.ts";
import { validateSnapshot } from "../../model/validate.ts";
import type { CompileDeps } from "../contracts.ts";
import type { ApplyResult, EngineStatus } from "../engine.ts";
import type { EngineLoad } from "../../link/protocol.ts";
import { combineLoads, LoadQueue } from "../load.ts";
import type { AnalyticsBatch } from "../../analytics/types.ts";
import { mergeBatches } from "../../analytics/measures.ts";
import { validateBatch } from "../../analytics/validate-batch.ts";
import { BatchQueue } from "../../analytics/batch-queue.ts";
import { mergeExpositions, mergeListeners } from "./merge.ts";
import type { FromWorker, ToWorker } from "./protocol.ts";

/** WorkerGroupOptions size and wire the group. */
export interface WorkerGroupOptions {
  workers: number;
  log: CompileDeps["log"];
  /** restartDelayMs is the first wait before restarting a dead worker; it doubles up to 5 s. */
  restartDelayMs?: number;
  /** metrics false turns the workers' Prometheus counters off (the benchmark, like its references). */
  metrics?: boolean;
}

interface Slot {
  index: number;
  child: ChildProcess | undefined;
  /** live is true from the worker's "ready" until its exit. */
  live: boolean;
  /** applied is the snapshot this worker serves (undefined: none yet). */
  applied: EngineSnapshot | undefined;
  status: EngineStatus | undefined;
  metrics: string;
  /** loads are the worker's load pushes since the group's last load(). */
  loads: LoadQueue;
  /**
   * analytics are the worker's batches not yet taken by the group's analytics(), one per interval
   * (bounded: analytics/batch-queue.ts). They survive the worker's exit: what it counted happened.
   */
  analytics: BatchQueue;
  waiting: Map<number, (r: ApplyResult) => void>;
  restarts: number;
}

// The worker runs from the same tree as this module: the .ts sources, or the JS build of bin/portico.
const workerFile = new URL(import.meta.url.endsWith(".ts") ? "./worker.ts" : "./worker.js", import.meta.url)
  .pathname;

/** CUT_TIMEOUT_MS bounds cutAnalytics's wait for a worker's answer. */
const CUT_TIMEOUT_MS = 2000;

/** WorkerGroup is an EnginePort backed by worker processes. */
export class WorkerGroup {
  private readonly opts: WorkerGroupOptions;
  private readonly slots: Slot[] = [];
  private current: EngineSnapshot | undefined;
  private nextId = 1;
  private closed = false;
  // statusSubs hear when the merged listener state may have changed (a worker's bind retry, an exit).
  private readonly statusSubs = new Set<() => void>();
  // chain serialises applies and the re-syncs of restarted workers.
  private chain: Promise<unknown> = Promise.resolve();

  private constructor(opts: WorkerGroupOptions) {
    this.opts = opts;
  }

  /** start forks the workers and resolves once every one is ready for snapshots. */
  static async start(opts: WorkerGroupOptions): Promise<WorkerGroup> {
    const g = new WorkerGroup(opts);
    const ready: Promise<void>[] = [];
    for (let i = 0; i < opts.workers; i++) {
      const slot: Slot = {
        index: i,
        child: undefined,
        live: false,
        applied: undefined,
        status: undefined,
        metrics: "",
        loads: new LoadQueue(),
        analytics: new BatchQueue(),
        waiting: new Map(),
        restarts: 0,
      };
      g.slots.push(slot);
      ready.push(g.spawn(slot));
    }
    await Promise.all(ready);
    return g;
  }

  /** apply validates snapshot, sends it to every live worker and ACKs when all applied it. */
  apply(snapshot: EngineSnapshot): Promise<ApplyResult> {
    const run = this.chain.then(() => this.applyAll(snapshot));
    this.chain = run.catch(() => {});
    return run;
  }

  /** metrics returns the sum of the workers' latest expositions (pushed every second). */
  metrics(): string {
    return mergeExpositions(this.slots.map((s) => s.metrics).filter((t) => t !== ""));
  }

  /**
   * load combines the live workers' load pushes since the previous call (combineLoads: CPU and
   * rates summed, the busiest worker's ELU and lag); a worker with no new push counts its latest.
   */
  load(): EngineLoad | undefined {
    return combineLoads(this.slots.filter((s) => s.live).map((s) => s.loads.take()));
  }

  /**
   * analytics merges the workers' oldest waiting interval into the engine's batch for it
   * (measures.ts mergeBatches: counters and sketches add, logs under the cap); undefined when no
   * worker shipped any. Workers cut on the same wall-clock boundaries, so one interval's batches
   * share their end; after an outage the intervals go one per call, each with its own end.
   */
  analytics(): AnalyticsBatch | undefined {
    let at = Infinity;
    for (const s of this.slots) at = Math.min(at, s.analytics.headAt() ?? Infinity);
    const batches = this.slots.flatMap((s) => (s.analytics.headAt() === at ? [s.analytics.shift()!] : []));
    return mergeBatches(batches, { over: "engines" });
  }

  /**
   * cutAnalytics asks every live worker to cut its interval now and ship what it holds, and
   * resolves once each answered, exited, or timeoutMs passed (a stop must not hang on a worker):
   * analytics() then has their last seconds.
   */
  async cutAnalytics(timeoutMs = CUT_TIMEOUT_MS): Promise<void> {
    await Promise.all(
      this.slots.map((s) => {
        const c = s.child;
        if (!s.live || c === undefined || c.exitCode !== null || c.signalCode !== null) return;
        return new Promise<void>((resolve) => {
          const done = () => {
            clearTimeout(timer);
            c.off("message", onMessage);
            c.off("exit", done);
            resolve();
          };
          const onMessage = (m: FromWorker) => m.type === "shipped" && done();
          const timer = setTimeout(done, timeoutMs);
          c.on("message", onMessage);
          c.once("exit", done);
          this.send(s, { type: "cut" });
        });
      }),
    );
  }

  /** workers lists each worker's pid and whether it serves the current snapshot (tests, status). */
  workers(): { index: number; pid: number | undefined; live: boolean; current: boolean; restarts: number }[] {
    return this.slots.map((s) => ({
      index: s.index,
      pid: s.child?.pid,
      live: s.live,
      current: s.live && s.applied === this.current,
      restarts: s.restarts,
    }));
  }

  /** metricsOf returns one worker's latest exposition ("" before its first push). */
  metricsOf(index: number): string {
    return this.slots[index]?.metrics ?? "";
  }

  /**
   * status is the first live worker's engine status (every worker serves the same snapshot), with
   * each listener's bind state merged over all live workers: bound only if bound in every one.
   */
  status(): EngineStatus | undefined {
    const all = this.slots.filter((s) => s.live && s.status !== undefined).map((s) => s.status!);
    if (all.length === 0) return undefined;
    return { ...all[0]!, listeners: mergeListeners(all.map((s) => s.listeners)) };
  }

  /** onListenerChange registers fn to run when a worker reports a listener bind change or exits. */
  onListenerChange(fn: () => void): void {
    this.statusSubs.add(fn);
  }

  /**
   * drain asks every worker to close its listeners and finish its connections within deadlineMs,
   * then exit; resolves true when all of them finished in time. No worker is restarted after.
   */
  async drain(deadlineMs: number): Promise<boolean> {
    this.closed = true;
    const results = await Promise.all(
      this.slots.map(async (s) => {
        const c = s.child;
        if (c === undefined || c.exitCode !== null || c.signalCode !== null) return true;
        const drained = new Promise<boolean>((resolve) => {
          c.on("message", (m: FromWorker) => m.type === "drained" && resolve(m.ok));
          c.once("exit", () => resolve(false));
        });
        this.send(s, { type: "drain", deadlineMs });
        return drained;
      }),
    );
    return results.every(Boolean);
  }

  /** close stops every worker and waits for them to exit. */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(
      this.slots.map(async (s) => {
        const c = s.child;
        if (c === undefined || c.exitCode !== null || c.signalCode !== null) return;
        const exited = new Promise((r) => c.once("exit", r));
        this.send(s, { type: "close" });
        const timer = setTimeout(() => c.kill("SIGKILL"), 5000);
        await exited;
        clearTimeout(timer);
      }),
    );
  }

  private async applyAll(snapshot: EngineSnapshot): Promise<ApplyResult> {
    const problems = validateSnapshot(snapshot);
    if (problems.length > 0) return { ok: false, error: problems.join("; "), code: "InvalidSnapshot" };
    const targets = this.slots.filter((s) => s.live);
    const results = await Promise.all(targets.map((s) => this.applyOne(s, snapshot)));
    const failed = results.findIndex((r) => !r.ok);
    if (failed === -1) {
      this.current = snapshot;
      return { ok: true };
    }
    const r = results[failed] as Extract<ApplyResult, { ok: false }>;
    // Keep the group consistent: whoever applied the rejected snapshot goes back to the last good.
    const previous = this.current;
    if (previous !== undefined) {
      await Promise.all(
        targets.filter((s, i) => results[i]!.ok && s.live).map((s) => this.applyOne(s, previous)),
      );
    }
    return {
      ok: false,
      code: r.code,
      error: `worker ${targets[failed]!.index}: ${r.error}`,
      ...(r.listener !== undefined ? { listener: r.listener } : {}),
    };
  }

  private applyOne(s: Slot, snapshot: EngineSnapshot): Promise<ApplyResult> {
    const id = this.nextId++;
    return new Promise<ApplyResult>((resolve) => {
      s.waiting.set(id, (r) => {
        if (r.ok) s.applied = snapshot;
        resolve(r);
      });
      this.send(s, { type: "apply", id, snapshot });
    });
  }

  private send(s: Slot, m: ToWorker): void {
    const c = s.child;
    if (c !== undefined && c.connected) c.send(m);
  }

  private spawn(slot: Slot): Promise<void> {
    // The test runner's own flags must not reach the workers; the rest (type stripping, profiling) does.
    const execArgv = process.execArgv.filter((a) => !a.startsWith("--test"));
    const child = fork(workerFile, [], {
      execArgv,
      env: {
        ...process.env,
        PORTICO_WORKER_ID: String(slot.index),
        PORTICO_WORKER_METRICS: this.opts.metrics === false ? "0" : "1",
      },
      stdio: ["ignore", "inherit", "inherit", "ipc"],
      serialization: "advanced",
    });
    slot.child = child;
    return new Promise<void>((ready) => {
      child.on("message", (m: FromWorker) => {
        if (m.type === "ready") {
          slot.live = true;
          ready();
        } else if (m.type === "metrics") {
          slot.metrics = m.text;
          if (m.load !== undefined) slot.loads.push(m.load);
          // A worker's batch is checked like a remote engine's: one that fails is dropped whole, never merged half.
          const check = m.analytics !== undefined ? validateBatch(m.analytics) : undefined;
          if (check?.ok) slot.analytics.push(check.batch);
          // While a listener fails, its attempt count rides the metrics push (worker.ts).
          if (m.listeners !== undefined && slot.status !== undefined) {
            slot.status = { ...slot.status, listeners: m.listeners };
            for (const fn of this.statusSubs) fn();
          }
        } else if (m.type === "status") {
          slot.status = m.status;
          for (const fn of this.statusSubs) fn();
        } else if (m.type === "applied") {
          slot.status = m.status;
          const done = slot.waiting.get(m.id);
          slot.waiting.delete(m.id);
          done?.(m.result);
        }
      });
      child.on("exit", (code, signal) => {
        slot.live = false;
        slot.applied = undefined;
        slot.metrics = "";
        slot.loads.clear();
        for (const done of slot.waiting.values())
          done({ ok: false, code: "WorkerExited", error: `worker exited (${signal ?? code})` });
        slot.waiting.clear();
        for (const fn of this.statusSubs) fn();
        ready(); // a worker that dies before "ready" must not hang start()
        if (this.closed) return;
        this.opts.log("error", "engine worker exited; restarting", {
          worker: slot.index,
          code,
          signal,
        });
        this.restart(slot);
      });
    });
  }

  private restart(slot: Slot): void {
    const delay = Math.min(5000, (this.opts.restartDelayMs ?? 100) * 2 ** Math.min(slot.restarts, 6));
    slot.restarts++;
    setTimeout(() => {
      if (this.closed) return;
      void this.spawn(slot).then(() => {
        // Re-sync through the chain, so it cannot interleave with an apply in progress.
        this.chain = this.chain.then(async () => {
          const want = this.current;
          if (this.closed || !slot.live || want === undefined || slot.applied === want) return;
          const r = await this.applyOne(slot, want);
          if (!r.ok)
            this.opts.log("error", "restarted worker rejected the current snapshot", {
              worker: slot.index,
              error: r.error,
            });
          else this.opts.log("info", "restarted worker serves the current snapshot", { worker: slot.index });
        });
      });
    }, delay).unref();
  }
}
