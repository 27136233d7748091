// operators.ts: compileOperator, the table of every operator Portico runs and the reasons for the
// ones it refuses. A refused operator fails the rule set's load with a message that says why and
// what to do, so a rule never loads as a silent no-op.
import { WafLangError, type Location } from "../lang/errors.ts";
import type { Operator } from "../lang/model.ts";
import { detectSqli, detectXss } from "../libinjection/index.ts";
import { RxSyntaxError } from "../rx/index.ts";
import { compileIp } from "./op-ip.ts";
import { NUMBER_OPERATORS, compileNumber } from "./op-number.ts";
import { RX_FLAGS, VERIFY_OPERATORS, compileRx, compileVerify } from "./op-rx.ts";
import { TEXT_OPERATORS, compilePhrases, compileText } from "./op-text.ts";
import { compileByteRange, compileUrlEncoding, compileUtf8Encoding } from "./op-validate.ts";
import type { CompiledOperator, OperatorContext, OperatorResult } from "./types.ts";

type Builder = (op: Operator) => CompiledOperator;

function constant(name: string, result: OperatorResult): CompiledOperator {
  return { name, test: () => result };
}

const sqli: Builder = (op) => ({
  name: op.name,
  pure: true,
  test(value: string, ctx: OperatorContext): OperatorResult {
    const r = detectSqli(value);
    if (!r.sqli) return false;
    if (ctx.captures !== undefined) ctx.captures[0] = r.fingerprint;
    return { matched: r.fingerprint };
  },
});

const xss: Builder = (op) => ({
  name: op.name,
  pure: true,
  test: (value: string): OperatorResult => (detectXss(value) ? { matched: value } : false),
});

/** BUILDERS maps each operator Portico runs to its compiler. */
const BUILDERS: ReadonlyMap<string, Builder> = new Map<string, Builder>([
  ["rx", compileRx],
  ["pm", compilePhrases],
  ["pmFromFile", compilePhrases],
  ["ipMatch", compileIp],
  ["ipMatchFromFile", compileIp],
  ["validateByteRange", compileByteRange],
  ["validateUrlEncoding", compileUrlEncoding],
  ["validateUtf8Encoding", compileUtf8Encoding],
  ["unconditionalMatch", (op) => constant(op.name, { matched: "" })],
  ["noMatch", (op) => constant(op.name, false)],
  ["detectSQLi", sqli],
  ["detectXSS", xss],
  ...TEXT_OPERATORS.map((n) => [n, compileText] as const),
  ...NUMBER_OPERATORS.map((n) => [n, compileNumber] as const),
  ...VERIFY_OPERATORS.map((n) => [n, compileVerify] as const),
]);

// Why each known operator is refused, and what to do instead.
const REMOVE = "remove the rule (SecRuleRemoveById) or replace it";
const REFUSED: ReadonlyMap<string, string> = new Map([
  [
    "rbl",
    `needs a DNS blocklist query per request, which Portico does not make; ${REMOVE} with an access policy (IP allow/deny lists)`,
  ],
  [
    "geoLookup",
    `needs a GeoIP database, which Portico does not load; ${REMOVE} with an access policy on client addresses`,
  ],
  ["gsbLookup", `needs Google Safe Browsing lookups, which Portico does not make; ${REMOVE}`],
  [
    "inspectFile",
    `runs an external program per uploaded file, and Portico never runs programs named by rules; ${REMOVE}`,
  ],
  ["fuzzyHash", `needs ssdeep fuzzy hashes of files, which Portico does not compute; ${REMOVE}`],
  ["validateDTD", `validates XML bodies against a DTD, which Portico does not do; ${REMOVE}`],
  ["validateSchema", `validates XML bodies against an XML schema, which Portico does not do; ${REMOVE}`],
  [
    "validateHash",
    `belongs to ModSecurity's HMAC token feature (SecHashEngine), which Portico does not have; ${REMOVE}`,
  ],
  ["rsub", `rewrites body streams (STREAM_*_BODY), which Portico's WAF does not do; ${REMOVE}`],
  ["restpath", `is not implemented; ${REMOVE} with @rx on REQUEST_FILENAME`],
  ["rxGlobal", `is not implemented; @rx matches the same values (only its captures differ): use @rx`],
  ["verifySVNR", `is not implemented; ${REMOVE}`],
]);

/** compileOperator compiles op for rule ruleId written at `at` (types.ts OpsFactory.compileOperator). */
export function compileOperator(op: Operator, at: Location, ruleId: number): CompiledOperator {
  const build = BUILDERS.get(op.name);
  if (build === undefined) {
    const why = REFUSED.get(op.name) ?? "is not an operator Portico knows";
    throw new WafLangError(
      "WAF_LANG_UNKNOWN_OPERATOR",
      at,
      `@${op.name} is not supported by Portico: it ${why}`,
      ruleId,
    );
  }
  try {
    return build(op);
  } catch (err) {
    if (err instanceof RxSyntaxError)
      throw new WafLangError(
        "WAF_LANG_BAD_ARGUMENT",
        at,
        `@${op.name}: the regular expression does not compile (flags ${RX_FLAGS}): ${err.message}`,
        ruleId,
      );
    throw err;
  }
}

/** OPERATOR_NAMES lists the operators compileOperator accepts. */
export const OPERATOR_NAMES: readonly string[] = [...BUILDERS.keys()];
