// persist.ts: saving allocations without ever stopping the data plane. A full disk or a failed
// write must not lose a served address: the allocations stay in memory and keep serving, the
// failure is logged at error once (and once more when it clears, not on every retry), shown at
// /api/v1/errors and /healthz, and the save is retried until it succeeds.
import type { AllocationState } from "../ipam/types.ts";
import type { Logger } from "./log.ts";

/** Saver is the part of the state store a Persister writes to. */
export interface Saver {
  saveAllocations(state: AllocationState): unknown;
}

/** StoreProblem is a failed save still waiting to succeed. */
export interface StoreProblem {
  /** error is the store's one-line message. */
  error: string;
  /** code is the store's stable error code, when it has one. */
  code?: string;
  /** since is when saving first failed (ISO 8601). */
  since: string;
}

/** RETRY_MS is how long a failed save waits before it tries again (updates also retry at once). */
export const RETRY_MS = 2_000;

/** Persister saves the latest allocations, turning failures into a problem that clears itself. */
export class Persister {
  #store: Saver | undefined;
  #log: Logger;
  #retryMs: number;
  #problem: StoreProblem | undefined;
  #pending: AllocationState | undefined;
  #timer: NodeJS.Timeout | undefined;
  #onChange: (problem: StoreProblem | undefined) => void;

  /** constructor takes the store (none: nothing is saved) and who to tell when the problem changes. */
  constructor(
    store: Saver | undefined,
    log: Logger,
    onChange: (problem: StoreProblem | undefined) => void = () => {},
    retryMs = RETRY_MS,
  ) {
    this.#store = store;
    this.#log = log;
    this.#onChange = onChange;
    this.#retryMs = retryMs;
  }

  /** save writes state now; on failure it records the problem and retries later. Never throws. */
  save(state: AllocationState): void {
    if (!this.#store) return;
    this.#pending = state;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    try {
      this.#store.saveAllocations(state);
    } catch (err) {
      const e = err as { message?: string; code?: unknown };
      const error = String(e?.message ?? err);
      const code = typeof e?.code === "string" ? e.code : undefined;
      if (!this.#problem) {
        this.#log("error", "state not saved; allocations keep serving from memory and saving is retried", {
          error,
          ...(code ? { code } : {}),
        });
        this.#problem = { error, ...(code ? { code } : {}), since: new Date().toISOString() };
      } else {
        this.#problem = { ...this.#problem, error, ...(code ? { code } : {}) };
      }
      this.#onChange(this.#problem);
      this.#timer = setTimeout(() => this.#pending && this.save(this.#pending), this.#retryMs);
      this.#timer.unref();
      return;
    }
    if (this.#problem) {
      this.#log("info", "state saved again", { failingSince: this.#problem.since });
      this.#problem = undefined;
      this.#onChange(undefined);
    }
  }

  /** problem is the save failure in force, if any. */
  problem(): StoreProblem | undefined {
    return this.#problem;
  }

  /** close stops retrying. */
  close(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}
