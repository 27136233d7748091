// fold.ts: what is the same for every transaction, decided once per compiled program. The CRS
// starts each transaction by writing constants into TX (crs-setup's SecAction 900990, the 901xxx
// rules that set a default only when a variable is unset, SecAction 901200's zeroed scores) and
// then gates every section on them: `SecRule TX:DETECTION_PARANOIA_LEVEL "@lt 2"
// "...,pass,nolog,skipAfter:END-..."`. A clean GET stepped into ~100 such gates. Here a forward
// dataflow pass over the phases' lists (after the policy's exclusions: compile.ts runs it on the
// edited rule list, so per-policy paranoia levels and SecRuleRemove* are what it sees) works out,
// for each rule that can run, the TX state it sees — each variable a known value, known unset, or
// unknown (depends on the request) — and removes from the list:
// - rules that cannot match in any transaction (a gate `@lt 1`, `&TX:x "@eq 0"` after x was set);
// - gates that match in every transaction that reaches them, when their match has no effect but
//   the skipAfter (pass, nolog, no action, no severity, no capture, one step), together with the
//   rules that skipAfter jumps over (the PL2–4 sections at PL1), which are then unreachable.
// - runs of rules that certainly run and only set TX to values known at load (the setup and the
//   901 defaults), replaced by one SecAction with those values.
// Anything it cannot decide stays in the list as written; the evaluator is unchanged.
//
// Why the outcome cannot change (the proof; each premise is a property of evaluate.ts and
// transaction.ts, checked where named):
// 1. TX starts empty in every transaction (vars.ts: live maps made per Vars). Only setvar on TX
//    and a capturing match (TX:0..9) write it (evaluate.ts setvar(), test()); nothing else does.
// 2. Abstract state: per lower-case TX name, a known value, known unset, or unknown; `all` makes
//    every name not listed unknown. A rule's effect on it when it certainly matches (static
//    setvar key and value) is applied exactly; when it may match, every TX name it may write
//    becomes unknown (a key with a macro: all of them), captures make TX:0..9 unknown. A rule
//    that may stop the phase (a disruptive action other than pass: deny/drop/redirect interrupt,
//    allow stops the phase) records its state; each phase starts from the merge of the previous
//    phase's end and every recorded state (phase 5 runs after an interruption anywhere; the data
//    plane may end after any phase; `allow` lets the next phase run): merge keeps what agrees.
//    The budget (overTime) and SecRuleEngine Off stop all later phases, so they need no merge.
// 3. Control flow within a phase: a rule runs only when reached — fallthrough from the item
//    before, or a skipAfter landing at the first marker of its name after the rule (evaluate.ts
//    runPhase); a certain skipAfter cuts the fallthrough, a possible one adds a path. A jump to
//    a marker that does not follow skips to the phase's end. `skip:N` counts the next N rules
//    (markers are not counted, rules removed at runtime are): the N rules after any rule with
//    skip are pinned — kept and treated as may-run — so no count changes.
// 4. A rule's outcome is decided only when every target of every step is a named TX member (or
//    `&TX:x`) whose state is known, the step has no exclusion, capture or multiMatch, and its
//    operator's answer depends on its value and its argument's expansion alone (pure operators,
//    the string and number comparisons, unconditional/noMatch); the argument's macros must be
//    TX names of known state. The step is then evaluated as evaluate.ts step() does: count, the
//    transformations (pure functions), test, negation, target after target, each read (and the
//    argument expanded) after the actions of the matches before it. SecActions always match. A
//    step with actions that matches on more than one target runs them once per match: it stays
//    undecided (its effects counted as possible), as the abstract state applies a match's
//    actions once; so does one whose match may remove rules or targets with later targets left.
// 5. Runtime removals: a possible ctl (ruleRemoveById/ByTag/ByMsg, ruleRemoveTarget*) from any
//    rule that may run before — the removals persist for the transaction — that names a rule
//    makes its outcome undecided (kept as written; its effects counted as possible). Load-time
//    removals (SecRuleRemove*, SecRuleUpdateTarget*: the policy's exclusions) were applied before
//    this pass, so what it decides is for this policy's program only.
// 6. A rule that does not match writes only `vars.rule` and the reset of `MATCHED_VARS` (a
//    chain that fails after its first links matched also ran their actions and set
//    MATCHED_VAR: such a chain is never decided "never"), which
//    the next rule that runs writes again before anything reads them (plan.ts, premise 1): the
//    list without it runs the same. A gate that matches also sets MATCHED_VAR(S) and skipAfter;
//    removing it and the rules up to the first marker after it (which only the fallthrough
//    through it reaches, and which its skipAfter passes over) leaves the state at that marker the
//    same, except MATCHED_VAR — so gates are removed only when no rule's first step reads
//    MATCHED_* before matching (`staleMatched`, computed by compile.ts from the source).
//    Markers are never removed: a jump from elsewhere must still find them.
// 7. A run of consecutive rules (no marker between them) that each certainly run (decided
//    "always", not removable, not pinned) and whose only effect is setting TX variables to
//    values known at load (pass, nolog, no severity, capture, ctl, delete, skip or skipAfter)
//    is replaced by one SecAction setting each of those variables, in the order the run first
//    wrote them, to its value after the run: TX ends the same, in the same order (Map order:
//    a set keeps a name's place), and nothing runs in between to see the intermediate values.
//    The SecAction keeps the first rule's id (a removal naming it would have made that rule
//    removable) and no tag or msg. As for gates, MATCHED_VAR is the only other difference, so
//    this needs no rule reading it stale either. The CRS's setup and 901 defaults (~25 rules
//    in phase 1) become one.
// 8. An operator's argument whose macros are all TX names of known state where the step runs is
//    replaced by its value, and the operator compiled again (CompiledOperator.pure then holds:
//    memo.ts may memoise the rule, as 911100 `!@within %{tx.allowed_methods}`). The step runs with
//    the state the walk holds at its rule (premises 2, 3, 5: every path to it, every possible
//    write, removals of earlier rules counted); a later link of a chain with the state after the
//    earlier links' effects counted as possible (captures included), since they ran. Within the
//    step the argument is expanded once per value tested, after the actions and captures of the
//    values before (evaluate.ts test()): so the step's own effects, counted as possible, must
//    leave the expansion known and the same. Only ASCII values are put in: evaluate.ts expand()
//    gives TX's text as it is, while a literal argument is read as UTF-8 bytes (ops/op-text.ts
//    param), which is the same text only for ASCII.
// 9. A one-step rule decided "always" in its state (it matches whenever it runs), that does not
//    log, capture or read MATCHED_* in its actions (CRS 949052's `TX:BLOCKING_PARANOIA_LEVEL
//    "@ge 1"` adding a score) runs as a SecAction: its actions once, as a step matching one
//    value runs them (premise 4: a step with actions matching more than one value is never
//    "always"), then skip, skipAfter, severity and its disruptive action as before. It keeps its
//    id, tags and msg, so a runtime ctl removes it exactly when it would have removed the rule
//    (a target removal naming it leaves it undecided, premise 5); a skip counts it the same. What differs is MATCHED_VAR(S), which a SecAction does not set: the next rule
//    that runs resets MATCHED_VARS, and MATCHED_VAR is read before a match only when
//    `staleMatched` (then nothing is turned).
import type { Location } from "../lang/errors.ts";
import type { MacroRef, Operator, Template } from "../lang/model.ts";
import type { CompiledOperator } from "../ops/types.ts";
import type { CompiledRule, Item, RunAction, Step, Target } from "./program.ts";

/** Recompile compiles an operator (compile.ts: the ops factory's compileOperator). */
export type Recompile = (op: Operator, at: Location, ruleId: number) => CompiledOperator;

/** FOLDABLE: operators whose answer depends on the value and the argument's expansion only. */
const FOLDABLE = new Set([
  "eq",
  "ne",
  "lt",
  "le",
  "gt",
  "ge",
  "streq",
  "contains",
  "containsWord",
  "beginsWith",
  "endsWith",
  "within",
  "strmatch",
  "unconditionalMatch",
  "noMatch",
]);

/** UNKNOWN marks a TX variable whose value depends on the request. */
const UNKNOWN = Symbol("unknown");
/** Val: a known value, null (known unset) or UNKNOWN. */
type Val = string | null | typeof UNKNOWN;

/** State is the abstract TX of premise 2: a name not in vars is unset, or unknown under a
 * prefix. */
class State {
  vars = new Map<string, Val>();
  /** prefixes: a setvar whose key is a text and then a macro (`tx.header_name_920450_%{tx.0}`)
   * may have written any name they start with (all names: ""), unless set since (vars). */
  prefixes: string[] = [];

  get(lower: string): Val {
    const v = this.vars.get(lower);
    if (v !== undefined) return v;
    return this.prefixes.some((p) => lower.startsWith(p)) ? UNKNOWN : null;
  }

  /** unknownFrom: every name starting with prefix may have been written. */
  unknownFrom(prefix: string): void {
    for (const k of this.vars.keys()) if (k.startsWith(prefix)) this.vars.set(k, UNKNOWN);
    if (!this.prefixes.includes(prefix)) this.prefixes.push(prefix);
  }

  copy(): State {
    const s = new State();
    s.vars = new Map(this.vars);
    s.prefixes = [...this.prefixes];
    return s;
  }

  /** merge is the state of either path (what disagrees becomes unknown). */
  static merge(a: State | undefined, b: State | undefined): State | undefined {
    if (a === undefined) return b?.copy();
    if (b === undefined) return a.copy();
    const s = new State();
    s.prefixes = [...new Set([...a.prefixes, ...b.prefixes])];
    for (const k of new Set([...a.vars.keys(), ...b.vars.keys()])) {
      const va = a.get(k);
      s.vars.set(k, va === b.get(k) ? va : UNKNOWN);
    }
    return s;
  }
}

/** Undecided is thrown by the static expansion when a macro reads what the request decides. */
class Undecided extends Error {}

/** expandIn renders t against st, or throws Undecided (evaluate.ts expand/macro, TX only). */
function expandIn(t: Template, st: State): string {
  let out = "";
  for (const p of t.parts) out += typeof p === "string" ? p : macroIn(p, st);
  return out;
}

function macroIn(ref: MacroRef, st: State): string {
  if (ref.collection !== "TX" || ref.key === undefined) throw new Undecided();
  const v = st.get(ref.key.toLowerCase());
  if (v === UNKNOWN) throw new Undecided();
  return v ?? "";
}

/** Removal is a ctl that may remove rules at runtime (premise 5). */
type Removal = ({ by: "id"; ids: { from: number; to: number }[] } | { by: "tag" | "msg"; what: string }) & {
  /** target: a ctl:ruleRemoveTargetBy* (the rule runs, on fewer targets). */
  target: boolean;
};

function names(x: Removal, r: CompiledRule): boolean {
  if (x.by === "id") return x.ids.some((i) => r.id >= i.from && r.id <= i.to);
  if (x.by === "tag") return r.tags.includes(x.what);
  return r.msg?.raw === x.what;
}

/** removalOf is the runtime removal a ctl action makes, if any (transaction.ts ctl()). */
function removalOf(a: RunAction): Removal | undefined {
  if (a.kind !== "ctl") return undefined;
  const tr = a.remove;
  if (tr)
    return tr.by === "id"
      ? { by: "id", ids: tr.ids, target: true }
      : { by: tr.by, what: tr.what, target: true };
  const c = a.ctl;
  if (c.option === "ruleRemoveById" && "ids" in c) return { by: "id", ids: c.ids, target: false };
  if (c.option === "ruleRemoveByTag" && "value" in c)
    return { by: "tag", what: String(c.value), target: false };
  if (c.option === "ruleRemoveByMsg" && "value" in c)
    return { by: "msg", what: String(c.value), target: false };
  return undefined;
}

/** Outcome of a rule in a state: it matches in every transaction, in none, or it depends. */
type Outcome = "always" | "never" | "maybe";

/** stepOutcome decides one step in st (premise 4), as evaluate.ts step() would run it. */
function stepOutcome(s: Step): ((st: State) => Outcome) | undefined {
  if (s.unconditional) return () => "always";
  const op = s.op;
  if (op === undefined) return () => "never";
  if (s.multiMatch || s.capture || s.exclusions.length > 0) return undefined;
  if (!op.pure && !FOLDABLE.has(op.name)) return undefined;
  for (const t of s.targets) if (t.collection !== "TX" || t.sel?.kind !== "name") return undefined;
  return (st) => {
    // The targets are read one after the other, each after the actions of the matches before
    // (evaluate.ts step(), test()): a setvar run on TX:a's match is seen by TX:b's read and by
    // the argument's expansion for it.
    let cur = st;
    const ctx = { expand: (t: Template) => expandIn(t, cur), captures: undefined };
    let matched = 0;
    try {
      for (let i = 0; i < s.targets.length; i++) {
        const t = s.targets[i] as Target;
        const v = cur.get((t.sel as { lower: string }).lower);
        if (v === UNKNOWN) return "maybe";
        let value: string;
        if (t.count) value = v === null ? "0" : "1";
        else if (v === null) continue;
        else value = v;
        for (const f of s.transforms) value = f(value);
        const res = op.test(value, ctx);
        if (s.negated ? res === false : res !== false) {
          matched++;
          if (s.actions.length === 0 || i + 1 === s.targets.length) continue;
          // A ctl removing targets may change what the next ones select: left undecided.
          if (s.actions.some((a) => removalOf(a) !== undefined)) return "maybe";
          cur = cur.copy();
          apply(s.actions, cur, "always", []);
        }
      }
    } catch (err) {
      if (err instanceof Undecided) return "maybe";
      throw err;
    }
    // The actions run once per matching value (evaluate.ts test()); effects() applies them once.
    if (matched > 1 && s.actions.length > 0) return "maybe";
    return matched > 0 ? "always" : "never";
  };
}

/** FoldStats counts what fold removed, for the tests and docs. */
export interface FoldStats {
  never: number;
  gates: number;
  unreachable: number;
  /** merged: rules replaced by one SecAction setting their TX values (premise 7). */
  merged: number;
  /** specialised: steps whose macro argument was replaced by its constant value (premise 8). */
  specialised: number;
  /** actions: rules that always match turned into SecActions (premise 9). */
  actions: number;
}

/**
 * fold returns the phases' lists without the rules premises 1–6 prove have no effect in any
 * transaction (phases[p] for p = 1..5; the others as they are). staleMatched: some rule's first
 * step reads MATCHED_* before it matches (then matching gates stay).
 */
export function fold(
  phases: readonly (readonly Item[])[],
  staleMatched: boolean,
  recompile?: Recompile,
): { phases: Item[][]; stats: FoldStats } {
  const stats: FoldStats = { never: 0, gates: 0, unreachable: 0, merged: 0, specialised: 0, actions: 0 };
  const removals: Removal[] = [];
  let cur: State | undefined = new State();
  let stopped: State | undefined;
  const out: Item[][] = phases.map((items) => [...items]);
  for (let p = 1; p < phases.length; p++) {
    const items = phases[p] as readonly Item[];
    if (!items.some((i) => i.kind === "rule")) continue;
    let st = State.merge(cur, stopped);
    const kept: Item[] = [];
    const pending = new Map<string, State>();
    const pinned = pinnedRules(items);
    // group: consecutive rules that certainly run and only set TX to known values (premise 7).
    let group: CompiledRule[] = [];
    let groupFrom: State = new State();
    const flush = (): void => {
      if (group.length > 0 && st !== undefined) {
        kept.push(constantSets(group, groupFrom, st));
        stats.merged += group.length;
      }
      group = [];
    };
    for (let i = 0; i < items.length; i++) {
      const item = items[i] as Item;
      if (item.kind === "marker") {
        flush();
        const jumped = pending.get(item.name);
        if (jumped !== undefined) {
          st = State.merge(st, jumped);
          pending.delete(item.name);
        }
        kept.push(item);
        continue;
      }
      const pin = pinned.has(item);
      if (st === undefined) {
        // Unreachable: no fallthrough and no jump lands before it (premise 3).
        if (pin) kept.push(item);
        else stats.unreachable++;
        continue;
      }
      const outcome = pin ? "maybe" : decided(items, i, st, removals);
      if (outcome === "never") {
        stats.never++;
        continue;
      }
      // What it runs, if it stays (premise 8), against the state it starts from.
      const from = st;
      // A rule a ctl may remove runs or not: its effects are possible ones.
      const certain = outcome === "always" && !removals.some((x) => names(x, item));
      const rule = (): Item => {
        const r = recompile ? specialise(item, from, recompile, stats) : item;
        if (outcome !== "always" || staleMatched || !actionOnly(r)) return r;
        stats.actions++;
        return asAction(r);
      };
      const after = effects(item, st, certain ? "always" : "maybe", removals);
      if (item.disruptive.action !== "pass") stopped = State.merge(stopped, after);
      if (item.skipAfter !== undefined) {
        pending.set(item.skipAfter, State.merge(pending.get(item.skipAfter), after) as State);
        if (outcome === "always") {
          // The run of constant setters before it ends here: st (their state) is about to go.
          flush();
          if (!staleMatched && silent(item)) stats.gates++;
          else kept.push(rule());
          st = undefined;
          continue;
        }
      }
      if (certain && !pin && !staleMatched && constantRule(item) && known(written(item, st), after)) {
        if (group.length === 0) groupFrom = st;
        group.push(item);
        st = after;
        continue;
      }
      flush();
      kept.push(rule());
      st = after;
    }
    flush();
    // A jump whose marker does not follow skips to the phase's end.
    for (const jumped of pending.values()) st = State.merge(st, jumped);
    cur = st;
    stopped = State.merge(stopped, cur);
    out[p] = kept;
  }
  return { phases: out, stats };
}

/**
 * decided is the outcome of the rule at items[i] in st, runtime removals considered (premise 5):
 * a ctl that may remove target lists from it leaves it undecided (a count of a removed target
 * reads 0); one that may remove the rule itself does not change a "never"; an "always" with a
 * skipAfter stays decided only when every such removal also removes every rule its jump passes
 * over, so that where the rule is removed the rules it guards are removed too and the phase
 * arrives at the marker in the same state.
 */
function decided(items: readonly Item[], i: number, st: State, removals: readonly Removal[]): Outcome {
  const r = items[i] as CompiledRule;
  if (removals.some((x) => x.target && names(x, r))) return "maybe";
  const o = ruleOutcome(r, st);
  if (o !== "always") return o;
  const by = removals.filter((x) => !x.target && names(x, r));
  if (by.length === 0 || r.skipAfter === undefined) return o;
  for (let j = i + 1; j < items.length; j++) {
    const it = items[j] as Item;
    if (it.kind === "marker") {
      if (it.name === r.skipAfter) break;
      continue;
    }
    if (!by.every((x) => names(x, it))) return "maybe";
  }
  return o;
}

/** constantRule: a rule whose only effect when it matches is setting TX variables (no delete:
 * a delete and a set again would move the variable in TX's order). */
function constantRule(r: CompiledRule): boolean {
  return (
    !r.log &&
    r.disruptive.action === "pass" &&
    r.severity === undefined &&
    r.skip === 0 &&
    r.skipAfter === undefined &&
    r.steps.every(
      (s) =>
        !s.capture &&
        s.actions.every(
          (a) => a.kind === "setvar" && a.setvar.collection === "TX" && a.setvar.op !== "delete",
        ),
    )
  );
}

/** written lists the TX names r's setvars write in st, in order; undefined when a key is
 * undecided. */
function written(r: CompiledRule, st: State): string[] | undefined {
  const out: string[] = [];
  const state = st.copy();
  for (const s of r.steps)
    for (const a of s.actions) {
      if (a.kind !== "setvar") continue;
      try {
        out.push(expandIn(a.setvar.key, state).toLowerCase());
      } catch {
        return undefined;
      }
      apply([a], state, "always", []);
    }
  return out;
}

/** known: every name is a known value in st. */
function known(names: string[] | undefined, st: State): names is string[] {
  return names !== undefined && names.every((k) => typeof st.get(k) === "string");
}

/** constantSets is one SecAction in place of group (premise 7): it sets, in the order the group
 * first wrote them, each variable the group wrote to its value after the group (in `after`). */
function constantSets(group: readonly CompiledRule[], from: State, after: State): CompiledRule {
  const order = new Set<string>();
  let st = from;
  for (const r of group) {
    for (const k of written(r, st) as string[]) order.add(k);
    st = effects(r, st, "always", []);
  }
  const text = (raw: string): Template => ({ raw, parts: [raw] });
  const actions: RunAction[] = [...order].map((k) => ({
    kind: "setvar",
    setvar: { collection: "TX", key: text(k), op: "set", value: text(after.get(k) as string) },
  }));
  const first = group[0] as CompiledRule;
  const step = actionStep(first.at, actions);
  return {
    kind: "rule",
    id: first.id,
    phase: first.phase,
    at: first.at,
    steps: [step],
    tags: [],
    tagTemplates: [],
    rev: "",
    ver: "",
    log: false,
    disruptive: { action: "pass" },
    skip: 0,
    sanitise: false,
    sanitiseNames: [],
  };
}

/** pinnedRules lists the rules a `skip:N` may count (premise 3): the N rules after it. */
function pinnedRules(items: readonly Item[]): Set<Item> {
  const out = new Set<Item>();
  for (let i = 0; i < items.length; i++) {
    const r = items[i] as Item;
    if (r.kind !== "rule" || r.skip <= 0) continue;
    let n = r.skip;
    for (let j = i + 1; j < items.length && n > 0; j++)
      if ((items[j] as Item).kind === "rule") {
        out.add(items[j] as Item);
        n--;
      }
  }
  return out;
}

/** ruleOutcome decides a rule: every step must match, each after the previous one's actions.
 * A chain whose first links match runs their actions and sets MATCHED_VAR even when a later link
 * fails (evaluate.ts rule()): such a rule stays undecided ("never" only when the first fails). */
function ruleOutcome(r: CompiledRule, st: State): Outcome {
  let state = st;
  let matched = false;
  for (const s of r.steps) {
    const decide = stepOutcome(s);
    const o = decide === undefined ? "maybe" : decide(state);
    if (o === "never") return matched ? "maybe" : "never";
    if (o === "maybe") return "maybe";
    state = state.copy();
    apply(s.actions, state, "always", []);
    matched = true;
  }
  return "always";
}

/** silent: a matching rule whose only effect is its skipAfter (and MATCHED_VAR, premise 6). */
function silent(r: CompiledRule): boolean {
  return (
    r.steps.length === 1 &&
    !r.log &&
    r.disruptive.action === "pass" &&
    r.severity === undefined &&
    r.skip === 0 &&
    r.steps[0]!.actions.length === 0 &&
    !r.steps[0]!.capture
  );
}

/** effects is the state after r ran in st (outcome: always or maybe), adding r's ctl removals. */
function effects(r: CompiledRule, st: State, outcome: Outcome, removals: Removal[]): State {
  let out = st;
  for (const s of r.steps) out = stepEffects(s, out, outcome, removals);
  return out === st ? st.copy() : out;
}

/** stepEffects is the state after step s matched in st (a copy). */
function stepEffects(s: Step, st: State, outcome: Outcome, removals: Removal[]): State {
  const out = st.copy();
  // A match's captures are written before its actions run (evaluate.ts test()).
  if (s.capture) for (let i = 0; i < 10; i++) out.vars.set(String(i), UNKNOWN);
  apply(s.actions, out, outcome, removals);
  return out;
}

/** MATCHED_REF: a template that reads MATCHED_VAR(S) or MATCHED_VAR(S)_NAME(S). */
const MATCHED_REF = /matched_var/i;

/** actionOnly: a one-step rule, decided to match whenever it runs (the caller's outcome),
 * whose match is seen only through its actions (premise 9): not logged, no capture, and no
 * action reading what it matched. */
function actionOnly(r: CompiledRule): boolean {
  const s = r.steps[0];
  if (r.steps.length !== 1 || s === undefined || s.unconditional || r.log || s.capture) return false;
  return s.actions.every((a) => !MATCHED_REF.test(JSON.stringify(a)));
}

/** asAction is r as a SecAction: its one step's actions, run unconditionally (premise 9). */
function asAction(r: CompiledRule): CompiledRule {
  const s = r.steps[0] as Step;
  return { ...r, steps: [actionStep(s.at, s.actions)] };
}

/** actionStep is a SecAction's step: no target, matched once with nothing, then actions. */
function actionStep(at: Location, actions: RunAction[]): Step {
  return {
    at,
    targets: [],
    exclusions: [],
    exclusionsBy: new Map(),
    unconditional: true,
    op: undefined,
    negated: false,
    transforms: [],
    transformIds: [],
    multiMatch: false,
    capture: false,
    actions,
    union: -1,
    targetUnions: [],
    pureOp: -1,
  };
}

/** specialise is r with each step's macro argument replaced by its constant value where premise
 * 8 allows (a copy), or r when none is. */
function specialise(r: CompiledRule, st: State, recompile: Recompile, stats: FoldStats): CompiledRule {
  let steps: Step[] | undefined;
  let state = st;
  for (let k = 0; k < r.steps.length; k++) {
    const s = r.steps[k] as Step;
    // Link k runs after links 0..k-1 matched: their effects, as possible ones (a setvar of a link
    // with several matching values runs once per value).
    if (k > 0) state = stepEffects(r.steps[k - 1] as Step, state, "maybe", []);
    const op = s.macroArg;
    if (op === undefined || op.arg.kind !== "template") continue;
    const value = constantArg(op.arg.template, s, state);
    if (value === undefined) continue;
    const literal: Operator = {
      ...op,
      raw: value,
      arg: { kind: "template", template: { raw: value, parts: [value] } },
    };
    const { macroArg: _, ...rest } = s;
    (steps ??= [...r.steps])[k] = { ...rest, op: recompile(literal, s.at, r.id) };
    stats.specialised++;
  }
  return steps === undefined ? r : { ...r, steps };
}

/** constantArg is t's value for every test step s makes in st (premise 8), or undefined. */
function constantArg(t: Template, s: Step, st: State): string | undefined {
  try {
    const value = expandIn(t, st);
    // The step's own captures and setvars, between one value's test and the next.
    if (expandIn(t, stepEffects(s, st, "maybe", [])) !== value) return undefined;
    for (let i = 0; i < value.length; i++) if (value.charCodeAt(i) > 0x7f) return undefined;
    return value;
  } catch (err) {
    if (err instanceof Undecided) return undefined;
    throw err;
  }
}

/** apply runs actions' effects on st: exactly when they certainly run, as unknowns otherwise. */
function apply(actions: readonly RunAction[], st: State, outcome: Outcome, removals: Removal[]): void {
  for (const a of actions) {
    const x = removalOf(a);
    if (x !== undefined) removals.push(x);
    if (a.kind !== "setvar" || a.setvar.collection !== "TX") continue;
    const sv = a.setvar;
    let key: string;
    try {
      key = expandIn(sv.key, st).toLowerCase();
    } catch (err) {
      if (!(err instanceof Undecided)) throw err;
      // The key's text before its first undecided macro bounds the names it may write.
      st.unknownFrom(keyPrefix(sv.key, st));
      continue;
    }
    if (outcome !== "always") {
      st.vars.set(key, UNKNOWN);
      continue;
    }
    st.vars.set(key, setvarValue(sv.op, sv.value, st.get(key), st));
  }
}

/** keyPrefix is the lower-case text a key starts with before its first undecided macro. */
function keyPrefix(t: Template, st: State): string {
  let out = "";
  for (const p of t.parts) {
    if (typeof p === "string") out += p;
    else
      try {
        out += macroIn(p, st);
      } catch {
        break;
      }
  }
  return out.toLowerCase();
}

/** setvarValue is evaluate.ts setvar() on the abstract state. */
function setvarValue(
  op: "set" | "add" | "sub" | "delete",
  t: Template | undefined,
  cur: Val,
  st: State,
): Val {
  if (op === "delete") return null;
  let value: string;
  try {
    value = t ? expandIn(t, st) : "";
  } catch (err) {
    if (err instanceof Undecided) return UNKNOWN;
    throw err;
  }
  if (op === "set") return value;
  if (cur === UNKNOWN) return UNKNOWN;
  const c = parseInt(cur ?? "0", 10) || 0;
  const n = parseInt(value, 10) || 0;
  return String(op === "add" ? c + n : c - n);
}
