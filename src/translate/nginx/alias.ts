// alias.ts: ingress-nginx's server-alias — more host names served by the same rules as the
// Ingress's host (its first rule's host: nginx adds the aliases to that server's server_name, so
// every Ingress's paths on that host answer them). An alias that is some Ingress's own host on
// this VIP is ignored (the host's own rules win, as in ingress-nginx, whatever the ages); two
// Ingresses giving the same alias: the oldest keeps it, like any other route conflict.
import type { Ingress } from "../../k8s/types.ts";
import type { TranslateContext } from "../context.ts";
import type { RouteTable } from "../ingress-routes.ts";
import { keyOf, refOf } from "../status.ts";
import { annotation } from "../context.ts";
import { NGINX_ANN, reportAnnotation } from "./invalid.ts";

/** ANN_SERVER_ALIAS lists more host names ("a.example.com, b.example.com") for the Ingress's host. */
export const ANN_SERVER_ALIAS = `${NGINX_ANN}server-alias`;

// ALIAS_NAME: a DNS name, or a wildcard as the whole first label.
const ALIAS_NAME = /^(\*\.)?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/;

/** addServerAliases adds each alias of members (oldest first) as a host sharing its Ingress's host's routes. */
export function addServerAliases(
  ctx: TranslateContext,
  members: readonly Ingress[],
  table: RouteTable,
): void {
  const ownHosts = new Set(table.hosts.keys());
  const given = new Map<string, string>();
  for (const ing of members) {
    const text = annotation(ing, ANN_SERVER_ALIAS);
    if (text === undefined) continue;
    const first = ing.spec?.rules?.[0]?.host;
    const host = typeof first === "string" && first !== "" ? first.toLowerCase() : undefined;
    const routes = host === undefined ? undefined : table.hosts.get(host);
    if (routes === undefined) {
      reportAnnotation(
        ctx,
        ing,
        `${ANN_SERVER_ALIAS}: the Ingress has no served host in its first rule to alias; ignored`,
      );
      continue;
    }
    const owner = keyOf(refOf(ing));
    for (const raw of text.split(",")) {
      const alias = raw.trim().toLowerCase();
      if (alias === "") continue;
      if (!ALIAS_NAME.test(alias)) {
        reportAnnotation(
          ctx,
          ing,
          `${ANN_SERVER_ALIAS}: ${JSON.stringify(alias)} is not a DNS name; ignored`,
        );
        continue;
      }
      if (ownHosts.has(alias)) {
        reportAnnotation(
          ctx,
          ing,
          `${ANN_SERVER_ALIAS}: ${alias} is the host of an Ingress rule on this address; its own rules win`,
        );
        continue;
      }
      const holder = given.get(alias);
      if (holder !== undefined) {
        reportAnnotation(ctx, ing, `${ANN_SERVER_ALIAS}: ${alias} is already an alias given by ${holder}`);
        continue;
      }
      given.set(alias, owner);
      table.hosts.set(alias, routes);
    }
  }
}
