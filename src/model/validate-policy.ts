// validate-policy.ts: the snapshot checks of a route's WafConfig and AccessConfig and a listener's
// maxConnections (validate.ts calls them). What the engine cannot check here (the CRS directory,
// custom rules against the CRS's ids) it reports when it compiles the program.
import { isIP } from "node:net";
import type { AccessConfig, CookieAffinity, WafConfig } from "./ir.ts";

/** validCidr tells whether s is "address/bits" with bits within the family's width. */
export function validCidr(s: string): boolean {
  const [addr = "", bits, extra] = s.split("/");
  const family = isIP(addr);
  if (family === 0 || bits === undefined || extra !== undefined || !/^\d{1,3}$/.test(bits)) return false;
  return Number(bits) <= (family === 4 ? 32 : 128);
}

/** positiveInt tells whether n is a whole number above zero. */
function positiveInt(n: number): boolean {
  return Number.isInteger(n) && n > 0;
}

/** checkWaf lists the problems of one route's WafConfig. */
export function checkWaf(at: string, w: WafConfig): string[] {
  const p: string[] = [];
  const where = `${at}: waf ${w.policy}`;
  if (typeof w.key !== "string" || w.key === "") p.push(`${where}: key is empty`);
  if (w.mode !== "Detection" && w.mode !== "Enforcement") p.push(`${where}: mode ${JSON.stringify(w.mode)}`);
  if (!(Number.isInteger(w.paranoiaLevel) && w.paranoiaLevel >= 1 && w.paranoiaLevel <= 4))
    p.push(`${where}: paranoiaLevel ${w.paranoiaLevel} is not 1-4`);
  const d = w.detectionParanoiaLevel;
  if (d !== undefined && !(Number.isInteger(d) && d >= w.paranoiaLevel && d <= 4))
    p.push(`${where}: detectionParanoiaLevel ${d} is not from paranoiaLevel to 4`);
  for (const [name, n] of [
    ["inboundAnomalyThreshold", w.inboundAnomalyThreshold],
    ["outboundAnomalyThreshold", w.outboundAnomalyThreshold],
    ["requestBodyLimitBytes", w.requestBodyLimitBytes],
    ["responseBodyLimitBytes", w.responseBodyLimitBytes],
    ["budgetMs", w.budgetMs],
  ] as const)
    if (!positiveInt(n)) p.push(`${where}: ${name} ${n} is not a positive integer`);
  if (w.requestBodyLimitAction !== "Reject" && w.requestBodyLimitAction !== "ProcessPartial")
    p.push(`${where}: requestBodyLimitAction ${JSON.stringify(w.requestBodyLimitAction)}`);
  if (w.failurePolicy !== "FailOpen" && w.failurePolicy !== "FailClosed")
    p.push(`${where}: failurePolicy ${JSON.stringify(w.failurePolicy)}`);
  for (const e of w.exclusions) {
    if ((e.ruleIds ?? []).length === 0 && (e.tags ?? []).length === 0)
      p.push(`${where}: an exclusion names neither rule ids nor tags`);
    for (const r of e.ruleIds ?? [])
      if (!(positiveInt(r.from) && Number.isInteger(r.to) && r.to >= r.from))
        p.push(`${where}: exclusion range ${r.from}-${r.to} is not a rule id range`);
  }
  for (const c of w.allowlist?.clientCidrs ?? [])
    if (!validCidr(c)) p.push(`${where}: allowlist CIDR ${JSON.stringify(c)} is not a CIDR`);
  const names = new Set<string>();
  for (const r of w.customRules ?? []) {
    if (names.has(r.name)) p.push(`${where}: custom rules ${JSON.stringify(r.name)} appear twice`);
    names.add(r.name);
  }
  return p;
}

/** checkAccess lists the problems of one route's AccessConfig. */
export function checkAccess(at: string, a: AccessConfig): string[] {
  const p: string[] = [];
  const where = `${at}: access ${a.policy}`;
  for (const c of [...(a.allow ?? []), ...(a.deny ?? []), ...(a.exempt ?? [])])
    if (!validCidr(c)) p.push(`${where}: ${JSON.stringify(c)} is not a CIDR`);
  if (a.concurrency !== undefined && !positiveInt(a.concurrency))
    p.push(`${where}: concurrency ${a.concurrency} is not a positive integer`);
  const rl = a.rateLimit;
  if (rl) {
    if (!positiveInt(rl.requests) || !positiveInt(rl.periodMs) || !positiveInt(rl.burst))
      p.push(`${where}: rateLimit requests, periodMs and burst must be positive integers`);
    if (rl.key.type === "Header" && !/^[!#$%&'*+.^_`|~0-9a-z-]+$/.test(rl.key.name))
      p.push(`${where}: rateLimit header ${JSON.stringify(rl.key.name)} is not a lower-case header name`);
  }
  return p;
}

/** sameKeyProblems: WafConfigs with one key must be equal (engines compile a key once). */
export function sameKeyProblems(configs: Iterable<WafConfig>): string[] {
  const seen = new Map<string, string>();
  const p: string[] = [];
  for (const w of configs) {
    const json = JSON.stringify(w);
    const before = seen.get(w.key);
    if (before === undefined) seen.set(w.key, json);
    else if (before !== json) p.push(`waf key ${w.key} names two different configurations`);
  }
  return [...new Set(p)];
}

// COOKIE_NAME is an RFC 6265 cookie-name (a token); COOKIE_ATTR a Path/Domain value without ";" or controls.
const COOKIE_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const COOKIE_ATTR = /^[\x21-\x3a\x3c-\x7e]+$/;

/** checkAffinity lists the problems of one route's CookieAffinity. */
export function checkAffinity(at: string, a: CookieAffinity): string[] {
  const p: string[] = [];
  const where = `${at}: affinity`;
  if (!COOKIE_NAME.test(a.cookie)) p.push(`${where}: cookie name ${JSON.stringify(a.cookie)} is not a token`);
  if (!COOKIE_ATTR.test(a.path) || !a.path.startsWith("/"))
    p.push(`${where}: cookie path ${JSON.stringify(a.path)} must start with "/" and hold no ";" or spaces`);
  if (a.domain !== undefined && !COOKIE_ATTR.test(a.domain))
    p.push(`${where}: cookie domain ${JSON.stringify(a.domain)} holds ";", spaces or controls`);
  if (a.sameSite !== undefined && a.sameSite !== "None" && a.sameSite !== "Lax" && a.sameSite !== "Strict")
    p.push(`${where}: SameSite ${JSON.stringify(a.sameSite)} is not None, Lax or Strict`);
  for (const [name, v] of [
    ["maxAgeSeconds", a.maxAgeSeconds],
    ["expiresSeconds", a.expiresSeconds],
  ] as const)
    if (v !== undefined && !(Number.isInteger(v) && v >= 0))
      p.push(`${where}: ${name} ${v} is not a non-negative integer`);
  return p;
}
