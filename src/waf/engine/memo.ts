// memo.ts: per phase, which rules' first step may be decided from the request's values alone,
// one value at a time, and the groups the evaluator reads those values through. A rule is
// _memoised_ when its first step is a pure function of the members it reads: every target is
// request or response data (fixed between data changes: not TX, MATCHED_*, TIME*, ...), and its
// operator is pure (CompiledOperator.pure: no macro in its argument, no state). A count target
// (`&REQUEST_HEADERS:Host`) counts too when the step excludes nothing of its collection: its one
// value is the number of members selected. Its targets are cut into _groups_: one per distinct
// (collection, selector, count) of the phase — `ARGS`, `REQUEST_HEADERS:User-Agent`, `XML:/*`,
// `&REQUEST_HEADERS:Host` —, each listing the memoised rules that read it.
//
// Per transaction (evaluate.ts), a group is read once per data version, when a rule reading it is
// first reached (not before: rules after an early deny or allow cost nothing): each member it
// selects (the selector applied, exclusions not) has its value's bits — which of the group's
// rules' first steps match that value — looked up on the value's value-cache.ts entry
// (`Entry.memo`, under the group's id), computed on first sight by running each rule's
// transformations and operator on it (through the same cached forms, literal bits and miss bits
// as a rule that runs). The OR over a group's members is the set of its rules that may match; a
// memoised rule outside the sets of all its groups is passed over without being entered.
//
// Why passing over such a rule cannot change the outcome (each premise is a property of
// evaluate.ts's step(), as plan.ts's proof uses them):
// 1. A rule matches only when its first step matches, and a rule whose first step does not match
//    runs no action, capture, skip or hit; its only writes (`vars.rule`, the reset of
//    `MATCHED_VARS`) are written again by the next rule that runs before anything reads them.
// 2. A first step matches exactly when, for some target t and some member m of t left by the
//    exclusions and runtime target removals, the operator's answer on some form of m.value under
//    the step's transformations (one, or each intermediate with multiMatch) differs from its
//    negation. Exclusions and removals only take members away, so the step matching implies the
//    same with them ignored: for some group (t's collection and selector) and some member it
//    selects, the value's bit for the rule is set. A count target's one value, the number of
//    members left, is the group's number when nothing is taken away: a memoised step excludes
//    nothing of a counted collection, and a rule with a count target that runtime removals name
//    is entered whatever its bits (evaluate.ts runPhase).
// 3. That bit is a function of (group, value) alone: the group fixes the rules (their
//    transformations, operators, negation, multiMatch), a transformation is a function of its
//    input, and a pure operator's answer a function of the transformed value. Captures do not
//    enter into it (a capture is written only when the rule matches, and it then runs as written).
//    So a bit computed in one transaction holds in any other with the same value in the group.
// 4. The set is recomputed whenever the data version changes (vars.ts: a collection or scalar
//    stored); TX and the other live or dynamic variables are not read by a memoised rule (their
//    members change without a version change). Hence a rule outside the set cannot match (2, 3)
//    and passing over it changes nothing (1).
// Later links of a chain (`SecRule REQUEST_METHOD "@rx ^(?:GET|HEAD)$" ... chain` then
// `SecRule REQUEST_HEADERS:Content-Length "!@rx ^0?$"`, CRS 920170) are memoised the same way, each
// with its own bit, when every link before them has no action and no capture and no rule reads
// MATCHED_* before matching (fold.ts premise 6, `staleMatched`); the rule is passed over when any
// of its memoised links has no bit set:
// 5. A rule runs link k only after links 0..k-1 matched, at the data version it was reached at
//    (those links have no action: nothing changes the data or TX before link k runs). Link k not
//    matching (2, 3, 4, for link k as for the first) means the rule does not match: it runs links
//    0..k-1, which write only MATCHED_VAR and MATCHED_VARS (no action, no capture; skip, skipAfter,
//    the disruptive action, severity and the hit need the whole chain). MATCHED_VARS is reset by
//    the next rule that runs; MATCHED_VAR stays, so these links are memoised only when no rule
//    reads it before its own match.
// Bounded through the value cache: a memo lives on the entry of its value and is charged to it
// (value-cache.ts), so it goes with the entry when its generation is dropped; values too long for
// the cache get a per-transaction entry, their bits worked out in each transaction.
import type { Item, Step, Target } from "./program.ts";
import { fixedBetweenChanges } from "./vars.ts";

/** MemoRule is one memoised rule's link as a group lists it: its bit in the phase's set and the
 * step (the first link, or a later one, premise 5). */
export interface MemoRule {
  bit: number;
  step: Step;
}

/** MemoGroup is a (collection, selector) read by memoised rules of one phase. */
export interface MemoGroup {
  /** id: the group's key in a value's Entry.memo, unique in the program. */
  id: number;
  /** target: how the group's members are listed (evaluate.ts members()); with target.count,
   * the group's one value is their number. */
  target: Target;
  rules: MemoRule[];
}

/** MemoPhase is one phase's memo plan. */
export interface MemoPhase {
  /** bits[i]: the bit of the first step of the rule at item i in the phase's set, -1 when it is not
   * memoised; its later memoised links have the next span[i] - 1 bits. */
  bits: Int32Array;
  /** span[i]: the number of memoised links of the rule at item i (its first and those after it,
   * premise 5); the rule may match only when each has its bit set. */
  span: Uint8Array;
  /** counted[i]: the memoised rule at item i has a count target (runtime removals that name it
   * may change the count: it is entered then). */
  counted: Uint8Array;
  /** words: the size of the phase's set (Uint32 words). */
  words: number;
  groups: MemoGroup[];
  /** ruleGroups[i]: the groups the memoised rule at item i reads (empty for the others); the
   * evaluator reads only these when the rule is reached, so rules after an early deny, allow or
   * skip cost nothing. */
  ruleGroups: MemoGroup[][];
  /** lastGroup[i]: the highest position in groups of a group the rule at item i reads (-1: none).
   * Groups are listed in the order rules first read them, so once groups[0..k] are all read at a
   * data version, a rule whose lastGroup is at most k needs no look at its groups (evaluate.ts
   * memoised: a CRS ARGS rule reads five or six groups, 116 such rules in phase 2). */
  lastGroup: Int16Array;
}

/** memoisable says whether a rule's first step is decided by its members' values alone. */
export function memoisable(item: Item): Step | undefined {
  if (item.kind !== "rule") return undefined;
  const s = item.steps[0];
  return s === undefined ? undefined : stepMemoisable(s);
}

/** stepMemoisable says whether a step is decided by its members' values alone. */
function stepMemoisable(s: Step): Step | undefined {
  if (s.unconditional || s.live !== undefined || s.op?.pure !== true) return undefined;
  if (s.targets.length === 0) return undefined;
  for (const t of s.targets) {
    if (!fixedBetweenChanges(t.collection)) return undefined;
    if (t.count && (s.exclusionsBy.get(t.collection)?.length ?? 0) > 0) return undefined;
  }
  return s;
}

/** groupKey names a target's (collection, selector) within a phase. */
function groupKey(t: Target): string {
  const sel = t.sel;
  const s =
    sel === undefined
      ? ""
      : sel.kind === "regex"
        ? `r${sel.pattern}`
        : `${sel.kind[0]}${sel.kind === "name" ? sel.lower : sel.value}`;
  return `${t.count ? "&" : ""}${t.collection}\0${s}`;
}

/** memoSteps lists the memoised steps of a rule: its first, then each later link whose links
 * before it have no action and no capture (premise 5; not when staleMatched: some rule reads
 * MATCHED_* before its own match). Empty when the first step is not memoised. */
export function memoSteps(item: Item, staleMatched: boolean): Step[] {
  const first = memoisable(item);
  if (first === undefined || item.kind !== "rule") return [];
  const out = [first];
  if (staleMatched) return out;
  for (let k = 1; k < item.steps.length; k++) {
    const before = item.steps[k - 1] as Step;
    if (before.actions.length > 0 || before.capture) break;
    const s = stepMemoisable(item.steps[k] as Step);
    if (s !== undefined) out.push(s);
  }
  return out;
}

/** planMemo gives each phase its memo plan (an empty one for a phase without memoised rules).
 * staleMatched: some rule reads MATCHED_* before its own match (then only first links). */
export function planMemo(phases: readonly (readonly Item[])[], staleMatched = true): MemoPhase[] {
  let ids = 0;
  return phases.map((items) => {
    const bits = new Int32Array(items.length).fill(-1);
    const span = new Uint8Array(items.length);
    const counted = new Uint8Array(items.length);
    const ruleGroups: MemoGroup[][] = items.map(() => []);
    const groups = new Map<string, MemoGroup>();
    let n = 0;
    items.forEach((item, i) => {
      const steps = memoSteps(item, staleMatched).slice(0, 255);
      if (steps.length === 0) return;
      bits[i] = n;
      span[i] = steps.length;
      for (const s of steps) {
        const bit = n++;
        if (s.targets.some((t) => t.count)) counted[i] = 1;
        for (const t of s.targets) {
          const key = groupKey(t);
          let g = groups.get(key);
          if (g === undefined) groups.set(key, (g = { id: ids++, target: t, rules: [] }));
          // A step naming the same target twice is listed once.
          if (g.rules[g.rules.length - 1]?.bit !== bit) g.rules.push({ bit, step: s });
          const mine = ruleGroups[i] as MemoGroup[];
          if (!mine.includes(g)) mine.push(g);
        }
      }
    });
    const list = [...groups.values()];
    const at = new Map(list.map((g, k) => [g, k]));
    const lastGroup = new Int16Array(items.length).fill(-1);
    ruleGroups.forEach((gs, i) => {
      for (const g of gs) lastGroup[i] = Math.max(lastGroup[i]!, at.get(g)!);
    });
    return { bits, span, counted, words: (n + 31) >>> 5, groups: list, ruleGroups, lastGroup };
  });
}
