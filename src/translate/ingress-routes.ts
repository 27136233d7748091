// ingress-routes.ts: Ingress rules into routes. All Ingresses on one VIP share one route table, so
// two of them claiming the same host and path is a conflict: the oldest keeps it (creation time,
// then namespace/name), as Contour and ingress-nginx do, and the other is told who holds it.
import type { Ingress } from "../k8s/types.ts";
import type { PathMatch, Route, RouteAction } from "../model/ir.ts";
import type { TranslateContext } from "./context.ts";
import { bodyLimits } from "./body-limits.ts";
import { resolveBackend } from "./endpoints.ts";
import { addServerAliases } from "./nginx/alias.ts";
import { applyRouteAnnotations } from "./nginx/apply.ts";
import { regexHosts, regexPath } from "./nginx/paths.ts";
import { attachCanaries, isCanary } from "./nginx/canary.ts";
import { ACCEPTED, RESOLVED_REFS, keyOf, refOf } from "./status.ts";

/** IngressBackend is networking/v1 IngressBackend. */
type IngressBackend = NonNullable<NonNullable<Ingress["spec"]>["defaultBackend"]>;

/** OwnedRoute is a route and the Ingress it came from. */
export interface OwnedRoute {
  route: Route;
  owner: Ingress;
}

/** RouteTable is the routes of one VIP by hostname, plus the VIP's default backend. */
export interface RouteTable {
  hosts: Map<string, OwnedRoute[]>;
  defaultRoute?: OwnedRoute;
}

/**
 * pathMatch turns an Ingress path into the IR's. ImplementationSpecific is read as Prefix — the
 * reading most controllers give it without regex annotations. Prefix drops a trailing slash,
 * since the Ingress spec says "/foo/" and "/foo" both match "/foo" and "/foo/bar".
 */
export function pathMatch(pathType: unknown, path: unknown): PathMatch | string {
  const value = path ?? "/";
  if (typeof value !== "string") return `path ${JSON.stringify(value)} is not a string`;
  if (!value.startsWith("/")) return `path ${JSON.stringify(value)} does not start with "/"`;
  if (pathType === "Exact") return { type: "Exact", value };
  if (pathType === "Prefix" || pathType === "ImplementationSpecific" || pathType === undefined) {
    const trimmed = value.replace(/\/+$/, "");
    return { type: "Prefix", value: trimmed === "" ? "/" : trimmed };
  }
  return `pathType ${JSON.stringify(pathType)} is not Exact, Prefix or ImplementationSpecific`;
}

/** validHost accepts "*" (no host), DNS names, and a wildcard as the whole first label only. */
export function validHost(host: string): boolean {
  if (host === "*") return true;
  const rest = host.startsWith("*.") ? host.slice(2) : host;
  return /^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/.test(rest);
}

/** backendAction resolves a backend into a Forward, or a 503 plus a ResolvedRefs condition. */
function backendAction(
  ctx: TranslateContext,
  ing: Ingress,
  backend: IngressBackend | undefined,
  where: string,
): RouteAction {
  const ns = ing.metadata.namespace ?? "";
  let message: string;
  let reason: string;
  if (!backend || typeof backend !== "object") {
    reason = "InvalidBackend";
    message = "no backend";
  } else if (backend.service) {
    const port = backend.service.port ?? {};
    const ref: { number?: number; name?: string } = {};
    if (port.number !== undefined) ref.number = port.number;
    if (port.name !== undefined) ref.name = port.name;
    const r = resolveBackend(ctx.services, ctx.slices, {
      namespace: ns,
      service: backend.service.name,
      port: ref,
    });
    if (r.ok) {
      ctx.pools[r.pool.name] = r.pool;
      return { type: "Forward", backends: [{ pool: r.pool.name, weight: 1 }] };
    }
    ({ reason, message } = r);
  } else {
    reason = "UnsupportedBackend";
    message = `resource backends are not supported (${backend.resource?.kind ?? "no service"})`;
  }
  ctx.status.fail(refOf(ing), RESOLVED_REFS, reason, `${where}: ${message} (answering 503)`);
  return { type: "DirectResponse", status: 503, body: "Service Unavailable\n" };
}

/** collectRoutes builds the route table of a VIP from its Ingresses, given oldest first. */
export function collectRoutes(ctx: TranslateContext, members: readonly Ingress[]): RouteTable {
  const table: RouteTable = { hosts: new Map() };
  const claimed = new Map<string, string>();
  // ingress-nginx's regex mode is per host, whichever of the host's Ingresses turned it on — but
  // not a canary: its use-regex and rewrite-target are ignored (it takes its main's location).
  const regex = regexHosts(members.filter((i) => !isCanary(i)));
  // ingress-nginx canary Ingresses claim no path: they join the main routes once those are in.
  for (const ing of members.filter((i) => !isCanary(i))) {
    const ref = refOf(ing);
    const owner = keyOf(ref);
    const body = bodyLimits(ing);
    for (const p of body.problems) {
      // A condition on the Ingress, and a notice: `portico validate` and /api/v1/errors list notices.
      ctx.status.warn(ref, ACCEPTED, "InvalidAnnotation", p);
      ctx.notices.push(`${owner}: ${p}`);
    }
    if (ing.spec?.defaultBackend) {
      if (table.defaultRoute) {
        const holder = keyOf(refOf(table.defaultRoute.owner));
        ctx.status.warn(ref, ACCEPTED, "DefaultBackendConflict", `defaultBackend already set by ${holder}`);
      } else {
        const action = backendAction(ctx, ing, ing.spec.defaultBackend, "defaultBackend");
        const route: Route = {
          name: `${owner}#default`,
          match: { path: { type: "Prefix", value: "/" } },
          action,
          ...body.fields,
        };
        table.defaultRoute = {
          route: applyRouteAnnotations(ctx, ing, route, { host: "*", rule: "default", path: "default" }),
          owner: ing,
        };
      }
    }
    (ing.spec?.rules ?? []).forEach((rule, i) => {
      // A host written as a number in a hand-made file arrives as one; it is refused, not thrown on.
      const raw: unknown = rule.host ?? "*";
      const host = typeof raw === "string" ? raw.toLowerCase() : "";
      if (!validHost(host)) {
        ctx.status.warn(
          ref,
          ACCEPTED,
          "InvalidHost",
          `rule ${i}: host ${JSON.stringify(rule.host)} is not a DNS name or "*.domain"`,
        );
        return;
      }
      (rule.http?.paths ?? []).forEach((p, j) => {
        const match = regex.has(host) ? regexPath(p.path) : pathMatch(p.pathType, p.path);
        if (typeof match === "string") {
          ctx.status.warn(ref, ACCEPTED, "InvalidPath", `rule ${i} path ${j}: ${match}`);
          return;
        }
        const id = `${host} ${match.type} ${match.value}`;
        const holder = claimed.get(id);
        if (holder) {
          ctx.status.warn(
            ref,
            ACCEPTED,
            "RouteConflict",
            `host ${host} ${match.type} ${match.value} is already served by ${holder}`,
          );
          return;
        }
        claimed.set(id, owner);
        const route: Route = {
          name: `${owner}#${i}.${j}`,
          match: { path: match },
          action: backendAction(ctx, ing, p.backend, `rule ${i} path ${j}`),
          ...body.fields,
        };
        const list = table.hosts.get(host) ?? [];
        list.push({ route: applyRouteAnnotations(ctx, ing, route, { host, rule: i, path: j }), owner: ing });
        table.hosts.set(host, list);
      });
    });
  }
  addServerAliases(ctx, members, table);
  const canaryBackend = (ing: Ingress, i: number, j: number) =>
    backendAction(ctx, ing, ing.spec?.rules?.[i]?.http?.paths[j]?.backend, `rule ${i} path ${j}`);
  attachCanaries(ctx, table, members.filter(isCanary), canaryBackend, pathMatch);
  return table;
}

/** compareRoutes puts Exact before Prefix and longer paths first, so the first match is the right one. */
export function compareRoutes(a: Route, b: Route): number {
  const ta = a.match.path.type === "Exact" ? 0 : 1;
  const tb = b.match.path.type === "Exact" ? 0 : 1;
  if (ta !== tb) return ta - tb;
  const la = a.match.path.value.length;
  const lb = b.match.path.value.length;
  if (la !== lb) return lb - la;
  return a.match.path.value < b.match.path.value ? -1 : a.match.path.value > b.match.path.value ? 1 : 0;
}

/** compareHosts orders virtual hosts as the IR asks: exact names, wildcards longest first, then "*". */
export function compareHosts(a: string, b: string): number {
  const rank = (h: string) => (h === "*" ? 2 : h.startsWith("*.") ? 1 : 0);
  if (rank(a) !== rank(b)) return rank(a) - rank(b);
  if (rank(a) === 1 && a.length !== b.length) return b.length - a.length;
  return a < b ? -1 : a > b ? 1 : 0;
}
