// check.ts: judges one stage as go-ftw's checkResult does (runner/run.go, check_*.go): an
// expected error decides alone; an unexpected error fails; then status (exact), response_contains
// (a regex on the raw response), then the log: match_regex, every expect_id present, isolated (one
// rule only), no_match_regex, no no_expect_id present.
import type { FtwOutput } from "./corpus.ts";
import type { Exchange } from "./client.ts";
import { logTexts, ruleIds, type AccessLine } from "./log.ts";

/** Verdict is a stage's result: ok, or why not (one line for the report). */
export interface Verdict {
  ok: boolean;
  why: string;
}

/** goRegex compiles a Go RE2 pattern as a JS RegExp ((?i) and friends become flags). */
function goRegex(pattern: string): RegExp {
  const m = /^\(\?([imsU]+)\)/.exec(pattern);
  const flags = m ? [...m[1]!].filter((f) => "ims".includes(f)).join("") : "";
  return new RegExp(m ? pattern.slice(m[0].length) : pattern, flags);
}

/** checkStage returns the verdict for one stage's exchange and log lines (undefined: no markers). */
export function checkStage(out: FtwOutput, ex: Exchange, lines: AccessLine[] | undefined): Verdict {
  if (out.expectError) {
    return ex.error
      ? { ok: true, why: `error as expected (${ex.error})` }
      : { ok: false, why: `expected an error, got status ${ex.status}` };
  }
  if (ex.error) return { ok: false, why: `unexpected error: ${ex.error}` };
  if (out.status && ex.status !== out.status)
    return { ok: false, why: `status ${ex.status}, expected ${out.status}` };
  if (out.responseContains && !goRegex(out.responseContains).test(ex.raw)) {
    return { ok: false, why: `response does not match ${JSON.stringify(out.responseContains)}` };
  }
  const needsLog = out.matchRegex || out.noMatchRegex || out.expectIds.length || out.noExpectIds.length;
  if (!needsLog) return { ok: true, why: "" };
  if (!lines) return { ok: false, why: "marker lines not found in the access log" };
  const found = ruleIds(lines);
  const texts = logTexts(lines);
  if (out.matchRegex) {
    const re = goRegex(out.matchRegex);
    if (!texts.some((t) => re.test(t)))
      return { ok: false, why: `log does not match ${JSON.stringify(out.matchRegex)}` };
  }
  const missed = out.expectIds.filter((id) => !found.includes(id));
  if (missed.length)
    return { ok: false, why: `missing ${missed.join(",")} (logged: ${found.join(",") || "none"})` };
  if (out.isolated && found.length !== 1)
    return { ok: false, why: `isolated, but logged ${found.join(",")}` };
  if (out.noMatchRegex) {
    const re = goRegex(out.noMatchRegex);
    if (texts.some((t) => re.test(t)))
      return { ok: false, why: `log matches ${JSON.stringify(out.noMatchRegex)}` };
  }
  const unwanted = out.noExpectIds.filter((id) => found.includes(id));
  if (unwanted.length)
    return { ok: false, why: `unexpected ${unwanted.join(",")} (logged: ${found.join(",")})` };
  return { ok: true, why: "" };
}
