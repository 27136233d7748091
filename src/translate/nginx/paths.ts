// paths.ts: ingress-nginx's regex path mode (docs/user-guide/ingress-path-matching.md). When any
// Ingress of a host sets use-regex "true", or a rewrite-target that differs from one of its
// paths, EVERY path of that host — on every Ingress — becomes a case-insensitive regular
// expression anchored at the start only (nginx's `location ~* "^PATH"`), whatever its pathType.
// The routes are then tried longest path text first (compareRoutes), which is ingress-nginx's
// order too: first match wins, so "/foo/bar/[a-z]{3}" beats "/foo/bar/bar".
import type { Ingress } from "../../k8s/types.ts";
import type { PathMatch } from "../../model/ir.ts";
import { annotation } from "../context.ts";
import { NGINX_ANN } from "./invalid.ts";

/** ANN_USE_REGEX makes the paths of the Ingress's hosts regular expressions. */
export const ANN_USE_REGEX = `${NGINX_ANN}use-regex`;
/** ANN_REWRITE_TARGET replaces the path sent upstream (rewrite.ts); it turns regex mode on too. */
export const ANN_REWRITE_TARGET = `${NGINX_ANN}rewrite-target`;

/** regexHosts are the hosts (lower case, "*" for rules without one) whose paths are regexes. */
export function regexHosts(members: readonly Ingress[]): Set<string> {
  const out = new Set<string>();
  for (const ing of members) {
    const useRegex = annotation(ing, ANN_USE_REGEX) === "true";
    const target = annotation(ing, ANN_REWRITE_TARGET);
    if (!useRegex && target === undefined) continue;
    for (const rule of ing.spec?.rules ?? []) {
      const host = typeof rule.host === "string" && rule.host !== "" ? rule.host.toLowerCase() : "*";
      // ingress-nginx's needsRewrite: a target equal to the path rewrites nothing.
      if (useRegex || (rule.http?.paths ?? []).some((p) => (p.path ?? "/") !== target)) out.add(host);
    }
  }
  return out;
}

/** regexPath is an Ingress path in regex mode, or why it cannot be one. */
export function regexPath(path: unknown): PathMatch | string {
  const value = path ?? "/";
  if (typeof value !== "string") return `path ${JSON.stringify(value)} is not a string`;
  if (!value.startsWith("/")) return `path ${JSON.stringify(value)} does not start with "/"`;
  try {
    new RegExp(value, "i");
  } catch (e) {
    return `path ${JSON.stringify(value)} is not a valid regular expression (${(e as Error).message})`;
  }
  return { type: "RegularExpression", value, ignoreCase: true, startOnly: true };
}
