// aho-corasick.ts: the phrase matcher of @pm and @pmFromFile: one pass over the value finds
// whether any phrase occurs in it, whatever the number of phrases (CRS's php-errors.data has
// 1 800). ASCII case-insensitive, as ModSecurity's @pm. The trie is stored flat: the root has a
// full 256-entry table (most bytes of a value leave the root at once), deeper states keep their
// few edges in sorted runs of parallel arrays, and failure links make the walk linear.

/** PhraseMatcher finds the first phrase (by end position in the value) that occurs in a value. */
export class PhraseMatcher {
  /** phrases are the phrases as given (what a match reports). */
  readonly phrases: readonly string[];
  private readonly root = new Int32Array(256);
  private readonly edgeStart: Int32Array;
  private readonly edgeCount: Int32Array;
  private readonly edgeByte: Uint8Array;
  private readonly edgeNext: Int32Array;
  private readonly fail: Int32Array;
  /** out: the phrase a state completes (its own, else the longest proper suffix's), -1 none. */
  private readonly out: Int32Array;
  private readonly depth: Int32Array;

  constructor(phrases: readonly string[]) {
    this.phrases = phrases;
    // Build a plain trie first (maps per state), then flatten it.
    const kids: Map<number, number>[] = [new Map()];
    const own: number[] = [-1];
    const depth: number[] = [0];
    phrases.forEach((p, index) => {
      if (p === "") return;
      let s = 0;
      for (let i = 0; i < p.length; i++) {
        const c = FOLD[p.charCodeAt(i) & 0xff]!;
        let t = kids[s]!.get(c);
        if (t === undefined) {
          t = kids.length;
          kids.push(new Map());
          own.push(-1);
          depth.push(depth[s]! + 1);
          kids[s]!.set(c, t);
        }
        s = t;
      }
      if (own[s] === -1) own[s] = index;
    });
    const n = kids.length;
    this.edgeStart = new Int32Array(n);
    this.edgeCount = new Int32Array(n);
    this.edgeByte = new Uint8Array(Math.max(1, n - 1));
    this.edgeNext = new Int32Array(Math.max(1, n - 1));
    this.fail = new Int32Array(n);
    this.out = Int32Array.from(own);
    this.depth = Int32Array.from(depth);
    let e = 0;
    for (let s = 0; s < n; s++) {
      const sorted = [...kids[s]!].sort((a, b) => a[0] - b[0]);
      this.edgeStart[s] = e;
      this.edgeCount[s] = sorted.length;
      for (const [c, t] of sorted) {
        this.edgeByte[e] = c;
        this.edgeNext[e++] = t;
      }
    }
    for (let c = 0; c < 256; c++) this.root[c] = kids[0]!.get(FOLD[c]!) ?? 0;
    // Breadth-first: a state's failure link is the longest proper suffix that is also a state.
    const queue: number[] = [];
    for (const t of kids[0]!.values()) queue.push(t);
    for (let q = 0; q < queue.length; q++) {
      const s = queue[q]!;
      for (const [c, t] of kids[s]!) {
        let f = this.fail[s]!;
        let g = this.edge(f, c);
        while (g < 0 && f !== 0) {
          f = this.fail[f]!;
          g = this.edge(f, c);
        }
        this.fail[t] = g > 0 && g !== t ? g : 0;
        if (this.out[t] === -1) this.out[t] = this.out[this.fail[t]!]!;
        queue.push(t);
      }
    }
  }

  /** edge is s's child on folded byte c, -1 when none (the root answers 0, never -1). */
  private edge(s: number, c: number): number {
    if (s === 0) return this.root[c]!;
    const start = this.edgeStart[s]!;
    const end = start + this.edgeCount[s]!;
    for (let e = start; e < end; e++) {
      const b = this.edgeByte[e]!;
      if (b === c) return this.edgeNext[e]!;
      if (b > c) break;
    }
    return -1;
  }

  /** find returns the start of the first match in s and sets lastPhrase, or -1 when none. */
  find(s: string): number {
    let state = 0;
    for (let i = 0; i < s.length; i++) {
      const c = FOLD[s.charCodeAt(i) & 0xff]!;
      let t = this.edge(state, c);
      while (t < 0) {
        state = this.fail[state]!;
        t = this.edge(state, c);
      }
      state = t;
      const o = this.out[state]!;
      if (o >= 0) {
        this.lastPhrase = o;
        return i + 1 - this.phrases[o]!.length;
      }
    }
    return -1;
  }

  /** lastPhrase is the index of the phrase the last successful find() matched. */
  lastPhrase = -1;
}

// ASCII lower-casing table for bytes.
const FOLD: Uint8Array = (() => {
  const t = new Uint8Array(256);
  for (let c = 0; c < 256; c++) t[c] = c >= 0x41 && c <= 0x5a ? c + 32 : c;
  return t;
})();
