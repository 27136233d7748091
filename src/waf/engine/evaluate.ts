// evaluate.ts: running rules. Per rule: each target's values (selected, minus exclusions),
// transformed (cached per transformation chain and value for the transaction), tested by the
// operator (negation applied here), captures into TX:0..9. Every rule of a chain runs its
// setvar/ctl/setenv at each match, before the next link is tested, as ModSecurity v3 and Coraza
// do: CRS scores count matches, and chains like 931130 read in the link what the first rule set.
// Once the whole chain matched: skip/skipAfter, the disruptive action and the hit.
import type { MacroRef, Phase, SetVar, Template } from "../lang/model.ts";
import type { OperatorContext, OperatorResult } from "../ops/types.ts";
import type {
  CompiledRule,
  Exclusion,
  Item,
  RunAction,
  Sel,
  Step,
  Target,
  TargetRemoval,
} from "./program.ts";
import { constantBlock, constantSet } from "./constant-sets.ts";
import { holds } from "./prefilter.ts";
import type { MemoGroup, MemoPhase } from "./memo.ts";
import {
  ENTRY_OVERHEAD,
  flat,
  MEMO_PAIR,
  memoOf,
  newEntry,
  newRec,
  NO_MATCH,
  type Entry,
  type Rec,
  type ValueCache,
} from "./value-cache.ts";
import type { Tx } from "./transaction.ts";
import type { WafHit } from "./types.ts";
import { fullName, member, named, type Member } from "./vars.ts";

const NONE: readonly Member[] = [];
const NO_REMOVALS: readonly TargetRemoval[] = [];

// removes memoises, per compiled removal (shared by every transaction), which rules it names.
const removed = new WeakMap<TargetRemoval, Map<CompiledRule, boolean>>();

/** removes says whether a ctl:ruleRemoveTargetBy* removal names rule r. */
function removes(tr: TargetRemoval, r: CompiledRule): boolean {
  let rules = removed.get(tr);
  if (!rules) {
    rules = new Map();
    removed.set(tr, rules);
  }
  let yes = rules.get(r);
  if (yes === undefined) {
    yes =
      tr.by === "id"
        ? tr.ids.some((x) => r.id >= x.from && r.id <= x.to)
        : tr.by === "tag"
          ? r.tags.includes(tr.what)
          : r.msg?.raw === tr.what;
    rules.set(r, yes);
  }
  return yes;
}

const HIT_VALUE_BYTES = 120;
/** CAPTURE_KEYS are TX:0..9's names. */
const CAPTURE_KEYS = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"];
const NO_BITS = new Uint32Array(0);
/** UNION_POOL bounds the union storages a program keeps for reuse (one per concurrent
 * transaction is what saves allocations; more would only hold memory). */
const UNION_POOL = 64;
const EMPTIES = new Map<number, Uint32Array>();

/** emptyBits is the bits of "" (no literal, no byte) for words words; shared, never written. */
function emptyBits(words: number): Uint32Array {
  let e = EMPTIES.get(words);
  if (e === undefined) EMPTIES.set(words, (e = new Uint32Array(words)));
  return e;
}
const NO_AT = new Float64Array(0);
/** CHEAP_OPS: number comparisons, the score checks and paranoia gates; running one does not make
 * the next rule read the clock (Evaluator.timed). */
const CHEAP_OPS = new Set(["eq", "ge", "gt", "le", "lt"]);

/** or sets to[toOff, toOff + w) |= from[fromOff, fromOff + w). */
function or(to: Uint32Array, toOff: number, from: Uint32Array, fromOff: number, w: number): void {
  for (let k = 0; k < w; k++) to[toOff + k]! |= from[fromOff + k]!;
}

/** Evaluator runs a transaction's rules. */
export class Evaluator {
  private readonly tx: Tx;
  /** values: the program's cross-transaction cache (value-cache.ts); local: this transaction's
   * entries for the values too long to keep there. */
  private readonly values: ValueCache;
  private readonly local = new Map<string, Entry>();
  private readonly words: number;
  private readonly pureWords: number;
  /** unionBits holds the union slots' bits (program.ts Step.union), words apiece; a slot is
   * valid while unionAt[slot] is the data version it was computed at. */
  private unionBits: Uint32Array = NO_BITS;
  private unionAt: Float64Array = NO_AT;
  private readonly empty: Uint32Array;
  private readonly ctx: OperatorContext & { captures: string[] | undefined };
  private readonly captures: string[] = [];
  private skip = 0;
  /** removals: the runtime target removals naming removalsRule, with removalsSeen removals made. */
  private removalsRule: CompiledRule | undefined;
  private removalsSeen = 0;
  private removals: readonly TargetRemoval[] = NO_REMOVALS;
  private skipAfter: string | undefined;
  private stopPhase = false;
  /** mayMatch: the memoised rules of phase memoPhase that may match at data version memoAt
   * (memo.ts), as far as the groups read so far tell (filled of them, each stamped with the
   * version in groupAt[id]); a rule's groups are read before its bit is. */
  private mayMatch: Uint32Array = NO_BITS;
  private memoPhase = 0;
  private memoAt = -1;
  private filled = 0;
  /** readUpTo: the groups of memoPhase before this position are all read at memoAt. */
  private readUpTo = 0;
  private groupAt: Float64Array = NO_AT;
  /** timed: something that can take time (an operator other than a number comparison, a target
   * list, a memo fill, the phase's own input) ran since the budget was last checked; a rule is
   * entered without reading the clock after rules that only set or compared TX (SecActions,
   * score checks): `performance.now()` costs 100–150 ns on a VM, ~20 reads a clean GET. */
  private timed = true;

  constructor(tx: Tx) {
    this.tx = tx;
    this.ctx = { expand: (t) => this.expand(t), captures: undefined };
    const p = tx.program;
    this.values = p.values;
    this.words = p.literals.words;
    this.pureWords = p.pureWords;
    this.empty = emptyBits(this.words);
  }

  /** runPhase runs a phase's rules in order until the phase ends or the transaction stops. */
  runPhase(phase: Phase, items: readonly Item[]): void {
    const tx = this.tx;
    const runs = tx.program.runs[phase] as Int32Array;
    const memo = tx.program.memo[phase] as MemoPhase;
    const memoBits = memo.bits;
    this.skip = 0;
    this.skipAfter = undefined;
    this.stopPhase = false;
    // The phase's parsing counts against the budget: the first rule entered reads the clock.
    this.timed = true;
    for (let i = 0; i < items.length; i++) {
      // plan.ts: pass over the rules of a run whose prefilter fails on the run's union.
      while (i < items.length && runs[i]! > 0 && this.skip === 0 && this.skipAfter === undefined) {
        const end = runs[i]!;
        i = this.pass(items, i, end);
        if (i < end) break;
      }
      if (i >= items.length) break;
      const item = items[i] as Item;
      if (item.kind === "marker") {
        if (this.skipAfter === item.name) this.skipAfter = undefined;
        continue;
      }
      if (this.skipAfter !== undefined) continue;
      if (this.skip > 0) {
        this.skip--;
        continue;
      }
      // memo.ts: a memoised rule none of whose values' bits are set cannot match (a count that
      // runtime removals may change aside).
      const bit = memoBits[i]!;
      if (
        bit >= 0 &&
        !this.memoised(memo, phase, i, bit) &&
        (memo.counted[i] === 0 || this.removalsFor(item).length === 0)
      )
        continue;
      if (tx.mode === "Off" || tx.removed(item)) continue;
      if (this.timed) {
        this.timed = false;
        if (tx.overTime()) return;
      }
      this.rule(item, phase, bit >= 0);
      if (this.stopPhase || (tx.interruption && phase !== 5)) return;
    }
  }

  /** pass returns the first rule of items[i, end) — a run (plan.ts) — whose first step's
   * prefilter holds on the run's union, or end: the rules before it cannot match. */
  private pass(items: readonly Item[], i: number, end: number): number {
    const first = (items[i] as CompiledRule).steps[0] as Step;
    const u = this.stepUnion(first);
    const bits = this.unionBits;
    for (; i < end; i++) if (holds((items[i] as CompiledRule).steps[0]!.pre!, bits, u)) return i;
    return end;
  }

  /** rule runs r; memoised: a rule of the memo plan, whose first step's union is not checked
   * (the memo, finer, let it through). */
  private rule(r: CompiledRule, phase: Phase, memoised: boolean): void {
    const vars = this.tx.vars;
    vars.rule = r;
    // Reused: MATCHED_VARS is read through copies (named()) and by hit() for this rule only.
    // (Setting length on an empty array is not free: most rules entered match nothing.)
    if (vars.matchedVars.length !== 0) vars.matchedVars.length = 0;
    let first: Member[] | undefined;
    const steps = r.steps;
    for (let i = 0; i < steps.length; i++) {
      const matches = this.step(steps[i] as Step, r, memoised && i === 0);
      if (!matches) return;
      first ??= matches;
    }
    if (r.severity !== undefined && r.severity < vars.highestSeverity) vars.highestSeverity = r.severity;
    if (r.skip) this.skip = r.skip;
    if (r.skipAfter !== undefined) this.skipAfter = r.skipAfter;
    const disruptive = this.disrupt(r, phase);
    if (r.log) this.hit(r, phase, first, disruptive);
  }

  /** disrupt applies the rule's disruptive action; true when it took (or would take) effect. */
  private disrupt(r: CompiledRule, phase: Phase): boolean {
    const d = r.disruptive;
    const tx = this.tx;
    switch (d.action) {
      case "pass":
        return false;
      case "allow":
        // Coraza applies allow in DetectionOnly too, so Detection sees what On would run.
        if (phase === 5) return false;
        this.stopPhase = true;
        if (d.scope === "all") tx.allow = "all";
        else if (d.scope === "request" && phase <= 2) tx.allow = "request";
        return false;
      case "redirect": {
        const status =
          r.status !== undefined && [301, 302, 303, 307, 308].includes(r.status) ? r.status : 302;
        return tx.interrupt({ ruleId: r.id, action: "redirect", status, url: this.expand(d.target) }, phase);
      }
      case "deny":
      case "drop":
        return tx.interrupt({ ruleId: r.id, action: d.action, status: r.status ?? 403 }, phase);
    }
  }

  private hit(r: CompiledRule, phase: Phase, matches: Member[] | undefined, disruptive: boolean): void {
    const m = matches?.[0];
    // The value as the request carried it (ModSecurity's "Matched Data" source), not the rule's
    // transformed view of it: `<ScRiPt` must read as sent, not as `<script` after t:lowercase.
    let value = m?.raw ?? m?.value ?? "";
    const variable = m?.key ?? "";
    if (r.sanitise || this.sanitised(r, variable) || secretVariable(variable))
      value = "*".repeat(value.length);
    // msg and logdata expand MATCHED_VAR and captures: a credential matched anywhere in the rule
    // (its chain too) is masked in them as well, so the evidence never carries it.
    const secrets = this.secrets(r);
    const h: WafHit = {
      ruleId: r.id,
      phase,
      msg: r.msg ? mask(this.expand(r.msg), secrets) : "",
      data: r.logdata ? mask(this.expand(r.logdata), secrets) : "",
      tags: r.tagTemplates.map((t) => this.expand(t)),
      variable,
      value: value.length > HIT_VALUE_BYTES ? value.slice(0, HIT_VALUE_BYTES) : value,
      disruptive,
    };
    if (r.severity !== undefined) h.severity = r.severity;
    if (matches !== undefined && matches.length > 1) {
      const names = [...new Set(matches.map((x) => x.key))];
      if (names.length > 1) h.variables = names;
    }
    this.tx.hits.push(h);
  }

  /** secrets lists the values this rule matched that are credentials or sanitised, and the
   * captures taken from them (TX:0..9), longest first; undefined when there are none. */
  private secrets(r: CompiledRule): string[] | undefined {
    let out: string[] | undefined;
    for (const mv of this.tx.vars.matchedVars) {
      if (mv.value === "") continue;
      if (secretVariable(mv.key) || r.sanitise || this.sanitised(r, mv.key)) (out ??= []).push(mv.value);
    }
    if (out === undefined) return undefined;
    for (let i = 0; i < 10; i++) {
      const c = this.tx.vars.liveMember("TX", String(i))?.value;
      if (c && out.some((s) => s.includes(c))) out.push(c);
    }
    return out.sort((a, b) => b.length - a.length);
  }

  private sanitised(r: CompiledRule, variable: string): boolean {
    if (r.sanitiseNames.length === 0) return false;
    const name = variable.slice(variable.indexOf(":") + 1).toLowerCase();
    return r.sanitiseNames.some((t) => this.expand(t).toLowerCase() === name);
  }

  /** step tests one rule of a chain; the matches (key: the variable's full name), or undefined. */
  private step(s: Step, r: CompiledRule, memoised: boolean): Member[] | undefined {
    if (s.unconditional) {
      this.run(s.actions);
      return [member("", "")];
    }
    const op = s.op;
    if (!op) return undefined;
    const pre = s.pre;
    const live = s.live;
    if (live !== undefined && this.removalsFor(r).length === 0) {
      // One TX variable (or IP, ENV...): one map lookup, nothing allocated unless it matches.
      const m = this.tx.vars.liveMember(live.collection, live.lower);
      if (!m) return undefined;
      // The cache only serves a prefilter or a pure operator (a TX comparison uses neither).
      const e = pre !== undefined || s.pureOp >= 0 ? this.entry(m.value) : newRec(m.value, false);
      if (pre !== undefined && !holds(pre, this.bits(e), 0)) return undefined;
      return this.test(s, m, e, undefined, live.collection);
    }
    // No value of any target holds the literals the operator needs: the step cannot match. (A
    // memoised step got here because a value of its targets matches: the union would hold.)
    if (pre !== undefined && s.union >= 0 && !memoised) {
      // The offset first: the first union of the transaction allocates unionBits.
      const u = this.stepUnion(s);
      if (!holds(pre, this.unionBits, u)) return undefined;
    }
    let out: Member[] | undefined;
    this.timed = true;
    for (const target of s.targets) {
      const ms = this.select(r, s, target);
      for (let j = 0; j < ms.length; j++) {
        const v = ms[j] as Member;
        if (!s.multiMatch) {
          const t = this.transform(s, v.value);
          if (pre !== undefined && !holds(pre, this.bits(t), 0)) continue;
          out = this.test(s, v, t, out, target.collection);
        } else
          for (const t of this.transformAll(s, this.entry(v.value))) {
            if (pre !== undefined && !holds(pre, this.bits(t), 0)) continue;
            out = this.test(s, v, t, out, target.collection);
          }
      }
    }
    return out;
  }

  /** stepUnion is the offset in unionBits of the literals present in any value of s's targets
   * (exclusions aside: a superset only lets more through) under s's transformations, kept per
   * data version. */
  private stepUnion(s: Step): number {
    const version = this.tx.vars.version;
    const w = this.words;
    if (this.unionAt.length === 0) {
      // From the program's pool (a transaction that ended gave it back), stamps reset.
      const slots = this.tx.program.unionSlots;
      const sc = this.tx.program.unionPool.pop();
      this.unionBits = sc?.bits ?? new Uint32Array(slots * w);
      this.unionAt = (sc?.at ?? new Float64Array(slots)).fill(-1);
    }
    const at = this.unionAt;
    const bits = this.unionBits;
    if (at[s.union] === version) return s.union * w;
    const slots = s.targetUnions;
    for (let i = 0; i < slots.length; i++) {
      const slot = slots[i] as number;
      if (at[slot] === version) continue;
      const off = slot * w;
      bits.fill(0, off, off + w);
      const ms = this.members(s.targets[i] as Target);
      for (let j = 0; j < ms.length; j++) {
        const value = (ms[j] as Member).value;
        if (!s.multiMatch) or(bits, off, this.bits(this.transform(s, value)), 0, w);
        else for (const t of this.transformAll(s, this.entry(value))) or(bits, off, this.bits(t), 0, w);
      }
      at[slot] = version;
    }
    if (at[s.union] !== version) {
      // Two targets or more: their union (one target's union slot is its own, computed above).
      const off = s.union * w;
      bits.fill(0, off, off + w);
      for (const slot of slots) or(bits, off, bits, slot * w, w);
      at[s.union] = version;
    }
    return s.union * w;
  }

  /** release gives the union storage back to the program's pool; the transaction has ended
   * (Tx.logging), so nothing reads it again. */
  release(): void {
    if (this.unionAt.length === 0) return;
    const pool = this.tx.program.unionPool;
    if (pool.length < UNION_POOL) pool.push({ bits: this.unionBits, at: this.unionAt });
    this.unionBits = NO_BITS;
    this.unionAt = NO_AT;
  }

  /** entry is v's value-cache.ts entry: the program's (kept across transactions) or, for a value
   * too long to keep, this transaction's. */
  private entry(v: string): Entry {
    const e = this.values.get(v);
    if (e !== undefined) return e;
    let l = this.local.get(v);
    if (l === undefined) {
      l = newEntry(v, false);
      this.local.set(v, l);
    }
    return l;
  }

  /** bits are a form's literal bits (LiteralIndex.scan), scanned once per value. */
  private bits(r: Rec): Uint32Array {
    let b = r.bits;
    if (b === undefined) {
      if (r.v === "") b = this.empty;
      else {
        b = new Uint32Array(this.words);
        this.tx.program.literals.scan(r.v, b, 0);
      }
      r.bits = b;
      this.charge(r, 4 * this.words);
    }
    return b;
  }

  /** charge counts n bytes that a form added to the program's cache (nothing for local ones). */
  private charge(r: Rec, n: number): void {
    if (r.shared) this.values.charge(n);
  }

  /** test runs step s's operator on t (member v's value transformed); a match is added to out
   * (returned, created on the first match) after the step's actions ran. coll: v's collection,
   * which names it when v is not named yet (v.full). A pure operator's "no match" is remembered on t
   * (value-cache.ts): a match always runs the operator, for this transaction's captures. */
  private test(s: Step, v: Member, t: Rec, out: Member[] | undefined, coll?: string): Member[] | undefined {
    const k = this.pureWords > 0 ? s.pureOp : -1;
    // One array for the transaction's captures: an operator fills it, and a match copies it
    // into TX:0..9 before the next test.
    const captures = s.capture ? this.captures : undefined;
    if (captures !== undefined) captures.length = 0;
    this.ctx.captures = captures;
    const res = this.operate(s, t, k);
    if (s.negated ? res !== false : res === false) return out;
    const vars = this.tx.vars;
    if (captures) {
      const tx = vars.collection("TX");
      for (let i = 0; i < 10 && i < captures.length; i++) {
        const c = captures[i];
        if (c !== undefined)
          tx.set(CAPTURE_KEYS[i] as string, {
            key: CAPTURE_KEYS[i] as string,
            lower: CAPTURE_KEYS[i] as string,
            value: c,
          });
      }
    }
    const m = member(v.full ?? (coll === undefined ? v.key : fullName(coll, v.key)), t.v);
    m.raw = v.value;
    vars.matchedVar = m;
    vars.matchedVars.push(m);
    (out ??= []).push(m);
    this.run(s.actions);
    return out;
  }

  /** operate runs s's operator on t under this.ctx, or answers false from t's miss bit k (-1: none
   * kept); a "no match" is recorded in it. */
  private operate(s: Step, t: Rec, k: number): OperatorResult {
    if (k >= 0 && t.miss !== undefined && (t.miss[k >>> 5]! & (1 << (k & 31))) !== 0) return false;
    const op = s.op as NonNullable<Step["op"]>;
    if (!CHEAP_OPS.has(op.name)) this.timed = true;
    const res = op.test(t.v, this.ctx);
    if (res === false && k >= 0) {
      if (t.miss === undefined) {
        t.miss = new Uint32Array(this.pureWords);
        this.charge(t, 4 * this.pureWords);
      }
      t.miss[k >>> 5]! |= 1 << (k & 31);
    }
    return res;
  }

  /** memoised says whether the memoised rule at item i of phase, with bit, may match now: its
   * bit in the OR of its groups' members' bits (memo.ts). A group is read the first time a rule
   * of it asks at a data version, so rules after an early deny or allow read nothing. */
  private memoised(memo: MemoPhase, phase: Phase, i: number, bit: number): boolean {
    const version = this.tx.vars.version;
    if (this.memoPhase !== phase || this.memoAt !== version) {
      if (this.mayMatch.length < memo.words) this.mayMatch = new Uint32Array(memo.words);
      this.mayMatch.fill(0);
      this.memoPhase = phase;
      this.memoAt = version;
      this.filled = 0;
      this.readUpTo = 0;
    }
    if (this.filled < memo.groups.length && memo.lastGroup[i]! >= this.readUpTo) {
      // Group ids are the program's (memo.ts planMemo): one stamp each, made on first use.
      if (this.groupAt.length === 0)
        this.groupAt = new Float64Array(groupCount(this.tx.program.memo)).fill(-1);
      const at = this.groupAt;
      for (const g of memo.ruleGroups[i] as MemoGroup[])
        if (at[g.id] !== version) {
          this.fillGroup(g, memo.words);
          at[g.id] = version;
          this.filled++;
        }
      // groups[0, readUpTo) are all read at this version (memo.ts lastGroup).
      const groups = memo.groups;
      while (this.readUpTo < groups.length && at[(groups[this.readUpTo] as MemoGroup).id] === version)
        this.readUpTo++;
    }
    // Every memoised link must have its bit (memo.ts premise 5): one bit for most rules.
    const set = this.mayMatch;
    for (let b = bit, end = bit + memo.span[i]!; b < end; b++)
      if ((set[b >>> 5]! & (1 << (b & 31))) === 0) return false;
    return true;
  }

  /** fillGroup ORs the bits of g's members' values into mayMatch. */
  private fillGroup(g: MemoGroup, words: number): void {
    this.timed = true;
    const set = this.mayMatch;
    const ms = this.members(g.target);
    if (g.target.count) {
      const b = this.memoBits(g, this.entry(String(ms.length)), words);
      for (let k = 0; k < b.length; k++) set[k]! |= b[k]!;
      return;
    }
    for (let j = 0; j < ms.length; j++) {
      const b = this.memoBits(g, this.entry((ms[j] as Member).value), words);
      for (let k = 0; k < b.length; k++) set[k]! |= b[k]!;
    }
  }

  /** memoBits is value e's bits for group g — which of g's rules' first steps match e.value —,
   * kept on the entry (value-cache.ts Entry.memo). */
  private memoBits(g: MemoGroup, e: Entry, words: number): Uint32Array {
    const kept = memoOf(e, g.id);
    if (kept !== undefined) return kept;
    let out: Uint32Array | undefined;
    // Captures are not wanted: a rule that matches runs again as written.
    this.ctx.captures = undefined;
    for (const { bit, step } of g.rules) {
      if ((out !== undefined && (out[bit >>> 5]! & (1 << (bit & 31))) !== 0) || !this.decides(step, e))
        continue;
      out ??= new Uint32Array(words);
      out[bit >>> 5]! |= 1 << (bit & 31);
    }
    const b = out ?? NO_MATCH;
    (e.memo ??= []).push(g.id, b);
    this.charge(e, MEMO_PAIR + 4 * b.length);
    return b;
  }

  /** decides says whether step s matches value e (some form of it under s's transformations). */
  private decides(s: Step, e: Entry): boolean {
    const k = this.pureWords > 0 ? s.pureOp : -1;
    const pre = s.pre;
    if (!s.multiMatch) {
      const t = this.transformEntry(s, e);
      if (pre !== undefined && !holds(pre, this.bits(t), 0)) return false;
      return (this.operate(s, t, k) === false) === s.negated;
    }
    for (const t of this.transformAll(s, e)) {
      if (pre !== undefined && !holds(pre, this.bits(t), 0)) continue;
      if ((this.operate(s, t, k) === false) === s.negated) return true;
    }
    return false;
  }

  /** select lists a target's values; each member's `full` is its name as MATCHED_VAR_NAME shows
   * it (`ARGS:q`, `REQUEST_URI`). The common case (no selector, no exclusion) allocates nothing. */
  private select(r: CompiledRule, s: Step, t: Target): readonly Member[] {
    const coll = t.collection;
    let ms = this.members(t);
    const excl = this.tx.targetRemovals.length
      ? this.exclusions(r, s, coll)
      : s.exclusions.length
        ? s.exclusionsBy.get(coll)
        : undefined;
    if (excl?.length) ms = ms.filter((m) => !excl.some((e) => !e.sel || selects(e.sel, m)));
    if (t.count) return [named(coll, member("", String(ms.length)))];
    return ms;
  }

  /** members lists a target's values before exclusions. */
  private members(t: Target): readonly Member[] {
    const coll = t.collection;
    if (coll === "XML" || coll === "REQUEST_XML") {
      const expr = t.sel?.kind === "xpath" ? t.sel.value : "/*";
      const doc = coll === "XML" ? this.tx.xml : undefined;
      return doc ? this.tx.program.body.xpath(doc, expr).map((v) => named(coll, member(expr, v))) : NONE;
    }
    const sel = t.sel;
    // The request's and response's data: the stored members as they are, unnamed (test() names
    // a member only when it matches); TX, MATCHED_VARS and the other live or dynamic ones are
    // read through named copies, so a rule's own setvars and matches do not change its list.
    if (t.fixed) {
      if (sel === undefined || sel.kind === "xpath") return this.tx.vars.members(coll);
      return sel.kind === "name"
        ? this.tx.vars.whereName(coll, sel.lower)
        : this.tx.vars.where(coll, t.cacheKey as string, sel, selects);
    }
    const live = sel?.kind === "name" ? this.tx.vars.liveMember(coll, sel.lower) : undefined;
    // TX:name and friends: one map lookup, not a scan of every TX variable.
    if (live !== undefined) return live ? [named(coll, live)] : NONE;
    return sel && sel.kind !== "xpath"
      ? this.tx.vars.namedWhere(coll, t.cacheKey as string, sel, selects)
      : this.tx.vars.named(coll);
  }

  private exclusions(r: CompiledRule, s: Step, coll: string): Exclusion[] | undefined {
    const removals = this.removalsFor(r);
    if (removals.length === 0) return s.exclusions.length ? s.exclusionsBy.get(coll) : undefined;
    const out: Exclusion[] = [...(s.exclusionsBy.get(coll) ?? [])];
    for (const tr of removals) for (const e of tr.exclusions) if (e.collection === coll) out.push(e);
    return out;
  }

  /** removalsFor lists the runtime ctl target removals that name rule r (usually none: a
   * shared empty list, no allocation). */
  private removalsFor(r: CompiledRule): readonly TargetRemoval[] {
    const all = this.tx.targetRemovals;
    if (all.length === 0) return NO_REMOVALS;
    // Kept for the rule being run (select asks once per target) until a ctl adds a removal.
    if (r === this.removalsRule && all.length === this.removalsSeen) return this.removals;
    let out: TargetRemoval[] | undefined;
    for (const tr of all) if (removes(tr, r)) (out ??= []).push(tr);
    this.removalsRule = r;
    this.removalsSeen = all.length;
    this.removals = out ?? NO_REMOVALS;
    return this.removals;
  }

  /** transform is value under s's transformation chain, as a form of value's entry; each chain
   * prefix's result is kept on the entry (transforms[0..i] under transformIds[i]), so rules
   * sharing a chain's start share its work, within and across transactions. */
  private transform(s: Step, value: string): Rec {
    return this.transformEntry(s, this.entry(value));
  }

  /** transformEntry is transform() of the value of entry e. */
  private transformEntry(s: Step, e: Entry): Rec {
    const n = s.transforms.length;
    if (n === 0) return e;
    const ids = s.transformIds;
    const t = (e.t ??= []);
    const done = t[ids[n - 1] as number];
    if (done !== undefined) return done;
    let start = 0;
    let cur: Rec = e;
    for (let i = n - 2; i >= 0; i--) {
      const hit = t[ids[i] as number];
      if (hit !== undefined) {
        cur = hit;
        start = i + 1;
        break;
      }
    }
    for (let i = start; i < n; i++) cur = this.step1(e, cur, s, i);
    return cur;
  }

  /** step1 applies s's transformation i to cur (value e under transforms[0..i)) and keeps it. */
  private step1(e: Entry, cur: Rec, s: Step, i: number): Rec {
    const next = (s.transforms[i] as (v: string) => string)(cur.v);
    // Unchanged: the same form (its bits and misses apply as they are).
    const r = next === cur.v ? cur : newRec(next, e.shared);
    if (r !== cur) this.charge(r, next.length + ENTRY_OVERHEAD);
    const t = e.t as (Rec | undefined)[];
    const id = s.transformIds[i] as number;
    // The forms array grows to the highest chain id it holds: 8 bytes a slot.
    if (id >= t.length) this.charge(e, 8 * (id + 1 - t.length));
    t[id] = r;
    return r;
  }

  /** transformAll is multiMatch: the value before and after each transformation that changed
   * it. Each intermediate is the chain prefix's result, shared through the same entry. */
  private transformAll(s: Step, e: Entry): Rec[] {
    const out: Rec[] = [e];
    const t = (e.t ??= []);
    let cur: Rec = e;
    for (let i = 0; i < s.transforms.length; i++) {
      const next = t[s.transformIds[i] as number] ?? this.step1(e, cur, s, i);
      if (next.v !== cur.v) out.push(next);
      cur = next;
    }
    return out;
  }

  private run(actions: readonly RunAction[]): void {
    const block = constantBlock(actions);
    if (block !== null) {
      this.tx.vars.collection(block.collection).setAll(block.prefix);
      return;
    }
    for (const a of actions) {
      if (a.kind === "setvar") this.setvar(a.setvar);
      else if (a.kind === "ctl") this.tx.ctl(a.ctl, a.remove);
      else {
        const key = this.expand(a.key);
        this.tx.vars.collection("ENV").set(key.toLowerCase(), member(key, this.expand(a.value)));
      }
    }
  }

  private setvar(sv: SetVar): void {
    const coll = this.tx.vars.collection(sv.collection);
    const fixed = constantSet(sv);
    if (fixed !== null) {
      coll.set(fixed.key, fixed);
      return;
    }
    const key = this.expand(sv.key).toLowerCase();
    if (sv.op === "delete") {
      coll.delete(key);
      return;
    }
    const value = sv.value ? this.expand(sv.value) : "";
    if (sv.op === "set") {
      // key is lower-case already: the member without a second toLowerCase.
      coll.set(key, { key, lower: key, value });
      return;
    }
    const cur = parseInt(coll.get(key)?.value ?? "0", 10) || 0;
    const n = parseInt(value, 10) || 0;
    coll.set(key, { key, lower: key, value: String(sv.op === "add" ? cur + n : cur - n) });
  }

  /** expand renders a macro template against the transaction now. */
  expand(t: Template): string {
    const parts = t.parts;
    if (parts.length === 1 && typeof parts[0] === "string") return parts[0];
    let out = "";
    for (const p of parts) out += typeof p === "string" ? p : this.macro(p);
    return out;
  }

  private macro(ref: MacroRef): string {
    const vars = this.tx.vars;
    if (ref.key === undefined) return vars.members(ref.collection)[0]?.value ?? "";
    const lower = ref.key.toLowerCase();
    const live = vars.liveMember(ref.collection, lower);
    if (live !== undefined) return live?.value ?? "";
    for (const m of vars.members(ref.collection)) if (m.lower === lower) return m.value;
    return "";
  }
}

// SECRET_HEADERS are the headers whose values are credentials: a hit on one is masked like
// sanitiseMatched, whatever the rule says (the CRS does not sanitise them).
const SECRET_HEADERS = new Set(["authorization", "proxy-authorization", "cookie", "set-cookie"]);

// secretVariable says whether a matched variable's value is a credential: a cookie, or a
// credential header of the request or the response.
function secretVariable(full: string): boolean {
  const i = full.indexOf(":");
  if (i < 0) return false;
  const coll = full.slice(0, i);
  if (coll === "REQUEST_COOKIES") return true;
  if (coll !== "REQUEST_HEADERS" && coll !== "RESPONSE_HEADERS") return false;
  return SECRET_HEADERS.has(full.slice(i + 1).toLowerCase());
}

// mask replaces every occurrence of each secret in text with as many asterisks.
function mask(text: string, secrets: readonly string[] | undefined): string {
  if (secrets === undefined) return text;
  for (const s of secrets) if (text.includes(s)) text = text.split(s).join("*".repeat(s.length));
  return text;
}

/** groupCount is the number of memo groups of a program (their ids run from 0). */
function groupCount(memo: readonly MemoPhase[]): number {
  let n = 0;
  for (const m of memo) n += m.groups.length;
  return n;
}

/** PICKS bounds a regex selector's kept answers (names); past it they start over. */
const PICKS = 1024;
/** PICK_NAME: longer names are tested each time, not kept. The names are the client's (headers,
 * arguments, cookies) and the answers outlive the transaction: kept long names would hold up to
 * PICKS × their length per selector (and a slice of a header or body keeps all of it alive). */
const PICK_NAME = 64;

/** selects says whether a selector picks a member (names case-insensitively). */
export function selects(sel: Sel, m: Member): boolean {
  if (sel.kind === "name") return m.lower === sel.lower;
  if (sel.kind !== "regex") return false;
  // A regex selector's answer is a function of the name: kept per selector (shared by the
  // program's transactions), as CRS 922110's /MULTIPART_HEADERS_CONTENT_TYPES_*/ tries it on
  // each of TX's ~80 names in every transaction.
  const need = sel.need;
  if (need !== undefined) {
    let any = false;
    for (let i = 0; i < need.length && !any; i++) any = m.lower.includes(need[i] as string);
    if (!any) return false;
  }
  const key = m.key;
  if (key.length > PICK_NAME) return sel.rx.testBinary(key);
  let picks = sel.picks;
  if (picks === undefined || picks.size >= PICKS) sel.picks = picks = new Map();
  let yes = picks.get(key);
  if (yes === undefined) {
    yes = sel.rx.testBinary(key);
    // A flat copy as the key: the name may be a slice of the whole Cookie header or body.
    picks.set(flat(key), yes);
  }
  return yes;
}
