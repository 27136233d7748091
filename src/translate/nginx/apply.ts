// apply.ts: the one place an Ingress route picks up what its annotations ask for (ingress-nginx's
// and Portico's). Each annotation family is an applier in its own file (rewrite.ts, traffic.ts,
// auth.ts, ...); collectRoutes (ingress-routes.ts) calls applyRouteAnnotations once per route it
// builds, so a family never has to know where routes come from. Appliers run in the order below;
// each returns the route it was given, or a changed copy, and reports problems on the Ingress
// (ctx.status.warn with reason InvalidAnnotation, plus a notice) — never silently.
import type { Ingress } from "../../k8s/types.ts";
import type { Route } from "../../model/ir.ts";
import type { TranslateContext } from "../context.ts";
import { failClosed } from "./never-silent.ts";
import { applyRedirect } from "./redirect.ts";
import { applyRewrite } from "./rewrite.ts";
import { applyUpstream } from "./upstream.ts";
import { applyAffinity } from "./affinity.ts";
import { applyBalance } from "./balance.ts";
import { applyCanaryValue } from "./canary.ts";
import { applyCors } from "./cors.ts";
import { applyLimits } from "./limits.ts";
import { applySourceRange } from "./source-range.ts";
import { applyAuth } from "./auth.ts";
import { applyErrors } from "./errors.ts";

/** RouteSite says which rule and path of the Ingress a route came from ("default" for defaultBackend). */
export interface RouteSite {
  /** host is the rule's host, lower case ("*" when the rule names none). */
  host: string;
  rule: number | "default";
  path: number | "default";
}

/** RouteApplier applies one annotation family to one route of an Ingress. */
export type RouteApplier = (ctx: TranslateContext, ing: Ingress, route: Route, site: RouteSite) => Route;

/** APPLIERS are the annotation families, in the order they apply (append yours; keep one per line). */
const APPLIERS: RouteApplier[] = [
  applySourceRange, // whitelist/allowlist/denylist-source-range → Route.extraAccess
  applyLimits, // limit-connections, limit-rpm, limit-rps, limit-whitelist → Route.extraAccess
  applyRewrite, // rewrite-target, use-regex, x-forwarded-prefix
  applyRedirect, // permanent/temporal-redirect, app-root
  applyUpstream, // backend-protocol, proxy-body-size, proxy-*-timeout, proxy-next-upstream*, upstream-vhost
  applyAuth, // auth-type/secret/realm, auth-url and friends → Route.auth (after upstream: its timeout)
  applyErrors, // custom-http-errors, default-backend → Route.errorPages
  applyCors, // enable-cors, cors-* → a CORS filter
  applyAffinity, // affinity: cookie, session-cookie-* → Route.affinity
  applyBalance, // load-balance, upstream-hash-by → a pool with that algorithm
  applyCanaryValue, // canary values that do not make a canary are reported (canary.ts joins canaries)
  failClosed, // keep last: an unhonoured access annotation closes the route whatever came before
];

/** applyRouteAnnotations runs every annotation family over a route built from ing. */
export function applyRouteAnnotations(
  ctx: TranslateContext,
  ing: Ingress,
  route: Route,
  site: RouteSite,
): Route {
  let out = route;
  for (const apply of APPLIERS) out = apply(ctx, ing, out, site);
  return out;
}
