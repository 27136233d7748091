// program.ts: the compiled shape of a rule set, shared read-only by every transaction: per phase,
// the rules in file order with the SecMarkers between them; per rule, its steps (the rule and its
// chain links) with operators compiled, transformations resolved and the defaults folded in.
import type { Location } from "../lang/errors.ts";
import type { Ctl, IdRange, Operator, Phase, SetVar, Template } from "../lang/model.ts";
import type { BodyProcessors } from "../body/types.ts";
import type { CompiledOperator, Transform } from "../ops/types.ts";
import type { Regex } from "../rx/index.ts";
import type { LiteralIndex, Pre } from "./prefilter.ts";
import type { MemoPhase } from "./memo.ts";
import type { ValueCache } from "./value-cache.ts";
import type { EngineSettings, IgnoredSetting } from "./settings.ts";

/** Sel is a compiled selector: a lower-case name, a regex on the member's name, or XPath. A
 * regex's answers are kept by name (`picks`, bounded: evaluate.ts selects): the names it is
 * tried on — TX's, headers' — repeat in every transaction. */
export type Sel =
  | { kind: "name"; lower: string; value: string }
  | {
      kind: "regex";
      rx: Regex;
      pattern: string;
      picks?: Map<string, boolean>;
      /** need: literals (lower-case ASCII) one of which every name the regex picks holds. */
      need?: readonly string[];
    }
  | { kind: "xpath"; value: string };

/** Target is one variable a step reads (`ARGS:q`, `&TX:x`); `sel` absent means every member. */
export interface Target {
  collection: string;
  sel?: Sel;
  count: boolean;
  /** fixed: the collection's members stay the same until the data changes (vars.ts
   * fixedBetweenChanges): read unnamed, from Vars' lists. */
  fixed: boolean;
  /** cacheKey names the selection for Vars.namedWhere (built once here, not per evaluation). */
  cacheKey?: string;
}

/** Exclusion removes members from the step's targets of the same collection (`!ARGS:pw`);
 * without `sel` it removes the whole collection (ctl:ruleRemoveTargetById=1;ARGS). */
export interface Exclusion {
  collection: string;
  sel?: Sel;
}

/** RunAction is a non-disruptive action that changes the transaction when its rule matches. */
export type RunAction =
  | { kind: "setvar"; setvar: SetVar }
  | { kind: "ctl"; ctl: Ctl; remove?: TargetRemoval }
  | { kind: "setenv"; key: Template; value: Template };

/** TargetRemoval is a compiled ctl:ruleRemoveTargetById/ByTag/ByMsg: which rules, which targets. */
export interface TargetRemoval {
  by: "id" | "tag" | "msg";
  ids: IdRange[];
  what: string;
  exclusions: Exclusion[];
}

/** Step is one rule of a chain (step 0 is the rule itself). */
export interface Step {
  at: Location;
  targets: Target[];
  exclusions: Exclusion[];
  /** exclusionsBy: the exclusions by collection name (what select reads). */
  exclusionsBy: Map<string, Exclusion[]>;
  /** unconditional: SecAction (no variables: it matches once, with nothing matched). */
  unconditional: boolean;
  op: CompiledOperator | undefined;
  /** macroArg: the operator as written when its argument holds macros (`@within
   * %{tx.allowed_methods}`), so fold.ts can compile it again with the values it proves constant. */
  macroArg?: Operator;
  negated: boolean;
  transforms: Transform[];
  /** transformIds[i] names the chain transforms[0..i] across the program (the cache key). */
  transformIds: number[];
  multiMatch: boolean;
  capture: boolean;
  actions: RunAction[];
  /** live: the step's one target is one named member of a live collection (`TX:x`), read as
   * it is (no transformation, exclusion, count or multiMatch): evaluate() looks it up directly
   * instead of listing and naming the collection's members. A third of the CRS's rules are
   * such comparisons (paranoia-level gates, scores). */
  live?: { collection: string; lower: string };
  /** pre: the operator's prefilter over the program's literals (not for negated or multiMatch
   * steps): a value it fails cannot match, so the operator does not run on it. */
  pre?: Pre;
  /** union / targetUnions, with pre when every target's members are fixed between data changes:
   * slots (per transaction, per data version) for the literals present in any value of all the
   * targets / of each target, under the step's transformations. -1: not kept. */
  union: number;
  targetUnions: number[];
  /** pureOp: the operator's index among the program's pure operators (its bit in a value's
   * value-cache.ts Rec.miss), -1 when the operator is not pure or the step may not use it. */
  pureOp: number;
}

/** Resolved is the disruptive action a rule takes when it matches (block already resolved). */
export type Resolved =
  | { action: "pass" }
  | { action: "deny" | "drop" }
  | { action: "allow"; scope: "all" | "phase" | "request" }
  | { action: "redirect"; target: Template };

/** CompiledRule is a rule (or chain) ready to run. */
export interface CompiledRule {
  kind: "rule";
  id: number;
  phase: Phase;
  at: Location;
  steps: Step[];
  msg?: Template;
  logdata?: Template;
  /** tags are the raw tag texts (ctl:ruleRemoveByTag compares them); tagTemplates for the hit. */
  tags: string[];
  tagTemplates: Template[];
  severity?: number;
  rev: string;
  ver: string;
  log: boolean;
  disruptive: Resolved;
  status?: number;
  skip: number;
  skipAfter?: string;
  /** sanitise: the hit's value is masked (sanitiseMatched / sanitiseMatchedBytes). */
  sanitise: boolean;
  /** sanitiseArgs / sanitiseHeaders: lower-case names whose values are masked in hits. */
  sanitiseNames: Template[];
}

/** MarkerItem is a SecMarker's place in a phase. */
export interface MarkerItem {
  kind: "marker";
  name: string;
}

/** Item is one entry of a phase's list. */
export type Item = CompiledRule | MarkerItem;

/** Compiled is what the transactions share: the phases' lists and the settings. */
export interface Compiled {
  /** phases[p] lists phase p's rules and markers in file order (empty when p has no rule). */
  phases: readonly (readonly Item[])[];
  settings: EngineSettings;
  ignoredSettings: IgnoredSetting[];
  budgetMs: number;
  body: BodyProcessors;
  ruleCount: number;
  /** literals scans a value for every prefilter literal of the program at once. */
  literals: LiteralIndex;
  /** unionSlots is the number of distinct union slots the steps use. */
  unionSlots: number;
  /** runs[p][i], for a rule at item i of phase p that plan.ts can skip on its union alone: the
   * end (exclusive) of the run of such rules from i that share its union slot; 0 otherwise. */
  runs: readonly Int32Array[];
  /** memo[p]: phase p's memo plan (memo.ts): the rules it may pass over on the values' memoised
   * bits; every bit -1 when the program keeps nothing across transactions. */
  memo: readonly MemoPhase[];
  /** pureWords is the size of a value's Rec.miss (one bit per pure operator). */
  pureWords: number;
  /** values is the program's cross-transaction cache of values (value-cache.ts). */
  values: ValueCache;
  /** unionPool: union storages (evaluate.ts) of ended transactions, for the next ones. */
  unionPool: { bits: Uint32Array; at: Float64Array }[];
}
