// tenant-guard.ts: a wildcard (or a hostless "*" rule) of one tenant never catches the names of
// another tenant's domain. Tenant b's `*.example.com` around tenant a's `*.a.example.com` is let
// through — b owns the rest of example.com, and refusing it would take away every other name —
// but on each listener where b's wildcard serves, a's domain gets a virtual host of its own with no
// routes (404), unless a serves that very name there. The engine picks the most specific virtual
// host (exact, then the longest wildcard), as the Gateway API says listeners and hostnames match,
// so `x.a.example.com` reaches a's virtual host when a serves it, and is answered 404 otherwise —
// never by b's routes. An exact domain of a (`pay.example.com`) inside b's wildcard is guarded the
// same way. A single-label wildcard (an Ingress's) is guarded only against the names it can match.
import type { VirtualHost } from "../model/ir.ts";
import type { TranslateContext } from "./context.ts";
import type { DomainOwner } from "./tenancy.ts";

/** guardTenantDomains is the pass: guard virtual hosts for other tenants' domains inside a tenant's wildcards. */
export function guardTenantDomains(ctx: TranslateContext): void {
  if (!ctx.tenancy.active) return;
  const domains = ctx.tenancy.domains();
  if (domains.length === 0) return;
  for (const l of ctx.http) {
    const have = new Set(l.virtualHosts.map((vh) => vh.hostname));
    const guards: VirtualHost[] = [];
    for (const vh of l.virtualHosts) {
      if (vh.routes.length === 0 || !vh.hostname.startsWith("*")) continue;
      const tenants = new Set(vh.routes.map((r) => ctx.tenancy.tenantOf(namespaceOf(r.name))));
      for (const d of domains) {
        if (tenants.has(d.tenant) || have.has(d.domain) || !catches(vh, d)) continue;
        have.add(d.domain);
        guards.push({ hostname: d.domain, routes: [] });
      }
    }
    if (guards.length > 0) l.virtualHosts.push(...guards);
  }
}

/** catches tells whether a wildcard virtual host would serve names of a domain other than itself. */
export function catches(vh: Pick<VirtualHost, "hostname" | "singleLabelWildcard">, d: DomainOwner): boolean {
  if (vh.hostname === "*") return true;
  if (d.domain === vh.hostname) return false;
  const suffix = vh.hostname.slice(1); // ".example.com"
  if (!d.domain.endsWith(suffix)) return false;
  if (vh.singleLabelWildcard !== true) return true;
  // One label before the suffix: only an exact domain of one label more can be caught.
  const head = d.domain.slice(0, -suffix.length);
  return !head.startsWith("*") && !head.includes(".");
}

/** namespaceOf reads the namespace of a route name ("Ingress/ns/name#0", "HTTPRoute/ns/name:rule#1"). */
export function namespaceOf(routeName: string): string {
  return routeName.split("/")[1] ?? "";
}
