// affinity.ts: ingress-nginx's `affinity: cookie` and its session-cookie-* options as the route's
// CookieAffinity (the engine: src/engine/l7/affinity.ts). The first response sets a cookie naming
// (a hash of) the endpoint it came from; later requests carrying it go to that endpoint while it
// is ready and healthy; when it is gone the request is balanced anew and gets a new cookie.
// affinity-mode: "persistent" is what Portico does; "balanced" (ingress-nginx's default, which
// moves some sessions to endpoints added by a scale-up) is read the same way — sessions stay on
// their endpoint while it serves; docs/annotations.md says so. The cookie's Path is
// session-cookie-path, else the rule's path (as ingress-nginx uses the location's path).
import type { CookieAffinity, Route } from "../../model/ir.ts";
import type { RouteApplier } from "./apply.ts";
import { nginxAnnotation, reportAnnotation, wholeNumber } from "./traffic-report.ts";

/** DEFAULT_COOKIE is ingress-nginx's session-cookie-name default. */
export const DEFAULT_COOKIE = "INGRESSCOOKIE";

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const ATTR = /^[\x21-\x3a\x3c-\x7e]+$/;
const SAME_SITE = { none: "None", lax: "Lax", strict: "Strict" } as const;

/** readAffinity reads the affinity annotations for a route matching path; undefined when affinity is off. */
export function readAffinity(
  ann: (name: string) => string | undefined,
  path: Route["match"]["path"],
): { affinity?: CookieAffinity; problems: string[] } {
  const problems: string[] = [];
  const type = ann("affinity");
  if (type === undefined) return { problems };
  if (type !== "cookie") {
    problems.push(`affinity: ${JSON.stringify(type)} is not "cookie" (the only type); no session affinity`);
    return { problems };
  }
  const mode = ann("affinity-mode");
  if (mode !== undefined && mode !== "balanced" && mode !== "persistent")
    problems.push(
      `affinity-mode: ${JSON.stringify(mode)} is not "balanced" or "persistent"; sessions persist`,
    );
  let cookie = ann("session-cookie-name") ?? DEFAULT_COOKIE;
  if (!TOKEN.test(cookie)) {
    problems.push(
      `session-cookie-name: ${JSON.stringify(cookie)} is not a cookie name; using ${DEFAULT_COOKIE}`,
    );
    cookie = DEFAULT_COOKIE;
  }
  const routePath = path.type === "RegularExpression" ? "/" : path.value;
  let cookiePath = ann("session-cookie-path") ?? routePath;
  if (!cookiePath.startsWith("/") || !ATTR.test(cookiePath)) {
    problems.push(`session-cookie-path: ${JSON.stringify(cookiePath)} is not a path; using ${routePath}`);
    cookiePath = routePath;
  }
  const a: CookieAffinity = { cookie, path: cookiePath, changeOnFailure: false };
  const domain = ann("session-cookie-domain");
  if (domain !== undefined) {
    if (ATTR.test(domain)) a.domain = domain;
    else problems.push(`session-cookie-domain: ${JSON.stringify(domain)} is not a domain; left out`);
  }
  for (const [name, field] of [
    ["session-cookie-max-age", "maxAgeSeconds"],
    ["session-cookie-expires", "expiresSeconds"],
  ] as const) {
    const v = ann(name);
    if (v === undefined) continue;
    const n = wholeNumber(v);
    if (n !== undefined) a[field] = n;
    else
      problems.push(
        `${name}: ${JSON.stringify(v)} is not a whole number of seconds; a session cookie is set`,
      );
  }
  const flag = (name: string): boolean | undefined => {
    const v = ann(name);
    if (v === undefined || v === "true" || v === "false") return v === undefined ? undefined : v === "true";
    problems.push(`${name}: ${JSON.stringify(v)} is not "true" or "false"; ignored`);
    return undefined;
  };
  const secure = flag("session-cookie-secure");
  if (secure !== undefined) a.secure = secure;
  a.changeOnFailure = flag("session-cookie-change-on-failure") ?? false;
  const ss = ann("session-cookie-samesite");
  if (ss !== undefined) {
    // Own keys only: "constructor" or "__proto__" must not find Object.prototype's members.
    const k = ss.toLowerCase();
    if (Object.hasOwn(SAME_SITE, k)) a.sameSite = SAME_SITE[k as keyof typeof SAME_SITE];
    else problems.push(`session-cookie-samesite: ${JSON.stringify(ss)} is not None, Lax or Strict; left out`);
  }
  if (flag("session-cookie-conditional-samesite-none") === true)
    problems.push(
      "session-cookie-conditional-samesite-none: not implemented (Portico does not sniff User-Agent); SameSite=None is sent to every browser",
    );
  return { affinity: a, problems };
}

/** applyAffinity gives the route the cookie affinity its Ingress asks for. */
export const applyAffinity: RouteApplier = (ctx, ing, route) => {
  const { affinity, problems } = readAffinity((n) => nginxAnnotation(ing, n), route.match.path);
  for (const p of problems) reportAnnotation(ctx, ing, p);
  return affinity === undefined ? route : { ...route, affinity };
};
