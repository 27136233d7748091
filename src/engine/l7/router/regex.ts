// regex.ts: the route regexes (Gateway API RegularExpression path, header and query matches;
// ingress-nginx use-regex paths and rewrite-target) run on the WAF's linear-time engine
// (src/waf/rx: a lazy DFA, and a Pike VM for captures). The pattern is the user's but the input is
// the client's: on V8's backtracking engine a pattern such as ^/(a+)+$ lets one request of 40
// characters take seconds of the event loop that every connection shares.
//
// rx speaks RE2/PCRE and matches bytes, the translator validated the pattern as ECMAScript: a
// route keeps V8's meaning. rx runs a pattern only when both engines read it the same way — ASCII,
// none of the syntax one of them reads differently (POSIX classes, \A \z \Q \x{..} \u...., \s, inline
// flags, [^] []) — and matches inputs as bytes (latin1, one char per byte, as the HTTP parsers
// hand them over), where `.` and {n} count characters as V8 does. Anything else — a pattern that
// needs backtracking (lookaround, backreferences), a character above U+00FF — keeps V8's engine.
// Captures inside a repeated group differ (V8 clears them per iteration, RE2 keeps the last), so
// such a pattern's captures (rewrite-target) come from V8, after rx said the path matches.
import { compile, RxSyntaxError, type Regex } from "../../../waf/rx/index.ts";

/** RouteRegex is a compiled route pattern; linear says rx runs it (for inputs up to U+00FF). */
export interface RouteRegex {
  readonly linear: boolean;
  /** test says whether s contains a match (anchor the pattern to match all of s). */
  test(s: string): boolean;
  /** exec returns the leftmost match's captures ([0] the whole match), or null. */
  exec(s: string): readonly (string | undefined)[] | null;
}

// Syntax rx and V8 read differently (or V8 only): keep such patterns on V8.
const READ_DIFFERENTLY = /[^\x20-\x7e]|\[\[:|\[\^?\]|\\[AzZQEeGKRXNhHvVpPuksS]|\\x\{|\(\?[A-Za-z]|\{,/;
// A capturing group followed by a repeat: captures may differ between the engines.
const REPEATED_GROUP = /\)(?:[*+]|\{\d*,?\d*\})/;
// Inputs rx matches as bytes have every character up to U+00FF: none of these.
const ABOVE_BYTE = /[\u0100-\uffff]/;
// Route patterns are small; a DFA cache of 64 KiB each is plenty (the WAF's default is 1 MiB).
const DFA_BUDGET = 64 * 1024;

/** routeRegex compiles source with flags ("" or "i"); throws only what V8's RegExp would throw. */
export function routeRegex(source: string, flags: "" | "i" = ""): RouteRegex {
  const re = new RegExp(source, flags); // V8 validates, and answers what rx does not run
  let rx: Regex | undefined;
  if (!READ_DIFFERENTLY.test(source)) {
    try {
      rx = compile(source, flags, { dfaBudget: DFA_BUDGET });
    } catch (err) {
      if (!(err instanceof RxSyntaxError)) throw err;
    }
  }
  if (rx === undefined) return { linear: false, test: (s) => re.test(s), exec: (s) => re.exec(s) };
  const r = rx;
  const capturesFromV8 = REPEATED_GROUP.test(source);
  return {
    linear: true,
    test: (s) => (ABOVE_BYTE.test(s) ? re.test(s) : r.testBinary(s)),
    exec: (s) => {
      if (ABOVE_BYTE.test(s)) return re.exec(s);
      if (capturesFromV8) return r.testBinary(s) ? re.exec(s) : null;
      return r.execBinary(s)?.captures ?? null;
    },
  };
}
