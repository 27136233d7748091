// index.ts: the operators and transformations the rule engine uses (types.ts OpsFactory):
// transformations.ts (one file per family, t-*.ts) and operators.ts (op-*.ts).
import { compileOperator } from "./operators.ts";
import { transformation } from "./transformations.ts";
import type { OpsFactory } from "./types.ts";

export type * from "./types.ts";

/** ops is the OpsFactory the engine uses. */
export const ops: OpsFactory = { transformation, compileOperator };
