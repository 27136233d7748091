// index.ts: the operators and transformations (types.ts OpsFactory). PLACEHOLDER until they land:
// no transformation, every operator refused at load, so nothing runs half-implemented.
import { WafLangError, type Location } from "../lang/errors.ts";
import type { Operator } from "../lang/model.ts";
import type { CompiledOperator, OpsFactory, Transform } from "./types.ts";

export type * from "./types.ts";

/** ops is the OpsFactory the engine uses. */
export const ops: OpsFactory = {
  transformation(_name: string): Transform | undefined {
    return undefined;
  },
  compileOperator(op: Operator, at: Location, ruleId: number): CompiledOperator {
    throw new WafLangError("WAF_LANG_UNKNOWN_OPERATOR", at, `@${op.name} is not implemented yet`, ruleId);
  },
};
