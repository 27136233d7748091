// index.ts: the rule engine's entry point (types.ts). PLACEHOLDER until src/waf/engine lands:
// every rule set is refused at compile, so a route with a WafPolicy follows its failurePolicy
// (FailClosed: 503) and is never served as if it were protected.
import { WafLangError } from "../lang/errors.ts";
import type { RuleSet } from "../lang/model.ts";
import type { CompileResult, ProgramOptions } from "./types.ts";

export type * from "./types.ts";

/** compileProgram compiles a parsed rule set (placeholder: refuses every set). */
export function compileProgram(set: RuleSet, _options: ProgramOptions): CompileResult {
  const at = { file: set.files[0] ?? "portico:setup", line: 1 };
  return {
    errors: [new WafLangError("WAF_LANG_FILE", at, "the WAF rule engine is not built into this Portico yet")],
  };
}
