// regex.ts: the route regexes (Gateway API RegularExpression path, header and query matches;
// ingress-nginx use-regex paths and rewrite-target) run on the WAF's linear-time engine
// (src/waf/rx: a lazy DFA, and a Pike VM for captures). The pattern is the user's but the input is
// the client's: on V8's backtracking engine a pattern such as ^/(a+)+$ lets one request of 40
// characters take seconds of the event loop that every connection shares. A pattern rx does not
// run (lookaround, backreferences: they need backtracking) keeps V8's engine, as before.
import { compile, RxSyntaxError } from "../../../waf/rx/index.ts";

/** RouteRegex is a compiled route pattern; linear says it runs on the linear-time engine. */
export interface RouteRegex {
  readonly linear: boolean;
  /** test says whether s contains a match (anchor the pattern to match all of s). */
  test(s: string): boolean;
  /** exec returns the leftmost match's captures ([0] the whole match), or null. */
  exec(s: string): readonly (string | undefined)[] | null;
}

/** routeRegex compiles source with flags ("" or "i"); throws only what V8's RegExp would throw. */
export function routeRegex(source: string, flags: "" | "i" = ""): RouteRegex {
  try {
    const rx = compile(source, flags);
    return { linear: true, test: (s) => rx.test(s), exec: (s) => rx.exec(s)?.captures ?? null };
  } catch (err) {
    if (!(err instanceof RxSyntaxError)) throw err;
    const re = new RegExp(source, flags);
    return { linear: false, test: (s) => re.test(s), exec: (s) => re.exec(s) };
  }
}
