// parse.ts: SecLang files → RuleSet. Reads directives in order, groups chains into one Rule with
// links, resolves Include and data files relative to the file that names them, and keeps going
// after an error so one load reports every problem (each with file:line and the rule id); a set
// with errors must not be used (the caller keeps the previous one serving).
import { readFileSync, readdirSync } from "node:fs";
import { basename, dirname, isAbsolute, join } from "node:path";
import { parseActions, parseIdRanges, peekId } from "./actions.ts";
import { LangFault, WafLangError, type Location } from "./errors.ts";
import type { Action, Entry, IdRange, Phase, Rule, RuleLink, RuleSet, Variable } from "./model.ts";
import { canonical } from "./names.ts";
import { parseOperator } from "./operator.ts";
import { SETTING_NAMES, settingValue } from "./settings.ts";
import { lineAt, logicalLines, type LogicalLine } from "./source.ts";
import { parseVariables } from "./variables.ts";
import { splitWords, type Word } from "./words.ts";

/** LoadResult is a parsed rule set and every error found; errors non-empty means do not use it. */
export interface LoadResult {
  set: RuleSet;
  errors: WafLangError[];
}

const RULE_DIRECTIVES = [
  "SecRule",
  "SecAction",
  "SecMarker",
  "SecDefaultAction",
  "SecRuleRemoveById",
  "SecRuleRemoveByTag",
  "SecRuleRemoveByMsg",
  "SecRuleUpdateTargetById",
  "SecRuleUpdateTargetByTag",
  "SecRuleUpdateTargetByMsg",
  "SecRuleUpdateActionById",
  "Include",
];
const UNSUPPORTED: Record<string, string> = {
  SecRuleScript: "Lua rules are not supported; write the rule as a SecRule",
  SecRemoteRules: "rules are not downloaded at load; save the file and Include it",
  SecRemoteRulesFailAction: "rules are not downloaded at load; save the file and Include it",
};
const ALL_DIRECTIVES = [...RULE_DIRECTIVES, ...SETTING_NAMES, ...Object.keys(UNSUPPORTED)];
// Only the first rule of a chain may carry these (ModSecurity ignores or refuses them in links).
const STARTER_ONLY = new Set(["id", "phase", "disruptive", "skip", "skipAfter"]);
// ModSecurity v2 refuses these in SecDefaultAction (tag, severity and logdata are allowed: CRS's own
// crs-setup example puts a tag there); chain and skips make no sense as defaults.
const DEFAULT_FORBIDDEN = new Set([
  "id",
  "msg",
  "ver",
  "rev",
  "maturity",
  "accuracy",
  "chain",
  "skip",
  "skipAfter",
]);
const MAX_INCLUDE_DEPTH = 32;
const CHAIN = /(?:^|,)\s*chain\s*(?:,|$)/i;

/** parseRules parses one file's text (file names it in errors and anchors its data files). */
export function parseRules(text: string, file: string): LoadResult {
  const l = new Loader();
  l.text(text, file);
  return l.finish();
}

/** loadRuleFiles reads and parses files in order as one rule set (crs-setup first, then rules). */
export function loadRuleFiles(paths: string[]): LoadResult {
  return loadRuleSources(paths.map((path) => ({ path })));
}

/** RuleSource is one piece of a rule set: a file to read, or a text generated in memory (file names
 * it in errors, like `portico:setup`). */
export type RuleSource = { path: string } | { text: string; file: string };

/**
 * loadRuleSources reads files and texts in order as one rule set: one loader, so SecDefaultAction,
 * duplicate ids and SecRuleUpdateTarget*'s "is the rule loaded" check span every piece.
 */
export function loadRuleSources(sources: readonly RuleSource[]): LoadResult {
  const l = new Loader();
  for (const s of sources) {
    if ("path" in s) l.file(s.path, { file: s.path, line: 0 });
    else l.text(s.text, s.file);
  }
  return l.finish();
}

/** Pending is a chain whose last rule said `chain`: the next SecRule is its next link. */
interface Pending {
  rule: Rule;
}

class Loader {
  readonly entries: Entry[] = [];
  readonly errors: WafLangError[] = [];
  readonly files: string[] = [];
  readonly ids = new Map<number, Rule>();
  /** claimed holds every rule id seen, also of rules that failed, so a duplicate is still found. */
  readonly claimed = new Map<number, Location>();
  readonly defaults = new Map<Phase, Action[]>();
  pending: Pending | undefined;
  /** brokenChain: a rule that said `chain` failed; its links are skipped, not reported again. */
  brokenChain = false;
  depth = 0;

  file(path: string, from: Location): void {
    let text: string;
    try {
      text = readFileSync(path, "utf8");
    } catch (err) {
      this.errors.push(
        new WafLangError("WAF_LANG_FILE", from, `cannot read ${path}: ${(err as Error).message}`),
      );
      return;
    }
    this.text(text, path);
  }

  text(text: string, file: string): void {
    this.files.push(file);
    const { lines, errors } = logicalLines(text, file);
    this.errors.push(...errors);
    for (const line of lines) this.directive(line, file);
    if (this.pending) {
      const r = this.pending.rule;
      this.fail(
        r.at,
        "WAF_LANG_CHAIN",
        `rule ${r.id} ends with chain but ${file} ends before the next SecRule`,
      );
      this.pending = undefined;
    }
  }

  finish(): LoadResult {
    this.checkSkipAfter();
    // Report in reading order (files as read, then lines), whichever check found the problem.
    const order = new Map(this.files.map((f, i) => [f, i]));
    this.errors.sort((a, b) => (order.get(a.file) ?? 0) - (order.get(b.file) ?? 0) || a.line - b.line);
    return { set: { entries: this.entries, files: this.files }, errors: this.errors };
  }

  fail(at: Location, code: WafLangError["code"], detail: string, id?: number): void {
    this.errors.push(new WafLangError(code, at, detail, id));
  }

  directive(line: LogicalLine, file: string): void {
    const at = { file, line: line.line };
    let words: Word[] = [];
    let id: number | undefined;
    let chains = false;
    try {
      words = splitWords(line.text);
      const [head, ...args] = words;
      if (!head) return;
      const name = canonical(head.text, ALL_DIRECTIVES);
      if (!name)
        throw new LangFault("WAF_LANG_UNKNOWN_DIRECTIVE", `unknown directive ${head.text}`, head.offset);
      const actionsWord = name === "SecRule" ? args[2] : name === "SecAction" ? args[0] : undefined;
      chains = actionsWord !== undefined && CHAIN.test(actionsWord.text);
      if (this.brokenChain) {
        this.brokenChain = name === "SecRule" && chains;
        if (name === "SecRule") return;
      }
      id =
        this.pending && name === "SecRule"
          ? this.pending.rule.id
          : actionsWord
            ? peekId(actionsWord.text)
            : undefined;
      if (this.pending && name !== "SecRule") {
        const r = this.pending.rule;
        this.fail(
          r.at,
          "WAF_LANG_CHAIN",
          `rule ${r.id} ends with chain but the next directive (line ${line.line}) is ${name}, not a SecRule` +
            // ModSecurity v2 and Coraza make a SecAction the link, v3 does not: refuse the guess.
            (name === "SecAction"
              ? ' (write the link as SecRule REQUEST_URI "@unconditionalMatch" "...")'
              : ""),
        );
        this.pending = undefined;
        // The SecAction was meant as the link: reported once, not again for its missing id.
        if (name === "SecAction") {
          this.brokenChain = chains;
          return;
        }
      }
      this.dispatch(name, args, at, file);
    } catch (err) {
      if (!(err instanceof LangFault)) throw err;
      // A failed rule still owns its id: a second rule with it is a duplicate all the same.
      if (id !== undefined && !this.pending && !this.claimed.has(id)) this.claimed.set(id, at);
      // A broken rule breaks its chain: one error for it, not more for its chain or its links.
      this.pending = undefined;
      this.brokenChain = chains;
      // Quoting broke before the words were known: still name the rule when its id is visible.
      if (words.length === 0) {
        const m = /(?:^|[,"'\s])id\s*:\s*'?(\d+)/i.exec(line.text);
        if (m) id = Number(m[1]);
      }
      this.fail({ file, line: faultLine(line, err) }, err.code, err.message, id);
    }
  }

  dispatch(name: string, args: Word[], at: Location, file: string): void {
    const texts = args.map((w) => w.text);
    const arity = (min: number, max: number, usage: string) => {
      if (args.length < min || args.length > max) {
        throw new LangFault(
          "WAF_LANG_SYNTAX",
          `${name} takes ${usage}; got ${args.length} argument${args.length === 1 ? "" : "s"} (quote an argument that has spaces)`,
          0,
        );
      }
    };
    switch (name) {
      case "SecRule": {
        arity(2, 3, '"VARIABLES" "OPERATOR" "ACTIONS"');
        const [v, o, a] = args as [Word, Word, Word | undefined];
        const variables = within(v, () => parseVariables(v.text));
        const operator = within(o, () => parseOperator(o.text, this.dataContext(file)));
        const actions = a ? within(a, () => parseActions(a.text)) : [];
        this.rule("SecRule", at, variables, operator, actions, a);
        return;
      }
      case "SecAction": {
        arity(1, 1, '"ACTIONS"');
        const a = args[0] as Word;
        const actions = within(a, () => parseActions(a.text));
        const operator: Rule["operator"] = {
          name: "unconditionalMatch",
          negated: false,
          raw: "",
          arg: { kind: "none" },
        };
        this.rule("SecAction", at, [], operator, actions, a);
        return;
      }
      case "SecMarker":
        arity(1, 1, "a marker name");
        this.entries.push({ kind: "marker", at, name: texts[0] ?? "" });
        return;
      case "SecDefaultAction": {
        arity(1, 1, '"ACTIONS" with a phase');
        const a = args[0] as Word;
        const actions = within(a, () => parseActions(a.text));
        const bad = actions.find((x) => DEFAULT_FORBIDDEN.has(x.name));
        if (bad)
          throw new LangFault(
            "WAF_LANG_BAD_ARGUMENT",
            `SecDefaultAction cannot carry ${bad.name}: it belongs to each rule`,
            a.offset,
          );
        const phase = actions.find((x) => x.name === "phase");
        if (!phase || phase.name !== "phase")
          throw new LangFault(
            "WAF_LANG_BAD_ARGUMENT",
            "SecDefaultAction needs a phase (phase:1 ... phase:5)",
            a.offset,
          );
        this.defaults.set(phase.value, actions);
        this.entries.push({ kind: "defaultAction", at, phase: phase.value, actions });
        return;
      }
      case "SecRuleRemoveById":
        arity(1, Infinity, "rule ids or ranges");
        this.entries.push({ kind: "removeById", at, ids: parseIdRanges(texts.join(" ")) });
        return;
      case "SecRuleRemoveByTag":
      case "SecRuleRemoveByMsg":
        arity(1, 1, "one tag or message (quote it if it has spaces)");
        this.entries.push({
          kind: name === "SecRuleRemoveByTag" ? "removeByTag" : "removeByMsg",
          at,
          match: texts[0] ?? "",
        });
        return;
      case "SecRuleUpdateTargetById":
      case "SecRuleUpdateTargetByTag":
      case "SecRuleUpdateTargetByMsg": {
        arity(2, 3, '"WHAT" "VARIABLES" ["REPLACED VARIABLE"]');
        const [w, v, r] = args as [Word, Word, Word | undefined];
        const by =
          name === "SecRuleUpdateTargetById" ? "id" : name === "SecRuleUpdateTargetByTag" ? "tag" : "msg";
        const targets = within(v, () => parseVariables(v.text));
        const upd: Entry = { kind: "updateTarget", at, by, what: w.text, targets };
        if (by === "id") {
          upd.ids = within(w, () => parseIdRanges(w.text));
          for (const range of upd.ids) this.loaded(name, range, w);
        }
        if (r) upd.replaced = within(r, () => parseVariables(r.text));
        this.entries.push(upd);
        return;
      }
      case "SecRuleUpdateActionById": {
        arity(2, 2, 'ID[:CHAIN_OFFSET] "ACTIONS"');
        const [w, a] = args as [Word, Word];
        const m = /^(\d+)(?::(\d+))?$/.exec(w.text);
        if (!m)
          throw new LangFault(
            "WAF_LANG_RULE_ID",
            `SecRuleUpdateActionById: ${JSON.stringify(w.text)} is not a rule id (942100 or 942100:2)`,
            w.offset,
          );
        const id = Number(m[1]);
        const target = this.loaded(name, { from: id, to: id }, w);
        if (m[2] && (Number(m[2]) < 1 || Number(m[2]) > target.links.length + 1)) {
          throw new LangFault(
            "WAF_LANG_RULE_ID",
            `${name} ${w.text}: rule ${id} is a chain of ${target.links.length + 1} rule(s)`,
            w.offset,
          );
        }
        const actions = within(a, () => parseActions(a.text));
        const bad = actions.find((x) => x.name === "id" || x.name === "phase" || x.name === "chain");
        if (bad)
          throw new LangFault(
            "WAF_LANG_BAD_ARGUMENT",
            `SecRuleUpdateActionById cannot change ${bad.name}`,
            a.offset,
          );
        this.entries.push({
          kind: "updateAction",
          at,
          id,
          ...(m[2] ? { chainOffset: Number(m[2]) } : {}),
          actions,
        });
        return;
      }
      case "Include":
        arity(1, 1, "a file path (may end in *.conf)");
        this.include(texts[0] ?? "", at, file);
        return;
    }
    if (UNSUPPORTED[name])
      throw new LangFault("WAF_LANG_UNKNOWN_DIRECTIVE", `${name}: ${UNSUPPORTED[name]}`, 0);
    this.entries.push({ kind: "setting", at, name, value: settingValue(name, texts) });
  }

  rule(
    directive: Rule["directive"],
    at: Location,
    variables: Variable[],
    operator: Rule["operator"],
    actions: Action[],
    actionsWord: Word | undefined,
  ): void {
    if (this.pending) {
      const first = this.pending.rule;
      const bad = actions.find((a) => STARTER_ONLY.has(a.name));
      if (bad) {
        const what = bad.name === "disruptive" ? `disruptive action ${bad.value.action}` : bad.name;
        throw new LangFault(
          "WAF_LANG_CHAIN",
          `a chained rule cannot carry ${what}: put it on the chain's first rule (line ${first.at.line})`,
          actionsWord?.offset ?? 0,
        );
      }
      const link: RuleLink = { at, variables, operator, actions };
      first.links.push(link);
      if (!actions.some((a) => a.name === "chain")) this.pending = undefined;
      return;
    }
    const idAction = actions.find((a) => a.name === "id");
    if (!idAction || idAction.name !== "id") {
      throw new LangFault(
        "WAF_LANG_RULE_ID",
        `${directive} has no id: every rule needs id:N (a chained rule takes its chain's id)`,
        actionsWord?.offset ?? 0,
      );
    }
    const id = idAction.value;
    const seen = this.claimed.get(id);
    if (seen)
      throw new LangFault(
        "WAF_LANG_RULE_ID",
        `id ${id} is already used by the rule at ${seen.file}:${seen.line}`,
        actionsWord?.offset ?? 0,
      );
    let phase: Phase = 2;
    let disruptive: Rule["disruptive"];
    for (const a of actions) {
      if (a.name === "phase") phase = a.value;
      if (a.name === "disruptive") disruptive = a.value;
    }
    const rule: Rule = { kind: "rule", directive, at, id, phase, variables, operator, actions, links: [] };
    this.ids.set(id, rule);
    this.claimed.set(id, at);
    if (disruptive) rule.disruptive = disruptive;
    const defaults = this.defaults.get(phase);
    if (defaults) rule.defaults = defaults;
    this.entries.push(rule);
    if (actions.some((a) => a.name === "chain")) {
      if (directive === "SecAction")
        throw new LangFault(
          "WAF_LANG_CHAIN",
          "SecAction cannot start a chain: use SecRule",
          actionsWord?.offset ?? 0,
        );
      this.pending = { rule };
    }
  }

  /** loaded returns a rule already read with an id in range: an update that names no such rule
   * would do nothing (Coraza refuses it too), so it is an error, not a silent no-op. */
  loaded(directive: string, range: IdRange, w: Word): Rule {
    for (const [id, rule] of this.ids) if (id >= range.from && id <= range.to) return rule;
    const what = range.from === range.to ? `id ${range.from}` : `an id in ${range.from}-${range.to}`;
    throw new LangFault(
      "WAF_LANG_RULE_ID",
      `${directive}: no rule with ${what} is loaded before this line; put the update after the rules it changes`,
      w.offset,
    );
  }

  dataContext(file: string) {
    return { dir: dirname(file), read: (p: string) => this.files.push(p) };
  }

  include(pattern: string, at: Location, file: string): void {
    if (this.depth >= MAX_INCLUDE_DEPTH)
      throw new LangFault(
        "WAF_LANG_FILE",
        `Include nested deeper than ${MAX_INCLUDE_DEPTH} files (a file including itself?)`,
        0,
      );
    const path = isAbsolute(pattern) ? pattern : join(dirname(file), pattern);
    let paths = [path];
    if (basename(path).includes("*")) {
      const re = new RegExp(
        `^${basename(path)
          .replace(/[.+?^${}()|[\]\\]/g, "\\$&")
          .replace(/\*/g, ".*")}$`,
      );
      try {
        paths = readdirSync(dirname(path))
          .filter((n) => re.test(n))
          .sort()
          .map((n) => join(dirname(path), n));
      } catch (err) {
        throw new LangFault("WAF_LANG_FILE", `Include ${pattern}: ${(err as Error).message}`, 0);
      }
      if (paths.length === 0) throw new LangFault("WAF_LANG_FILE", `Include ${pattern} matches no file`, 0);
    }
    this.depth++;
    try {
      for (const p of paths) this.file(p, at);
    } finally {
      this.depth--;
    }
  }

  /** checkSkipAfter refuses a skipAfter whose marker never follows its rule: ModSecurity would
   * silently skip every later rule of the phase. */
  checkSkipAfter(): void {
    const later = new Set<string>();
    for (let i = this.entries.length - 1; i >= 0; i--) {
      const e = this.entries[i];
      if (!e) continue;
      if (e.kind === "marker") later.add(e.name);
      if (e.kind !== "rule") continue;
      for (const a of [...e.actions, ...e.links.flatMap((l) => l.actions)]) {
        if (a.name === "skipAfter" && !later.has(a.value)) {
          this.fail(
            e.at,
            "WAF_LANG_BAD_ARGUMENT",
            `skipAfter:${a.value}: no SecMarker ${a.value} follows this rule`,
            e.id,
          );
        }
      }
    }
  }
}

/** within runs a piece parser on one word and shifts its fault offset to the logical line. */
function within<T>(w: Word, f: () => T): T {
  try {
    return f();
  } catch (err) {
    if (err instanceof LangFault) {
      const inner = err.offset < 0 ? 0 : err.offset + (w.quoted ? 1 : 0);
      throw new LangFault(err.code, err.message, w.offset + inner);
    }
    throw err;
  }
}

function faultLine(line: LogicalLine, err: LangFault): number {
  return err.offset < 0 ? line.line : lineAt(line, err.offset);
}
