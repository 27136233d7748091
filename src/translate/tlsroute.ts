// tlsroute.ts: TLSRoute, TLS connections routed by SNI. On a Passthrough listener the engine relays
// the client's TLS untouched; on a Terminate listener it completes the handshake with the
// listener's certificate and relays the plaintext. Either way backends are TCP pools, and each
// hostname where the route meets the listener becomes one IR SniRoute.
import type { SniRoute } from "../model/ir.ts";
import { routeHosts } from "./gateway-attach.ts";
import { resolveRefs, type BackendEnv, type BackendRefSpec, type RouteRefs } from "./gateway-backends.ts";
import { byAge, keyOfObj, type Listener, type RouteObject } from "./gateway-types.ts";

/** TlsRule is a compiled TLSRoute: its weighted TCP backends. */
export interface TlsRule {
  owner: RouteObject;
  backends: { pool: string; weight: number }[];
}

/** compileTlsRoute resolves a TLSRoute's first rule. */
export function compileTlsRoute(env: BackendEnv, obj: RouteObject, refs: RouteRefs): TlsRule {
  const rules = (obj.spec?.rules ?? []) as { backendRefs?: BackendRefSpec[] }[];
  return { owner: obj, backends: resolveRefs(env, refs, rules[0]?.backendRefs ?? [], "tcp").backends };
}

/**
 * sniRoutesFor lists the SNI routes of TLS listeners on one port. A hostname claimed by an older
 * route stays with it (the spec's tie-break), and names are sorted as virtual hosts are.
 */
export function sniRoutesFor(
  listeners: readonly Listener[],
  compiled: ReadonlyMap<RouteObject, TlsRule>,
): SniRoute[] {
  const out = new Map<string, SniRoute>();
  for (const l of listeners) {
    if (l.protocol !== "TLS") continue;
    const mode = l.spec.tls?.mode === "Passthrough" ? "Passthrough" : "Terminate";
    for (const obj of [...l.attached].sort(byAge)) {
      const c = compiled.get(obj);
      if (!c) continue;
      for (const hostname of routeHosts(l, obj)) {
        if (out.has(hostname)) continue;
        out.set(hostname, { name: `${keyOfObj(obj)}#0`, hostname, mode, backends: c.backends });
      }
    }
  }
  return [...out.values()].sort((a, b) => (a.hostname < b.hostname ? -1 : a.hostname > b.hostname ? 1 : 0));
}
