// types.ts: the contract of the rule engine (src/waf/engine): a compiled rule set (WafProgram)
// and one Transaction per HTTP exchange, called phase by phase by the data plane (Coraza's and
// ModSecurity's transaction model). Pure: no sockets, no clock other than the budget check, no
// files after compile. The data plane (src/engine/l7/waf-*.ts) owns buffering, answers and logs.
import type { WafLangError } from "../lang/errors.ts";
import type { Phase, RuleSet } from "../lang/model.ts";

/** ConnInfo is what the transaction knows of the connection (REMOTE_ADDR, SERVER_PORT, ...). */
export interface ConnInfo {
  /** id is the exchange's unique id (UNIQUE_ID; the access log's request id). */
  id: string;
  clientAddress: string;
  clientPort: number;
  serverAddress: string;
  serverPort: number;
  /** now is the request's start in ms since the epoch (TIME, TIME_EPOCH, ...). */
  now: number;
}

/** RequestHead is the request as the client sent it (no normalisation: the rules do that). */
export interface RequestHead {
  method: string;
  /** uri is the request target as sent (`/a%20b?x=1`, or absolute-form); binary string. */
  uri: string;
  /** protocol is `HTTP/1.1`, `HTTP/1.0` or `HTTP/2.0` (REQUEST_PROTOCOL). */
  protocol: string;
  /** headers in arrival order, names as sent (HTTP/2: lower-case; `:authority` given as Host). */
  headers: readonly (readonly [string, string])[];
}

/** ResponseHead is the backend's (or the proxy's own) response head. */
export interface ResponseHead {
  status: number;
  protocol: string;
  headers: readonly (readonly [string, string])[];
}

/** Interruption is a disruptive action that took effect (Enforcement, SecRuleEngine On). */
export interface Interruption {
  ruleId: number;
  /** action: deny answers `status`; drop closes the connection; redirect answers 302 to `url`. */
  action: "deny" | "drop" | "redirect";
  status: number;
  url?: string;
}

/** WafHit is one rule match that logs (not `nolog`), for the access log, metrics and analytics. */
export interface WafHit {
  ruleId: number;
  phase: Phase;
  /** msg and data are the expanded `msg` and `logdata`. */
  msg: string;
  data: string;
  severity?: number;
  tags: string[];
  /** variable is the first matched variable (`ARGS:q`); value its value before the rule's
   * transformations (as the request carried it), truncated to 120 bytes with sanitise* actions
   * applied. Credentials are not redacted here: the data plane's WAF log does that. */
  variable: string;
  value: string;
  /** variables lists every variable the rule (its first link, for a chain) matched, when more than
   * one did (`ARGS:q`, `ARGS:password`): msg and data were expanded at the last of them. */
  variables?: string[];
  /** disruptive says the rule's disruptive action took effect (or would have, in Detection). */
  disruptive: boolean;
}

/** PhaseResult: the interruption (undefined: go on) and whether the budget ran out in the phase. */
export interface PhaseResult {
  interruption?: Interruption;
  /** overBudget: the transaction's time budget was spent; rules after that point did not run. */
  overBudget?: true;
}

/** Transaction is one exchange's state: call the phases in order, each at most once; after an
 * interruption call only `logging()`. */
export interface Transaction {
  /** phase 1: request line and headers (parses the query string and cookies). */
  requestHeaders(head: RequestHead): PhaseResult;
  /** wantsRequestBody: SecRequestBodyAccess is on (also after ctl) — buffer the body for phase 2. */
  readonly wantsRequestBody: boolean;
  /** requestBodyLimit: bytes to buffer at most (SecRequestBodyLimit). */
  readonly requestBodyLimit: number;
  /** phase 2: the whole body (or its first requestBodyLimit bytes with truncated, per
   * SecRequestBodyLimitAction ProcessPartial); call it with "" when there is no body. */
  requestBody(body: Buffer, truncated: boolean): PhaseResult;
  /** phase 3. */
  responseHeaders(head: ResponseHead): PhaseResult;
  /** wantsResponseBody: SecResponseBodyAccess on and the response's MIME type in
   * SecResponseBodyMimeType (known after responseHeaders). */
  readonly wantsResponseBody: boolean;
  readonly responseBodyLimit: number;
  /** phase 4. */
  responseBody(body: Buffer, truncated: boolean): PhaseResult;
  /** phase 5; returns the evidence. Safe to call at any point (after a drop, a timeout, ...). */
  logging(): WafLog;
}

/** WafLog is a transaction's evidence once it ended. */
export interface WafLog {
  hits: WafHit[];
  /** inbound / outbound: the CRS anomaly scores (TX:blocking_inbound_anomaly_score, ...; 0 when the
   * rule set does not set them). */
  inbound: number;
  outbound: number;
  /** interruption that took effect, if any; in Detection the one that would have (wouldBlock). */
  interruption?: Interruption;
  wouldBlock?: Interruption;
  /** overBudget: some rules did not run because the budget was spent. */
  overBudget?: boolean;
  /** elapsedMs: time spent in the WAF for this exchange. */
  elapsedMs: number;
}

/** ProgramOptions tune compile. */
export interface ProgramOptions {
  /** budgetMs: WAF time per transaction, checked between rules (0: no budget). */
  budgetMs: number;
  /** valueCache bounds the program's cross-transaction value cache (engine/value-cache.ts):
   * bytes and values per generation (two generations are kept). Default 2 MiB and 8 192. */
  valueCache?: { maxBytes: number; maxEntries: number };
  /** plain: run every rule as written — no plan (plan.ts) and nothing kept across transactions
   * (value-cache.ts) —, the reference the differential tests compare the program with. */
  plain?: boolean;
  /** memo: false enters every rule the memo plan (memo.ts) would pass over on its values'
   * memoised bits (default on; off when plain). */
  memo?: boolean;
  /** fold: false keeps the rules fold.ts would decide at load (default on; off when plain). */
  fold?: boolean;
}

/** WafProgram is a compiled rule set, shared by every transaction of the routes that use it. */
export interface WafProgram {
  readonly ruleCount: number;
  /** engineMode is SecRuleEngine after load: On, DetectionOnly (no interruption) or Off. */
  readonly engineMode: "On" | "DetectionOnly" | "Off";
  newTransaction(conn: ConnInfo): Transaction;
}

/** CompileResult: the program, or every error (file:line and rule id) when it cannot run. */
export type CompileResult =
  { program: WafProgram; errors: [] } | { program?: undefined; errors: WafLangError[] };

/** CompileProgram is src/waf/engine/index.ts's `compileProgram`. */
export type CompileProgram = (set: RuleSet, options: ProgramOptions) => CompileResult;
