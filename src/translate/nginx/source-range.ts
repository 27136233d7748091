// source-range.ts: ingress-nginx's whitelist-source-range (and its newer name allowlist-source-range)
// and denylist-source-range: comma-separated CIDRs or bare addresses, matched against the client
// address. They become an access config of the route (Route.extraAccess), run after any
// AccessPolicy (Route.access): both must allow, so together they are never wider than either.
// A value Portico cannot read fails closed: the route answers 403 to every client, and the
// Ingress says why — never served to more clients than the annotation asked for.
import { validCidr } from "../../model/validate-policy.ts";
import { keyOf, refOf } from "../status.ts";
import type { RouteApplier } from "./apply.ts";
import { listOf, nginxAnnotation, refuseAll, reportAnnotation, withExtraAccess } from "./traffic-report.ts";

/** cidrList reads a source-range value: CIDRs, or addresses taken as /32 (/128); a string names what is wrong. */
export function cidrList(value: string): string[] | string {
  const out: string[] = [];
  for (const item of listOf(value)) {
    const cidr = item.includes("/") ? item : `${item}/${item.includes(":") ? 128 : 32}`;
    if (!validCidr(cidr)) return `${JSON.stringify(item)} is not a CIDR or an IP address`;
    out.push(cidr);
  }
  return out.length > 0 ? out : "no CIDR given";
}

/** applySourceRange turns the allow/deny source-range annotations into an access config of the route. */
export const applySourceRange: RouteApplier = (ctx, ing, route) => {
  const allowlist = nginxAnnotation(ing, "allowlist-source-range");
  const whitelist = nginxAnnotation(ing, "whitelist-source-range");
  const denylist = nginxAnnotation(ing, "denylist-source-range");
  if (allowlist === undefined && whitelist === undefined && denylist === undefined) return route;
  if (allowlist !== undefined && whitelist !== undefined && allowlist !== whitelist)
    reportAnnotation(
      ctx,
      ing,
      "allowlist-source-range and whitelist-source-range differ; allowlist-source-range (the newer name) is used",
    );
  const allowName = allowlist !== undefined ? "allowlist-source-range" : "whitelist-source-range";
  const allowValue = allowlist ?? whitelist;
  const allow = allowValue === undefined ? undefined : cidrList(allowValue);
  const deny = denylist === undefined ? undefined : cidrList(denylist);
  for (const [name, got] of [
    [allowName, allow],
    ["denylist-source-range", deny],
  ] as const) {
    if (typeof got !== "string") continue;
    reportAnnotation(
      ctx,
      ing,
      `${name}: ${got}; every client of this Ingress is refused (403) until it is fixed`,
    );
    return withExtraAccess(route, refuseAll(ing, `invalid ${name}`));
  }
  return withExtraAccess(route, {
    policy: `${keyOf(refOf(ing))} (source ranges)`,
    ...(allow === undefined ? {} : { allow: allow as string[] }),
    ...(deny === undefined ? {} : { deny: deny as string[] }),
  });
};
