// apply.ts: the one place an Ingress route picks up what its annotations ask for (ingress-nginx's
// and Portico's). Each annotation family is an applier in its own file (rewrite.ts, traffic.ts,
// auth.ts, ...); collectRoutes (ingress-routes.ts) calls applyRouteAnnotations once per route it
// builds, so a family never has to know where routes come from. Appliers run in the order below;
// each returns the route it was given, or a changed copy, and reports problems on the Ingress
// (ctx.status.warn with reason InvalidAnnotation, plus a notice) — never silently.
import type { Ingress } from "../../k8s/types.ts";
import type { Route } from "../../model/ir.ts";
import type { TranslateContext } from "../context.ts";
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
const APPLIERS: RouteApplier[] = [applyAuth, applyErrors];

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
