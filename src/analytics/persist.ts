// persist.ts: keeps the analytics store's history in the state database, so a restart of
// `portico run` (or of `portico controller --state-dir`) keeps its charts. Every flush (once a
// minute) writes each ring family's buckets that closed since the last flush, one row per family
// and bucket holding every series as deflated JSON, and deletes the rows older than the family's
// span; close() also writes the buckets still filling. start() loads every row back before the
// first batch arrives. Latency quantiles of a bucket still filling at close are not saved (its
// sketch is live); its counters are.
import { deflateRawSync, inflateRawSync } from "node:zlib";
import type { Logger } from "../controller/log.ts";
import type { AnalyticsRow, StateStore } from "../state/store.ts";
import { PAGE } from "./ring.ts";
import { FAMILIES, type AnalyticsStore } from "./store.ts";

/** FLUSH_MS is how often closed buckets are written. */
export const FLUSH_MS = 60_000;

/** AnalyticsDb is the part of the state store persistence uses. */
export type AnalyticsDb = Pick<StateStore, "loadAnalytics" | "saveAnalytics">;

/** AnalyticsPersistence saves and loads one store's buckets. */
export class AnalyticsPersistence {
  readonly #store: AnalyticsStore;
  readonly #db: AnalyticsDb;
  readonly #log: Logger | undefined;
  /** #saved: family → the newest closed bucket written. */
  readonly #saved = new Map<string, number>();
  #timer: NodeJS.Timeout | undefined;
  #failed = "";

  constructor(store: AnalyticsStore, db: AnalyticsDb, log?: Logger) {
    this.#store = store;
    this.#db = db;
    this.#log = log;
  }

  /** load reads every saved bucket into the store; returns the number of rows. */
  load(): number {
    const rows = this.#db.loadAnalytics();
    for (const row of rows) {
      const family = FAMILIES.find((f) => f.name === row.family);
      if (!family) continue; // a family a newer Portico wrote: not ours to read
      const b = Math.floor(row.t / family.ms);
      let data: Record<string, unknown>;
      try {
        data = JSON.parse(inflateRawSync(row.data).toString("utf8")) as Record<string, unknown>;
      } catch (err) {
        this.#log?.("warn", "analytics bucket unreadable, skipped", {
          family: row.family,
          t: row.t,
          error: String(err),
        });
        continue;
      }
      this.#store.restore(family, b, data);
      // The newest row may be a bucket saved while filling: it is written again once closed.
      this.#saved.set(family.name, Math.max(this.#saved.get(family.name) ?? -1, b - 1));
    }
    return rows.length;
  }

  /** start loads the saved buckets and flushes every FLUSH_MS. */
  start(): number {
    const n = this.load();
    this.#timer = setInterval(() => this.flush(), FLUSH_MS).unref();
    return n;
  }

  /**
   * flush writes the buckets closed since the last flush (and, when final, those still filling) and
   * deletes rows beyond each family's span; returns the rows written. A failing write is logged once
   * per distinct error and retried at the next flush: history is not worth stopping the controller.
   */
  flush(final = false): number {
    const now = this.#store.now();
    this.#store.seal(now);
    const rows: AnalyticsRow[] = [];
    const cutoffs: Record<string, number> = {};
    const saved = new Map<string, number>();
    for (const f of FAMILIES) {
      const current = Math.floor(now / f.ms);
      const oldest = current - f.slots + 1;
      cutoffs[f.name] = oldest * f.ms;
      const from = Math.max(oldest, (this.#saved.get(f.name) ?? -Infinity) + 1);
      const last = final ? current : current - 1;
      // A page's worth of buckets at a time: the store reads each ring's page once per chunk.
      for (let lo = from; lo <= last; lo = (Math.floor(lo / PAGE) + 1) * PAGE) {
        const hi = Math.min(last, (Math.floor(lo / PAGE) + 1) * PAGE - 1);
        this.#store.dump(f, lo, hi).forEach((data, k) => {
          if (data)
            rows.push({ family: f.name, t: (lo + k) * f.ms, data: deflateRawSync(JSON.stringify(data)) });
        });
      }
      saved.set(f.name, current - 1);
    }
    try {
      this.#db.saveAnalytics(rows, cutoffs);
    } catch (err) {
      const msg = (err as Error).message;
      if (msg !== this.#failed)
        this.#log?.("warn", "analytics not saved; retrying each minute", { error: msg });
      this.#failed = msg;
      return 0;
    }
    this.#failed = "";
    for (const [k, v] of saved) this.#saved.set(k, v);
    return rows.length;
  }

  /** close stops the timer and writes everything, including the buckets still filling. */
  close(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    this.flush(true);
  }
}
