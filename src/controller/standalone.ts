// standalone.ts: `portico run` — file source → pipeline (translate + IPAM) → engine, in one process,
// with allocations kept in SQLite under the state dir and an admin API on loopback.
import type { ResourceSet, SourceError } from "../k8s/resource-set.ts";
import type { AllocationState } from "../ipam/types.ts";
import type { ObjectStatus, TranslateOptions } from "../translate/types.ts";
import type { EngineSnapshot } from "../model/ir.ts";
import { buildSnapshot } from "./pipeline.ts";
import type { Logger } from "./log.ts";
import { emptyResourceSet } from "../k8s/resource-set.ts";
import { ingressRows, serviceRows, type Row } from "./tables.ts";

/** EnginePort is what the controller needs of an engine (in-process or a worker group). */
export interface EnginePort {
  apply(
    snapshot: EngineSnapshot,
  ): Promise<{ ok: true } | { ok: false; error: string }> | ({ ok: true } | { ok: false; error: string });
  /** metrics is the engine's Prometheus text; a promise when the engine is in another thread. */
  metrics(): string | Promise<string>;
  close(): Promise<void> | void;
}

/** AllocationStore persists allocations across restarts. */
export interface AllocationStore {
  loadAllocations(): AllocationState;
  saveAllocations(state: AllocationState): void;
}

/** Rejection records a snapshot the engine refused; the previous one keeps serving. */
export interface Rejection {
  version: number;
  error: string;
}

/** Controller turns every ResourceSet it is given into a served snapshot and statuses. */
export class Controller {
  #engine: EnginePort;
  #store: AllocationStore | undefined;
  #opts: TranslateOptions;
  #log: Logger;
  #allocations: AllocationState;
  #version = 0;
  #served: EngineSnapshot | undefined;
  #statuses: ObjectStatus[] = [];
  #sourceErrors: readonly SourceError[] = [];
  #notices: readonly string[] = [];
  #rejection: Rejection | undefined;
  #set: ResourceSet = emptyResourceSet();
  #listeners: (() => void)[] = [];

  constructor(engine: EnginePort, store: AllocationStore | undefined, opts: TranslateOptions, log: Logger) {
    this.#engine = engine;
    this.#store = store;
    this.#opts = opts;
    this.#log = log;
    this.#allocations = store ? store.loadAllocations() : {};
  }

  /** update builds, applies and records a snapshot for set; resolves when the engine answered. */
  async update(set: ResourceSet): Promise<void> {
    this.#sourceErrors = set.errors;
    for (const e of set.errors) this.#log("warn", "input error", { ...e });
    const version = this.#version + 1;
    const out = buildSnapshot(set, this.#opts, this.#allocations, version);
    this.#notices = out.translate.notices;
    const result = await this.#engine.apply(out.snapshot);
    if (!result.ok) {
      // The engine keeps the last good snapshot; allocations are not committed either, so a
      // retry after the fix sees the same addresses.
      this.#rejection = { version, error: result.error };
      this.#log("error", "snapshot rejected; last good configuration keeps serving", {
        version,
        error: result.error,
      });
      this.#emit();
      return;
    }
    this.#version = version;
    this.#served = out.snapshot;
    this.#rejection = undefined;
    this.#allocations = out.allocations.state;
    this.#store?.saveAllocations(this.#allocations);
    this.#statuses = out.statuses;
    this.#set = set;
    this.#log("info", "snapshot applied", {
      version,
      l4: out.snapshot.l4.length,
      http: out.snapshot.http.length,
      pools: Object.keys(out.snapshot.pools).length,
    });
    this.#emit();
  }

  /** onUpdate registers a callback run after every update (applied or rejected). */
  onUpdate(fn: () => void): void {
    this.#listeners.push(fn);
  }

  #emit(): void {
    for (const fn of this.#listeners) fn();
  }

  /** ready is true once a snapshot serves traffic. */
  ready(): boolean {
    return this.#served !== undefined;
  }

  /** snapshot is the snapshot now serving. */
  snapshot(): EngineSnapshot | undefined {
    return this.#served;
  }

  /** statuses are what Portico would write on each object, as of the serving snapshot. */
  statuses(): ObjectStatus[] {
    return this.#statuses;
  }

  /** errors are input problems and the last rejected snapshot. */
  errors(): { input: readonly SourceError[]; notices: readonly string[]; rejected?: Rejection } {
    return {
      input: this.#sourceErrors,
      notices: this.#notices,
      ...(this.#rejection ? { rejected: this.#rejection } : {}),
    };
  }

  /** table returns the rows `portico get` prints, as of the serving snapshot. */
  table(kind: "services" | "ingresses"): Row[] {
    return kind === "services"
      ? serviceRows(this.#set, this.#statuses)
      : ingressRows(this.#set, this.#statuses, {
          http: this.#opts.ingressHttpPort,
          https: this.#opts.ingressHttpsPort,
        });
  }

  /** metrics renders the engine's Prometheus exposition. */
  metrics(): string | Promise<string> {
    return this.#engine.metrics();
  }
}
