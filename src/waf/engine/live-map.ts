// live-map.ts: a live collection (TX, ENV, IP, ...) of one transaction. It behaves as a
// Map<string, Member> — lookup by lower-case name, insertion order, an update keeps its place, a
// delete and a later set moves the name last — and can start from a shared prefix: the ~70
// constant setvars of crs-setup and the 901 defaults (fold.ts merges them into one SecAction,
// constant-sets.ts) are the same in every transaction, and storing them into a new Map made each
// transaction grow a hash table four times (~10 KB of a clean GET's ~33 KB allocated). With a
// prefix a transaction copies one array of members and looks names up in the prefix's shared
// index; names set later, and prefix names set again after a delete, go to a Map of its own.
import type { Member } from "./vars.ts";

/** LivePrefix is a run of members stored in order into an empty collection, shared by every
 * transaction: the order and last value per name (as Map.set in turn would leave them). */
export interface LivePrefix {
  readonly index: ReadonlyMap<string, number>;
  readonly members: readonly Member[];
}

/** livePrefix is the prefix that storing ms in turn into an empty map leaves. */
export function livePrefix(ms: readonly Member[]): LivePrefix {
  const byName = new Map<string, Member>();
  for (const m of ms) byName.set(m.key, m);
  return { index: new Map([...byName.keys()].map((k, i) => [k, i])), members: [...byName.values()] };
}

/** LiveMap is one transaction's live collection (see the file comment). */
export class LiveMap {
  private prefix: LivePrefix | undefined;
  /** slots: this transaction's values of the prefix's names; undefined: deleted. */
  private slots: (Member | undefined)[] = [];
  private live = 0;
  private readonly rest = new Map<string, Member>();

  /** size is the number of names set. */
  get size(): number {
    return this.live + this.rest.size;
  }

  get(key: string): Member | undefined {
    if (this.prefix !== undefined) {
      const i = this.prefix.index.get(key);
      if (i !== undefined) {
        const m = this.slots[i];
        if (m !== undefined) return m;
      }
    }
    return this.rest.get(key);
  }

  set(key: string, m: Member): void {
    if (this.prefix !== undefined) {
      const i = this.prefix.index.get(key);
      // A prefix name in place keeps it; one deleted before is set again at the end (in rest).
      if (i !== undefined && this.slots[i] !== undefined) {
        this.slots[i] = m;
        return;
      }
    }
    this.rest.set(key, m);
  }

  delete(key: string): void {
    if (this.prefix !== undefined) {
      const i = this.prefix.index.get(key);
      if (i !== undefined && this.slots[i] !== undefined) {
        this.slots[i] = undefined;
        this.live--;
        return;
      }
    }
    this.rest.delete(key);
  }

  /** setAll stores p's members in turn: an empty collection takes p as its prefix. */
  setAll(p: LivePrefix): void {
    if (this.prefix === undefined && this.rest.size === 0) {
      this.prefix = p;
      this.slots = p.members.slice();
      this.live = this.slots.length;
      return;
    }
    for (const m of p.members) this.set(m.key, m);
  }

  /** each calls f on the members in order (no list made: TX holds ~80). */
  each(f: (m: Member) => void): void {
    for (const m of this.slots) if (m !== undefined) f(m);
    for (const m of this.rest.values()) f(m);
  }

  /** list is the members in order (a new array). */
  list(): Member[] {
    const out: Member[] = [];
    for (const m of this.slots) if (m !== undefined) out.push(m);
    for (const m of this.rest.values()) out.push(m);
    return out;
  }
}
