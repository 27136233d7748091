// compile.ts: RuleSet → the shared program. Applies the load-time edits first (edits.ts), then
// compiles each remaining rule: its SecDefaultAction folded in, `block` resolved to the phase's
// default disruptive action, its transformations and operators taken from ops. Every problem is
// collected with file:line and rule id.
import { parseIdRanges } from "../lang/actions.ts";
import { WafLangError, type Location } from "../lang/errors.ts";
import { isLiteral } from "../lang/macro.ts";
import type {
  Action,
  Ctl,
  Disruptive,
  Entry,
  IdRange,
  Rule,
  RuleLink,
  RuleSet,
  Selector,
  Setting,
} from "../lang/model.ts";
import type { OpsFactory, Transform } from "../ops/types.ts";
import { compile as compileRx, type Prefilter } from "../rx/index.ts";
import { applyEdits, effectiveActions } from "./edits.ts";
import { fold, type FoldStats } from "./fold.ts";
import { planRuns } from "./plan.ts";
import { planMemo, type MemoPhase } from "./memo.ts";
import { LiteralIndex } from "./prefilter.ts";
import { fixedBetweenChanges, isLive } from "./vars.ts";
import type { CompiledRule, Exclusion, Item, Resolved, RunAction, Sel, Step, Target } from "./program.ts";

/** RulesResult is the compiled phase lists (index 1..5) and every error found. */
export interface RulesResult {
  phases: Item[][];
  ruleCount: number;
  literals: LiteralIndex;
  unionSlots: number;
  runs: Int32Array[];
  memo: MemoPhase[];
  pureWords: number;
  /** folded: what fold.ts removed (undefined: not folded). */
  folded?: FoldStats;
  errors: WafLangError[];
  ignoredActions: IgnoredAction[];
}

/** IgnoredAction is an action a rule carries that the engine accepts but does not act on. */
export interface IgnoredAction {
  action: string;
  ruleId: number;
  at: Location;
  reason: string;
}

// Actions accepted without effect, and why (reported in program.ignoredActions).
const NO_EFFECT: Record<string, string> = {
  initcol: "persistent collections are per-transaction in Portico (IP, GLOBAL, ... start empty)",
  expirevar: "persistent collections are per-transaction in Portico",
  deprecatevar: "persistent collections are per-transaction in Portico",
  setuid: "persistent collections are per-transaction in Portico",
  setsid: "persistent collections are per-transaction in Portico",
  setrsc: "persistent collections are per-transaction in Portico",
  xmlns: "XPath selectors take no namespace prefixes",
};
// Actions refused at load: running them would change what the WAF does in ways Portico cannot.
const REFUSED: Record<string, string> = {
  exec: "exec (running a program per match) is not supported",
  append: "append (adding to the response body) is not supported",
  prepend: "prepend (adding to the response body) is not supported",
};

/** compileRules compiles the rules and markers of set with ops; with foldConstants, what is the
 * same in every transaction is decided once (fold.ts), after the load-time edits; with memo, the
 * rules decided by their values alone are planned (memo.ts) and left out of the runs (plan.ts). */
export function compileRules(
  set: RuleSet,
  ops: OpsFactory,
  foldConstants = false,
  memo = false,
): RulesResult {
  const errors: WafLangError[] = [];
  const rules = applyEdits(set.entries);
  const phases: Item[][] = [[], [], [], [], [], []];
  const chains = new TransformIds();
  const ignoredActions: IgnoredAction[] = [];
  let ruleCount = 0;
  for (const e of rules) {
    if (e.kind === "marker") {
      for (let p = 1; p <= 5; p++) phases[p]?.push({ kind: "marker", name: e.name });
      continue;
    }
    try {
      phases[e.phase]?.push(compileRule(e, ops, chains));
      ruleCount++;
      for (const step of [e, ...e.links]) {
        for (const a of step.actions) {
          const reason = NO_EFFECT[a.name];
          if (reason) ignoredActions.push({ action: a.name, ruleId: e.id, at: step.at, reason });
        }
      }
    } catch (err) {
      if (err instanceof WafLangError) errors.push(err);
      else throw err;
    }
  }
  // Before fold, which may pick TX names by selector at load.
  if (mayStoreWideNames(phases)) dropNeeds(phases);
  let folded: FoldStats | undefined;
  const staleMatched = readsStaleMatched(rules);
  if (foldConstants && errors.length === 0) {
    const f = fold(phases, staleMatched, (op, at, id) => ops.compileOperator(op, at, id));
    for (let p = 1; p <= 5; p++) phases[p] = f.phases[p] as Item[];
    folded = f.stats;
  }
  // A phase of markers only is a phase with no rules: the transaction skips it without work.
  for (let p = 1; p <= 5; p++) if (!phases[p]?.some((i) => i.kind === "rule")) phases[p] = [];
  oneShape(phases);
  return {
    phases,
    ruleCount,
    ...(folded ? { folded } : {}),
    errors,
    ignoredActions,
    ...prefilters(phases),
    ...plans(phases, memo, staleMatched),
    pureWords: pureOps(phases),
  };
}

/** oneShape rebuilds the items of every phase, and their rules' steps, with one layout each:
 * every key any of them has, in one order, absent ones undefined. V8 reads a property through a
 * cache of the object layouts it has seen and gives up on it past four (a megamorphic read,
 * several times slower); the CRS's items came in 8 layouts (optional fields, fold.ts's rules,
 * markers) and their steps in 5, read for each of the ~400 items a transaction passes. Steps get
 * `pre` (prefilters() sets it on some later). Nothing holds the old objects yet (plans come after). */
function oneShape(phases: Item[][]): void {
  const items = phases.flat();
  const steps = items.flatMap((i) => (i.kind === "rule" ? i.steps : []));
  const step = maker(keysOf(steps, ["pre"]));
  const shaped = new Map(steps.map((st) => [st, step(st) as Step]));
  const item = maker(keysOf(items, []));
  for (let p = 0; p < phases.length; p++)
    phases[p] = (phases[p] as Item[]).map((i) => {
      const out = item(i) as Item;
      if (out.kind === "rule") out.steps = out.steps.map((st) => shaped.get(st) as Step);
      return out;
    });
}

function keysOf(xs: readonly object[], extra: readonly string[]): string[] {
  const keys = new Set<string>();
  for (const x of xs) for (const k of Object.keys(x)) keys.add(k);
  for (const k of extra) keys.add(k);
  return [...keys];
}

/** maker returns a copier to objects of one layout with keys (our types' field names, never rule
 * text): a constructor that stores each key by name, so V8 keeps them in the object as fast
 * fields (stores by computed key would turn an object of ~25 fields into a dictionary). */
function maker(keys: readonly string[]): (x: object) => object {
  const body = keys.map((k) => `this[${JSON.stringify(k)}] = x[${JSON.stringify(k)}];`).join("\n");
  const Make = new Function("x", body) as unknown as new (x: object) => object;
  Make.prototype = Object.prototype;
  return (x) => new Make(x);
}

/** plans gives the memo plans (every bit -1 without memo) and the runs beside them. */
function plans(
  phases: readonly Item[][],
  memo: boolean,
  staleMatched: boolean,
): { memo: MemoPhase[]; runs: Int32Array[] } {
  const m = memo
    ? planMemo(phases, staleMatched)
    : phases.map((items) => ({
        bits: new Int32Array(items.length).fill(-1),
        span: new Uint8Array(items.length),
        counted: new Uint8Array(items.length),
        words: 0,
        groups: [],
        ruleGroups: [],
        lastGroup: new Int16Array(items.length).fill(-1),
      }));
  return { memo: m, runs: planRuns(phases, m) };
}

const MATCHED = /matched_var/i;

/** readsStaleMatched says whether some rule's first step may read MATCHED_* before it matches
 * (fold.ts premise 6): a target, or a macro in its operator's argument; for a SecAction, which
 * runs its actions without matching anything, any macro in its actions. */
function readsStaleMatched(rules: ReturnType<typeof applyEdits>): boolean {
  return rules.some(
    (r) =>
      r.kind === "rule" &&
      (r.variables.some((v) => v.collection.startsWith("MATCHED_VAR")) ||
        MATCHED.test(r.operator.raw) ||
        (r.directive === "SecAction" && r.actions.some((a) => MATCHED.test(JSON.stringify(a))))),
  );
}

/** pureOps numbers the steps whose operator is pure (ops/types.ts CompiledOperator.pure), so a
 * value can record which of them it does not match (value-cache.ts Rec.miss); the number of
 * words that takes. A negated step with `capture` is left out: its match is the operator's
 * failure, and whether a failing operator wrote captures is the operator's business. So is a
 * `live` step (a TX comparison): one variable read directly, cheaper than a cache lookup. */
function pureOps(phases: readonly Item[][]): number {
  let n = 0;
  for (const items of phases)
    for (const item of items) {
      if (item.kind !== "rule") continue;
      for (const step of item.steps)
        if (step.op?.pure && !(step.negated && step.capture) && step.live === undefined) step.pureOp = n++;
    }
  return (n + 31) >>> 5;
}

/** prefilters gives every step whose operator knows a prefilter its compiled form, over one
 * literal index for the program. A negated step matches where the operator does not: it runs
 * its operator as written. A multiMatch step tests every intermediate value, so its prefilter is
 * checked on each of them (and its union covers them all). Phase 1
 * rules run theirs too: there (CRS: protocol checks, one header each) a value scanned for one
 * rule costs more than the match it saves (bench/waf-engine.ts: phase 1 ~20% slower with them),
 * while phase 2's many rules over the same argument, cookie and header lists share each scan. */
function prefilters(phases: readonly Item[][]): { literals: LiteralIndex; unionSlots: number } {
  const literals = new LiteralIndex();
  const slots = new Map<string, number>();
  const slot = (key: string): number => {
    let n = slots.get(key);
    if (n === undefined) slots.set(key, (n = slots.size));
    return n;
  };
  for (const items of phases)
    for (const item of items) {
      if (item.kind !== "rule" || item.phase < 2) continue;
      for (const step of item.steps) {
        const p = step.op?.prefilter;
        if (p === undefined || step.negated) continue;
        step.pre = literals.compile(p);
        // Rules read the same targets through the same transformations (CRS: ARGS, ARGS_NAMES,
        // cookies, ... with t:urlDecodeUni,...): one union per distinct list, per transaction.
        if (step.targets.some((t) => t.count || !fixedBetweenChanges(t.collection))) continue;
        const chain = step.transformIds[step.transformIds.length - 1] ?? 0;
        // A multiMatch union also holds every intermediate value's literals: its own slots.
        const multi = step.multiMatch ? "m" : "";
        const keys = step.targets.map((t) => `${multi}${chain}|${t.collection}|${selText(t.sel)}`);
        step.targetUnions = keys.map(slot);
        step.union = slot([...new Set(keys)].sort().join("\n"));
      }
    }
  literals.seal();
  return { literals, unionSlots: slots.size };
}

function selText(sel: Sel | undefined): string {
  return sel === undefined
    ? ""
    : sel.kind === "name"
      ? `n${sel.lower}`
      : sel.kind === "regex"
        ? `r${sel.pattern}`
        : `x${sel.value}`;
}

/** settingsOf lists the setting directives in order. */
export function settingsOf(entries: readonly Entry[]): Setting[] {
  return entries.filter((e): e is Setting => e.kind === "setting");
}

/** TransformIds numbers each distinct transformation chain prefix, so transactions can cache
 * `urlDecodeUni,lowercase` of a value once for every rule that starts with that chain. */
class TransformIds {
  private readonly ids = new Map<string, number>();
  idsFor(names: readonly string[]): number[] {
    const out: number[] = [];
    let key = "";
    for (const n of names) {
      key += `${n},`;
      let id = this.ids.get(key);
      if (id === undefined) {
        id = this.ids.size + 1;
        this.ids.set(key, id);
      }
      out.push(id);
    }
    return out;
  }
}

function compileRule(r: Rule, ops: OpsFactory, chains: TransformIds): CompiledRule {
  const actions = effectiveActions(r);
  const defaultTs = (r.defaults ?? []).filter((a) => a.name === "t");
  const steps: Step[] = [compileStep(r, actions, r, ops, chains)];
  for (const l of r.links) steps.push(compileStep(l, [...defaultTs, ...l.actions], r, ops, chains));

  let msg, logdata, severity, status, skipAfter;
  let log = true;
  let skip = 0;
  let sanitise = false;
  let disruptive: Resolved = { action: "pass" };
  let rev = "";
  let ver = "";
  const tags: string[] = [];
  const tagTemplates = [];
  const sanitiseNames = [];
  for (const a of actions) {
    switch (a.name) {
      case "msg":
        msg = a.value;
        break;
      case "logdata":
        logdata = a.value;
        break;
      case "tag":
        tags.push(a.value.raw);
        tagTemplates.push(a.value);
        break;
      case "severity":
        severity = a.value;
        break;
      case "status":
        status = a.value;
        break;
      case "rev":
        rev = a.value;
        break;
      case "ver":
        ver = a.value;
        break;
      case "log":
        log = true;
        break;
      case "nolog":
        log = false;
        break;
      case "skip":
        skip = a.value;
        break;
      case "skipAfter":
        skipAfter = a.value;
        break;
      case "sanitiseMatched":
      case "sanitiseMatchedBytes":
        sanitise = true;
        break;
      case "sanitiseArg":
      case "sanitiseRequestHeader":
      case "sanitiseResponseHeader":
        sanitiseNames.push(a.value);
        break;
      case "disruptive":
        disruptive = resolve(a.value, r);
        break;
    }
  }
  const out: CompiledRule = {
    kind: "rule",
    id: r.id,
    phase: r.phase,
    at: r.at,
    steps,
    tags,
    tagTemplates,
    rev,
    ver,
    log,
    disruptive,
    skip,
    sanitise,
    sanitiseNames,
  };
  if (msg) out.msg = msg;
  if (logdata) out.logdata = logdata;
  if (severity !== undefined) out.severity = severity;
  if (status !== undefined) out.status = status;
  if (skipAfter !== undefined) out.skipAfter = skipAfter;
  return out;
}

/** resolve maps a written disruptive action to what runs: `block` is the phase's
 * SecDefaultAction disruptive action (pass when there is none, as in ModSecurity v3). */
function resolve(d: Disruptive, r: Rule): Resolved {
  switch (d.action) {
    case "pass":
    case "deny":
    case "drop":
      return { action: d.action };
    case "allow":
      return { action: "allow", scope: d.scope };
    case "redirect":
      return { action: "redirect", target: d.target };
    case "block": {
      let def: Resolved = { action: "pass" };
      for (const a of r.defaults ?? []) {
        if (a.name === "disruptive" && a.value.action !== "block") def = resolve(a.value, r);
      }
      return def;
    }
    case "proxy":
    case "pause":
      throw new WafLangError(
        "WAF_LANG_BAD_ARGUMENT",
        r.at,
        `the ${d.action} action is not supported by Portico's WAF; use deny, drop, redirect or pass`,
        r.id,
      );
  }
}

function compileStep(
  s: Rule | RuleLink,
  actions: readonly Action[],
  rule: Rule,
  ops: OpsFactory,
  chains: TransformIds,
): Step {
  const unconditional = "directive" in s && s.directive === "SecAction";
  const names: string[] = [];
  const transforms: Transform[] = [];
  const run: RunAction[] = [];
  let multiMatch = false;
  let capture = false;
  for (const a of actions) {
    const refused = REFUSED[a.name];
    if (refused) throw new WafLangError("WAF_LANG_UNKNOWN_ACTION", s.at, refused, rule.id);
    if (a.name === "t") {
      if (a.value === "none") {
        names.length = 0;
        transforms.length = 0;
        continue;
      }
      const f = ops.transformation(a.value);
      if (!f)
        throw new WafLangError(
          "WAF_LANG_UNKNOWN_ACTION",
          s.at,
          `transformation t:${a.value} is not implemented by Portico's WAF`,
          rule.id,
        );
      names.push(a.value);
      transforms.push(f);
    } else if (a.name === "multiMatch") multiMatch = true;
    else if (a.name === "capture") capture = true;
    else if (a.name === "setvar") run.push({ kind: "setvar", setvar: a.value });
    else if (a.name === "ctl") run.push(compileCtl(a.value, s.at, rule.id));
    else if (a.name === "setenv") run.push({ kind: "setenv", key: a.key, value: a.value });
  }
  const targets: Target[] = [];
  const exclusions: Exclusion[] = [];
  for (const v of s.variables) {
    const sel = v.selector ? compileSel(v.selector, s.at, rule.id) : undefined;
    if (v.exclude) exclusions.push(sel ? { collection: v.collection, sel } : { collection: v.collection });
    else
      targets.push(
        sel
          ? {
              collection: v.collection,
              sel,
              count: v.count,
              fixed: fixedBetweenChanges(v.collection),
              cacheKey: selKey(v.collection, sel),
            }
          : { collection: v.collection, count: v.count, fixed: fixedBetweenChanges(v.collection) },
      );
  }
  const exclusionsBy = new Map<string, Exclusion[]>();
  for (const e of exclusions) exclusionsBy.set(e.collection, [...(exclusionsBy.get(e.collection) ?? []), e]);
  let op;
  if (!unconditional) {
    try {
      op = ops.compileOperator(s.operator, s.at, rule.id);
    } catch (err) {
      if (err instanceof WafLangError) throw err;
      throw new WafLangError(
        "WAF_LANG_BAD_ARGUMENT",
        s.at,
        `@${s.operator.name}: ${(err as Error).message}`,
        rule.id,
      );
    }
  }
  const step: Step = {
    at: s.at,
    targets,
    exclusions,
    exclusionsBy,
    unconditional,
    op,
    negated: s.operator.negated,
    transforms,
    transformIds: chains.idsFor(names),
    multiMatch,
    capture,
    actions: run,
    union: -1,
    targetUnions: [],
    pureOp: -1,
  };
  if (op !== undefined && s.operator.arg.kind === "template" && !isLiteral(s.operator.arg.template))
    step.macroArg = s.operator;
  const only = targets[0];
  if (
    targets.length === 1 &&
    only?.sel?.kind === "name" &&
    !only.count &&
    isLive(only.collection) &&
    exclusions.length === 0 &&
    transforms.length === 0 &&
    !multiMatch
  )
    step.live = { collection: only.collection, lower: only.sel.lower };
  return step;
}

/** selKey names collection coll's members picked by sel (the key Vars caches them under). */
function selKey(coll: string, sel: Sel): string {
  return `${coll}\0${sel.kind === "name" ? `n${sel.lower}` : sel.kind === "regex" ? `r${sel.pattern}` : ""}`;
}

/** selectorNeeds is a regex selector's prefilter as literals one of which every name it picks
 * holds (lower-case ASCII), when it is that simple: evaluate.ts selects tests them on the member's
 * lower-case name before asking the regex (CRS 922110's `MULTIPART_HEADERS_CONTENT_TYPES_` regex
 * is tried on each of TX's ~80 names in every transaction). */
function selectorNeeds(pre: Prefilter | undefined): readonly string[] | undefined {
  if (pre?.op !== "lits" || pre.lits.length === 0 || pre.lits.length > 4) return undefined;
  // ASCII only: toLowerCase keeps an ASCII run of a name contiguous and lower-cases it as the
  // prefilter does, so a name holding a literal (ASCII case-insensitively) has it in m.lower.
  const ascii = (l: string) => [...l].every((c) => c.charCodeAt(0) < 0x80);
  return pre.lits.every(ascii) ? pre.lits : undefined;
}

/** mayStoreWideNames says whether a transaction may store a variable (TX, ENV, ...) whose name
 * holds a char above 0xFF. Request data are binary strings (one char per byte), so only the rule
 * text can: a setvar or setenv, or a macro they expand (`%{rule.msg}`). A regex selector reads
 * such a char as its low byte (rx testBinary) while its literals are tested on the lower-cased
 * name (Sel.need): `Ł` reads as `A` there but lower-cases to `ł`. */
function mayStoreWideNames(phases: readonly Item[][]): boolean {
  const texts: unknown[] = [];
  for (const items of phases)
    for (const r of items) {
      if (r.kind !== "rule") continue;
      texts.push(r.msg, r.logdata, r.tagTemplates, r.rev, r.ver);
      for (const s of r.steps) for (const a of s.actions) if (a.kind !== "ctl") texts.push(a);
    }
  return /[\u0100-\uffff]/.test(JSON.stringify(texts));
}

/** dropNeeds removes every regex selector's literal pre-test (Sel.need): names may be wide. */
function dropNeeds(phases: readonly Item[][]): void {
  const drop = (sel: Sel | undefined) => {
    if (sel?.kind === "regex") delete sel.need;
  };
  for (const items of phases)
    for (const r of items) {
      if (r.kind !== "rule") continue;
      for (const s of r.steps) {
        for (const t of s.targets) drop(t.sel);
        for (const e of s.exclusions) drop(e.sel);
        for (const a of s.actions)
          if (a.kind === "ctl") for (const e of a.remove?.exclusions ?? []) drop(e.sel);
      }
    }
}

/** compileSel compiles a selector; names compare case-insensitively (ModSecurity v3), so do regexes. */
export function compileSel(s: Selector, at: Location, ruleId: number | undefined): Sel {
  if (s.kind === "name") return { kind: "name", lower: s.value.toLowerCase(), value: s.value };
  if (s.kind === "xpath") return s;
  try {
    const rx = compileRx(s.pattern, "i", { prefilter: true });
    const need = selectorNeeds(rx.prefilter);
    return need === undefined
      ? { kind: "regex", rx, pattern: s.pattern }
      : { kind: "regex", rx, pattern: s.pattern, need };
  } catch (err) {
    throw new WafLangError(
      "WAF_LANG_BAD_ARGUMENT",
      at,
      `selector /${s.pattern}/: ${(err as Error).message}`,
      ruleId,
    );
  }
}

/** compileCtl compiles a ctl's target list and id range once, not per transaction. */
function compileCtl(ctl: Ctl, at: Location, ruleId: number): RunAction {
  if (!("targets" in ctl)) return { kind: "ctl", ctl };
  const by =
    ctl.option === "ruleRemoveTargetById" ? "id" : ctl.option === "ruleRemoveTargetByTag" ? "tag" : "msg";
  let ids: IdRange[] = [];
  if (by === "id") {
    try {
      ids = parseIdRanges(ctl.what);
    } catch (err) {
      throw new WafLangError(
        "WAF_LANG_BAD_ARGUMENT",
        at,
        `ctl:${ctl.option}: ${(err as Error).message}`,
        ruleId,
      );
    }
  }
  const exclusions = ctl.targets.map((v): Exclusion => {
    const sel = v.selector ? compileSel(v.selector, at, ruleId) : undefined;
    return sel ? { collection: v.collection, sel } : { collection: v.collection };
  });
  return { kind: "ctl", ctl, remove: { by, ids, what: ctl.what, exclusions } };
}
