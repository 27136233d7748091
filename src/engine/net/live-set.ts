// live-set.ts: sets of live connections (a listener's sockets, a runtime's HTTP/1.1 and HTTP/2
// connections, the parser sweep's), kept for the rare walk over all of them (drain on retire,
// destroy on close, the sweep). Connections join and leave at their own rate — once per
// request when clients close after each one — and a JavaScript Set under that churn reallocates
// its hash table every few dozen operations. V8 promotes a table that is current at a scavenge;
// replaced, it is garbage in the old generation that still points at the connections it held, so
// those (socket, stream state, closures) are promoted as well and wait for a full collection.
// Measured with Connection: close at 13k connections/s: 1.4 MB promoted per scavenge and a
// mark-compact every ~1.3 s with two Sets; none without them. Here a member is a node of a
// doubly linked list: joining and leaving relink neighbours, allocate nothing, and leave no
// pointer behind.

//
// A member may be its own node (Linked): the links are then three fields of the member instead of
// a separate node object (56 bytes), which for a connection that stays idle for minutes is memory
// held all that time (docs/performance.md, "Idle connections: one compaction per burst").

/** Linked is what a LiveSet links: a LiveNode, or a member that carries its own links. */
export interface Linked<T> {
  prev: Linked<T> | null;
  next: Linked<T> | null;
  /** set is the LiveSet the node is in, or null. */
  set: LiveSet<T> | null;
  /** value is the member (a member that is its own node answers itself). */
  readonly value: T;
}

/** LiveNode holds one member; a member makes its node once and reuses it. */
export class LiveNode<T> implements Linked<T> {
  prev: Linked<T> | null = null;
  next: Linked<T> | null = null;
  set: LiveSet<T> | null = null;
  readonly value: T;
  constructor(value: T) {
    this.value = value;
  }
}

/** LiveSet is a set of nodes with O(1) add and delete. */
export class LiveSet<T> {
  private first: Linked<T> | null = null;
  private count = 0;

  get size(): number {
    return this.count;
  }

  /** add puts n in this set (moving it from another set; again is a no-op). */
  add(n: Linked<T>): void {
    if (n.set === this) return;
    n.set?.delete(n);
    n.set = this;
    n.next = this.first;
    if (this.first !== null) this.first.prev = n;
    this.first = n;
    this.count++;
  }

  /** delete takes n out of this set (a node not in it is a no-op). */
  delete(n: Linked<T>): void {
    if (n.set !== this) return;
    if (n.prev !== null) n.prev.next = n.next;
    else this.first = n.next;
    if (n.next !== null) n.next.prev = n.prev;
    n.prev = null;
    n.next = null;
    n.set = null;
    this.count--;
  }

  /** values copies the members out, so the caller may change the set while it walks them. */
  values(): T[] {
    const out: T[] = [];
    for (let n = this.first; n !== null; n = n.next) out.push(n.value);
    return out;
  }
}
