// checker.ts: schedules active checks for every endpoint of every pool that has a HealthCheck.
// sync() is called on each snapshot swap: targets that remain with the same check keep running
// (and their rise/fall counts), new ones start, vanished ones stop. Timers and the probe are
// injectable so unit tests drive time by hand.
import type { HealthCheck, Pool } from "../../model/ir.ts";
import { defaultProbe, type Probe } from "./probe.ts";
import { healthKey, type HealthRegistry } from "./registry.ts";

/** Timers is the subset of the timer API the checker uses. */
export interface Timers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** CheckerOptions inject the probe and timers. */
export interface CheckerOptions {
  probe?: Probe;
  timers?: Timers;
  /** random in [0, 1) spreads checks by ±10% of the interval so endpoints are not probed in lockstep. */
  random?: () => number;
}

interface Target {
  pool: string;
  backend: string;
  address: string;
  port: number;
  check: HealthCheck;
  checkJson: string;
  timer: unknown;
  stopped: boolean;
}

const realTimers: Timers = {
  setTimeout: (fn, ms) => {
    const t = setTimeout(fn, ms);
    t.unref();
    return t;
  },
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

/** HealthChecker runs active checks and reports results into a HealthRegistry. */
export class HealthChecker {
  private readonly registry: HealthRegistry;
  private readonly probe: Probe;
  private readonly timers: Timers;
  private readonly random: () => number;
  private readonly targets = new Map<string, Target>();

  constructor(registry: HealthRegistry, opts: CheckerOptions = {}) {
    this.registry = registry;
    this.probe = opts.probe ?? defaultProbe;
    this.timers = opts.timers ?? realTimers;
    this.random = opts.random ?? Math.random;
  }

  /** sync makes the running checks match the pools' health checks. */
  sync(pools: Record<string, Pool>): void {
    const want = new Map<string, { pool: Pool; address: string; port: number; check: HealthCheck }>();
    for (const pool of Object.values(pools)) {
      if (!pool.healthCheck) continue;
      for (const ep of pool.endpoints) {
        if (!ep.ready && !(ep.serving && ep.terminating)) continue;
        const backend = `${ep.address}:${ep.port}`;
        want.set(healthKey(pool.name, backend), {
          pool,
          address: ep.address,
          port: ep.port,
          check: pool.healthCheck,
        });
      }
    }
    for (const [key, t] of this.targets) {
      const w = want.get(key);
      if (!w || JSON.stringify(w.check) !== t.checkJson) this.stop(key, t);
    }
    for (const [key, w] of want) {
      if (this.targets.has(key)) continue;
      const backend = `${w.address}:${w.port}`;
      const t: Target = {
        pool: w.pool.name,
        backend,
        address: w.address,
        port: w.port,
        check: w.check,
        checkJson: JSON.stringify(w.check),
        timer: undefined,
        stopped: false,
      };
      this.targets.set(key, t);
      this.run(t);
    }
  }

  /** size is the number of endpoints under active check. */
  get size(): number {
    return this.targets.size;
  }

  /** close stops every check. */
  close(): void {
    for (const [key, t] of this.targets) this.stop(key, t);
  }

  private stop(key: string, t: Target): void {
    t.stopped = true;
    if (t.timer !== undefined) this.timers.clearTimeout(t.timer);
    this.targets.delete(key);
  }

  private run(t: Target): void {
    t.timer = undefined;
    void this.probe(t.address, t.port, t.check).then((ok) => {
      if (t.stopped) return;
      this.registry.active(t.pool, t.backend, ok, t.check.rise, t.check.fall);
      const jitter = 0.9 + 0.2 * this.random();
      t.timer = this.timers.setTimeout(() => this.run(t), Math.round(t.check.intervalMs * jitter));
    });
  }
}
