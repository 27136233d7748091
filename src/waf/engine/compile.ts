// compile.ts: RuleSet → the shared program. Applies the load-time edits first (SecRuleRemove*,
// SecRuleUpdateTarget*, SecRuleUpdateActionById — wherever they are in the files, as ModSecurity
// v3 keeps them as exceptions that hold for every rule), then compiles each remaining rule: its
// SecDefaultAction folded in, `block` resolved to the phase's default disruptive action, its
// transformations and operators taken from ops. Every problem is collected with file:line and id.
import { parseIdRanges } from "../lang/actions.ts";
import { WafLangError, type Location } from "../lang/errors.ts";
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
  TargetUpdate,
  Variable,
} from "../lang/model.ts";
import type { OpsFactory, Transform } from "../ops/types.ts";
import { compile as compileRx } from "../rx/index.ts";
import type { CompiledRule, Exclusion, Item, Resolved, RunAction, Sel, Step, Target } from "./program.ts";

/** RulesResult is the compiled phase lists (index 1..5) and every error found. */
export interface RulesResult {
  phases: Item[][];
  ruleCount: number;
  errors: WafLangError[];
}

/** inRanges says whether id lies in one of ranges. */
export function inRanges(id: number, ranges: readonly IdRange[]): boolean {
  return ranges.some((r) => id >= r.from && id <= r.to);
}

/** compileRules compiles the rules and markers of set with ops. */
export function compileRules(set: RuleSet, ops: OpsFactory): RulesResult {
  const errors: WafLangError[] = [];
  const rules = applyEdits(set.entries);
  const phases: Item[][] = [[], [], [], [], [], []];
  const chains = new TransformIds();
  let ruleCount = 0;
  for (const e of rules) {
    if (e.kind === "marker") {
      for (let p = 1; p <= 5; p++) phases[p]?.push({ kind: "marker", name: e.name });
      continue;
    }
    try {
      phases[e.phase]?.push(compileRule(e, ops, chains));
      ruleCount++;
    } catch (err) {
      if (err instanceof WafLangError) errors.push(err);
      else throw err;
    }
  }
  // A phase of markers only is a phase with no rules: the transaction skips it without work.
  for (let p = 1; p <= 5; p++) if (!phases[p]?.some((i) => i.kind === "rule")) phases[p] = [];
  return { phases, ruleCount, errors };
}

/** settingsOf lists the setting directives in order. */
export function settingsOf(entries: readonly Entry[]): Setting[] {
  return entries.filter((e): e is Setting => e.kind === "setting");
}

/** applyEdits returns the rules and markers in order, with removals, target and action updates
 * applied to copies (the RuleSet stays as parsed). */
function applyEdits(entries: readonly Entry[]): (Rule | { kind: "marker"; name: string })[] {
  const removedIds: IdRange[] = [];
  const removedTags = new Set<string>();
  const removedMsgs = new Set<string>();
  for (const e of entries) {
    if (e.kind === "removeById") removedIds.push(...e.ids);
    if (e.kind === "removeByTag") removedTags.add(e.match);
    if (e.kind === "removeByMsg") removedMsgs.add(e.match);
  }
  const out: (Rule | { kind: "marker"; name: string })[] = [];
  const byId = new Map<number, Rule>();
  for (const e of entries) {
    if (e.kind === "marker") out.push({ kind: "marker", name: e.name });
    if (e.kind !== "rule") continue;
    if (inRanges(e.id, removedIds)) continue;
    if (ruleTags(e).some((t) => removedTags.has(t))) continue;
    const msg = ruleMsg(e);
    if (msg !== undefined && removedMsgs.has(msg)) continue;
    const copy: Rule = {
      ...e,
      variables: [...e.variables],
      actions: [...e.actions],
      links: e.links.map((l) => ({ ...l, variables: [...l.variables], actions: [...l.actions] })),
    };
    byId.set(e.id, copy);
    out.push(copy);
  }
  for (const e of entries) {
    if (e.kind === "updateTarget") {
      for (const r of byId.values()) if (targetUpdateApplies(e, r)) updateTargets(r, e);
    }
    if (e.kind === "updateAction") {
      const r = byId.get(e.id);
      if (!r) continue;
      const offset = e.chainOffset ?? 1;
      const step: Rule | RuleLink | undefined = offset === 1 ? r : r.links[offset - 2];
      if (step) step.actions = mergeActions(step.actions, e.actions);
    }
  }
  return out;
}

function targetUpdateApplies(u: TargetUpdate, r: Rule): boolean {
  if (u.by === "id") return inRanges(r.id, u.ids ?? []);
  if (u.by === "tag") return ruleTags(r).includes(u.what);
  return ruleMsg(r) === u.what;
}

/** ruleTags lists a rule's tags as written (defaults' tags included, as the rule carries them). */
export function ruleTags(r: Rule): string[] {
  return effectiveActions(r).flatMap((a) => (a.name === "tag" ? [a.value.raw] : []));
}

/** ruleMsg is a rule's msg as written. */
export function ruleMsg(r: Rule): string | undefined {
  let msg: string | undefined;
  for (const a of r.actions) if (a.name === "msg") msg = a.value.raw;
  return msg;
}

function sameVariable(a: Variable, b: Variable): boolean {
  return (
    a.collection === b.collection &&
    a.count === b.count &&
    (a.selector?.kind ?? "") === (b.selector?.kind ?? "") &&
    selectorText(a.selector).toLowerCase() === selectorText(b.selector).toLowerCase()
  );
}

function selectorText(s: Selector | undefined): string {
  return s === undefined ? "" : s.kind === "regex" ? s.pattern : s.value;
}

function updateTargets(r: Rule, u: TargetUpdate): void {
  if (u.replaced?.length) {
    const i = r.variables.findIndex((v) => u.replaced?.some((x) => sameVariable(v, x)));
    if (i >= 0) {
      r.variables.splice(i, 1, ...u.targets);
      return;
    }
  }
  for (const t of u.targets) if (!r.variables.some((v) => sameVariable(v, t))) r.variables.push(t);
}

// Actions that hold one value: an update replaces them (log/nolog and auditlog/noauditlog pair up).
const SINGLE: Record<string, string> = {
  msg: "msg",
  logdata: "logdata",
  severity: "severity",
  status: "status",
  ver: "ver",
  rev: "rev",
  maturity: "maturity",
  accuracy: "accuracy",
  disruptive: "disruptive",
  skip: "skip",
  skipAfter: "skipAfter",
  log: "log",
  nolog: "log",
  auditlog: "auditlog",
  noauditlog: "auditlog",
};

/** mergeActions applies SecRuleUpdateActionById: one-value actions are replaced, lists (t, tag,
 * setvar, ctl) grow — as Coraza and ModSecurity do. */
function mergeActions(old: readonly Action[], add: readonly Action[]): Action[] {
  let out = [...old];
  for (const a of add) {
    const group = SINGLE[a.name];
    if (group) out = out.filter((x) => SINGLE[x.name] !== group);
    out.push(a);
  }
  return out;
}

/** effectiveActions is the rule's SecDefaultAction (minus phase) followed by its own actions. */
function effectiveActions(r: Rule): Action[] {
  const defaults = (r.defaults ?? []).filter((a) => a.name !== "phase");
  return [...defaults, ...r.actions];
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
          ? { collection: v.collection, sel, count: v.count }
          : { collection: v.collection, count: v.count },
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
  return {
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
  };
}

/** compileSel compiles a selector; names compare case-insensitively (ModSecurity v3), so do regexes. */
export function compileSel(s: Selector, at: Location, ruleId: number | undefined): Sel {
  if (s.kind === "name") return { kind: "name", lower: s.value.toLowerCase(), value: s.value };
  if (s.kind === "xpath") return s;
  try {
    return { kind: "regex", rx: compileRx(s.pattern, "i"), pattern: s.pattern };
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
