// passthrough.ts: ingress-nginx's ssl-passthrough — TLS connections for the Ingress's hosts go to
// the backend untouched, chosen by SNI before any HTTP is read (the HTTPS listener's sniRoutes in
// Passthrough mode, as TLSRoute does). The backend is the one of the host's "/" path (else its
// first path), spoken to as TCP. As in ingress-nginx, the other annotations do not apply to those
// connections (no HTTP is seen); plain HTTP on port 80 is still served by the rules.
import type { Ingress } from "../../k8s/types.ts";
import type { Pool, SniRoute } from "../../model/ir.ts";
import type { TranslateContext } from "../context.ts";
import type { RouteTable } from "../ingress-routes.ts";
import { keyOf, refOf } from "../status.ts";
import { boolAnnotation, NGINX_ANN, reportAnnotation } from "./invalid.ts";

/** ANN_SSL_PASSTHROUGH ("true") passes the Ingress's hosts' TLS connections through to the backend. */
export const ANN_SSL_PASSTHROUGH = `${NGINX_ANN}ssl-passthrough`;

/** passthroughRoutes are the sniRoutes the members' ssl-passthrough asks for (oldest Ingress wins a host). */
export function passthroughRoutes(
  ctx: TranslateContext,
  members: readonly Ingress[],
  table: RouteTable,
): SniRoute[] {
  const out = new Map<string, SniRoute>();
  for (const ing of members) {
    if (boolAnnotation(ctx, ing, ANN_SSL_PASSTHROUGH, false) !== true) continue;
    const owner = keyOf(refOf(ing));
    (ing.spec?.rules ?? []).forEach((rule, i) => {
      const host = typeof rule.host === "string" ? rule.host.toLowerCase() : "";
      if (host === "" || host.startsWith("*.")) {
        reportAnnotation(
          ctx,
          ing,
          `${ANN_SSL_PASSTHROUGH}: rule ${i} names no exact host (SNI needs one); not passed through`,
        );
        return;
      }
      const held = out.get(host);
      if (held !== undefined) {
        reportAnnotation(
          ctx,
          ing,
          `${ANN_SSL_PASSTHROUGH}: ${host} is already passed through by ${held.name.split("#")[0]}`,
        );
        return;
      }
      // Its own routes only: a canary's header routes (named after the canary) sit ahead of them
      // with the same owner, and would send every connection to the canary's Service.
      const mine = (table.hosts.get(host) ?? [])
        .filter((o) => o.owner === ing && o.route.name.startsWith(`${owner}#`))
        .map((o) => o.route);
      const route = mine.find((r) => r.match.path.value === "/") ?? mine[0];
      // A passed-through connection carries no HTTP Portico reads: allow/deny lists, limits, a WAF
      // or authentication on the route could not apply, and passing it through would serve it
      // wider than asked — so it is closed instead (ingress-nginx silently skips them).
      const guarded =
        route !== undefined &&
        (route.access !== undefined || (route.extraAccess?.length ?? 0) > 0 || route.waf !== undefined);
      const closed = guarded
        ? `has access rules (allow/deny lists, limits, WAF or authentication) that cannot apply to TLS passed through; its TLS connections are closed — drop ssl-passthrough or the access rules`
        : route === undefined || route.action.type !== "Forward"
          ? "has no usable backend; its TLS connections are closed"
          : undefined;
      if (closed !== undefined || route === undefined || route.action.type !== "Forward") {
        reportAnnotation(ctx, ing, `${ANN_SSL_PASSTHROUGH}: ${host} ${closed}`);
        out.set(host, {
          name: `${owner}#passthrough.${i}`,
          hostname: host,
          mode: "Passthrough",
          backends: [],
        });
        return;
      }
      const backends = route.action.backends.map((b) => ({ pool: tcpPool(ctx, b.pool), weight: b.weight }));
      out.set(host, { name: `${owner}#passthrough.${i}`, hostname: host, mode: "Passthrough", backends });
    });
  }
  return [...out.values()].sort((a, b) => (a.hostname < b.hostname ? -1 : a.hostname > b.hostname ? 1 : 0));
}

// tcpPool is the TCP pool of the same Service port ("ns/svc:port/TCP", endpoints.ts's L4 name).
function tcpPool(ctx: TranslateContext, name: string): string {
  const base = ctx.pools[name];
  const key = `${name}/TCP`;
  if (base !== undefined && ctx.pools[key] === undefined) {
    const pool: Pool = { name: key, algorithm: base.algorithm, endpoints: base.endpoints, protocol: "tcp" };
    if (base.healthCheck?.type === "TCP") pool.healthCheck = base.healthCheck;
    ctx.pools[key] = pool;
  }
  return key;
}
