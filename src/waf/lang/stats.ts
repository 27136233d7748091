// stats.ts: what a rule set uses: rules, chains, markers, and how often each operator,
// transformation, variable collection and action appears. The CRS load test prints it, so the
// engine's next steps are sized by the rules it must run, not by the whole language.
import type { Action, Entry, Operator, RuleSet, Variable } from "./model.ts";

/** RuleStats counts what a rule set uses; every map is sorted by name. */
export interface RuleStats {
  rules: number;
  secRules: number;
  secActions: number;
  chains: number;
  /** links is the number of chained rules after the first of each chain. */
  links: number;
  markers: number;
  /** directives counts every entry by directive (settings by name). */
  directives: Record<string, number>;
  operators: Record<string, number>;
  transformations: Record<string, number>;
  variables: Record<string, number>;
  /** variableForms counts how variables are written: whole, name/regex/xpath selector, ! and &. */
  variableForms: Record<string, number>;
  actions: Record<string, number>;
  ctl: Record<string, number>;
  phases: Record<string, number>;
}

/** ruleStats counts a rule set (a chain's links count their operators, variables and actions). */
export function ruleStats(set: RuleSet): RuleStats {
  const s: RuleStats = {
    rules: 0,
    secRules: 0,
    secActions: 0,
    chains: 0,
    links: 0,
    markers: 0,
    directives: {},
    operators: {},
    transformations: {},
    variables: {},
    variableForms: {},
    actions: {},
    ctl: {},
    phases: {},
  };
  const bump = (m: Record<string, number>, k: string) => (m[k] = (m[k] ?? 0) + 1);
  const piece = (op: Operator | undefined, vars: Variable[], acts: Action[]) => {
    if (op) bump(s.operators, (op.negated ? "!" : "") + op.name);
    for (const v of vars) {
      bump(s.variables, v.collection);
      bump(s.variableForms, v.selector ? `${v.selector.kind} selector` : "whole collection");
      if (v.exclude) bump(s.variableForms, "! exclusion");
      if (v.count) bump(s.variableForms, "& count");
    }
    for (const a of acts) {
      if (a.name === "t") bump(s.transformations, a.value);
      else if (a.name === "disruptive") bump(s.actions, a.value.action);
      else bump(s.actions, a.name);
      if (a.name === "ctl") bump(s.ctl, a.value.option);
    }
  };
  for (const e of set.entries) {
    bump(s.directives, directiveName(e));
    if (e.kind === "marker") s.markers++;
    if (e.kind !== "rule") continue;
    s.rules++;
    if (e.directive === "SecRule") s.secRules++;
    else s.secActions++;
    bump(s.phases, String(e.phase));
    if (e.links.length > 0) s.chains++;
    s.links += e.links.length;
    // A SecAction's unconditionalMatch is implied, not something the rules ask for.
    piece(e.directive === "SecRule" ? e.operator : undefined, e.variables, e.actions);
    for (const l of e.links) piece(l.operator, l.variables, l.actions);
  }
  for (const k of [
    "directives",
    "operators",
    "transformations",
    "variables",
    "actions",
    "ctl",
    "phases",
  ] as const) {
    s[k] = Object.fromEntries(Object.entries(s[k]).sort(([a], [b]) => a.localeCompare(b)));
  }
  return s;
}

function directiveName(e: Entry): string {
  switch (e.kind) {
    case "rule":
      return e.directive;
    case "marker":
      return "SecMarker";
    case "defaultAction":
      return "SecDefaultAction";
    case "setting":
      return e.name;
    case "removeById":
      return "SecRuleRemoveById";
    case "removeByTag":
      return "SecRuleRemoveByTag";
    case "removeByMsg":
      return "SecRuleRemoveByMsg";
    case "updateTarget":
      return `SecRuleUpdateTargetBy${e.by === "id" ? "Id" : e.by === "tag" ? "Tag" : "Msg"}`;
    case "updateAction":
      return "SecRuleUpdateActionById";
  }
}
