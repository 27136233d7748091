// match.ts: compiles the non-path parts of a RouteMatch (method, headers, query) into one predicate,
// and the path part into a test that also reports how much of the path a Prefix match consumed.
import type { PathMatch, RouteMatch } from "../../../model/ir.ts";
import { routeRegex } from "./regex.ts";

/** RequestView is what the router reads from a request; header names are lower-case. */
export interface RequestView {
  method: string;
  /** path is the request-target before "?". */
  path: string;
  /** query is the part after "?" without it ("" when absent). */
  query: string;
  header(name: string): string | undefined;
}

/** PathTest returns the matched prefix length (for ReplacePrefixMatch), or -1 for no match. */
export type PathTest = (path: string) => number;

/** compilePath builds the test for one PathMatch (Gateway API element-wise prefix semantics). */
export function compilePath(m: PathMatch): PathTest {
  if (m.type === "Exact") {
    const v = m.value;
    return (p) => (p === v ? v.length : -1);
  }
  if (m.type === "RegularExpression") {
    const re = routeRegex(
      m.startOnly === true ? `^(?:${m.value})` : `^(?:${m.value})$`,
      m.ignoreCase ? "i" : "",
    );
    return (p) => (re.test(p) ? p.length : -1);
  }
  // A trailing "/" is ignored, so "/foo/" and "/foo" both match "/foo" and "/foo/bar".
  const prefix = m.value.endsWith("/") ? m.value.slice(0, -1) : m.value;
  if (prefix === "") return () => 0;
  const len = prefix.length;
  return (p) => {
    if (!p.startsWith(prefix)) return -1;
    return p.length === len || p.charCodeAt(len) === 47 /* / */ ? len : -1;
  };
}

/** compileConditions builds the predicate for method, header and query matches; undefined when none. */
export function compileConditions(m: RouteMatch): ((r: RequestView) => boolean) | undefined {
  const tests: ((r: RequestView) => boolean)[] = [];
  if (m.method !== undefined) {
    const method = m.method.toUpperCase();
    tests.push((r) => r.method === method);
  }
  for (const h of m.headers ?? []) {
    const name = h.name.toLowerCase();
    const ok = valueTest(h.type, h.value);
    tests.push((r) => {
      const v = r.header(name);
      return v !== undefined && ok(v);
    });
  }
  for (const q of m.queryParams ?? []) {
    const ok = valueTest(q.type, q.value);
    tests.push((r) => {
      const v = queryParam(r.query, q.name);
      return v !== undefined && ok(v);
    });
  }
  if (tests.length === 0) return undefined;
  if (tests.length === 1) return tests[0];
  return (r) => tests.every((t) => t(r));
}

function valueTest(type: "Exact" | "RegularExpression", value: string): (v: string) => boolean {
  if (type === "Exact") return (v) => v === value;
  const re = routeRegex(`^(?:${value})$`);
  return (v) => re.test(v);
}

/** queryParam returns the first value of name in a raw query string (percent-decoded). */
export function queryParam(query: string, name: string): string | undefined {
  if (query === "") return undefined;
  for (const part of query.split("&")) {
    const eq = part.indexOf("=");
    const k = eq === -1 ? part : part.slice(0, eq);
    if (safeDecode(k) === name) return eq === -1 ? "" : safeDecode(part.slice(eq + 1));
  }
  return undefined;
}

function safeDecode(s: string): string {
  if (s.indexOf("%") === -1 && s.indexOf("+") === -1) return s;
  try {
    return decodeURIComponent(s.replace(/\+/g, " "));
  } catch {
    return s;
  }
}
