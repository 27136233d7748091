// op-number.ts: @eq @ge @gt @le @lt. Both sides are read as ModSecurity reads them (atoll/stoi):
// leading whitespace, an optional sign, then digits up to the first other byte; no digits at all
// is 0 ("abc" = 0, "12abc" = 12). So `@eq 0` matches an empty or non-numeric value, as in CRS.
import type { Operator } from "../lang/model.ts";
import { literalArg, param } from "./op-text.ts";
import type { CompiledOperator, OperatorContext, OperatorResult } from "./types.ts";

/** toNumber parses s the way C's atoll does (saturating at ±2^63). */
export function toNumber(s: string): number {
  let i = 0;
  const n = s.length;
  while (i < n) {
    const c = s.charCodeAt(i);
    if (c !== 0x20 && (c < 0x09 || c > 0x0d)) break;
    i++;
  }
  let sign = 1;
  const c = s.charCodeAt(i);
  if (c === 0x2d || c === 0x2b) {
    if (c === 0x2d) sign = -1;
    i++;
  }
  let v = 0;
  for (; i < n; i++) {
    const d = s.charCodeAt(i) - 0x30;
    if (d < 0 || d > 9) break;
    v = v * 10 + d;
  }
  return sign * Math.min(v, 2 ** 63);
}

const COMPARE: Readonly<Record<string, (a: number, b: number) => boolean>> = {
  eq: (a, b) => a === b,
  ge: (a, b) => a >= b,
  gt: (a, b) => a > b,
  le: (a, b) => a <= b,
  lt: (a, b) => a < b,
};

/** NUMBER_OPERATORS are the comparison operators' names. */
export const NUMBER_OPERATORS: readonly string[] = Object.keys(COMPARE);

/** compileNumber compiles a comparison: value OP argument. */
export function compileNumber(op: Operator): CompiledOperator {
  const compare = COMPARE[op.name]!;
  const constant = op.arg.kind === "number" ? op.arg.value : undefined;
  const get = param(op);
  return {
    name: op.name,
    pure: literalArg(op),
    test(value: string, ctx: OperatorContext): OperatorResult {
      const b = constant ?? toNumber(get(ctx));
      return compare(toNumber(value), b) ? { matched: value } : false;
    },
  };
}
