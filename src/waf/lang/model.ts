// model.ts: the typed rule model a SecLang file parses into. It says what the file means, with
// every name canonical and every argument in its final shape (numbers are numbers, data files are
// read, macros are parsed templates), so the engine never re-reads the text. Nothing here is
// evaluated: which rules run, in what order and with which inherited defaults is the engine's job.
import type { Location } from "./errors.ts";

/** Phase is a rule's processing phase: 1 request headers, 2 request body, 3 response headers,
 * 4 response body, 5 logging. */
export type Phase = 1 | 2 | 3 | 4 | 5;

/** MacroRef is one `%{COLLECTION.key}` or `%{VARIABLE}` inside a template. */
export interface MacroRef {
  /** collection is the canonical upper-case variable name (TX, MATCHED_VAR, RULE, ...). */
  collection: string;
  /** key is the selector after the dot, as written (TX keys are matched case-insensitively). */
  key?: string;
}

/** Template is a string that may contain macros, parsed once at load; `parts` alternate freely. */
export interface Template {
  /** raw is the text as written. */
  raw: string;
  parts: (string | MacroRef)[];
}

/** Selector picks members of a collection: a name, a /regex/, or an XPath expression (XML). */
export type Selector =
  { kind: "name"; value: string } | { kind: "regex"; pattern: string } | { kind: "xpath"; value: string };

/** Variable is one target of a rule: `ARGS`, `ARGS:id`, `!ARGS:pw`, `&TX:x`, `XML:/*`. */
export interface Variable {
  /** collection is the canonical upper-case name. */
  collection: string;
  selector?: Selector;
  /** count is `&`: the rule inspects how many values there are instead of the values. */
  count: boolean;
  /** exclude is `!`: this member is removed from the collection named elsewhere in the list. */
  exclude: boolean;
}

/** Operator is what a rule tests its variables with. */
export interface Operator {
  /** name is canonical (`rx`, `pmFromFile`, ...); `rx` when the rule names none. */
  name: string;
  /** negated is `!@op`. */
  negated: boolean;
  /** raw is the argument as written (after unquoting). */
  raw: string;
  /** arg is the argument in the shape the operator takes (see names.ts OperatorArg). */
  arg: OperatorArgValue;
}

/** OperatorArgValue is an operator's argument after parsing. */
export type OperatorArgValue =
  | { kind: "none" }
  | { kind: "regex"; pattern: string }
  | { kind: "number"; value: number }
  | { kind: "template"; template: Template }
  | { kind: "phrases"; phrases: string[]; files?: string[] }
  | { kind: "ips"; ips: string[]; files?: string[] }
  | { kind: "byteRanges"; ranges: [number, number][] }
  | { kind: "raw"; value: string };

/** SetVar is one `setvar`: `tx.a=1`, `tx.a=+1`, `tx.a=-1`, `!tx.a` (delete), `tx.a` (set to 1). */
export interface SetVar {
  collection: string;
  key: Template;
  op: "set" | "add" | "sub" | "delete";
  /** value is absent for delete; `tx.a` alone sets "1" (ModSecurity). */
  value?: Template;
}

/** Ctl is one `ctl:option=value` that changes the transaction's configuration. */
export type Ctl =
  | { option: "ruleRemoveById"; ids: IdRange[] }
  | {
      option: "ruleRemoveTargetById" | "ruleRemoveTargetByTag" | "ruleRemoveTargetByMsg";
      what: string;
      targets: Variable[];
    }
  | { option: "ruleEngine" | "auditEngine"; value: "On" | "Off" | "DetectionOnly" | "RelevantOnly" }
  | { option: string; value: string | number | boolean };

/** IdRange is an inclusive range of rule ids; a single id has from === to. */
export interface IdRange {
  from: number;
  to: number;
}

/** Severity is 0 (EMERGENCY) … 7 (DEBUG); CRS uses 2 CRITICAL … 5 NOTICE. */
export type Severity = 0 | 1 | 2 | 3 | 4 | 5 | 6 | 7;

/** Disruptive is the action that decides the transaction's fate when the rule matches. */
export type Disruptive =
  | { action: "pass" | "block" | "deny" | "drop" | "pause" }
  | { action: "allow"; scope: "all" | "phase" | "request" }
  | { action: "redirect" | "proxy"; target: Template };

/** Action is one action of a rule, typed by name. */
export type Action =
  | { name: "id"; value: number }
  | { name: "phase"; value: Phase }
  | { name: "msg" | "logdata"; value: Template }
  | { name: "tag"; value: Template }
  | { name: "ver" | "rev" | "maturity" | "accuracy"; value: string }
  | { name: "severity"; value: Severity }
  | { name: "t"; value: string }
  | { name: "setvar"; value: SetVar }
  | { name: "ctl"; value: Ctl }
  | { name: "status" | "skip"; value: number }
  | { name: "skipAfter"; value: string }
  | { name: "disruptive"; value: Disruptive }
  | {
      name:
        | "chain"
        | "capture"
        | "log"
        | "nolog"
        | "auditlog"
        | "noauditlog"
        | "multiMatch"
        | "sanitiseMatched"
        | "sanitiseMatchedBytes";
    }
  | { name: "initcol"; collection: string; key: Template }
  | { name: "expirevar"; collection: string; key: Template; seconds: Template }
  | { name: "deprecatevar"; collection: string; key: Template; value: Template }
  | { name: "setenv"; key: Template; value: Template }
  | {
      name:
        | "setuid"
        | "setsid"
        | "setrsc"
        | "append"
        | "prepend"
        | "exec"
        | "xmlns"
        | "sanitiseArg"
        | "sanitiseRequestHeader"
        | "sanitiseResponseHeader";
      value: Template;
    };

/** RuleLink is one rule of a chain after the first: it has variables, an operator and actions
 * (no id, phase or disruptive action: those belong to the chain's first rule). */
export interface RuleLink {
  at: Location;
  variables: Variable[];
  operator: Operator;
  actions: Action[];
}

/** Rule is one SecRule or SecAction; a chain is one Rule whose `links` hold the chained rules. */
export interface Rule {
  kind: "rule";
  directive: "SecRule" | "SecAction";
  at: Location;
  id: number;
  /** phase is the rule's phase; 2 when the rule names none (ModSecurity's default). */
  phase: Phase;
  /** variables is empty for SecAction. */
  variables: Variable[];
  /** operator is unconditionalMatch for SecAction. */
  operator: Operator;
  /** actions is every action in the order written. */
  actions: Action[];
  /** disruptive is the last disruptive action written, if any (the last one wins). */
  disruptive?: Disruptive;
  /** links are the chained rules, in order; empty when the rule is not a chain. */
  links: RuleLink[];
  /** defaults are the SecDefaultAction actions in force for this phase when the rule was read. */
  defaults?: Action[];
}

/** Marker is a SecMarker: a named place skipAfter jumps to. */
export interface Marker {
  kind: "marker";
  at: Location;
  name: string;
}

/** DefaultAction is a SecDefaultAction: the actions every later rule of its phase inherits. */
export interface DefaultAction {
  kind: "defaultAction";
  at: Location;
  phase: Phase;
  actions: Action[];
}

/** Setting is a configuration directive (SecRuleEngine, SecRequestBodyLimit, ...). */
export interface Setting {
  kind: "setting";
  at: Location;
  /** name is the directive's canonical spelling. */
  name: string;
  /** value is the parsed value: On/Off → boolean, numbers → number, lists → string[]. */
  value: boolean | number | string | string[];
}

/** RuleRemoval is SecRuleRemoveById / ByTag / ByMsg. */
export type RuleRemoval =
  | { kind: "removeById"; at: Location; ids: IdRange[] }
  | { kind: "removeByTag" | "removeByMsg"; at: Location; match: string };

/** TargetUpdate is SecRuleUpdateTargetById / ByTag / ByMsg: add or exclude (`!`) variables. */
export interface TargetUpdate {
  kind: "updateTarget";
  at: Location;
  by: "id" | "tag" | "msg";
  /** what is the id range, tag or message as written. */
  what: string;
  ids?: IdRange[];
  targets: Variable[];
  /** replaced is the optional third argument: the variable the targets replace. */
  replaced?: Variable[];
}

/** ActionUpdate is SecRuleUpdateActionById: new actions for an existing rule. */
export interface ActionUpdate {
  kind: "updateAction";
  at: Location;
  id: number;
  /** chainOffset is the `ID:N` form: which rule of the chain (1 = the first). */
  chainOffset?: number;
  actions: Action[];
}

/** Entry is one directive of a rule set, in file order. */
export type Entry = Rule | Marker | DefaultAction | Setting | RuleRemoval | TargetUpdate | ActionUpdate;

/** RuleSet is everything the files said, in order, plus the files read (Includes and .data). */
export interface RuleSet {
  entries: Entry[];
  files: string[];
}
