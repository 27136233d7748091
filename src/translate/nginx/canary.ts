// canary.ts: ingress-nginx's canary Ingresses. An Ingress annotated `canary: "true"` is not a
// route table entry of its own (so it is no RouteConflict): each of its host + path pairs becomes
// the canary of the route another Ingress already serves for that host and path, as ingress-nginx
// merges a canary into its main Ingress's location. A canary path without such a main route is
// reported and not served. Per main route, ingress-nginx's precedence is kept exactly with routes
// tried in order ahead of the main one (same path, so the router tries them first):
//   canary-by-header H:   H == "always" → canary; H == "never" → main; other values fall through.
//     With canary-by-header-value V: H == V → canary, anything else falls through (no "never").
//     With canary-by-header-pattern P (ignored when a value is set): H matching P anywhere → canary.
//   canary-by-cookie C:   the first cookie named C == "always" → canary; == "never" → main.
//   canary-weight W of canary-weight-total T (default 100): the main route's action becomes a
//     weighted Forward, W/T of the rest to the canary's backend, (T-W)/T to the main one.
// The canary routes copy the main route (its filters, access, affinity...: ingress-nginx ignores a
// canary's other annotations) but use the canary's backend, balanced as the canary's own
// load-balance / upstream-hash-by say (ingress-nginx honours those on a canary).
import type { Ingress } from "../../k8s/types.ts";
import type { RouteAction, RouteMatch, Route } from "../../model/ir.ts";
import type { TranslateContext } from "../context.ts";
import type { OwnedRoute, RouteTable } from "../ingress-routes.ts";
import { keyOf, refOf } from "../status.ts";
import type { RouteApplier } from "./apply.ts";
import { requestedAlgorithm, withAlgorithm } from "./balance.ts";
import { backendProtocol } from "./upstream.ts";
import { NGINX, nginxAnnotation, reportAnnotation, wholeNumber } from "./traffic-report.ts";

type HeaderMatch = NonNullable<RouteMatch["headers"]>[number];

/** isCanary tells whether ing is a canary Ingress (canary: "true"). */
export function isCanary(ing: Ingress): boolean {
  return nginxAnnotation(ing, "canary") === "true";
}

/**
 * applyCanaryValue runs on the routes of Ingresses that are not canaries: a `canary` value other
 * than "true"/"false", or canary-* options without `canary: "true"`, are reported (ingress-nginx
 * ignores the options then too), so a canary that is not one is never silent.
 */
export const applyCanaryValue: RouteApplier = (ctx, ing, route) => {
  const v = nginxAnnotation(ing, "canary");
  if (v !== undefined && v !== "false")
    reportAnnotation(
      ctx,
      ing,
      `canary: ${JSON.stringify(v)} is not "true" or "false"; the Ingress is not a canary`,
    );
  else if (CANARY_OPTIONS.some((n) => nginxAnnotation(ing, n) !== undefined))
    reportAnnotation(ctx, ing, 'canary: the canary-* options do nothing without canary: "true"');
  return route;
};

// CANARY_OWN are the annotations a canary Ingress honours itself (the rest come from its main).
const CANARY_OWN = /^(canary(-.*)?|load-balance|upstream-hash-by(-subset)?)$/;

const CANARY_OPTIONS = [
  "canary-by-header",
  "canary-by-header-value",
  "canary-by-header-pattern",
  "canary-by-cookie",
  "canary-weight",
  "canary-weight-total",
];

/** CanaryRules are a canary Ingress's annotations, read. */
export interface CanaryRules {
  /** header routes in order: a match sends to "canary" or "main". */
  matches: { header: HeaderMatch; to: "canary" | "main" }[];
  weight: number;
  total: number;
  problems: string[];
}

// escapeRe quotes text for use inside a regular expression.
function escapeRe(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/-]/g, "\\$&");
}

/**
 * cookieIs is a Cookie header regex (anchored by the engine) matching when the FIRST cookie named
 * name has value value — nginx's $cookie_<name> reads the first one, and so does Portico's.
 */
export function cookieIs(name: string, value: string): string {
  const n = escapeRe(name);
  return `(?:(?!\\s*${n}=)[^;]*;)*\\s*${n}=${escapeRe(value)}\\s*(?:;.*)?`;
}

/** readCanary reads the canary-* annotations through ann. */
export function readCanary(ann: (name: string) => string | undefined): CanaryRules {
  const problems: string[] = [];
  const matches: CanaryRules["matches"] = [];
  const header = ann("canary-by-header");
  if (header !== undefined) {
    if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(header))
      problems.push(`canary-by-header: ${JSON.stringify(header)} is not a header name; ignored`);
    else {
      const value = ann("canary-by-header-value");
      const pattern = ann("canary-by-header-pattern");
      if (value !== undefined) matches.push({ header: { name: header, type: "Exact", value }, to: "canary" });
      else if (pattern !== undefined) {
        let ok = true;
        try {
          new RegExp(pattern);
        } catch {
          ok = false;
        }
        // As ingress-nginx: a pattern that does not compile matches nothing.
        if (ok)
          matches.push({
            header: { name: header, type: "RegularExpression", value: `.*(?:${pattern}).*` },
            to: "canary",
          });
        else
          problems.push(
            `canary-by-header-pattern: ${JSON.stringify(pattern)} is not a regular expression Portico can run; it matches nothing`,
          );
      } else {
        matches.push({ header: { name: header, type: "Exact", value: "always" }, to: "canary" });
        matches.push({ header: { name: header, type: "Exact", value: "never" }, to: "main" });
      }
    }
  }
  const cookie = ann("canary-by-cookie");
  if (cookie !== undefined) {
    if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(cookie))
      problems.push(`canary-by-cookie: ${JSON.stringify(cookie)} is not a cookie name; ignored`);
    else {
      matches.push({
        header: { name: "cookie", type: "RegularExpression", value: cookieIs(cookie, "always") },
        to: "canary",
      });
      matches.push({
        header: { name: "cookie", type: "RegularExpression", value: cookieIs(cookie, "never") },
        to: "main",
      });
    }
  }
  let total = 100;
  const t = ann("canary-weight-total");
  if (t !== undefined) {
    const n = wholeNumber(t);
    if (n !== undefined && n >= 1) total = n;
    else
      problems.push(
        `canary-weight-total: ${JSON.stringify(t)} is not a whole number of at least 1; using 100`,
      );
  }
  let weight = 0;
  const w = ann("canary-weight");
  if (w !== undefined) {
    const n = wholeNumber(w);
    if (n !== undefined && n <= total) weight = n;
    else
      problems.push(
        `canary-weight: ${JSON.stringify(w)} is not a whole number from 0 to ${total}; no requests go to the canary by weight`,
      );
  }
  return { matches, weight, total, problems };
}

/**
 * specPath is the path a main route was built from, read again from its Ingress's spec (the rule
 * and path are in its name, "Ingress/ns/name#i.j"): another family (rewrite with use-regex) may
 * have changed the route's match since, and ingress-nginx pairs a canary by the written path.
 * Routes that are not a main Ingress path (canary routes, the default backend) give undefined.
 */
function specPath(
  o: OwnedRoute,
  pathOf: (pathType: unknown, path: unknown) => Route["match"]["path"] | string,
): Route["match"]["path"] | undefined {
  const prefix = `${keyOf(refOf(o.owner))}#`;
  if (!o.route.name.startsWith(prefix) || isCanary(o.owner)) return undefined;
  const m = /^(\d+)\.(\d+)$/.exec(o.route.name.slice(prefix.length));
  if (m === null) return undefined;
  const p = o.owner.spec?.rules?.[Number(m[1])]?.http?.paths[Number(m[2])];
  const match = p === undefined ? undefined : pathOf(p.pathType, p.path);
  return typeof match === "object" ? match : undefined;
}

/** CanaryBackend resolves a canary path's backend (ingress-routes.ts backendAction). */
export type CanaryBackend = (ing: Ingress, rule: number, path: number) => RouteAction;

/**
 * attachCanaries adds each canary Ingress's paths to the main routes of table (ingress-routes.ts
 * calls it once the non-canary Ingresses are in). pathOf reads a path as collectRoutes does.
 */
export function attachCanaries(
  ctx: TranslateContext,
  table: RouteTable,
  canaries: readonly Ingress[],
  backend: CanaryBackend,
  pathOf: (pathType: unknown, path: unknown) => Route["match"]["path"] | string,
): void {
  const taken = new Set<OwnedRoute>();
  for (const ing of canaries) {
    const key = keyOf(refOf(ing));
    const rules = readCanary((n) => nginxAnnotation(ing, n));
    for (const p of rules.problems) reportAnnotation(ctx, ing, p);
    if (ing.spec?.defaultBackend)
      reportAnnotation(ctx, ing, "canary: a canary's defaultBackend is not supported; it is not served");
    // A canary takes its main route as it is (access, filters, affinity): its own other
    // annotations do nothing, so they are named — an allow list here must not look applied.
    const ignored = Object.keys(ing.metadata.annotations ?? {})
      .filter((n) => n.startsWith(NGINX) && !CANARY_OWN.test(n.slice(NGINX.length)))
      .map((n) => n.slice(NGINX.length))
      .sort();
    if (ignored.length > 0)
      reportAnnotation(
        ctx,
        ing,
        `canary: ${ignored.join(", ")}: not applied on a canary; its requests get the main Ingress's settings`,
      );
    const algorithm = requestedAlgorithm(ctx, ing);
    (ing.spec?.rules ?? []).forEach((rule, i) => {
      const host = typeof rule.host === "string" ? rule.host.toLowerCase() : "*";
      (rule.http?.paths ?? []).forEach((p, j) => {
        const match = pathOf(p.pathType, p.path);
        if (typeof match === "string") return;
        const list = table.hosts.get(host) ?? [];
        const at = list.findIndex((o) => {
          const src = specPath(o, pathOf);
          return src !== undefined && src.type === match.type && src.value === match.value;
        });
        const where = `canary: rule ${i} path ${j} (host ${host} ${match.type} ${match.value})`;
        if (at < 0) {
          reportAnnotation(
            ctx,
            ing,
            `${where}: no Ingress serves this host and path, so the canary has nothing to join and is not served`,
          );
          return;
        }
        const main = list[at]!;
        if (taken.has(main)) {
          reportAnnotation(
            ctx,
            ing,
            `${where}: the path already has a canary (one per path, as ingress-nginx); this one is not served`,
          );
          return;
        }
        // A main route that answers by itself (failed closed: 403 for an unhonoured access
        // annotation, 500 for a refused rewrite, 503 without a backend) keeps that answer for every
        // request: a canary header or cookie must not open a way past it.
        if (main.route.action.type !== "Forward") {
          reportAnnotation(
            ctx,
            ing,
            `${where}: the main route does not forward (it answers ${main.route.action.status}); the canary is not served`,
          );
          return;
        }
        let canary = backend(ing, i, j);
        if (canary.type !== "Forward") return; // backendAction reported it (ResolvedRefs); main serves all
        taken.add(main);
        // ingress-nginx speaks to a canary in its main location's protocol (GRPC, HTTPS...).
        canary = backendProtocol(ctx, main.owner, { ...main.route, action: canary }).action;
        if (algorithm !== undefined)
          canary = withAlgorithm(ctx, { ...main.route, action: canary }, algorithm).action;
        const extra: OwnedRoute[] = rules.matches.map((m, k) => ({
          owner: main.owner,
          route: {
            ...main.route,
            name: `${key}#${i}.${j}.${k}`,
            match: { ...main.route.match, headers: [...(main.route.match.headers ?? []), m.header] },
            action: m.to === "canary" ? canary : main.route.action,
          },
        }));
        let weighted = main;
        if (rules.weight > 0 && main.route.affinity !== undefined)
          reportAnnotation(
            ctx,
            ing,
            "affinity-canary-behavior: not implemented; with session affinity, the weight split is drawn per request, so a session may move between the main and canary Services",
          );
        if (rules.weight > 0) {
          const mainAction = main.route.action;
          if (mainAction.type !== "Forward" || canary.type !== "Forward")
            reportAnnotation(
              ctx,
              ing,
              `${where}: the main route has no backend to share with the canary; canary-weight is not applied`,
            );
          else {
            const rest = rules.total - rules.weight;
            const action: RouteAction = {
              ...mainAction,
              backends: [
                ...mainAction.backends.map((b) => ({ ...b, weight: b.weight * rest })),
                ...canary.backends.map((b) => ({ ...b, weight: b.weight * rules.weight })),
              ],
            };
            weighted = { owner: main.owner, route: { ...main.route, action } };
          }
        }
        // Same path as the main route: a stable sort (virtualHosts) keeps these ahead of it.
        list.splice(at, 1, ...extra, weighted);
        taken.add(weighted);
      });
    });
  }
}
