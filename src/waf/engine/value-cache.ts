// value-cache.ts: what the rule engine works out about a value that depends on the value alone —
// its transformations, the prefilter literals present in each transformed form, and which pure
// operators (program.ts Step.pureOp) do not match it — kept across transactions, per program.
// Benign traffic repeats its header values (User-Agent, Accept, cookies' names, ...), so a
// repeated value costs a map lookup instead of transformations, a literal scan and matcher runs.
//
// Correct by construction: every field is a pure function of its key. A transformation is a
// function of the value (ops/types.ts Transform); a value's literal bits are a function of the
// string and the program's LiteralIndex; a pure operator's "no match" is a function of the
// transformed value and the operator (no macro, no transaction state). Only "no match" is kept:
// a match runs the operator again in its transaction, so captures (TX:0..9), MATCHED_VAR and the
// setvars are each transaction's own. Nothing of a transaction (its variables, its scores) is
// stored here.
//
// Bounded: two generations (young, old). A lookup that finds a value in old moves it to young;
// when young has charged MAX_CHARGE bytes or holds MAX_ENTRIES values it becomes old and the old
// one is dropped. Each entry charges what it holds: its key, its transformed strings, its bit
// sets, its forms array (8 bytes a slot), its memo bits (memo.ts: 16 bytes a group plus the bit
// set when a rule matches), plus ENTRY_OVERHEAD per entry and record; so the cache
// holds at most about 2 × MAX_CHARGE bytes (4 MiB) per program whatever the traffic. Values
// longer than MAX_VALUE_CHARS (bodies, long arguments) are not kept: the evaluator works them
// out per transaction (a local map, as before this cache).

/** Rec is one form of a value: the value itself or its result under one transformation chain. */
export interface Rec {
  readonly v: string;
  /** bits: the literal groups in v (LiteralIndex.scan), once scanned. */
  bits: Uint32Array | undefined;
  /** miss: bit k set says pure operator k does not match v. */
  miss: Uint32Array | undefined;
  /** shared: held by the program's cache (what it adds is charged); false: one transaction's. */
  readonly shared: boolean;
}

/** Entry is a value as a rule reads it, with its transformed forms. t[chain prefix id] is the
 * value's Rec under that chain (the entry itself when the chain left it unchanged). Records are
 * the entry's own (never shared with another entry), so everything an entry reaches is charged
 * to it. */
export interface Entry extends Rec {
  t: (Rec | undefined)[] | undefined;
  /** memo: memo.ts's bits of this value per group, as pairs (group id, bits); NO_MATCH when no
   * rule of the group matches the value (most values, most groups). */
  memo: (number | Uint32Array)[] | undefined;
}

/** NO_MATCH is the memo bits of a value no rule of a group matches; shared, never written. */
export const NO_MATCH = new Uint32Array(0);

/** memoOf is e's bits for memo group id, undefined when not worked out yet. */
export function memoOf(e: Entry, id: number): Uint32Array | undefined {
  const m = e.memo;
  if (m === undefined) return undefined;
  for (let i = 0; i < m.length; i += 2) if (m[i] === id) return m[i + 1] as Uint32Array;
  return undefined;
}

/** MEMO_PAIR: bytes charged per memo pair (two array slots), plus the bits' own bytes. */
export const MEMO_PAIR = 16;

/** MAX_VALUE_CHARS: longer values are not kept across transactions. */
export const MAX_VALUE_CHARS = 2048;
/** MAX_CHARGE: bytes one generation may charge before it turns old. */
export const MAX_CHARGE = 2 * 1024 * 1024;
/** MAX_ENTRIES: values one generation may hold before it turns old. */
export const MAX_ENTRIES = 8192;
/** ENTRY_OVERHEAD: bytes charged per entry or record for the map slot and the objects. */
export const ENTRY_OVERHEAD = 96;

/** newEntry makes an entry for v (shared: for the program's cache). */
export function newEntry(v: string, shared: boolean): Entry {
  return { v, bits: undefined, miss: undefined, shared, t: undefined, memo: undefined };
}

/** newRec makes a record for a transformed form. */
export function newRec(v: string, shared: boolean): Rec {
  return { v, bits: undefined, miss: undefined, shared };
}

/** ValueCache is a program's cache of entries, shared by its transactions; with maxCharge 0 it
 * keeps nothing (ProgramOptions.plain). */
export class ValueCache {
  private young = new Map<string, Entry>();
  private old = new Map<string, Entry>();
  private charged = 0;
  /** generations counts the turns (young became old): tests and benches read it. */
  generations = 0;
  private readonly maxCharge: number;
  private readonly maxEntries: number;

  constructor(maxCharge = MAX_CHARGE, maxEntries = MAX_ENTRIES) {
    this.maxCharge = maxCharge;
    this.maxEntries = maxEntries;
  }

  /** get returns v's shared entry (made on first use), or undefined when v is too long to keep. */
  get(v: string): Entry | undefined {
    if (this.maxCharge <= 0) return undefined;
    let e = this.young.get(v);
    if (e !== undefined) return e;
    if (v.length > MAX_VALUE_CHARS) return undefined;
    e = this.old.get(v);
    if (e !== undefined) {
      this.old.delete(v);
      this.young.set(v, e);
      this.charge(size(e));
      return e;
    }
    const k = flat(v);
    e = newEntry(k, true);
    this.young.set(k, e);
    this.charge(v.length + ENTRY_OVERHEAD);
    return e;
  }

  /** charge counts n more bytes held by a young entry; the generation turns when it is full. */
  charge(n: number): void {
    this.charged += n;
    if (this.charged > this.maxCharge || this.young.size > this.maxEntries) {
      this.old = this.young;
      this.young = new Map();
      this.charged = 0;
      this.generations++;
    }
  }

  /** size is the number of values held (both generations). */
  get size(): number {
    return this.young.size + this.old.size;
  }
}

/** flat is a copy of v that holds only v's characters. V8 makes a substring of 13 characters or
 * more a slice of its parent (a header, the body), which a kept entry would keep alive whole;
 * joining a rope of one character and v makes a new flat string, whose slice keeps only it. */
export function flat(v: string): string {
  return v.length < 13 ? v : ` ${v}`.slice(1);
}

/** size is what entry e charges: its key, its records' strings and bit sets. */
function size(e: Entry): number {
  let n = e.v.length + ENTRY_OVERHEAD + bitBytes(e);
  const m = e.memo;
  if (m !== undefined)
    for (let i = 1; i < m.length; i += 2) n += MEMO_PAIR + 4 * (m[i] as Uint32Array).length;
  if (e.t !== undefined) {
    n += 8 * e.t.length;
    for (const r of new Set(e.t))
      if (r !== undefined && r !== e) n += r.v.length + ENTRY_OVERHEAD + bitBytes(r);
  }
  return n;
}

function bitBytes(r: Rec): number {
  return 4 * ((r.bits?.length ?? 0) + (r.miss?.length ?? 0));
}
