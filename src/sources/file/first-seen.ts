// first-seen.ts: metadata.creationTimestamp for objects read from files. Conflicts are settled
// oldest claim first (creation time, then namespace/name — the Gateway API rule), and in a cluster
// the API server stamps creation times; manifests in files rarely carry one, so without this a
// newcomer whose name sorts first would take a hostname another Ingress already serves. The file
// source stamps the time it first saw the object instead, strictly later than every time it handed
// out before, so a newcomer never ties with (and never displaces) a holder; the times are kept in
// the state database, so a restart changes no one's age. A time written in the file wins.
import type { AnyObject } from "../../k8s/types.ts";

/** FirstSeenStore keeps first-seen times across restarts (the state database of `portico run`). */
export interface FirstSeenStore {
  /** loadFirstSeen reads every object key's first-seen time (RFC 3339, whole seconds). */
  loadFirstSeen(): Record<string, string>;
  /** saveFirstSeen makes the stored times equal `times`. */
  saveFirstSeen(times: Record<string, string>): void;
}

/** FirstSeen hands out and remembers first-seen times across rebuilds of one source. */
export class FirstSeen {
  readonly #store: FirstSeenStore | undefined;
  readonly #now: () => Date;
  #seen: Map<string, string>;
  #next = new Map<string, string>();
  /** #batch is the time this rebuild hands out, fixed on first use so one burst shares it. */
  #batch: string | undefined;
  /** #unsaved is true while the store refused the last save. */
  #unsaved = false;

  /** constructor loads the stored times; now is the clock (tests pass their own). */
  constructor(store?: FirstSeenStore, now: () => Date = () => new Date()) {
    this.#store = store;
    this.#now = now;
    this.#seen = new Map(Object.entries(store?.loadFirstSeen() ?? {}));
  }

  /** stamp returns obj with metadata.creationTimestamp set when it had none (a copy then). */
  stamp(key: string, obj: AnyObject): AnyObject {
    if (typeof obj.metadata.creationTimestamp === "string") return obj;
    const time = this.#seen.get(key) ?? this.#fresh();
    this.#next.set(key, time);
    return { ...obj, metadata: { ...obj.metadata, creationTimestamp: time } };
  }

  /** commit ends a rebuild: keys not stamped since the last commit are forgotten (the object was
   * deleted, a deliberate removal), and the store is updated when anything changed. */
  commit(): void {
    const changed =
      this.#next.size !== this.#seen.size || [...this.#next].some(([k, t]) => this.#seen.get(k) !== t);
    this.#seen = this.#next;
    this.#next = new Map();
    this.#batch = undefined;
    if (!changed && !this.#unsaved) return;
    try {
      this.#store?.saveFirstSeen(Object.fromEntries([...this.#seen].sort(([a], [b]) => (a < b ? -1 : 1))));
      this.#unsaved = false;
    } catch {
      // A full disk must not stop the rebuild: the times stay in memory and the next commit tries
      // again. The same failure on the allocations is what reports it (controller/persist.ts).
      this.#unsaved = true;
    }
  }

  /** #fresh is this rebuild's time for newcomers: now, but at least a second after every time
   * already handed out (times are whole seconds, as the API server writes them). */
  #fresh(): string {
    if (this.#batch !== undefined) return this.#batch;
    let ms = Math.floor(this.#now().getTime() / 1000) * 1000;
    for (const t of [...this.#seen.values(), ...this.#next.values()]) {
      const prev = Date.parse(t);
      if (Number.isFinite(prev) && prev >= ms) ms = prev + 1000;
    }
    this.#batch = new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
    return this.#batch;
  }
}
