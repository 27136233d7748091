// load-history.ts: an engine's load reports over the last hour in bounded memory. Reports arrive
// every LOAD_INTERVAL_MS (1,800 an hour); the last RAW_MS are kept as sent, older ones are rolled
// into one entry per ROLL_MS, so an engine costs at most ~200 entries however long it runs.
import type { EngineLoad } from "../../link/protocol.ts";

/** HISTORY_MS is how far back the history reaches. */
export const HISTORY_MS = 3600_000;
/** RAW_MS is how much recent history keeps every report. */
export const RAW_MS = 5 * 60_000;
/** ROLL_MS is the width of one rolled-up entry. */
export const ROLL_MS = 60_000;

/**
 * roll folds reports into one: rates, CPU and utilisation are averaged weighted by interval (so the
 * rolled entry's rate times its interval is the same work); connectionsOpen, lagP99Ms and rssBytes
 * take the maximum (a sizing question asks about the worst minute, not the mean one).
 */
export function roll(loads: readonly EngineLoad[]): EngineLoad {
  const total = loads.reduce((s, l) => s + l.intervalMs, 0) || 1;
  const mean = (f: (l: EngineLoad) => number) => loads.reduce((s, l) => s + f(l) * l.intervalMs, 0) / total;
  const max = (f: (l: EngineLoad) => number) => Math.max(...loads.map(f));
  return {
    at: loads[0]!.at,
    intervalMs: loads.reduce((s, l) => s + l.intervalMs, 0),
    cpuCores: mean((l) => l.cpuCores),
    eventLoopUtilization: mean((l) => l.eventLoopUtilization),
    lagP99Ms: max((l) => l.lagP99Ms),
    connectionsOpen: max((l) => l.connectionsOpen),
    connectionsPerSecond: mean((l) => l.connectionsPerSecond),
    requestsPerSecond: mean((l) => l.requestsPerSecond),
    tlsHandshakesPerSecond: mean((l) => l.tlsHandshakesPerSecond),
    bytesInPerSecond: mean((l) => l.bytesInPerSecond),
    bytesOutPerSecond: mean((l) => l.bytesOutPerSecond),
    rssBytes: max((l) => l.rssBytes),
  };
}

/** LoadHistory keeps one engine's reports, oldest first. */
export class LoadHistory {
  #rolled: EngineLoad[] = [];
  #raw: EngineLoad[] = [];

  /** add records a report; times are the engine's clock (`at`), so clock skew with the controller does not matter. */
  add(load: EngineLoad): void {
    this.#raw.push(load);
    const now = load.at;
    // Reports older than RAW_MS move into their minute's rolled entry, whole minutes at a time.
    while (this.#raw.length > 0 && this.#raw[0]!.at < now - RAW_MS) {
      const start = this.#raw[0]!.at - (this.#raw[0]!.at % ROLL_MS);
      const minute: EngineLoad[] = [];
      while (this.#raw.length > 0 && this.#raw[0]!.at < start + ROLL_MS && this.#raw[0]!.at < now - RAW_MS)
        minute.push(this.#raw.shift()!);
      const last = this.#rolled[this.#rolled.length - 1];
      if (last !== undefined && last.at >= start)
        this.#rolled[this.#rolled.length - 1] = roll([last, ...minute]);
      else this.#rolled.push({ ...roll(minute), at: start });
    }
    while (this.#rolled.length > 0 && this.#rolled[0]!.at < now - HISTORY_MS) this.#rolled.shift();
  }

  /** entries is the history, oldest first: rolled minutes, then the recent reports. */
  entries(): EngineLoad[] {
    return [...this.#rolled, ...this.#raw];
  }

  /** size is the number of entries held. */
  get size(): number {
    return this.#rolled.length + this.#raw.length;
  }
}
