// op-text.ts: the string operators (@streq @contains @containsWord @beginsWith @endsWith @within
// @strmatch) and the phrase operators (@pm @pmFromFile). Arguments holding macros are expanded
// per test (ctx.expand); literal ones are prepared once. Rule text is Unicode (the parser reads
// files as UTF-8) while values are bytes, so literal arguments become their UTF-8 bytes here.
import { isLiteral } from "../lang/macro.ts";
import type { Operator, Template } from "../lang/model.ts";
import { anyLiteral } from "../rx/index.ts";
import { PhraseMatcher } from "./aho-corasick.ts";
import type { CompiledOperator, OperatorContext, OperatorResult } from "./types.ts";

/** toBinary turns Unicode text into its UTF-8 bytes as a binary string (ASCII is unchanged). */
export function toBinary(s: string): string {
  return /[\x80-\uffff]/.test(s) ? Buffer.from(s, "utf8").toString("latin1") : s;
}

/** Param yields an operator's argument for one test. */
export type Param = (ctx: OperatorContext) => string;

/** literalArg says whether an operator's argument holds no macro (the same in every test): then
 * a test's answer depends on the value alone (CompiledOperator.pure). */
export function literalArg(op: Operator): boolean {
  return op.arg.kind !== "template" || isLiteral(op.arg.template);
}

/** param prepares a text argument: a constant when it has no macro, else expanded per test. */
export function param(op: Operator): Param {
  if (op.arg.kind !== "template") {
    const v = toBinary(op.raw);
    return () => v;
  }
  const t: Template = op.arg.template;
  if (isLiteral(t)) {
    const v = toBinary(t.parts.join(""));
    return () => v;
  }
  return (ctx) => ctx.expand(t);
}

function isWordChar(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x5f;
}

/** containsWord says whether p occurs in s with no word character ([A-Za-z0-9_]) on either side. */
function containsWord(s: string, p: string): boolean {
  for (let at = s.indexOf(p); at >= 0; at = s.indexOf(p, at + 1)) {
    const before = at === 0 || !isWordChar(s.charCodeAt(at - 1));
    const end = at + p.length;
    if (before && (end >= s.length || !isWordChar(s.charCodeAt(end)))) return true;
  }
  return false;
}

type Test = (value: string, p: string) => boolean;

// ModSecurity v3's answers for an empty argument: every value "contains" and "begins with" it.
const TESTS: Readonly<Record<string, Test>> = {
  streq: (v, p) => v === p,
  contains: (v, p) => v.includes(p),
  strmatch: (v, p) => v.includes(p),
  containsWord: (v, p) => p === "" || containsWord(v, p),
  beginsWith: (v, p) => v.startsWith(p),
  endsWith: (v, p) => v.endsWith(p),
  // @within is the other way round: the value must occur in the argument (an empty value does).
  within: (v, p) => v === "" || p.includes(v),
};

/** TEXT_OPERATORS are the string operators' names. */
export const TEXT_OPERATORS: readonly string[] = Object.keys(TESTS);

/** compileText compiles a string operator; the match reported is the argument (@within: the value). */
export function compileText(op: Operator): CompiledOperator {
  const test = TESTS[op.name]!;
  const get = param(op);
  const name = op.name;
  return {
    name,
    pure: literalArg(op),
    test(value: string, ctx: OperatorContext): OperatorResult {
      const p = get(ctx);
      if (!test(value, p)) return false;
      const matched = name === "within" || name === "streq" ? value : p;
      if (ctx.captures !== undefined) ctx.captures[0] = matched;
      return { matched };
    },
  };
}

/** compilePhrases compiles @pm / @pmFromFile: case-insensitive, anywhere in the value; the match
 * reported (and captured as TX:0) is the phrase as the rule or data file wrote it. */
export function compilePhrases(op: Operator): CompiledOperator {
  const phrases = op.arg.kind === "phrases" ? op.arg.phrases : [];
  const matcher = new PhraseMatcher(phrases.map(toBinary));
  return {
    name: op.name,
    pure: true,
    // The matcher looks for the phrases (case-insensitively): the same literals, an exact prefilter.
    prefilter: anyLiteral(matcher.phrases),
    test(value: string, ctx: OperatorContext): OperatorResult {
      if (matcher.find(value) < 0) return false;
      const matched = matcher.phrases[matcher.lastPhrase]!;
      if (ctx.captures !== undefined) ctx.captures[0] = matched;
      return { matched };
    },
  };
}
