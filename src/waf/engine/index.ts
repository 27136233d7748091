// index.ts: the rule engine's API. compileProgram() turns a parsed RuleSet (src/waf/lang) into a
// WafProgram once per policy; program.newTransaction() runs one exchange phase by phase (types.ts).
// Operators, transformations and body processors come in through `deps` (src/waf/ops and
// src/waf/body by default), so the engine is tested on its own with small stand-ins (testing.ts).
//
// Not kept across transactions: IP, GLOBAL, SESSION, USER and RESOURCE are empty at the start of
// every transaction (setvar/initcol write per-transaction copies); ENV holds only setenv values.
// Settings and actions the engine does not act on are listed in `program.ignoredSettings` and
// `program.ignoredActions` with the reason; `exec`, `append`, `prepend`, `proxy` and `pause`
// are refused at compile.
import { body as realBody } from "../body/index.ts";
import type { BodyProcessors } from "../body/types.ts";
import type { RuleSet } from "../lang/model.ts";
import { ops as realOps } from "../ops/index.ts";
import type { OpsFactory } from "../ops/types.ts";
import { compileRules, settingsOf, type IgnoredAction } from "./compile.ts";
import type { Compiled } from "./program.ts";
import { applySettings, defaultSettings, type EngineSettings, type IgnoredSetting } from "./settings.ts";
import type { FoldStats } from "./fold.ts";
import { Tx } from "./transaction.ts";
import { ValueCache } from "./value-cache.ts";
import type { CompileResult, ConnInfo, ProgramOptions, Transaction, WafProgram } from "./types.ts";

export type * from "./types.ts";
export type { EngineSettings, IgnoredSetting } from "./settings.ts";
export type { IgnoredAction } from "./compile.ts";
export { warmUp, type WarmUpResult } from "./warm-up.ts";

/** EngineDeps are the operator/transformation factory and the body processors the engine uses. */
export interface EngineDeps {
  ops: OpsFactory;
  body: BodyProcessors;
}

/** Program is the WafProgram compileProgram returns, with what the policy's status may report. */
export interface Program extends WafProgram {
  /** settings are the engine settings after every directive. */
  readonly settings: EngineSettings;
  /** ignoredSettings are directives accepted but not acted on, with the reason (report them). */
  readonly ignoredSettings: readonly IgnoredSetting[];
  /** ignoredActions are rule actions accepted without effect (initcol, expirevar, ...), and why. */
  readonly ignoredActions: readonly IgnoredAction[];
  /** values is the cross-transaction value cache (value-cache.ts): size and turns, for tests. */
  readonly values: ValueCache;
  /** folded: the rules fold.ts removed as the same in every transaction (undefined: plain). */
  readonly folded: FoldStats | undefined;
}

/** compileProgram compiles set; every error (file:line, rule id) comes back, or the program. */
export function compileProgram(
  set: RuleSet,
  options: ProgramOptions,
  deps: EngineDeps = { ops: realOps, body: realBody },
): CompileResult & { program?: Program } {
  const { phases, ruleCount, errors, ignoredActions, literals, unionSlots, runs, memo, pureWords, folded } =
    compileRules(
      set,
      deps.ops,
      !options.plain && options.fold !== false,
      !options.plain && options.memo !== false,
    );
  if (errors.length) return { errors };
  const settings = defaultSettings();
  const ignoredSettings = applySettings(settingsOf(set.entries), settings);
  const compiled: Compiled = {
    phases,
    settings,
    ignoredSettings,
    budgetMs: options.budgetMs,
    body: deps.body,
    ruleCount,
    literals,
    unionSlots,
    runs: options.plain ? runs.map((r) => new Int32Array(r.length)) : runs,
    memo,
    pureWords: options.plain ? 0 : pureWords,
    values: new ValueCache(options.plain ? 0 : options.valueCache?.maxBytes, options.valueCache?.maxEntries),
    unionPool: [],
  };
  const program: Program = {
    ruleCount,
    engineMode: settings.ruleEngine,
    settings,
    ignoredSettings,
    ignoredActions,
    values: compiled.values,
    folded,
    newTransaction(conn: ConnInfo): Transaction {
      return new Tx(compiled, conn);
    },
  };
  return { program, errors: [] };
}
