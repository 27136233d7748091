// dfa.ts: a lazily built DFA for test() (match or not, no captures). Each state is the set of NFA
// threads alive after a byte; a transition is computed once (one pass over the program, like one
// Pike VM step) and then cached, so a byte usually costs one array read. The cache has a byte
// budget: when full it is dropped and rebuilt as needed (as RE2 does), so memory is bounded and
// the time stays O(n·m) in the worst case.
import { isWordByte } from "./bytes.ts";
import { ASSERT, JMP, MATCH, SAVE, SET, SPLIT, assertHolds, type Program } from "./compile.ts";

const UNKNOWN = -1;
const FOUND = -2;
const DEAD = -3;

// Previous-byte kinds a state remembers for ^ $ \b \B, with a representative byte each.
const PREV_START = 0;
const PREV_NEWLINE = 1;
const PREV_WORD = 2;
const PREV_OTHER = 3;
const PREV_BYTE = [-1, 0x0a, 0x61, 0x20];

interface State {
  readonly pcs: Int32Array;
  readonly prev: number;
}

/** DEFAULT_DFA_BUDGET is the cache size per pattern, in bytes (approximate). */
export const DEFAULT_DFA_BUDGET = 1 << 20;

/** Dfa runs test() for one program; it keeps its cache between calls. */
export class Dfa {
  readonly prog: Program;
  readonly budget: number;
  private states: State[] = [];
  /** trans[s * stride + k] is state s's transition on byte class k (stride = classes + 1, the
   * last column the end of input): one flat table, so a byte costs one typed-array read. */
  private trans: Int32Array;
  private readonly stride: number;
  private index = new Map<string, number>();
  private used = 0;
  /** bytes is the cache's approximate size. */
  get bytes(): number {
    return this.used;
  }
  /** resets counts cache drops (a sign of a pattern/input pair that defeats the cache). */
  resets = 0;
  /** work counts input bytes plus instructions visited building transitions: the cost model of test(). */
  work = 0;
  private readonly mark: Uint32Array;
  private gen = 0;
  private readonly repByte: Int16Array;
  /** initial: the start state's id (a hot path for short inputs: no key to build), -1 when dropped. */
  private initial = -1;

  constructor(prog: Program, budget = DEFAULT_DFA_BUDGET) {
    this.prog = prog;
    this.budget = budget;
    this.mark = new Uint32Array(prog.op.length);
    this.repByte = new Int16Array(prog.classes).fill(-1);
    for (let c = 255; c >= 0; c--) this.repByte[prog.byteClass[c]!] = c;
    this.stride = prog.classes + 1;
    this.trans = new Int32Array(this.stride * 8).fill(UNKNOWN);
  }

  /** test says whether input[0, end) contains a match. */
  test(input: Uint8Array, end = input.length): boolean {
    const { byteClass, classes } = this.prog;
    this.work += end;
    if (this.initial < 0) this.initial = this.state(Int32Array.of(0), PREV_START);
    const stride = this.stride;
    let trans = this.trans;
    // base is the current state's row (id * stride): the table holds rows, not ids.
    let base = this.initial * stride;
    for (let i = 0; i < end; i++) {
      const k = byteClass[input[i]!]!;
      let t = trans[base + k]!;
      if (t === UNKNOWN) {
        t = this.step(base / stride, k);
        trans = this.trans;
      }
      if (t < 0) return t === FOUND;
      base = t;
    }
    let t = trans[base + classes]!;
    if (t === UNKNOWN) t = this.step(base / stride, classes);
    return t === FOUND;
  }

  /** testString is test() on a binary string (one char per byte, read as its low byte, as a
   * latin1 Buffer write would): no copy into a buffer, which for the WAF's many short values cost
   * more than the scan. */
  testString(input: string): boolean {
    const { byteClass, classes } = this.prog;
    const end = input.length;
    this.work += end;
    if (this.initial < 0) this.initial = this.state(Int32Array.of(0), PREV_START);
    const stride = this.stride;
    let trans = this.trans;
    // base is the current state's row (id * stride): the table holds rows, not ids.
    let base = this.initial * stride;
    for (let i = 0; i < end; i++) {
      const k = byteClass[input.charCodeAt(i) & 0xff]!;
      let t = trans[base + k]!;
      if (t === UNKNOWN) {
        t = this.step(base / stride, k);
        trans = this.trans;
      }
      if (t < 0) return t === FOUND;
      base = t;
    }
    let t = trans[base + classes]!;
    if (t === UNKNOWN) t = this.step(base / stride, classes);
    return t === FOUND;
  }

  /** step computes (and caches) the transition of state s on byte class k (classes = end of
   * input): the next state's row (id * stride), or FOUND / DEAD. */
  private step(s: number, k: number): number {
    const { op, arg1, arg2, sets, classes, anchored } = this.prog;
    const st = this.states[s]!;
    const prev = PREV_BYTE[st.prev]!;
    const next = k === classes ? -1 : this.repByte[k]!;
    const gen = ++this.gen;
    const mark = this.mark;
    const stack: number[] = Array.from(st.pcs);
    // Unanchored search: a new thread starts at every offset (lowest priority; order is moot here).
    if (!anchored && st.prev !== PREV_START) stack.push(0);
    const out: number[] = [];
    let found = false;
    while (stack.length > 0) {
      const pc = stack.pop()!;
      if (mark[pc] === gen) continue;
      mark[pc] = gen;
      this.work++;
      switch (op[pc]) {
        case JMP:
          stack.push(arg1[pc]!);
          break;
        case SPLIT:
          stack.push(arg2[pc]!, arg1[pc]!);
          break;
        case SAVE:
          stack.push(pc + 1);
          break;
        case ASSERT:
          if (assertHolds(arg1[pc]!, prev, next)) stack.push(pc + 1);
          break;
        case MATCH:
          found = true;
          break;
        case SET:
          if (next >= 0 && sets[arg1[pc]!]![next] === 1) out.push(pc + 1);
          break;
      }
    }
    let t: number;
    if (found) t = FOUND;
    else if (next < 0 || (anchored && out.length === 0)) t = DEAD;
    else {
      const pcs = Int32Array.from(out).sort();
      const kind = this.prevKind(next);
      const key = kind + ":" + pcs.join(",");
      const known = this.index.get(key);
      if (known !== undefined) t = known;
      else {
        if (this.used + this.cost(pcs) > this.budget && this.states.length > 0) {
          this.drop();
          return this.state(pcs, kind) * this.stride; // the caller moves on from s: s need not survive
        }
        t = this.state(pcs, kind);
      }
    }
    const row = t >= 0 ? t * this.stride : t;
    this.trans[s * this.stride + k] = row;
    return row;
  }

  private prevKind(b: number): number {
    if (this.prog.usesLine && b === 0x0a) return PREV_NEWLINE;
    if (this.prog.usesWord && isWordByte(b)) return PREV_WORD;
    return PREV_OTHER;
  }

  private cost(pcs: Int32Array): number {
    return 4 * (this.prog.classes + 1) + 6 * pcs.length + 64;
  }

  private state(pcs: Int32Array, prev: number): number {
    const key = prev + ":" + pcs.join(",");
    const known = this.index.get(key);
    if (known !== undefined) return known;
    const id = this.states.length;
    this.states.push({ pcs, prev });
    if ((id + 1) * this.stride > this.trans.length) {
      const grown = new Int32Array(this.trans.length * 2).fill(UNKNOWN);
      grown.set(this.trans);
      this.trans = grown;
    }
    this.index.set(key, id);
    this.used += this.cost(pcs);
    return id;
  }

  private drop(): void {
    this.states = [];
    this.trans.fill(UNKNOWN);
    this.index = new Map();
    this.used = 0;
    this.initial = -1;
    this.resets++;
  }
}
