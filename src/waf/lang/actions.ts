// actions.ts: a rule's action list, `id:1,phase:2,t:none,msg:'a, b',setvar:'tx.x=+1'`. Actions are
// separated by commas outside single quotes; a backslash escapes the next character; a value in
// single quotes loses its quotes and `\'` becomes "'". Names are case-insensitive; each action's
// value is parsed into its typed shape here, so a typo fails the load.
import { LangFault } from "./errors.ts";
import { isLiteral, parseTemplate } from "./macro.ts";
import type { Action, Ctl, Disruptive, IdRange, Phase, SetVar, Severity } from "./model.ts";
import {
  BODY_PROCESSORS,
  CTL_OPTIONS,
  TRANSFORMATIONS,
  TRANSFORMATION_ALIASES,
  WRITABLE,
  canonical,
} from "./names.ts";
import { parseVariables } from "./variables.ts";

/** RawAction is one action as written: name, optional value (unquoted) and where it starts. */
export interface RawAction {
  name: string;
  value: string | undefined;
  offset: number;
}

/** splitActions splits an action list into raw actions without interpreting them. */
export function splitActions(text: string): RawAction[] {
  const out: RawAction[] = [];
  let start = 0;
  let quoted = false;
  for (let i = 0; i <= text.length; i++) {
    const c = text[i];
    if (c === "\\") {
      i++;
      continue;
    }
    if (c === "'") quoted = !quoted;
    if (i === text.length && quoted) {
      throw new LangFault(
        "WAF_LANG_SYNTAX",
        'an action value opens a "\'" it never closes',
        text.lastIndexOf("'"),
      );
    }
    if ((c === "," && !quoted) || i === text.length) {
      const piece = text.slice(start, i);
      const lead = piece.length - piece.trimStart().length;
      if (piece.trim() !== "") out.push(rawAction(piece.trim(), start + lead));
      else if (i < text.length || out.length > 0)
        throw new LangFault("WAF_LANG_SYNTAX", "empty action (two commas in a row?)", start);
      start = i + 1;
    }
  }
  return out;
}

function rawAction(piece: string, offset: number): RawAction {
  const colon = piece.indexOf(":");
  if (colon < 0) return { name: piece, value: undefined, offset };
  const name = piece.slice(0, colon).trim();
  let value = piece.slice(colon + 1).trim();
  if (value.startsWith("'")) {
    if (value.length < 2 || !value.endsWith("'")) {
      throw new LangFault(
        "WAF_LANG_SYNTAX",
        `action ${name}: text after the closing "'" of its value`,
        offset,
      );
    }
    value = value.slice(1, -1).replace(/\\'/g, "'");
  }
  return { name, value, offset };
}

/** peekId finds a rule's id before anything else is parsed, so every error can name the rule. */
export function peekId(text: string): number | undefined {
  const m = /(?:^|,)\s*id\s*:\s*'?\s*(\d+)/i.exec(text);
  return m ? Number(m[1]) : undefined;
}

/** parseActions parses an action list into typed actions; LangFault offsets point into text. */
export function parseActions(text: string): Action[] {
  return splitActions(text).map((raw) => {
    try {
      return parseAction(raw);
    } catch (err) {
      // Inner offsets (a macro inside a value) are relative to the value: point at the action.
      if (err instanceof LangFault) throw new LangFault(err.code, err.message, raw.offset);
      throw err;
    }
  });
}

const FLAGS = [
  "chain",
  "capture",
  "log",
  "nolog",
  "auditlog",
  "noauditlog",
  "multiMatch",
  "sanitiseMatched",
  "sanitiseMatchedBytes",
] as const;
const TEMPLATED = [
  "setuid",
  "setsid",
  "setrsc",
  "append",
  "prepend",
  "exec",
  "xmlns",
  "sanitiseArg",
  "sanitiseRequestHeader",
  "sanitiseResponseHeader",
] as const;
const SIMPLE_DISRUPTIVE = ["pass", "block", "deny", "drop", "pause"] as const;
const OTHER = [
  "id",
  "phase",
  "msg",
  "logdata",
  "tag",
  "ver",
  "rev",
  "maturity",
  "accuracy",
  "severity",
  "t",
  "setvar",
  "ctl",
  "status",
  "skip",
  "skipAfter",
  "allow",
  "redirect",
  "proxy",
  "initcol",
  "expirevar",
  "deprecatevar",
  "setenv",
] as const;
const ALL_ACTIONS: readonly string[] = [...FLAGS, ...TEMPLATED, ...SIMPLE_DISRUPTIVE, ...OTHER];

/** ACTION_NAMES is every action name the parser accepts (canonical spelling). */
export const ACTION_NAMES: readonly string[] = ALL_ACTIONS;

const SEVERITIES = ["EMERGENCY", "ALERT", "CRITICAL", "ERROR", "WARNING", "NOTICE", "INFO", "DEBUG"];

/** parseAction turns one raw action into its typed form. */
export function parseAction(raw: RawAction): Action {
  const written = raw.name;
  const name = canonical(written.replace(/^sanitize/i, "sanitise"), ALL_ACTIONS);
  if (!name) throw new LangFault("WAF_LANG_UNKNOWN_ACTION", `unknown action ${written}`);
  const v = raw.value;
  const need = (): string => {
    if (v === undefined || v === "")
      throw new LangFault("WAF_LANG_BAD_ARGUMENT", `action ${name} needs a value (${name}:...)`);
    return v;
  };
  if ((FLAGS as readonly string[]).includes(name)) {
    // sanitiseMatchedBytes may carry a "keep" spec (1/4) that only masks differently.
    if (v !== undefined && name !== "sanitiseMatchedBytes")
      throw new LangFault("WAF_LANG_BAD_ARGUMENT", `action ${name} takes no value, got ${JSON.stringify(v)}`);
    return { name: name as (typeof FLAGS)[number] };
  }
  if ((TEMPLATED as readonly string[]).includes(name))
    return { name: name as (typeof TEMPLATED)[number], value: parseTemplate(need()) };
  if ((SIMPLE_DISRUPTIVE as readonly string[]).includes(name)) {
    if (v !== undefined && name !== "pause")
      throw new LangFault("WAF_LANG_BAD_ARGUMENT", `action ${name} takes no value, got ${JSON.stringify(v)}`);
    return { name: "disruptive", value: { action: name as (typeof SIMPLE_DISRUPTIVE)[number] } };
  }
  switch (name) {
    case "id": {
      const s = need();
      if (!/^\d+$/.test(s) || Number(s) < 1 || Number(s) > 4294967295) {
        throw new LangFault(
          "WAF_LANG_RULE_ID",
          `id must be a whole number from 1 to 4294967295, got ${JSON.stringify(s)}`,
        );
      }
      return { name, value: Number(s) };
    }
    case "phase":
      return { name, value: parsePhase(need()) };
    case "msg":
    case "logdata":
    case "tag":
      return { name, value: parseTemplate(need()) };
    case "ver":
    case "rev":
    case "maturity":
    case "accuracy":
      return { name, value: need() };
    case "severity":
      return { name, value: parseSeverity(need()) };
    case "t": {
      const s = need();
      const t = TRANSFORMATION_ALIASES.get(s.toLowerCase()) ?? canonical(s, TRANSFORMATIONS);
      if (!t) throw new LangFault("WAF_LANG_UNKNOWN_ACTION", `unknown transformation t:${s}`);
      return { name, value: t };
    }
    case "setvar":
      return { name, value: parseSetVar(need()) };
    case "ctl":
      return { name, value: parseCtl(need()) };
    case "status": {
      const n = integer(name, need());
      if (n < 100 || n > 599)
        throw new LangFault("WAF_LANG_BAD_ARGUMENT", `status must be an HTTP status 100-599, got ${n}`);
      return { name, value: n };
    }
    case "skip": {
      const n = integer(name, need());
      if (n < 1) throw new LangFault("WAF_LANG_BAD_ARGUMENT", `skip must skip at least 1 rule, got ${n}`);
      return { name, value: n };
    }
    case "skipAfter":
      return { name, value: need() };
    case "allow":
      return { name: "disruptive", value: parseAllow(v) };
    case "redirect":
    case "proxy":
      return { name: "disruptive", value: { action: name, target: parseTemplate(need()) } };
    case "initcol": {
      const [coll, key] = splitAssign(name, need());
      return { name, collection: writable(name, coll), key: parseTemplate(key) };
    }
    case "expirevar": {
      const [target, seconds] = splitAssign(name, need());
      const [collection, key] = collectionKey(name, target);
      return { name, collection, key: parseTemplate(key), seconds: parseTemplate(seconds) };
    }
    case "deprecatevar": {
      const [target, value] = splitAssign(name, need());
      const [collection, key] = collectionKey(name, target);
      return { name, collection, key: parseTemplate(key), value: parseTemplate(value) };
    }
    case "setenv": {
      const [key, value] = splitAssign(name, need());
      return { name, key: parseTemplate(key), value: parseTemplate(value) };
    }
  }
  throw new LangFault("WAF_LANG_UNKNOWN_ACTION", `unknown action ${written}`);
}

/** parsePhase reads 1-5 or request (2), response (4), logging (5). */
export function parsePhase(s: string): Phase {
  const named: Record<string, Phase> = { request: 2, response: 4, logging: 5 };
  const p = named[s.toLowerCase()] ?? (/^[1-5]$/.test(s) ? (Number(s) as Phase) : undefined);
  if (p === undefined)
    throw new LangFault(
      "WAF_LANG_BAD_ARGUMENT",
      `phase must be 1-5 or request, response, logging; got ${JSON.stringify(s)}`,
    );
  return p;
}

function parseSeverity(s: string): Severity {
  const i = /^[0-7]$/.test(s) ? Number(s) : SEVERITIES.indexOf(s.toUpperCase());
  if (i < 0)
    throw new LangFault(
      "WAF_LANG_BAD_ARGUMENT",
      `severity must be 0-7 or ${SEVERITIES.join(", ")}; got ${JSON.stringify(s)}`,
    );
  return i as Severity;
}

function parseAllow(v: string | undefined): Disruptive {
  if (v === undefined || v === "") return { action: "allow", scope: "all" };
  const s = v.toLowerCase();
  if (s === "phase" || s === "request") return { action: "allow", scope: s };
  throw new LangFault(
    "WAF_LANG_BAD_ARGUMENT",
    `allow takes no value, "phase" or "request"; got ${JSON.stringify(v)}`,
  );
}

function parseSetVar(s: string): SetVar {
  if (s.startsWith("!")) {
    const [collection, key] = collectionKey("setvar", s.slice(1));
    return { collection, key: parseTemplate(key), op: "delete" };
  }
  const eq = s.indexOf("=");
  const target = eq < 0 ? s : s.slice(0, eq);
  const [collection, key] = collectionKey("setvar", target);
  if (eq < 0) return { collection, key: parseTemplate(key), op: "set", value: parseTemplate("1") };
  let rest = s.slice(eq + 1);
  let op: "set" | "add" | "sub" = "set";
  if (rest.startsWith("+")) op = "add";
  else if (rest.startsWith("-")) op = "sub";
  if (op !== "set") rest = rest.slice(1);
  const value = parseTemplate(rest);
  if (op !== "set" && isLiteral(value) && !/^\d+$/.test(rest.trim())) {
    throw new LangFault(
      "WAF_LANG_BAD_ARGUMENT",
      `setvar:${s}: =${op === "add" ? "+" : "-"} needs a whole number or a %{macro}`,
    );
  }
  return { collection, key: parseTemplate(key), op, value };
}

function collectionKey(action: string, target: string): [string, string] {
  const dot = target.indexOf(".");
  if (dot <= 0 || dot === target.length - 1) {
    throw new LangFault(
      "WAF_LANG_BAD_ARGUMENT",
      `${action}: expected COLLECTION.name, got ${JSON.stringify(target)}`,
    );
  }
  return [writable(action, target.slice(0, dot)), target.slice(dot + 1)];
}

function writable(action: string, written: string): string {
  const c = written.trim().toUpperCase();
  if (!WRITABLE.has(c)) {
    throw new LangFault(
      "WAF_LANG_BAD_ARGUMENT",
      `${action}: ${written} is not a collection rules can write (${[...WRITABLE].join(", ")})`,
    );
  }
  return c;
}

function splitAssign(action: string, s: string): [string, string] {
  const eq = s.indexOf("=");
  if (eq <= 0)
    throw new LangFault("WAF_LANG_BAD_ARGUMENT", `${action}: expected name=value, got ${JSON.stringify(s)}`);
  return [s.slice(0, eq), s.slice(eq + 1)];
}

function integer(action: string, s: string): number {
  if (!/^\d+$/.test(s.trim()))
    throw new LangFault("WAF_LANG_BAD_ARGUMENT", `${action} needs a whole number, got ${JSON.stringify(s)}`);
  return Number(s.trim());
}

/** parseIdRanges reads `1 2 10-20` or `1,2,10-20` (SecRuleRemoveById, ctl:ruleRemoveById). */
export function parseIdRanges(s: string): IdRange[] {
  const parts = s.split(/[\s,]+/).filter((p) => p !== "");
  if (parts.length === 0)
    throw new LangFault("WAF_LANG_BAD_ARGUMENT", "expected rule ids or ranges like 942100 or 942100-942199");
  return parts.map((p) => {
    const m = /^(\d+)(?:-(\d+))?$/.exec(p);
    const from = Number(m?.[1]);
    const to = m?.[2] === undefined ? from : Number(m[2]);
    if (!m || from > to)
      throw new LangFault(
        "WAF_LANG_BAD_ARGUMENT",
        `${JSON.stringify(p)} is not a rule id or a range like 942100-942199`,
      );
    return { from, to };
  });
}

function parseCtl(s: string): Ctl {
  const eq = s.indexOf("=");
  if (eq <= 0) throw new LangFault("WAF_LANG_BAD_ARGUMENT", `ctl:${s}: expected ctl:option=value`);
  const written = s.slice(0, eq).trim();
  const value = s.slice(eq + 1).trim();
  const option = canonical(written, CTL_OPTIONS.keys());
  if (!option)
    throw new LangFault(
      "WAF_LANG_UNKNOWN_ACTION",
      `unknown ctl option ${written} (known: ${[...CTL_OPTIONS.keys()].join(", ")})`,
    );
  switch (CTL_OPTIONS.get(option)) {
    case "onOff": {
      const on = onOff(value);
      if (on === undefined)
        throw new LangFault(
          "WAF_LANG_BAD_ARGUMENT",
          `ctl:${option} takes On or Off, got ${JSON.stringify(value)}`,
        );
      return { option, value: on };
    }
    case "engine": {
      const allowed =
        option === "auditEngine" ? ["On", "Off", "RelevantOnly"] : ["On", "Off", "DetectionOnly"];
      const v = canonical(value, allowed);
      if (!v)
        throw new LangFault(
          "WAF_LANG_BAD_ARGUMENT",
          `ctl:${option} takes ${allowed.join(", ")}; got ${JSON.stringify(value)}`,
        );
      return {
        option: option as "ruleEngine" | "auditEngine",
        value: v as "On" | "Off" | "DetectionOnly" | "RelevantOnly",
      };
    }
    case "number":
      return { option, value: integer(`ctl:${option}`, value) };
    case "processor": {
      const v = value.toUpperCase();
      if (!BODY_PROCESSORS.includes(v))
        throw new LangFault(
          "WAF_LANG_BAD_ARGUMENT",
          `ctl:${option} takes ${BODY_PROCESSORS.join(", ")}; got ${JSON.stringify(value)}`,
        );
      return { option, value: v };
    }
    case "ids":
      return { option: "ruleRemoveById", ids: parseIdRanges(value) };
    case "idTarget": {
      const semi = value.indexOf(";");
      if (semi <= 0)
        throw new LangFault(
          "WAF_LANG_BAD_ARGUMENT",
          `ctl:${option}=${value}: expected WHAT;VARIABLE (e.g. 942100;ARGS:password)`,
        );
      return {
        option: option as "ruleRemoveTargetById",
        what: value.slice(0, semi),
        targets: parseVariables(value.slice(semi + 1)),
      };
    }
    default:
      return { option, value };
  }
}

/** onOff reads On/Off case-insensitively. */
export function onOff(s: string): boolean | undefined {
  const l = s.toLowerCase();
  return l === "on" ? true : l === "off" ? false : undefined;
}
