// edits.ts: the load-time edits of a rule set — SecRuleRemoveById/ByTag/ByMsg,
// SecRuleUpdateTargetById/ByTag/ByMsg and SecRuleUpdateActionById — applied to copies of the
// parsed rules before they compile. Removals hold wherever they are written (ModSecurity v3 keeps
// them as exceptions for every rule); the parser already made sure an update names a loaded rule.
import type {
  Action,
  Entry,
  IdRange,
  Rule,
  RuleLink,
  Selector,
  TargetUpdate,
  Variable,
} from "../lang/model.ts";

/** inRanges says whether id lies in one of ranges. */
export function inRanges(id: number, ranges: readonly IdRange[]): boolean {
  return ranges.some((r) => id >= r.from && id <= r.to);
}

/** applyEdits returns the rules and markers in order, with removals, target and action updates
 * applied to copies (the RuleSet stays as parsed). */
export function applyEdits(entries: readonly Entry[]): (Rule | { kind: "marker"; name: string })[] {
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
export function effectiveActions(r: Rule): Action[] {
  const defaults = (r.defaults ?? []).filter((a) => a.name !== "phase");
  return [...defaults, ...r.actions];
}
