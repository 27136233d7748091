// gateway-backends.ts: a route's backendRefs into weighted pools. A reference must name a core
// Service (InvalidKind otherwise), in the route's namespace or one whose ReferenceGrant allows it
// (RefNotPermitted), that exists with the given port (BackendNotFound). An invalid reference keeps
// its weighted share as an "invalid" backend whose requests get a 500, as the spec requires.
// A BackendTLSPolicy on the Service port gives the pool upstream TLS, under its own pool key.
import type { BackendFilter, ForwardBackend, InvalidBackend, Pool } from "../model/ir.ts";
import type { TranslateContext } from "./context.ts";
import type { BackendTlsIndex } from "./backendtls.ts";
import { buildPool } from "./endpoints.ts";
import type { Problems } from "./gateway-conditions.ts";
import { gatewayFrom, refPermitted, type GrantIndex } from "./referencegrant.ts";

/** BackendRefSpec is the part of a backendRef every route kind shares. */
export interface BackendRefSpec {
  group?: string;
  kind?: string;
  name: string;
  namespace?: string;
  port?: number;
  weight?: number;
}

/** BackendEnv is what backend resolution reads besides the context. */
export interface BackendEnv {
  ctx: TranslateContext;
  grants: GrantIndex;
  backendTls: BackendTlsIndex;
}

/** RouteRefs names the route whose refs are resolved and the Gateways it attached to. */
export interface RouteRefs {
  kind: string;
  namespace: string;
  /** gateways are "ns/name" of the Gateways the route attached to (BackendTLSPolicy ancestors). */
  gateways: readonly string[];
  /** problems collects ResolvedRefs failures for the route's status. */
  problems: Problems;
}

/** PoolProtocol is how a pool speaks to its backends. */
export type PoolProtocol = NonNullable<Pool["protocol"]>;

/** resolveRef turns one backendRef into a pool key, or records why it can't and returns undefined. */
export function resolveRef(
  env: BackendEnv,
  route: RouteRefs,
  ref: BackendRefSpec,
  protocol: PoolProtocol,
): string | undefined {
  const { ctx } = env;
  const group = ref.group ?? "";
  const kind = ref.kind ?? "Service";
  const ns = ref.namespace ?? route.namespace;
  const shown = `${kind} ${ns}/${ref.name}`;
  if (group !== "" || kind !== "Service") {
    route.problems.add(
      "InvalidKind",
      `backendRef ${group ? group + "/" : ""}${kind} ${ref.name}: only core Services are supported`,
    );
    return undefined;
  }
  if (
    !refPermitted(env.grants, gatewayFrom(route.kind, route.namespace), {
      group,
      kind,
      namespace: ns,
      name: ref.name,
    })
  ) {
    route.problems.add("RefNotPermitted", `backendRef ${shown}: no ReferenceGrant in ${ns} allows it`);
    return undefined;
  }
  const svc = ctx.services.get(`${ns}/${ref.name}`);
  if (!svc) {
    route.problems.add("BackendNotFound", `backendRef ${shown} not found`);
    return undefined;
  }
  const wantProto = protocol === "udp" ? "UDP" : "TCP";
  const port = (svc.spec?.ports ?? []).find(
    (p) => p.port === ref.port && (p.protocol ?? "TCP") === wantProto,
  );
  if (ref.port === undefined || !port) {
    route.problems.add(
      "BackendNotFound",
      `backendRef ${shown}: no ${wantProto} port ${ref.port ?? "(none given)"}`,
    );
    return undefined;
  }
  let proto = protocol;
  // GEP-1911: a Service port's appProtocol picks cleartext HTTP/2 for HTTP routes.
  if (proto === "http1" && port.appProtocol === "kubernetes.io/h2c") proto = "h2c";
  const pool = buildPool(ctx.slices, svc, port, proto);
  if (proto === "h2c") pool.name += "#h2c";
  if (proto === "http1" || proto === "h2c") {
    const { winner: use, all } = env.backendTls.forPort(svc, port);
    for (const u of all) for (const gw of route.gateways) u.ancestors.add(gw);
    if (use) {
      // No usable CA: connections must fail (a 5xx). The policy's own status says why; the
      // route's references did resolve, so its ResolvedRefs stays as it is.
      if (!use.tls) return undefined;
      pool.tls = use.tls;
      pool.name += "#tls";
    } else if (port.appProtocol === "kubernetes.io/wss") {
      // GEP-1911: wss is WebSocket over TLS. Without a BackendTLSPolicy there is no CA or name
      // to verify the backend with, and cleartext would break the Service's contract.
      route.problems.add(
        "UnsupportedProtocol",
        `backendRef ${shown}: appProtocol kubernetes.io/wss needs a BackendTLSPolicy for the port`,
      );
      return undefined;
    }
  }
  ctx.pools[pool.name] = pool;
  return pool.name;
}

/** Weighted is a pool key and the share of traffic it carries (with its backendRef's filters). */
export type Weighted = ForwardBackend;

/** refName shows a backendRef as the engine names it in a 500's body ("Service ns/name:80"). */
export function refName(ref: BackendRefSpec, namespace: string): string {
  const kind = ref.group ? `${ref.group}/${ref.kind ?? "Service"}` : (ref.kind ?? "Service");
  return `${kind} ${ref.namespace ?? namespace}/${ref.name}${ref.port !== undefined ? `:${ref.port}` : ""}`;
}

/**
 * resolveRefs resolves a rule's backendRefs; weight 0 refs are resolved (for status) but carry no
 * traffic, and an unresolved ref with weight keeps its share as an invalid backend (answered 500).
 * filtersOf gives the i-th ref's per-backend filters (backend-filters.ts).
 */
export function resolveRefs(
  env: BackendEnv,
  route: RouteRefs,
  refs: readonly BackendRefSpec[],
  protocol: PoolProtocol,
  filtersOf: (i: number) => BackendFilter[] | undefined = () => undefined,
): { backends: Weighted[]; invalid: InvalidBackend[] } {
  const backends: Weighted[] = [];
  const invalid: InvalidBackend[] = [];
  refs.forEach((ref, i) => {
    const pool = resolveRef(env, route, ref, protocol);
    const weight = ref.weight ?? 1;
    if (weight <= 0) return;
    if (pool === undefined) invalid.push({ ref: refName(ref, route.namespace), weight });
    else {
      const filters = filtersOf(i);
      backends.push(filters === undefined ? { pool, weight } : { pool, weight, filters });
    }
  });
  return { backends, invalid };
}
