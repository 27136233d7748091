// rewrite.ts: ingress-nginx's rewrite-target (with use-regex and capture groups) and
// x-forwarded-prefix. As nginx's `rewrite "(?i)PATH" TARGET break;`: the whole path sent upstream
// becomes TARGET, its $1..$9 replaced by the groups of the route's path regex (paths.ts puts the
// host in regex mode), and the query string is kept. ingress-nginx sends X-Forwarded-Prefix only
// on a rewritten route; so does Portico, and says so when the annotation has no rewrite to go with.
import type { Ingress } from "../../k8s/types.ts";
import type { Route } from "../../model/ir.ts";
import { annotation } from "../context.ts";
import type { TranslateContext } from "../context.ts";
import type { RouteApplier } from "./apply.ts";
import { boolAnnotation, failClosed, NGINX_ANN, reportAnnotation } from "./invalid.ts";
import { ANN_REWRITE_TARGET, ANN_USE_REGEX } from "./paths.ts";

/** ANN_X_FORWARDED_PREFIX is the X-Forwarded-Prefix value sent with a rewritten request. */
export const ANN_X_FORWARDED_PREFIX = `${NGINX_ANN}x-forwarded-prefix`;

/** rewriteTargetProblem says why a rewrite-target cannot be used, or undefined. */
export function rewriteTargetProblem(target: string): string | undefined {
  if (!/^[/$]/.test(target)) return `must be a path starting with "/" (or a group like "$1")`;
  if (/[\s?#"]/.test(target) || target.includes("://"))
    return `must be a path without spaces, quotes, "?", "#" or a scheme (redirects are permanent-redirect's job)`;
  return undefined;
}

/** applyRewrite is the RouteApplier of rewrite-target, use-regex and x-forwarded-prefix. */
export const applyRewrite: RouteApplier = (ctx, ing, route) => {
  boolAnnotation(ctx, ing, ANN_USE_REGEX, false);
  const target = annotation(ing, ANN_REWRITE_TARGET);
  const prefix = annotation(ing, ANN_X_FORWARDED_PREFIX);
  const path = route.match.path;
  if (target === undefined || path.type !== "RegularExpression" || path.value === target) {
    if (prefix !== undefined && target === undefined)
      reportAnnotation(
        ctx,
        ing,
        `${ANN_X_FORWARDED_PREFIX}: sent only with rewrite-target, as ingress-nginx does; this Ingress has none`,
        "UnsupportedAnnotation",
      );
    return route;
  }
  const bad = rewriteTargetProblem(target);
  if (bad !== undefined)
    return refuse(ctx, ing, route, `${ANN_REWRITE_TARGET}: ${JSON.stringify(target)} ${bad}`);
  const filters = [...(route.filters ?? [])];
  filters.push({ type: "RegexRewrite", pattern: path.value, ignoreCase: true, replacement: target });
  if (prefix !== undefined) {
    if (/[\r\n\0]/.test(prefix))
      reportAnnotation(ctx, ing, `${ANN_X_FORWARDED_PREFIX}: the value holds a control character; not sent`);
    else
      filters.push({ type: "RequestHeaderModifier", set: [{ name: "X-Forwarded-Prefix", value: prefix }] });
  }
  return { ...route, filters };
};

// refuse: a rewrite that cannot be honoured must not send the unrewritten path to the backend
// (it may reach what the rewrite kept out of reach), so the route answers 500 and says why.
function refuse(ctx: TranslateContext, ing: Ingress, route: Route, message: string): Route {
  reportAnnotation(ctx, ing, `${message}; the route answers 500`);
  return { ...route, action: failClosed(500) };
}
