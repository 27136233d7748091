// index.ts: the rule language's API. loadRuleFiles() reads SecLang files (crs-setup, the CRS
// rules, custom rules) in order into one typed RuleSet; parseRules() reads one text. Both return
// every error with file:line and rule id; a set with errors must not replace the one serving.
// ruleStats() counts what a set uses. The model (model.ts) is plain data: it can be logged,
// compared and sent to an engine as JSON.
export { loadRuleFiles, loadRuleSources, parseRules, type LoadResult, type RuleSource } from "./parse.ts";
export { ruleStats, type RuleStats } from "./stats.ts";
export { WafLangError, type WafLangErrorCode, type Location } from "./errors.ts";
export type * from "./model.ts";
