// errors.ts: the one error class of the rule language. A rule file that fails to load must say
// where (file:line, the physical line of the offending piece, not only where the rule starts),
// which rule (its id, or the id of the chain it belongs to) and what is wrong, on one line, so a
// policy's status condition can carry it as it is.

/** WafLangErrorCode names each way a rule file can be refused. */
export type WafLangErrorCode =
  | "WAF_LANG_SYNTAX"
  | "WAF_LANG_UNKNOWN_DIRECTIVE"
  | "WAF_LANG_UNKNOWN_VARIABLE"
  | "WAF_LANG_UNKNOWN_OPERATOR"
  | "WAF_LANG_UNKNOWN_ACTION"
  | "WAF_LANG_BAD_ARGUMENT"
  | "WAF_LANG_CHAIN"
  | "WAF_LANG_RULE_ID"
  | "WAF_LANG_FILE";

/** Location is a physical line of a rule file (1-based). */
export interface Location {
  file: string;
  line: number;
}

/** WafLangError is one refused piece of a rule file, with a stable code and a one-line message. */
export class WafLangError extends Error {
  readonly code: WafLangErrorCode;
  readonly file: string;
  readonly line: number;
  /** ruleId is the id of the rule (or of the chain's first rule) the error is in, when known. */
  readonly ruleId: number | undefined;
  /** detail is the message without the location prefix. */
  readonly detail: string;
  constructor(code: WafLangErrorCode, at: Location, detail: string, ruleId?: number) {
    super(`${at.file}:${at.line}: ${ruleId === undefined ? "" : `rule ${ruleId}: `}${detail}`);
    this.name = "WafLangError";
    this.code = code;
    this.file = at.file;
    this.line = at.line;
    this.ruleId = ruleId;
    this.detail = detail;
  }
}

/** LangFault is thrown by the piece parsers (variables, operator, actions) with a position inside
 * the text they were given; the directive parser turns it into a WafLangError with file:line. */
export class LangFault extends Error {
  readonly code: WafLangErrorCode;
  /** offset is where in the parsed text the problem starts (-1: anywhere). */
  readonly offset: number;
  constructor(code: WafLangErrorCode, detail: string, offset = -1) {
    super(detail);
    this.name = "LangFault";
    this.code = code;
    this.offset = offset;
  }
}
