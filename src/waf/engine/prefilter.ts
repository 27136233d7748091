// prefilter.ts: the program-wide literal prefilter. Every operator that knows a necessary
// condition for a match (src/waf/rx/prefilter.ts: literals its matches must contain; @pm: its
// phrases) has it compiled here into a formula over "groups" (one group per distinct literal
// list). One Aho–Corasick automaton over all the literals of the program scans a value once and
// gives the set of groups with a literal in it; each rule then decides "cannot match" with a few
// bit tests instead of running its matcher. Exact by construction: a formula only skips a value
// whose matcher would have said no.
import type { Prefilter } from "../rx/prefilter.ts";

/** Pre is a compiled prefilter: a literal list (its group's bit, for the literals of two bytes
 * or more, and the mask of its one-byte literals), or an AND / OR of compiled prefilters. */
export type Pre =
  | { readonly g: number; readonly bytes: Uint32Array | undefined }
  | { readonly and: readonly Pre[] }
  | { readonly or: readonly Pre[] };

/** BYTE_WORDS: a value's bits start with the 256-bit set of the (folded) bytes it holds, so
 * one-byte literals — in almost every value — cost no automaton output. */
const BYTE_WORDS = 8;

/** holds evaluates pre on a value's bits: words [off, off + LiteralIndex.words) of arena
 * (LiteralIndex.scan). */
export function holds(pre: Pre, arena: Uint32Array, off: number): boolean {
  if ("g" in pre) {
    const g = pre.g;
    if ((arena[off + BYTE_WORDS + (g >>> 5)]! & (1 << (g & 31))) !== 0) return true;
    const m = pre.bytes;
    if (m !== undefined)
      for (let k = 0; k < BYTE_WORDS; k++) if ((arena[off + k]! & m[k]!) !== 0) return true;
    return false;
  }
  if ("and" in pre) {
    for (const p of pre.and) if (!holds(p, arena, off)) return false;
    return true;
  }
  for (const p of pre.or) if (holds(p, arena, off)) return true;
  return false;
}

/** ROWS_MAX bounds the automaton's lazily built transition rows (per program); past it they are
 * dropped and rebuilt on demand, as the regex DFA does, so memory stays bounded. */
const ROWS_MAX = 4096;

/** LiteralIndex compiles prefilters and scans values for their literals (ASCII case-insensitive). */
export class LiteralIndex {
  private readonly groupIds = new Map<string, number>();
  private readonly groupLits: string[][] = [];
  /** words is the size of a value's bits: the bytes it holds, then one bit per group. */
  words = 0;
  // The automaton, built by seal(): a trie of folded literals with failure links; transitions
  // are computed on first use into dense rows over byte classes.
  private classOf = new Uint8Array(256);
  private classes = 1;
  /** edges of state s: edgeClass/edgeNext[edgeStart[s], edgeStart[s + 1]) (flat: a Map per
   * state cost megabytes for the CRS's ~20 000 states). */
  private edgeStart = new Int32Array(1);
  private edgeClass = new Uint8Array(0);
  private edgeNext = new Int32Array(0);
  private fail = new Int32Array(0);
  /** dict[s]: the nearest proper suffix state that ends a literal (0: none). */
  private dict = new Int32Array(0);
  private outStart = new Int32Array(0);
  private outGroups = new Int32Array(0);
  private rows: (Int32Array | undefined)[] = [];
  private rowCount = 0;
  private stamp = new Uint32Array(0);
  private gen = 0;

  /** compile turns p into a Pre, registering its literal lists; call before seal(). A formula
   * of more than LEAVES_MAX lists is weakened to one list first (see weaken). */
  compile(p: Prefilter): Pre {
    return this.compileTree(leaves(p) > LEAVES_MAX ? weaken(p) : p);
  }

  private compileTree(p: Prefilter): Pre {
    if (p.op === "lits") {
      const long = p.lits.filter((l) => l.length > 1);
      let bytes: Uint32Array | undefined;
      for (const l of p.lits) {
        if (l.length !== 1) continue;
        bytes ??= new Uint32Array(BYTE_WORDS);
        const b = fold(l.charCodeAt(0) & 0xff);
        bytes[b >>> 5]! |= 1 << (b & 31);
      }
      // A list of one-byte literals only gets a group that is never set (no literal in it).
      const key = long.join("\0");
      let g = this.groupIds.get(key);
      if (g === undefined) {
        g = this.groupLits.length;
        this.groupIds.set(key, g);
        this.groupLits.push(long);
      }
      return { g, bytes };
    }
    const of = p.of.map((x) => this.compileTree(x));
    return p.op === "and" ? { and: of } : { or: of };
  }

  /** size is the number of groups (bits per value). */
  get size(): number {
    return this.groupLits.length;
  }

  /** seal builds the automaton over every literal compiled so far. */
  seal(): void {
    this.words = BYTE_WORDS + ((this.groupLits.length + 31) >>> 5);
    // Byte classes: bytes no literal holds share class 0 (their transition is always the root).
    const seen = new Map<number, number>();
    const classOf = new Uint8Array(256);
    for (const lits of this.groupLits)
      for (const l of lits)
        for (let i = 0; i < l.length; i++) {
          const b = fold(l.charCodeAt(i) & 0xff);
          if (!seen.has(b)) seen.set(b, seen.size + 1);
        }
    for (let b = 0; b < 256; b++) classOf[b] = seen.get(fold(b)) ?? 0;
    this.classOf = classOf;
    this.classes = seen.size + 1;
    const kids: Map<number, number>[] = [new Map()];
    const own: number[][] = [[]];
    this.groupLits.forEach((lits, g) => {
      for (const l of lits) {
        let s = 0;
        for (let i = 0; i < l.length; i++) {
          const c = classOf[l.charCodeAt(i) & 0xff]!;
          let t = kids[s]!.get(c);
          if (t === undefined) {
            t = kids.length;
            kids.push(new Map());
            own.push([]);
            kids[s]!.set(c, t);
          }
          s = t;
        }
        own[s]!.push(g);
      }
    });
    const n = kids.length;
    const fail = new Int32Array(n);
    const dict = new Int32Array(n);
    const queue: number[] = [...kids[0]!.values()];
    for (let q = 0; q < queue.length; q++) {
      const s = queue[q]!;
      for (const [c, t] of kids[s]!) {
        let f = fail[s]!;
        while (f !== 0 && !kids[f]!.has(c)) f = fail[f]!;
        const g = s === 0 ? 0 : (kids[f]!.get(c) ?? 0);
        fail[t] = g === t ? 0 : g;
        dict[t] = own[fail[t]!]!.length > 0 ? fail[t]! : dict[fail[t]!]!;
        queue.push(t);
      }
    }
    for (const t of kids[0]!.values()) fail[t] = 0;
    this.edgeStart = new Int32Array(n + 1);
    const edgeClass: number[] = [];
    const edgeNext: number[] = [];
    for (let st = 0; st < n; st++) {
      this.edgeStart[st] = edgeClass.length;
      for (const [c, t] of kids[st]!) {
        edgeClass.push(c);
        edgeNext.push(t);
      }
    }
    this.edgeStart[n] = edgeClass.length;
    this.edgeClass = Uint8Array.from(edgeClass);
    this.edgeNext = Int32Array.from(edgeNext);
    this.fail = fail;
    this.dict = dict;
    this.outStart = new Int32Array(n + 1);
    const flat: number[] = [];
    for (let s = 0; s < n; s++) {
      this.outStart[s] = flat.length;
      for (const g of new Set(own[s])) flat.push(g);
    }
    this.outStart[n] = flat.length;
    this.outGroups = Int32Array.from(flat);
    this.rows = new Array<Int32Array | undefined>(n);
    this.stamp = new Uint32Array(n);
  }

  /** scan writes the bits of s (a binary string; bytes read as `& 0xff`, as the regex engine
   * reads them) into out[off, off + words), which must be zero. */
  scan(s: string, out: Uint32Array, off: number): void {
    if (this.gen === 0xffffffff) {
      this.stamp.fill(0);
      this.gen = 0;
    }
    const gen = ++this.gen;
    const classOf = this.classOf;
    const outStart = this.outStart;
    let st = 0;
    for (let i = 0; i < s.length; i++) {
      const b = s.charCodeAt(i) & 0xff;
      const f = b >= 0x41 && b <= 0x5a ? b + 32 : b;
      out[off + (f >>> 5)]! |= 1 << (f & 31);
      const c = classOf[b]!;
      if (c === 0) {
        st = 0;
        continue;
      }
      st = this.next(st, c);
      let o = outStart[st + 1]! > outStart[st]! ? st : this.dict[st]!;
      while (o > 0 && this.stamp[o] !== gen) {
        this.stamp[o] = gen;
        for (let k = outStart[o]!; k < outStart[o + 1]!; k++) {
          const g = this.outGroups[k]!;
          out[off + BYTE_WORDS + (g >>> 5)]! |= 1 << (g & 31);
        }
        o = this.dict[o]!;
      }
    }
  }

  /** edge is state st's child on class c, -1 when none. */
  private edge(st: number, c: number): number {
    for (let e = this.edgeStart[st]!; e < this.edgeStart[st + 1]!; e++)
      if (this.edgeClass[e] === c) return this.edgeNext[e]!;
    return -1;
  }

  private next(st: number, c: number): number {
    let row = this.rows[st];
    if (row === undefined) {
      if (this.rowCount >= ROWS_MAX) {
        this.rows.fill(undefined);
        this.rowCount = 0;
      }
      row = new Int32Array(this.classes).fill(-1);
      this.rows[st] = row;
      this.rowCount++;
    }
    let t = row[c]!;
    if (t < 0) {
      const k = this.edge(st, c);
      t = k >= 0 ? k : st === 0 ? 0 : this.next(this.fail[st]!, c);
      // next() on the failure state may have dropped every row: write through the local one.
      row[c] = t;
    }
    return t;
  }
}

/** LEAVES_MAX bounds the literal lists of a formula checked per value: CRS's command-evasion
 * patterns give OR-of-AND trees of hundreds of one-letter lists, slower to check than to match. */
const LEAVES_MAX = 16;

function leaves(p: Prefilter): number {
  return p.op === "lits" ? 1 : p.of.reduce((n, x) => n + leaves(x), 0);
}

/** weaken makes a formula one literal list that holds wherever the formula does: an AND keeps its
 * most selective part (longest shortest literal), an OR merges its parts' lists. Still a
 * necessary condition for a match, only less selective. */
export function weaken(p: Prefilter): Prefilter & { op: "lits" } {
  if (p.op === "lits") return p;
  const parts = p.of.map(weaken);
  if (p.op === "and") {
    const strength = (x: { lits: readonly string[] }) => Math.min(...x.lits.map((l) => l.length));
    return parts.reduce((best, x) =>
      strength(x) > strength(best) || (strength(x) === strength(best) && x.lits.length < best.lits.length)
        ? x
        : best,
    );
  }
  return { op: "lits", lits: [...new Set(parts.flatMap((x) => x.lits))] };
}

function fold(b: number): number {
  return b >= 0x41 && b <= 0x5a ? b + 32 : b;
}
