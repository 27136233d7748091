// policy-spec.ts: a WafPolicy or AccessPolicy spec checked and turned into what the engine runs
// (IR WafConfig / AccessConfig, HttpListener.maxConnections), defaults filled in. Pure. hold.ts runs
// the same checks, so an invalid edit keeps the last valid version serving; the policy pass
// (policy.ts) refuses a policy that never had one. Custom rules are parsed with the WAF's own
// parser, so a typo is reported as "name:line: rule ID: what", as the engine would report it.
import { createHash } from "node:crypto";
import { BITS, formatIp, parseIp } from "../ipam/address.ts";
import type { AccessPolicy, WafPolicy } from "../k8s/policy.ts";
import type { AccessConfig, PathMatch, RateLimit, WafConfig, WafExclusion } from "../model/ir.ts";
import { parseRules } from "../waf/lang/index.ts";

/** WAF_DEFAULTS are the values of the fields a WafPolicy leaves out (the CRD's defaults too). */
export const WAF_DEFAULTS = {
  mode: "Detection",
  paranoiaLevel: 1,
  inboundAnomalyThreshold: 5,
  outboundAnomalyThreshold: 4,
  requestBodyLimitBytes: 131072,
  requestBodyLimitAction: "Reject",
  inspectResponseBody: false,
  responseBodyLimitBytes: 524288,
  budgetMs: 50,
  failurePolicy: "FailOpen",
} as const;

/**
 * MAX_ANCESTORS is Gateway API's bound on status.ancestors (the CRDs' maxItems there, and on
 * targetRefs): the API server refuses a longer status, so a policy attaches to no more targets.
 */
export const MAX_ANCESTORS = 16;

/** PERIOD_MS maps a rate limit's `per` to milliseconds. */
export const PERIOD_MS = { Second: 1000, Minute: 60_000, Hour: 3_600_000 } as const;

/** PolicyProblem is one thing wrong in a spec; reason is Invalid for every one of them. */
export interface Checked<T> {
  config?: T;
  problems: string[];
}

/** cidr canonicalises "10.0.0.0/8" (host bits kept as written) or a bare address (→ /32, /128). */
export function cidr(text: string): string | undefined {
  const [addr = "", bits, extra] = text.trim().split("/");
  if (extra !== undefined) return undefined;
  const ip = parseIp(addr);
  if (!ip) return undefined;
  const width = BITS[ip.family];
  if (bits === undefined) return `${formatIp(ip)}/${width}`;
  if (!/^\d{1,3}$/.test(bits) || Number(bits) > width) return undefined;
  return `${formatIp(ip)}/${Number(bits)}`;
}

/** cidrs checks a list of CIDRs at `field`, adding a problem per bad entry. */
function cidrs(list: readonly unknown[] | undefined, field: string, problems: string[]): string[] {
  const out: string[] = [];
  for (const [i, v] of (list ?? []).entries()) {
    const c = typeof v === "string" ? cidr(v) : undefined;
    if (c === undefined)
      problems.push(`${field}[${i}]: ${JSON.stringify(v)} is not a CIDR (like 192.0.2.0/24)`);
    else out.push(c);
  }
  return out;
}

/** targetRefsProblems refuses more targetRefs than the CRD allows (a file is not checked by the API server). */
function targetRefsProblems(spec: { targetRefs?: unknown[] }, problems: string[]): void {
  const n = spec.targetRefs?.length ?? 0;
  if (n > MAX_ANCESTORS)
    problems.push(`targetRefs: ${n} targets; at most ${MAX_ANCESTORS} (Gateway API's limit)`);
}

/** int reads an optional integer in [min, max], or the default. */
function int(v: unknown, def: number, min: number, max: number, field: string, problems: string[]): number {
  if (v === undefined) return def;
  if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) {
    problems.push(`${field}: ${JSON.stringify(v)} must be a whole number from ${min} to ${max}`);
    return def;
  }
  return v;
}

/** oneOf reads an optional enum value, or the default. */
function oneOf<T extends string>(
  v: unknown,
  allowed: readonly T[],
  def: T,
  field: string,
  problems: string[],
): T {
  if (v === undefined) return def;
  if (typeof v === "string" && (allowed as readonly string[]).includes(v)) return v as T;
  problems.push(`${field}: ${JSON.stringify(v)} must be one of ${allowed.join(", ")}`);
  return def;
}

/** ruleIdRange reads 942100, "942100" or "942100-942199". */
function ruleIdRange(v: unknown): { from: number; to: number } | undefined {
  const m = /^(\d{1,9})(?:-(\d{1,9}))?$/.exec(
    typeof v === "number" ? String(v) : typeof v === "string" ? v.trim() : "",
  );
  if (!m) return undefined;
  const from = Number(m[1]);
  const to = m[2] === undefined ? from : Number(m[2]);
  return from >= 1 && from <= to ? { from, to } : undefined;
}

/** FILE_READS are directives and operators that would read the controller's files: refused in custom rules. */
const FILE_READS = /^\s*Include\b|@(?:pmFromFile|ipMatchFromFile|pmf|ipmatchf)\b/im;

/** customRuleProblems parses each custom rule text, naming errors "name:line: rule ID: ...". */
function customRuleProblems(rules: readonly { name: string; rules: string }[], problems: string[]): void {
  const names = new Set<string>();
  for (const [i, r] of rules.entries()) {
    const at = `customRules[${i}]`;
    if (typeof r?.name !== "string" || r.name === "" || typeof r.rules !== "string") {
      problems.push(`${at}: needs a name and a rules text`);
      continue;
    }
    if (names.has(r.name)) problems.push(`${at}: name ${JSON.stringify(r.name)} is used twice`);
    names.add(r.name);
    const reads = FILE_READS.exec(r.rules);
    if (reads) {
      const line = r.rules.slice(0, reads.index).split("\n").length;
      problems.push(
        `${r.name}:${line}: ${reads[0].trim()} would read a file of the controller's; write the rules or words inline`,
      );
      continue;
    }
    for (const e of parseRules(r.rules, r.name).errors) problems.push(e.message);
  }
}

/** variableProblem checks one exclusion variable ("ARGS:password") with the SecLang parser. */
function variableProblem(v: string): string | undefined {
  if (/["\s\\]/.test(v) || v === "" || v.startsWith("!"))
    return `${JSON.stringify(v)} is not a variable like ARGS:password`;
  const err = parseRules(`SecRule ${v} "@rx a" "id:1,phase:2,pass"`, "exclusion").errors[0];
  return err === undefined ? undefined : `${JSON.stringify(v)}: ${err.detail}`;
}

/** exclusionsOf checks spec.exclusions. */
function exclusionsOf(spec: WafPolicy["spec"], problems: string[]): WafExclusion[] {
  return (spec.exclusions ?? []).map((e, i) => {
    const at = `exclusions[${i}]`;
    const out: WafExclusion = {};
    const ids = (e?.ruleIds ?? []).map((v) => {
      const r = ruleIdRange(v);
      if (!r)
        problems.push(`${at}.ruleIds: ${JSON.stringify(v)} is not a rule id or a range like 942100-942199`);
      return r;
    });
    const ranges = ids.filter((r) => r !== undefined);
    if (ranges.length > 0) out.ruleIds = ranges;
    const tags = (e?.tags ?? []).filter((t) => {
      const ok = typeof t === "string" && t !== "" && !/["'\n\r\\]/.test(t);
      if (!ok) problems.push(`${at}.tags: ${JSON.stringify(t)} is not a tag`);
      return ok;
    });
    if (tags.length > 0) out.tags = tags;
    if ((e?.ruleIds ?? []).length === 0 && tags.length === 0 && (e?.tags ?? []).length === 0)
      problems.push(`${at}: name ruleIds or tags (an exclusion of nothing would silence nothing)`);
    const vars = (e?.variables ?? []).filter((v) => {
      const p = typeof v === "string" ? variableProblem(v) : `${JSON.stringify(v)} is not a variable`;
      if (p) problems.push(`${at}.variables: ${p}`);
      return p === undefined;
    });
    if (vars.length > 0) out.variables = vars;
    return out;
  });
}

/** pathsOf checks the allowlist's paths (a RegularExpression must compile). */
function pathsOf(spec: WafPolicy["spec"], problems: string[]): PathMatch[] {
  return (spec.allowlist?.paths ?? []).map((p, i) => {
    const at = `allowlist.paths[${i}]`;
    const type = oneOf(
      p?.type,
      ["Exact", "PathPrefix", "RegularExpression"] as const,
      "PathPrefix",
      `${at}.type`,
      problems,
    );
    const value = typeof p?.value === "string" ? p.value : "";
    if (value === "") problems.push(`${at}.value: a path is required`);
    else if (type !== "RegularExpression" && !value.startsWith("/"))
      problems.push(`${at}.value: ${JSON.stringify(value)} must start with "/"`);
    else if (type === "RegularExpression") {
      try {
        new RegExp(value);
      } catch (e) {
        problems.push(`${at}.value: ${(e as Error).message}`);
      }
    }
    return { type: type === "PathPrefix" ? "Prefix" : type, value };
  });
}

/** crsSettingsOf checks crsSettings: names are tx variable names; values go into a setvar, so no quotes. */
function crsSettingsOf(spec: WafPolicy["spec"], problems: string[]): Record<string, string> | undefined {
  const entries = Object.entries(spec.crsSettings ?? {});
  if (entries.length === 0) return undefined;
  const out: Record<string, string> = {};
  for (const [k, v] of entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    if (!/^[a-z][a-z0-9_]*$/i.test(k))
      problems.push(`crsSettings: ${JSON.stringify(k)} is not a tx variable name (like allowed_methods)`);
    else if (typeof v !== "string" || /['"\\\n\r]/.test(v))
      problems.push(
        `crsSettings.${k}: the value must be a string without quotes, backslashes or line breaks`,
      );
    else out[k.toLowerCase()] = v;
  }
  return out;
}

/** hashKey is a stable hash of a config's fields (sorted keys), for WafConfig.key. */
function hashKey(v: unknown): string {
  const canon = (x: unknown): unknown =>
    Array.isArray(x)
      ? x.map(canon)
      : x && typeof x === "object"
        ? Object.fromEntries(
            Object.keys(x)
              .sort()
              .map((k) => [k, canon((x as Record<string, unknown>)[k])]),
          )
        : x;
  return createHash("sha256")
    .update(JSON.stringify(canon(v)))
    .digest("hex")
    .slice(0, 16);
}

/** checkWafPolicy checks a WafPolicy and builds its WafConfig (source names it: "WafPolicy/ns/name"). */
export function checkWafPolicy(p: WafPolicy, source: string): Checked<WafConfig> {
  // Every rebuild checks every policy twice (hold.ts, then the pass), and parsing 500 custom rules
  // takes 20-40 ms: a frozen spec (what sources emit) is checked once. The result is a pure
  // function of the spec, so the memo changes nothing but time.
  const frozen = p.spec !== undefined && Object.isFrozen(p.spec);
  const memo = frozen ? checked.get(p.spec) : undefined;
  if (memo && memo.source === source) return memo.result;
  const result = checkWaf(p, source);
  if (frozen) checked.set(p.spec, { source, result });
  return result;
}

/** checked memoises checkWafPolicy per frozen spec object. */
const checked = new WeakMap<object, { source: string; result: Checked<WafConfig> }>();

/** checkWaf is checkWafPolicy without the memo. */
function checkWaf(p: WafPolicy, source: string): Checked<WafConfig> {
  const spec = p.spec ?? {};
  const problems: string[] = [];
  targetRefsProblems(spec, problems);
  const paranoiaLevel = int(spec.paranoiaLevel, WAF_DEFAULTS.paranoiaLevel, 1, 4, "paranoiaLevel", problems);
  const detection =
    spec.detectionParanoiaLevel === undefined
      ? undefined
      : int(spec.detectionParanoiaLevel, paranoiaLevel, paranoiaLevel, 4, "detectionParanoiaLevel", problems);
  const clientCidrs = cidrs(spec.allowlist?.clientCIDRs, "allowlist.clientCIDRs", problems);
  const paths = pathsOf(spec, problems);
  const crsSettings = crsSettingsOf(spec, problems);
  customRuleProblems(spec.customRules ?? [], problems);
  const body: Omit<WafConfig, "key"> = {
    policy: source,
    mode: oneOf(spec.mode, ["Detection", "Enforcement"] as const, WAF_DEFAULTS.mode, "mode", problems),
    paranoiaLevel,
    ...(detection !== undefined && detection !== paranoiaLevel ? { detectionParanoiaLevel: detection } : {}),
    inboundAnomalyThreshold: int(
      spec.anomalyThreshold?.inbound,
      WAF_DEFAULTS.inboundAnomalyThreshold,
      1,
      10000,
      "anomalyThreshold.inbound",
      problems,
    ),
    outboundAnomalyThreshold: int(
      spec.anomalyThreshold?.outbound,
      WAF_DEFAULTS.outboundAnomalyThreshold,
      1,
      10000,
      "anomalyThreshold.outbound",
      problems,
    ),
    exclusions: exclusionsOf(spec, problems),
    ...(clientCidrs.length + paths.length > 0
      ? { allowlist: { ...(clientCidrs.length ? { clientCidrs } : {}), ...(paths.length ? { paths } : {}) } }
      : {}),
    ...(crsSettings ? { crsSettings } : {}),
    ...((spec.customRules ?? []).length > 0
      ? { customRules: (spec.customRules ?? []).map((r) => ({ name: r.name, text: r.rules })) }
      : {}),
    requestBodyLimitBytes: int(
      spec.requestBody?.limitBytes,
      WAF_DEFAULTS.requestBodyLimitBytes,
      1,
      2 ** 31 - 1,
      "requestBody.limitBytes",
      problems,
    ),
    requestBodyLimitAction: oneOf(
      spec.requestBody?.onLimit,
      ["Reject", "ProcessPartial"] as const,
      WAF_DEFAULTS.requestBodyLimitAction,
      "requestBody.onLimit",
      problems,
    ),
    inspectResponseBody: spec.responseBody?.inspect === true,
    responseBodyLimitBytes: int(
      spec.responseBody?.limitBytes,
      WAF_DEFAULTS.responseBodyLimitBytes,
      1,
      2 ** 31 - 1,
      "responseBody.limitBytes",
      problems,
    ),
    budgetMs: int(
      spec.budget?.milliseconds,
      WAF_DEFAULTS.budgetMs,
      1,
      60000,
      "budget.milliseconds",
      problems,
    ),
    failurePolicy: oneOf(
      spec.budget?.onExceeded,
      ["FailOpen", "FailClosed"] as const,
      WAF_DEFAULTS.failurePolicy,
      "budget.onExceeded",
      problems,
    ),
  };
  if (spec.responseBody?.inspect !== undefined && typeof spec.responseBody.inspect !== "boolean")
    problems.push(`responseBody.inspect: ${JSON.stringify(spec.responseBody.inspect)} must be true or false`);
  if (problems.length > 0) return { problems };
  return { config: { key: hashKey(body), ...body }, problems };
}

/** AccessChecked is an AccessPolicy as the engine runs it: per route, and per listener. */
export interface AccessChecked {
  /** access is the per-route part; absent when the policy only limits connections. */
  access?: AccessConfig;
  maxConnections?: number;
}

/** HEADER_NAME is an HTTP field name (RFC 9110 token). */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9a-z-]+$/i;

/** checkAccessPolicy checks an AccessPolicy (source names it: "AccessPolicy/ns/name"). */
export function checkAccessPolicy(p: AccessPolicy, source: string): Checked<AccessChecked> {
  const spec = p.spec ?? {};
  const problems: string[] = [];
  targetRefsProblems(spec, problems);
  const allow = cidrs(spec.clientAddresses?.allow, "clientAddresses.allow", problems);
  const deny = cidrs(spec.clientAddresses?.deny, "clientAddresses.deny", problems);
  let rateLimit: RateLimit | undefined;
  const rl = spec.rateLimit;
  if (rl !== undefined) {
    const requests = int(rl.requests, 1, 1, 1e9, "rateLimit.requests", problems);
    if (rl.requests === undefined) problems.push("rateLimit.requests: required");
    const per = oneOf(rl.per, ["Second", "Minute", "Hour"] as const, "Second", "rateLimit.per", problems);
    const burst = int(rl.burst, requests, 1, 1e9, "rateLimit.burst", problems);
    const type = oneOf(
      rl.key?.type,
      ["ClientAddress", "Header"] as const,
      "ClientAddress",
      "rateLimit.key.type",
      problems,
    );
    let key: RateLimit["key"] = { type: "ClientAddress" };
    if (type === "Header") {
      const name = rl.key?.name;
      if (typeof name !== "string" || !HEADER_NAME.test(name))
        problems.push(
          `rateLimit.key.name: ${JSON.stringify(name)} is not a header name (a Header key needs one)`,
        );
      else key = { type: "Header", name: name.toLowerCase() };
    }
    rateLimit = { requests, periodMs: PERIOD_MS[per], burst, key };
  }
  let maxConnections: number | undefined;
  if (spec.connectionLimit !== undefined)
    maxConnections = int(
      spec.connectionLimit?.maxConnections,
      1,
      1,
      1e9,
      "connectionLimit.maxConnections",
      problems,
    );
  if (problems.length > 0) return { problems };
  const out: AccessChecked = {};
  if (allow.length + deny.length > 0 || rateLimit) {
    out.access = {
      policy: source,
      ...(allow.length ? { allow } : {}),
      ...(deny.length ? { deny } : {}),
      ...(rateLimit ? { rateLimit } : {}),
    };
  }
  if (maxConnections !== undefined) out.maxConnections = maxConnections;
  return { config: out, problems };
}
