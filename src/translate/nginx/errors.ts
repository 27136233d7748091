// errors.ts: ingress-nginx's custom-http-errors and default-backend annotations on an Ingress route
// (docs/annotations.md, Error pages). default-backend names a Service of the Ingress's namespace
// (its first TCP port): it serves the route's requests while the route's own Service has no ready
// endpoint (or does not exist), and the pages of custom-http-errors. Without default-backend the
// Ingress's spec.defaultBackend serves the pages; with neither, custom-http-errors is reported and
// not applied (the backend's own answers go through — no access is widened by that).
import type { Ingress } from "../../k8s/types.ts";
import type { ErrorPages, Route } from "../../model/ir.ts";
import { annotation, type TranslateContext } from "../context.ts";
import { resolveBackend } from "../endpoints.ts";
import type { RouteApplier, RouteSite } from "./apply.ts";
import { warnAnnotation } from "./auth.ts";

const N = "nginx.ingress.kubernetes.io/";

/** applyErrors is the RouteApplier of custom-http-errors and default-backend. */
export const applyErrors: RouteApplier = (ctx, ing, route, site) => {
  const codesText = annotation(ing, `${N}custom-http-errors`);
  const backendName = annotation(ing, `${N}default-backend`);
  if (codesText === undefined && backendName === undefined) return route;
  const ns = ing.metadata.namespace ?? "";
  let pool: string | undefined;
  if (backendName !== undefined) {
    pool = poolOf(ctx, ns, backendName, undefined);
    if (pool === undefined)
      warnAnnotation(ctx, ing, `${N}default-backend: Service ${ns}/${backendName} has no TCP port; ignored`);
  } else {
    const d = ing.spec?.defaultBackend?.service;
    if (d !== undefined) pool = poolOf(ctx, ns, d.name, d.port?.number);
  }
  let out = route;
  if (backendName !== undefined && pool !== undefined && unserved(ctx, route)) {
    out = { ...out, action: { type: "Forward", backends: [{ pool, weight: 1 }] } };
  }
  if (codesText === undefined) return out;
  const codes: number[] = [];
  for (const part of codesText.split(",")) {
    const c = Number(part.trim());
    if (Number.isInteger(c) && c >= 300 && c <= 599) codes.push(c);
    else
      warnAnnotation(
        ctx,
        ing,
        `${N}custom-http-errors: ${JSON.stringify(part.trim())} is not an HTTP code 300-599; skipped`,
      );
  }
  if (codes.length === 0) return out;
  if (pool === undefined) {
    warnAnnotation(
      ctx,
      ing,
      `${N}custom-http-errors needs ${N}default-backend or spec.defaultBackend; not applied`,
    );
    return out;
  }
  const svc = serviceOf(ing, site);
  const errorPages: ErrorPages = {
    codes,
    pool,
    namespace: ns,
    ingress: ing.metadata.name,
    service: svc?.name ?? "",
    port: String(svc?.port?.number ?? svc?.port?.name ?? ""),
  };
  return { ...out, errorPages };
};

// poolOf resolves Service ns/name (port number, else its first TCP port) to a pool, added to ctx.
function poolOf(
  ctx: TranslateContext,
  ns: string,
  name: string,
  port: number | undefined,
): string | undefined {
  const svc = ctx.services.get(`${ns}/${name}`);
  const first = svc?.spec?.ports?.find((p) => (p.protocol ?? "TCP") === "TCP")?.port;
  const number = port ?? first;
  if (number === undefined) return undefined;
  const r = resolveBackend(ctx.services, ctx.slices, { namespace: ns, service: name, port: { number } });
  if (!r.ok) return undefined;
  ctx.pools[r.pool.name] = r.pool;
  return r.pool.name;
}

// unserved: the route's own Service is missing (a 503 answer) or has no ready endpoint.
function unserved(ctx: TranslateContext, route: Route): boolean {
  const a = route.action;
  if (a.type === "DirectResponse") return a.status === 503;
  if (a.type !== "Forward") return false;
  return a.backends.every((b) => !(ctx.pools[b.pool]?.endpoints ?? []).some((e) => e.ready));
}

// serviceOf is the Service reference of the rule and path a route came from.
function serviceOf(ing: Ingress, site: RouteSite) {
  if (site.rule === "default") return ing.spec?.defaultBackend?.service;
  const path = site.path === "default" ? undefined : ing.spec?.rules?.[site.rule]?.http?.paths?.[site.path];
  return path?.backend?.service;
}
