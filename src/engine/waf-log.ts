// waf-log.ts: the WAF's audit log — one JSON line per inspected exchange the WAF has something to
// say about (a rule hit, a block, a drop, a failure), from the same portico:http.response events
// as the access log. Off unless asked for (`--waf-log FILE|-`), like ModSecurity's SecAuditLog.
// Each hit names its rule, the variable it matched, the value as sent (truncated, and redacted when
// the variable carries a credential) and the WafPolicy exclusion that would silence it, ready to
// paste. The access log keeps its compact `waf` field (rule ids and scores only).
import { createWriteStream } from "node:fs";
import { subscribe, unsubscribe } from "node:diagnostics_channel";
import type { WafHit } from "../waf/engine/types.ts";
import { HTTP_RESPONSE_CHANNEL as CHANNEL, type HttpResponseEvent } from "./l7/events.ts";

/** WAF_VALUE_BYTES is how much of a matched value (and of a rule's logdata) a line carries. */
export const WAF_VALUE_BYTES = 64;
const DATA_BYTES = 2 * WAF_VALUE_BYTES;
/** REDACTED replaces a credential's value. */
export const REDACTED = "[redacted]";

// Names (arguments, headers, JSON keys) whose values are credentials: a name containing one of
// these, case-insensitively, is redacted. Over-redacting ("compass") costs a value in a log line;
// under-redacting leaks a password, so substrings, not whole words. Listed in docs/waf.md.
const SECRET_NAME = /pass|pwd|secret|token|api[-_]?key|auth|session|credential|private[-_]?key/i;
// Collections whose every value is a credential (cookies carry sessions).
const SECRET_COLLECTIONS = new Set(["REQUEST_COOKIES", "RESPONSE_COOKIES"]);
// Headers that carry credentials whatever SECRET_NAME says.
const SECRET_HEADERS = new Set(["authorization", "proxy-authorization", "cookie", "set-cookie"]);
// Collections keyed by a parameter or header name, whose values SECRET_NAME judges by that name.
const NAMED_VALUES = new Set([
  "ARGS",
  "ARGS_GET",
  "ARGS_POST",
  "REQUEST_HEADERS",
  "RESPONSE_HEADERS",
  "MULTIPART_PART_HEADERS",
  "FILES_TMP_CONTENT",
]);

/**
 * redacts says whether a matched variable (`ARGS:password`, `REQUEST_HEADERS:Cookie`) holds a
 * credential: its value never reaches the log.
 */
export function redacts(variable: string): boolean {
  const colon = variable.indexOf(":");
  const coll = (colon === -1 ? variable : variable.slice(0, colon)).toUpperCase();
  if (SECRET_COLLECTIONS.has(coll)) return true;
  if (colon === -1 || !NAMED_VALUES.has(coll)) return false;
  const name = variable.slice(colon + 1);
  if (coll.endsWith("HEADERS") && SECRET_HEADERS.has(name.toLowerCase())) return true;
  return SECRET_NAME.test(name);
}

// A name=value pair of a query string or form body, and a "key": "value" pair of a JSON body.
const FORM_PAIR = /(^|[?&;\s])([^=&;?\s]*)=([^&;\s]*)/g;
const JSON_PAIR = /("([^"\\]*)"\s*:\s*)"((?:[^"\\]|\\.)*)"/g;

/**
 * scrub redacts credentials inside a whole-text value (REQUEST_URI, QUERY_STRING, REQUEST_BODY, a
 * rule's logdata): the value of every `name=value` or `"name": "value"` pair whose name looks like
 * a credential.
 */
export function scrub(text: string): string {
  if (!text.includes("=") && !text.includes(":")) return text;
  return text
    .replace(FORM_PAIR, (all, pre: string, name: string) =>
      SECRET_NAME.test(name) ? `${pre}${name}=${REDACTED}` : all,
    )
    .replace(JSON_PAIR, (all, pre: string, name: string) =>
      SECRET_NAME.test(name) ? `${pre}"${REDACTED}"` : all,
    );
}

/** WafExclusionSuggestion is a WafPolicy `exclusions` entry, as the policy's YAML spells it. */
export interface WafExclusionSuggestion {
  ruleIds: number[];
  variables?: string[];
}

// A variable name an exclusion can name as is: SecRuleUpdateTarget splits targets on `|` and reads
// a name starting with `/` as a regular expression, and the policy quotes the rest.
const PLAIN_KEY = /^[^|/"'\s][^|"'\s]*$/;

// Rules that only add up or report the anomaly scores (949110, 959100, 980170): excluding one
// switches blocking or reporting off; the rules that scored are the ones to exclude.
const SCORING_TAGS = ["anomaly-evaluation", "reporting"];

/**
 * exclusionFor is the exclusion that silences hit for the variables it matched, or for the whole
 * rule when one cannot be named (empty, or a key with `|` or quotes). Undefined for the CRS's
 * scoring rules and for rules that matched its TX variables.
 */
export function exclusionFor(
  hit: Pick<WafHit, "ruleId" | "variable" | "variables" | "tags">,
): WafExclusionSuggestion | undefined {
  if (hit.tags.some((t) => SCORING_TAGS.includes(t))) return undefined;
  const vars = hit.variables ?? [hit.variable];
  if (vars.some((v) => v.slice(0, 3).toUpperCase() === "TX:" || v.toUpperCase() === "TX")) return undefined;
  const plain = vars.every((v) => {
    const colon = v.indexOf(":");
    return v !== "" && (colon === -1 || PLAIN_KEY.test(v.slice(colon + 1)));
  });
  return plain ? { ruleIds: [hit.ruleId], variables: vars } : { ruleIds: [hit.ruleId] };
}

/** exclusionYaml renders a suggestion as one YAML flow line: `{ruleIds: [942100], variables: ["ARGS:q"]}`. */
export function exclusionYaml(x: WafExclusionSuggestion): string {
  const ids = `ruleIds: [${x.ruleIds.join(", ")}]`;
  if (x.variables === undefined) return `{${ids}}`;
  return `{${ids}, variables: [${x.variables.map((v) => JSON.stringify(v)).join(", ")}]}`;
}

const SEVERITIES = ["EMERGENCY", "ALERT", "CRITICAL", "ERROR", "WARNING", "NOTICE", "INFO", "DEBUG"];

/** wafHitRecord is one hit as the WAF log shows it: value truncated and, for credentials, redacted. */
export function wafHitRecord(h: WafHit): Record<string, unknown> {
  const secret = redacts(h.variable);
  // msg and data were expanded at the rule's last match, which may be another variable's.
  const anySecret = secret || (h.variables?.some(redacts) ?? false);
  const x = exclusionFor(h);
  return {
    ruleId: h.ruleId,
    phase: h.phase,
    severity: h.severity === undefined ? undefined : (SEVERITIES[h.severity] ?? String(h.severity)),
    msg: anySecret ? scrub(h.msg) : h.msg,
    tags: h.tags,
    variable: h.variable,
    variables: h.variables,
    value: secret ? REDACTED : clip(scrub(h.value), WAF_VALUE_BYTES),
    // logdata usually repeats the matched value (CRS: "Matched Data: ... found within ARGS:q: ...").
    data: h.data === "" ? undefined : anySecret ? REDACTED : clip(scrub(h.data), DATA_BYTES),
    disruptive: h.disruptive || undefined,
    exclusion: x === undefined ? undefined : exclusionYaml(x),
  };
}

// clip truncates a binary string (one char per byte) to max bytes and reads it as UTF-8 for JSON;
// "…" marks a cut.
function clip(s: string, max: number): string {
  const cut = s.length > max;
  const text = Buffer.from(cut ? s.slice(0, max) : s, "latin1").toString("utf8");
  return cut ? text + "…" : text;
}

/** logsWaf says whether an exchange gets a WAF log line: a hit, or an action other than pass/bypass. */
export function logsWaf(e: HttpResponseEvent): boolean {
  const w = e.waf;
  if (w === undefined) return false;
  return w.hits.length > 0 || (w.action !== "pass" && w.action !== "bypass");
}

/** formatWafLine renders the WAF log line of an event (undefined: nothing to log); time for tests. */
export function formatWafLine(e: HttpResponseEvent, time: Date): string | undefined {
  const w = e.waf;
  if (w === undefined || !logsWaf(e)) return undefined;
  // The query string goes: the hits show what of it matched, redacted where it must be.
  const q = e.path.indexOf("?");
  return (
    JSON.stringify({
      time: time.toISOString(),
      policy: w.policy,
      action: w.action,
      listener: e.listener,
      route: e.route,
      client: e.client,
      method: e.method,
      authority: e.authority,
      path: q === -1 ? e.path : e.path.slice(0, q),
      status: e.status,
      blockedBy: w.blockedBy,
      wouldBlock: w.wouldBlock,
      inbound: w.inbound,
      outbound: w.outbound,
      overBudget: w.overBudget,
      error: e.error || undefined,
      ruleIds: w.ruleIds,
      hits: w.hits.map(wafHitRecord),
    }) + "\n"
  );
}

/** startWafLog writes a WAF log line per exchange with hits to target ("-" is stdout) until stopped. */
export function startWafLog(target: string, now: () => Date = () => new Date()): () => void {
  const out = target === "-" ? process.stdout : createWriteStream(target, { flags: "a" });
  const onEvent = (m: unknown) => {
    const line = formatWafLine(m as HttpResponseEvent, now());
    if (line !== undefined) out.write(line);
  };
  subscribe(CHANNEL, onEvent);
  return () => {
    unsubscribe(CHANNEL, onEvent);
    if (out !== process.stdout) out.end();
  };
}
