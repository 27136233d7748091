// redirect.ts: ingress-nginx's permanent-redirect / temporal-redirect (+ their -code annotations)
// and app-root. As ingress-nginx: temporal-redirect wins when both are set; a code outside
// 300–308 (permanent) or 300–307 (temporal) falls back to 301 / 302 — reported here, where
// ingress-nginx only logs it; the Location is the annotation's URL as written (nothing of the
// request is added). app-root answers 302 to the app root for requests of exactly "/" (nginx's
// `if ($uri = /) { return 302 $scheme://$http_host/APP; }`) on every route of the Ingress.
import type { Route, StaticRedirect } from "../../model/ir.ts";
import { annotation } from "../context.ts";
import type { RouteApplier } from "./apply.ts";
import { failClosed, NGINX_ANN, reportAnnotation } from "./invalid.ts";

/** ANN_PERMANENT_REDIRECT answers every request of the Ingress with a 301 to this URL. */
export const ANN_PERMANENT_REDIRECT = `${NGINX_ANN}permanent-redirect`;
/** ANN_PERMANENT_REDIRECT_CODE replaces 301 (300–308). */
export const ANN_PERMANENT_REDIRECT_CODE = `${NGINX_ANN}permanent-redirect-code`;
/** ANN_TEMPORAL_REDIRECT answers every request of the Ingress with a 302 to this URL. */
export const ANN_TEMPORAL_REDIRECT = `${NGINX_ANN}temporal-redirect`;
/** ANN_TEMPORAL_REDIRECT_CODE replaces 302 (300–307). */
export const ANN_TEMPORAL_REDIRECT_CODE = `${NGINX_ANN}temporal-redirect-code`;
/** ANN_APP_ROOT redirects "/" to the application's root path (302). */
export const ANN_APP_ROOT = `${NGINX_ANN}app-root`;

/** redirectUrlProblem says why a redirect URL cannot be used (absolute http(s) URL or a path), or undefined. */
export function redirectUrlProblem(url: string): string | undefined {
  if (/[\s"<>\\]/.test(url)) return "holds spaces, quotes or angle brackets";
  if (url.startsWith("/") && !url.startsWith("//")) return undefined;
  try {
    const u = new URL(url);
    if ((u.protocol === "http:" || u.protocol === "https:") && u.hostname !== "") return undefined;
  } catch {
    // reported below
  }
  return `is not an absolute http(s) URL or a path starting with "/"`;
}

/** redirectCode reads a -code annotation: its value when within [300, max], else the default and a report. */
function redirectCode(text: string | undefined, max: number, fallback: number): [number, string?] {
  if (text === undefined) return [fallback];
  const n = /^\d{3}$/.test(text) ? Number(text) : NaN;
  if (n >= 300 && n <= max) return [n];
  return [fallback, `${JSON.stringify(text)} is not a redirect status from 300 to ${max}; using ${fallback}`];
}

/** applyRedirect is the RouteApplier of permanent-redirect, temporal-redirect and app-root. */
export const applyRedirect: RouteApplier = (ctx, ing, route) => {
  const filters: StaticRedirect[] = [];
  const temporal = annotation(ing, ANN_TEMPORAL_REDIRECT);
  const permanent = annotation(ing, ANN_PERMANENT_REDIRECT);
  const [name, url, codeName, max, fallback] =
    temporal !== undefined
      ? [ANN_TEMPORAL_REDIRECT, temporal, ANN_TEMPORAL_REDIRECT_CODE, 307, 302]
      : [ANN_PERMANENT_REDIRECT, permanent, ANN_PERMANENT_REDIRECT_CODE, 308, 301];
  if (url !== undefined) {
    const bad = redirectUrlProblem(url);
    if (bad !== undefined) {
      // Serving the backend instead would send it the traffic the user redirected away.
      reportAnnotation(ctx, ing, `${name}: ${JSON.stringify(url)} ${bad}; the route answers 500`);
      return { ...route, action: failClosed(500) };
    }
    const [statusCode, problem] = redirectCode(annotation(ing, codeName), max, fallback);
    if (problem !== undefined) reportAnnotation(ctx, ing, `${codeName}: ${problem}`);
    filters.push({ type: "StaticRedirect", statusCode, location: url });
  }
  if (temporal !== undefined && permanent !== undefined)
    reportAnnotation(
      ctx,
      ing,
      `${ANN_PERMANENT_REDIRECT}: ignored, temporal-redirect is set too (it wins, as in ingress-nginx)`,
    );
  const appRoot = annotation(ing, ANN_APP_ROOT);
  if (appRoot !== undefined) {
    if (!appRoot.startsWith("/") || appRoot.startsWith("//") || /[\s"?#\\]/.test(appRoot))
      reportAnnotation(
        ctx,
        ing,
        `${ANN_APP_ROOT}: ${JSON.stringify(appRoot)} is not an absolute path like "/app"; ignored`,
      );
    else if (appRoot !== "/")
      filters.push({ type: "StaticRedirect", statusCode: 302, location: appRoot, onlyPath: "/" });
  }
  if (filters.length === 0) return route;
  // app-root's "/" check goes first: a redirect of everything would otherwise answer "/" too.
  filters.sort((a, b) => (a.onlyPath === undefined ? 1 : 0) - (b.onlyPath === undefined ? 1 : 0));
  return { ...route, filters: [...(route.filters ?? []), ...filters] } satisfies Route;
};
