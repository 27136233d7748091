// compile.ts: turns the pattern tree into a Thompson NFA program (Pike's instruction set) that
// both matchers run: the lazy DFA for test() and the Pike VM for exec(). Counted repeats are
// expanded, so the program size (bounded by MAX_INSTRUCTIONS) is the m in the O(n·m) guarantee.
import { hasByte, isWordByte, setKey, type ByteSet } from "./bytes.ts";
import { RxSyntaxError, type AssertKind, type Node, type Parsed } from "./parse.ts";

/** Op codes of the program. */
export const SET = 0,
  SPLIT = 1,
  JMP = 2,
  SAVE = 3,
  ASSERT = 4,
  MATCH = 5;

/** ASSERT_CODES numbers the assertion kinds for the ASSERT instruction. */
export const ASSERT_CODES: Readonly<Record<AssertKind, number>> = {
  bot: 0,
  eot: 1,
  bol: 2,
  eol: 3,
  word: 4,
  notword: 5,
};

/** MAX_INSTRUCTIONS bounds a program (after {n,m} expansion); CRS's largest needs about 12 000. */
export const MAX_INSTRUCTIONS = 200_000;

/** Program is a compiled pattern. SPLIT prefers arg1 (that is how greedy and lazy differ). */
export interface Program {
  readonly op: Uint8Array;
  readonly arg1: Int32Array;
  readonly arg2: Int32Array;
  /** sets: membership tables (1 = member) for SET instructions, de-duplicated. */
  readonly sets: readonly Uint8Array[];
  /** byteClass maps a byte to its equivalence class: bytes no instruction or assertion tells apart. */
  readonly byteClass: Uint8Array;
  readonly classes: number;
  /** slots: 2 per group including group 0 (the whole match). */
  readonly slots: number;
  /** anchored: every match starts at offset 0 (the pattern begins with ^ or \A). */
  readonly anchored: boolean;
  /** usesWord / usesLine: whether \b \B or multi-line ^ $ occur (they make the DFA track the previous byte). */
  readonly usesWord: boolean;
  readonly usesLine: boolean;
}

/** compileProgram compiles a parsed pattern; pattern is only for error messages. */
export function compileProgram(parsed: Parsed, pattern: string): Program {
  const b = new Builder(pattern);
  b.emit(SAVE, 0);
  b.node(parsed.node);
  b.emit(SAVE, 1);
  b.emit(MATCH);
  const n = b.op.length;
  const op = Uint8Array.from(b.op);
  const arg1 = Int32Array.from(b.arg1);
  const arg2 = Int32Array.from(b.arg2);
  const { byteClass, classes } = equivalence(b.tables);
  let usesWord = false;
  let usesLine = false;
  for (let pc = 0; pc < n; pc++) {
    if (op[pc] !== ASSERT) continue;
    if (arg1[pc] === ASSERT_CODES.word || arg1[pc] === ASSERT_CODES.notword) usesWord = true;
    if (arg1[pc] === ASSERT_CODES.bol || arg1[pc] === ASSERT_CODES.eol) usesLine = true;
  }
  return {
    op,
    arg1,
    arg2,
    sets: b.tables,
    byteClass,
    classes,
    slots: 2 * (parsed.groups + 1),
    anchored: isAnchored(op, arg1, arg2),
    usesWord,
    usesLine,
  };
}

class Builder {
  readonly pattern: string;
  readonly op: number[] = [];
  readonly arg1: number[] = [];
  readonly arg2: number[] = [];
  readonly tables: Uint8Array[] = [];
  readonly tableIndex = new Map<string, number>();

  constructor(pattern: string) {
    this.pattern = pattern;
  }

  emit(op: number, a = 0, b = 0): number {
    if (this.op.length >= MAX_INSTRUCTIONS)
      throw new RxSyntaxError(
        "RX_TOO_LARGE",
        this.pattern,
        0,
        `pattern needs more than ${MAX_INSTRUCTIONS} instructions (large {n,m} counts?)`,
      );
    this.op.push(op);
    this.arg1.push(a);
    this.arg2.push(b);
    return this.op.length - 1;
  }

  table(set: ByteSet): number {
    const key = setKey(set);
    let i = this.tableIndex.get(key);
    if (i === undefined) {
      const t = new Uint8Array(256);
      for (let c = 0; c < 256; c++) t[c] = hasByte(set, c) ? 1 : 0;
      i = this.tables.push(t) - 1;
      this.tableIndex.set(key, i);
    }
    return i;
  }

  node(n: Node): void {
    switch (n.t) {
      case "empty":
        return;
      case "set":
        this.emit(SET, this.table(n.set));
        return;
      case "seq":
        for (const item of n.items) this.node(item);
        return;
      case "assert":
        this.emit(ASSERT, ASSERT_CODES[n.kind]);
        return;
      case "group":
        this.emit(SAVE, 2 * n.index);
        this.node(n.body);
        this.emit(SAVE, 2 * n.index + 1);
        return;
      case "alt": {
        const jumps: number[] = [];
        for (let i = 0; i < n.alts.length - 1; i++) {
          const split = this.emit(SPLIT, this.op.length + 1, 0);
          this.node(n.alts[i]!);
          jumps.push(this.emit(JMP));
          this.arg2[split] = this.op.length;
        }
        this.node(n.alts[n.alts.length - 1]!);
        for (const j of jumps) this.arg1[j] = this.op.length;
        return;
      }
      case "rep":
        this.rep(n.min, n.max, n.greedy, n.body);
        return;
    }
  }

  /** rep expands x{min,max}: min copies, then a loop (x+ form) or nested optionals (x(x(x)?)?)?. */
  rep(min: number, max: number, greedy: boolean, body: Node): void {
    const mandatory = max === Infinity && min > 0 ? min - 1 : min;
    for (let i = 0; i < mandatory; i++) this.node(body);
    if (max === Infinity && min > 0) {
      const top = this.op.length;
      this.node(body);
      const split = this.emit(SPLIT);
      this.branch(split, top, this.op.length, greedy);
      return;
    }
    if (max === Infinity) {
      const split = this.emit(SPLIT);
      this.node(body);
      this.emit(JMP, split);
      this.branch(split, split + 1, this.op.length, greedy);
      return;
    }
    const splits: number[] = [];
    for (let i = min; i < max; i++) {
      splits.push(this.emit(SPLIT));
      this.node(body);
    }
    for (const s of splits) this.branch(s, s + 1, this.op.length, greedy);
  }

  branch(split: number, into: number, past: number, greedy: boolean): void {
    this.arg1[split] = greedy ? into : past;
    this.arg2[split] = greedy ? past : into;
  }
}

/** equivalence partitions the bytes by membership in every table, word-ness and newline. */
function equivalence(tables: readonly Uint8Array[]): { byteClass: Uint8Array; classes: number } {
  const byteClass = new Uint8Array(256);
  const ids = new Map<string, number>();
  for (let c = 0; c < 256; c++) {
    let sig = (isWordByte(c) ? "w" : "-") + (c === 0x0a ? "n" : "-");
    for (const t of tables) sig += t[c];
    let id = ids.get(sig);
    if (id === undefined) ids.set(sig, (id = ids.size));
    byteClass[c] = id;
  }
  return { byteClass, classes: ids.size };
}

/** isAnchored says whether every path from the start meets \A (or ^ without m) before anything else. */
function isAnchored(op: Uint8Array, arg1: Int32Array, arg2: Int32Array): boolean {
  const seen = new Uint8Array(op.length);
  const stack = [0];
  while (stack.length > 0) {
    const pc = stack.pop()!;
    if (seen[pc]) continue;
    seen[pc] = 1;
    switch (op[pc]) {
      case SAVE:
        stack.push(pc + 1);
        break;
      case JMP:
        stack.push(arg1[pc]!);
        break;
      case SPLIT:
        stack.push(arg1[pc]!, arg2[pc]!);
        break;
      case ASSERT:
        if (arg1[pc] !== ASSERT_CODES.bot) return false;
        break;
      default:
        return false;
    }
  }
  return true;
}

/** assertHolds evaluates an ASSERT code between prev and next (bytes, or -1 at the ends of the input). */
export function assertHolds(code: number, prev: number, next: number): boolean {
  switch (code) {
    case 0:
      return prev < 0;
    case 1:
      return next < 0;
    case 2:
      return prev < 0 || prev === 0x0a;
    case 3:
      return next < 0 || next === 0x0a;
    default: {
      const differ = (prev >= 0 && isWordByte(prev)) !== (next >= 0 && isWordByte(next));
      return code === 4 ? differ : !differ;
    }
  }
}
