// types.ts: the contract between the rule engine (src/waf/engine) and the operators and
// transformations (src/waf/ops). Every value the WAF inspects is a *binary string*: one JS char per
// byte (0–255, latin1), as ModSecurity and Coraza see bytes. Transformations that decode (url,
// html entities, utf8toUnicode, base64) work on those bytes and return bytes; operators match
// bytes (`@rx` runs src/waf/rx on the string's char codes without re-encoding).
import type { Location } from "../lang/errors.ts";
import type { Operator, Template } from "../lang/model.ts";
import type { Prefilter } from "../rx/index.ts";

/** Transform maps one value to its transformed value (binary strings); pure, no state. */
export type Transform = (value: string) => string;

/** OperatorContext is what an operator may use of the running transaction. */
export interface OperatorContext {
  /** expand renders a macro template (`%{tx.allowed_methods}`) against the transaction now. */
  expand(t: Template): string;
  /**
   * captures, when the rule has `capture`, receives TX:0..9: [0] the whole match, [i] group i
   * (`@rx`), or the matched phrase / fingerprint for operators that have one (`@pm` puts the
   * phrase in [0], `@detectSQLi` the fingerprint). Undefined when the rule does not capture.
   */
  captures: string[] | undefined;
}

/** OperatorResult: matched, and the part of the value that matched (MATCHED_VAR stays the whole
 * value; this is for logs: the phrase, the regex match, the SQLi fingerprint). */
export type OperatorResult = false | { matched: string };

/** CompiledOperator is an operator with its argument compiled once at load (regex, phrase
 * automaton, CIDR list). Negation (`!@op`) is applied by the engine, not here. */
export interface CompiledOperator {
  name: string;
  test(value: string, ctx: OperatorContext): OperatorResult;
  /** prefilter, when known, holds for every value test() matches (literals a match contains,
   * looked for ASCII case-insensitively): the engine skips test() on values where it fails. */
  prefilter?: Prefilter;
  /** pure: test()'s answer depends on the value alone (no macro, no state), so the engine may
   * remember across transactions that a value does not match (engine/value-cache.ts). */
  pure?: boolean;
}

/** OpsFactory is what src/waf/ops exports to the engine. */
export interface OpsFactory {
  /** transformation returns the named transformation (canonical name as the parser gives it:
   * `lowercase`, `urlDecodeUni`, ...), or undefined when Portico does not implement it; `none`
   * is handled by the engine and never asked for. */
  transformation(name: string): Transform | undefined;
  /** compileOperator compiles op; throws a WafLangError at `at` (code WAF_LANG_BAD_ARGUMENT or
   * WAF_LANG_UNKNOWN_OPERATOR) naming the operator when it cannot run it. */
  compileOperator(op: Operator, at: Location, ruleId: number): CompiledOperator;
}
