// ingress.ts: the Ingress pass. Ingresses of one Portico IngressClass share that class's VIP (one
// HTTP listener, and one HTTPS listener when any of them has a usable certificate); an Ingress
// annotated portico.dev/dedicated-vip gets a VIP of its own with the same treatment.
import type { Ingress, IngressClass } from "../k8s/types.ts";
import type { VipRequest } from "../ipam/types.ts";
import { HTTP_DEFAULTS } from "./types.ts";
import type { Route, RouteFilter, VirtualHost } from "../model/ir.ts";
import { annotation, PORTICO_PREFIX, requestOrder, type TranslateContext } from "./context.ts";
import { claimGroup, classGroup } from "./engine-group.ts";
import { classifyIngresses } from "./ingress-class.ts";
import {
  collectRoutes,
  compareHosts,
  compareRoutes,
  type OwnedRoute,
  type RouteTable,
} from "./ingress-routes.ts";
import { collectTls, listenerTls, servedOnHttps, type TlsTable } from "./ingress-tls.ts";
import { readVipAnnotations, warnVipAnnotationsUnused } from "./vip-annotations.ts";
import { boolAnnotation, NGINX_ANN } from "./nginx/invalid.ts";
import { passthroughRoutes } from "./nginx/passthrough.ts";
import { ACCEPTED, RESOLVED_REFS, keyOf, refOf } from "./status.ts";

/** ANN_DEDICATED_VIP gives an Ingress its own VIP instead of its class's shared one. */
export const ANN_DEDICATED_VIP = `${PORTICO_PREFIX}dedicated-vip`;
/** ANN_SSL_REDIRECT redirects HTTP to HTTPS for the Ingress's TLS hosts (308). */
export const ANN_SSL_REDIRECT = `${PORTICO_PREFIX}ssl-redirect`;
/**
 * ANN_NGINX_SSL_REDIRECT is ingress-nginx's spelling, accepted as a migration path. Unlike
 * ingress-nginx, where it defaults to "true" for TLS hosts, absent means no redirect, as for
 * Portico's own (docs/annotations.md says why).
 */
export const ANN_NGINX_SSL_REDIRECT = `${NGINX_ANN}ssl-redirect`;
/** ANN_NGINX_FORCE_SSL_REDIRECT redirects to HTTPS even for hosts without a certificate (TLS ended in front of Portico). */
export const ANN_NGINX_FORCE_SSL_REDIRECT = `${NGINX_ANN}force-ssl-redirect`;

/**
 * LABEL_ACME_SOLVER is the label cert-manager puts on the temporary Ingress of its HTTP-01 solver
 * (value "true"); that Ingress is also served on the dedicated VIPs of the hosts it names.
 */
export const LABEL_ACME_SOLVER = "acme.cert-manager.io/http01-solver";

/** VipGroup is the Ingresses that share one VIP and the object that owns that VIP. */
interface VipGroup {
  key: string;
  namespace: string;
  owner: IngressClass | Ingress;
  /** cls is the members' class, whose spec.parameters may name their EngineGroup. */
  cls: IngressClass;
  members: Ingress[];
}

/** translateIngresses is the pass: routes, TLS, listeners and VIP requests for Portico's Ingresses. */
export function translateIngresses(ctx: TranslateContext): void {
  for (const { cls, ingresses } of classifyIngresses(ctx)) {
    const sorted = [...ingresses].sort(byAge);
    const shared = sorted.filter((i) => annotation(i, ANN_DEDICATED_VIP) !== "true");
    if (shared.length > 0) {
      const key = `IngressClass/${cls.metadata.name}`;
      ctx.vipOf[key] = key;
      translateGroup(ctx, { key, namespace: "", owner: cls, cls, members: shared });
    }
    // cert-manager's solver Ingress carries no Portico annotation, so it lands on the class's
    // shared VIP; the validation request for a host with a dedicated VIP arrives on that VIP, so
    // the solver joins it too (same namespace: cert-manager puts it beside the Certificate).
    const solvers = shared.filter((i) => i.metadata.labels?.[LABEL_ACME_SOLVER] === "true");
    for (const ing of sorted.filter((i) => annotation(i, ANN_DEDICATED_VIP) === "true")) {
      const key = `Ingress/${ing.metadata.namespace ?? ""}/${ing.metadata.name}`;
      const hosts = hostsOf(ing);
      const extra = solvers.filter(
        (s) => s.metadata.namespace === ing.metadata.namespace && [...hostsOf(s)].some((h) => hosts.has(h)),
      );
      translateGroup(ctx, {
        key,
        namespace: ing.metadata.namespace ?? "",
        owner: ing,
        cls,
        members: [ing, ...extra],
      });
    }
  }
}

/** hostsOf is the hosts an Ingress names in its rules and TLS blocks. */
function hostsOf(ing: Ingress): Set<string> {
  const rules = (ing.spec?.rules ?? []).map((r) => r.host);
  const tls = (ing.spec?.tls ?? []).flatMap((t) => t.hosts ?? []);
  return new Set([...rules, ...tls].filter((h): h is string => typeof h === "string" && h !== ""));
}

/** byAge orders Ingresses oldest first, then by namespace/name, the order conflicts are settled in. */
function byAge(a: Ingress, b: Ingress): number {
  const ta = a.metadata.creationTimestamp ?? "";
  const tb = b.metadata.creationTimestamp ?? "";
  if (ta !== tb) return ta < tb ? -1 : 1;
  const ka = `${a.metadata.namespace ?? ""}/${a.metadata.name}`;
  const kb = `${b.metadata.namespace ?? ""}/${b.metadata.name}`;
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}

/** translateGroup builds the listeners and VIP request of one VIP. */
function translateGroup(ctx: TranslateContext, g: VipGroup): void {
  const group = classGroup(g.cls.spec?.parameters);
  for (const ing of g.members) {
    const ref = refOf(ing);
    ctx.status.ok(ref, ACCEPTED, "Accepted");
    ctx.status.ok(ref, RESOLVED_REFS, "ResolvedRefs");
    ctx.vipOf[keyOf(ref)] = g.key;
    boolAnnotation(ctx, ing, ANN_NGINX_SSL_REDIRECT, false);
    boolAnnotation(ctx, ing, ANN_NGINX_FORCE_SSL_REDIRECT, false);
    claimGroup(ctx, ing, g.key, group ? { rule: "IngressClass", group } : undefined);
    // The VIP's owner (the class, or a dedicated Ingress) decides its address, pool and sharing.
    if (ing !== g.owner)
      warnVipAnnotationsUnused(
        ctx,
        ing,
        `this Ingress shares IngressClass ${g.cls.metadata.name}'s VIP: set them on the IngressClass, or add ${ANN_DEDICATED_VIP}: "true"`,
      );
  }
  const tls = collectTls(ctx, g.members);
  const routes = collectRoutes(ctx, g.members);
  const { httpPort, httpsPort } = {
    httpPort: ctx.opts.ingressHttpPort,
    httpsPort: ctx.opts.ingressHttpsPort,
  };
  ctx.http.push({
    name: `${g.key}:${httpPort}`,
    vip: g.key,
    port: httpPort,
    virtualHosts: virtualHosts(routes, (host, r) => redirectFor(ctx, tls, host, r)),
    ...HTTP_DEFAULTS,
  });
  const ports: VipRequest["ports"] = [{ port: httpPort, protocol: "TCP" }];
  const ltls = listenerTls(tls);
  // ingress-nginx's ssl-passthrough: those hosts' TLS goes to the backend by SNI, untouched.
  const sniRoutes = passthroughRoutes(ctx, g.members, routes);
  if (ltls || sniRoutes.length > 0) {
    const passed = new Set(sniRoutes.map((r) => r.hostname));
    const hosts = virtualHosts(routes, () => undefined).filter(
      (vh) => servedOnHttps(tls, vh.hostname) && !passed.has(vh.hostname),
    );
    ctx.http.push({
      name: `${g.key}:${httpsPort}`,
      vip: g.key,
      port: httpsPort,
      ...(ltls ? { tls: ltls } : {}),
      ...(sniRoutes.length > 0 ? { sniRoutes } : {}),
      virtualHosts: hosts,
      ...HTTP_DEFAULTS,
    });
    ports.push({ port: httpsPort, protocol: "TCP" });
  }
  // Portico's VIP annotations or MetalLB's, on the VIP's owner (the class, or a dedicated Ingress).
  const vip = readVipAnnotations(ctx, g.owner);
  const req: VipRequest = {
    key: g.key,
    namespace: g.namespace,
    labels: { ...(g.owner.metadata.labels ?? {}) },
    requested: vip.ips,
    ports,
    families: ["IPv4"],
    familyPolicy: "SingleStack",
    order: requestOrder(g.owner, g.key),
  };
  if (vip.pool) req.pool = vip.pool;
  if (vip.sharing) req.sharingKey = vip.sharing;
  ctx.vipRequests.push(req);
}

/**
 * virtualHosts renders the route table: hosts in IR order, routes Exact first and longest prefix
 * first. The default backend ends every host's list (unless the host has its own "/" prefix),
 * because the Ingress spec sends every request that matches no rule there, not only unknown hosts.
 */
function virtualHosts(
  table: RouteTable,
  filtersFor: (host: string, r: OwnedRoute) => RouteFilter[] | undefined,
): VirtualHost[] {
  const hosts = [...table.hosts.keys()];
  if (table.defaultRoute && !table.hosts.has("*")) hosts.push("*");
  return hosts.sort(compareHosts).map((hostname) => {
    const owned = [...(table.hosts.get(hostname) ?? [])].sort((a, b) => compareRoutes(a.route, b.route));
    const hasRoot = owned.some(
      (o) => o.route.match.path.type === "Prefix" && o.route.match.path.value === "/",
    );
    if (table.defaultRoute && !hasRoot) owned.push(table.defaultRoute);
    const routes: Route[] = owned.map((o) => {
      const filters = filtersFor(hostname, o);
      // The HTTPS redirect goes ahead of the route's own filters (annotation appliers' rewrites).
      return filters ? { ...o.route, filters: [...filters, ...(o.route.filters ?? [])] } : o.route;
    });
    const vh: VirtualHost = { hostname, routes };
    if (hostname.startsWith("*.")) vh.singleLabelWildcard = true;
    return vh;
  });
}

/**
 * redirectFor answers HTTP with a 308 to HTTPS (ingress-nginx's code too) when the route's Ingress
 * asks and the host has a certificate, or always with force-ssl-redirect.
 */
function redirectFor(
  ctx: TranslateContext,
  tls: TlsTable,
  host: string,
  r: OwnedRoute,
): RouteFilter[] | undefined {
  const on = annotation(r.owner, ANN_SSL_REDIRECT) ?? annotation(r.owner, ANN_NGINX_SSL_REDIRECT);
  const force = annotation(r.owner, ANN_NGINX_FORCE_SSL_REDIRECT) === "true";
  if (!force && (on !== "true" || !servedOnHttps(tls, host))) return undefined;
  const filter: RouteFilter = { type: "RequestRedirect", scheme: "https", statusCode: 308 };
  if (ctx.opts.ingressHttpsPort !== 443) filter.port = ctx.opts.ingressHttpsPort;
  return [filter];
}
