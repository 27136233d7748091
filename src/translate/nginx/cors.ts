// cors.ts: ingress-nginx's enable-cors and cors-* annotations as the route's CORS filter (the
// Gateway API CorsPolicy the engine runs, src/engine/l7/cors.ts), with ingress-nginx's defaults —
// which are wider than Gateway API's: any origin, credentials allowed, a 20-day preflight cache.
// Differences, documented in docs/annotations.md: Portico answers a preflight 200 (nginx 204;
// the CORS spec allows either) and only a real preflight (OPTIONS with Origin and
// Access-Control-Request-Method), and it echoes the request's Origin rather than "*" (valid with
// credentials, which "*" is not). A list item Portico cannot read is dropped and reported (a
// narrower policy, never a wider one).
import type { CorsPolicy } from "../../model/ir.ts";
import type { RouteApplier } from "./apply.ts";
import { listOf, nginxAnnotation, reportAnnotation, wholeNumber } from "./traffic-report.ts";

/** CORS_DEFAULTS are ingress-nginx's defaults (docs/user-guide/nginx-configuration/annotations.md). */
export const CORS_DEFAULTS = {
  allowOrigin: "*",
  allowMethods: "GET, PUT, POST, DELETE, PATCH, OPTIONS",
  allowHeaders:
    "DNT,X-CustomHeader,Keep-Alive,User-Agent,X-Requested-With,If-Modified-Since,Cache-Control,Content-Type,Authorization",
  allowCredentials: true,
  maxAgeSeconds: 1_728_000,
} as const;

// ORIGIN is what ingress-nginx accepts: http(s)://host[:port], the host optionally "*.domain".
const ORIGIN = /^https?:\/\/(\*\.)?[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?(:\d{1,5})?$/;
const METHOD = /^[A-Za-z]+$/;
const HEADER = /^[A-Za-z0-9_-]+$/;
const EXPOSE = /^([A-Za-z0-9_-]+|\*)$/;

/** readCors builds the CORS filter of an Ingress's annotations, with the problems found; undefined when off. */
export function readCors(ann: (name: string) => string | undefined): {
  cors?: CorsPolicy;
  problems: string[];
} {
  const problems: string[] = [];
  const enabled = ann("enable-cors");
  if (enabled === undefined || enabled === "false") return { problems };
  if (enabled !== "true") {
    problems.push(`enable-cors: ${JSON.stringify(enabled)} is not "true" or "false"; CORS stays off`);
    return { problems };
  }
  const items = (name: string, fallback: string, ok: RegExp): string[] => {
    const out: string[] = [];
    for (const item of listOf(ann(name) ?? fallback)) {
      if (ok.test(item)) out.push(item);
      else problems.push(`${name}: ${JSON.stringify(item)} is not valid here and is left out`);
    }
    return out;
  };
  const origins = items("cors-allow-origin", CORS_DEFAULTS.allowOrigin, /^\*$|^https?:\/\//).filter((o) => {
    if (o === "*" || ORIGIN.test(o)) return true;
    problems.push(`cors-allow-origin: ${JSON.stringify(o)} is not "*" or http(s)://host[:port]; left out`);
    return false;
  });
  const cors: CorsPolicy = {
    type: "CORS",
    allowOrigins: origins,
    allowMethods: items("cors-allow-methods", CORS_DEFAULTS.allowMethods, METHOD).map((m) => m.toUpperCase()),
    allowHeaders: items("cors-allow-headers", CORS_DEFAULTS.allowHeaders, HEADER),
    allowCredentials: CORS_DEFAULTS.allowCredentials,
    maxAgeSeconds: CORS_DEFAULTS.maxAgeSeconds,
  };
  const expose = items("cors-expose-headers", "", EXPOSE);
  if (expose.length > 0) cors.exposeHeaders = expose;
  const cred = ann("cors-allow-credentials");
  if (cred === "false") cors.allowCredentials = false;
  else if (cred !== undefined && cred !== "true")
    problems.push(`cors-allow-credentials: ${JSON.stringify(cred)} is not "true" or "false"; using true`);
  const age = ann("cors-max-age");
  if (age !== undefined) {
    const n = wholeNumber(age);
    if (n !== undefined) cors.maxAgeSeconds = n;
    else
      problems.push(`cors-max-age: ${JSON.stringify(age)} is not a whole number of seconds; using 1728000`);
  }
  return { cors, problems };
}

/** applyCors adds the CORS filter that enable-cors asks for to the route. */
export const applyCors: RouteApplier = (ctx, ing, route) => {
  const { cors, problems } = readCors((name) => nginxAnnotation(ing, name));
  for (const p of problems) reportAnnotation(ctx, ing, p);
  if (cors === undefined) return route;
  return { ...route, filters: [...(route.filters ?? []), cors] };
};
