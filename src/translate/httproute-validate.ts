// httproute-validate.ts: the checks on HTTPRoute and GRPCRoute rules that the API server's schema
// would make in a cluster but nothing makes for manifests read from files. A value the data plane
// cannot take (a regular expression that does not compile, a path without its leading "/", a
// redirect status or port outside the spec's range) must only drop its rule, reported as
// UnsupportedValue: reaching the engine, it would make the whole snapshot invalid and stop every
// other route's change from being served.
import type { RouteFilter, RouteMatch } from "../model/ir.ts";
import type { RuleProblem } from "./httproute-filters.ts";

const REDIRECT_CODES: readonly number[] = [301, 302, 303, 307, 308];

/** compiles tells whether value compiles the way the engine's router compiles it (anchored). */
function compiles(value: string): boolean {
  try {
    new RegExp(`^(?:${value})$`);
    return true;
  } catch {
    return false;
  }
}

/** unsupported is an UnsupportedValue problem. */
const unsupported = (message: string): RuleProblem => ({ reason: "UnsupportedValue", message });

/** matchProblem returns why an IR match cannot be served, or undefined when it can. */
export function matchProblem(m: RouteMatch): RuleProblem | undefined {
  const { type, value } = m.path;
  if (type === "RegularExpression") {
    if (!compiles(value)) return unsupported(`path regular expression ${JSON.stringify(value)} is invalid`);
  } else if (!value.startsWith("/")) {
    return unsupported(`path ${JSON.stringify(value)} must start with "/"`);
  }
  for (const [what, list] of [
    ["header", m.headers],
    ["query parameter", m.queryParams],
  ] as const) {
    for (const x of list ?? []) {
      if (x.type === "RegularExpression" && !compiles(x.value))
        return unsupported(`${what} ${x.name} regular expression ${JSON.stringify(x.value)} is invalid`);
    }
  }
  return undefined;
}

/** filterProblem returns why an IR filter cannot be served, or undefined when it can. */
export function filterProblem(f: RouteFilter): RuleProblem | undefined {
  if (f.type !== "RequestRedirect") return undefined;
  if (!REDIRECT_CODES.includes(f.statusCode))
    return unsupported(`redirect statusCode ${f.statusCode} is not one of ${REDIRECT_CODES.join(", ")}`);
  if (f.scheme !== undefined && f.scheme !== "http" && f.scheme !== "https")
    return unsupported(`redirect scheme ${JSON.stringify(f.scheme)} is not http or https`);
  if (f.port !== undefined && !(Number.isInteger(f.port) && f.port >= 1 && f.port <= 65535))
    return unsupported(`redirect port ${f.port} is out of range 1-65535`);
  return undefined;
}

/** ruleProblem returns the first problem of a rule's matches and filters, or undefined. */
export function ruleProblem(
  matches: readonly RouteMatch[],
  filters: readonly RouteFilter[],
): RuleProblem | undefined {
  for (const m of matches) {
    const p = matchProblem(m);
    if (p) return p;
  }
  for (const f of filters) {
    const p = filterProblem(f);
    if (p) return p;
  }
  return undefined;
}
