// tenant-scope.ts: what a tenant-scoped admin request may see (docs/tenants.md, "Tenant-scoped
// tokens"). A scope is resolved per request from the snapshot now serving, so a namespace moved
// to another tenant, or a virtual service added, shows at the next request without a restart:
//   - namespaced objects: those of the tenant's namespaces (as the translator resolved them);
//   - cluster-scoped: its own Tenant, and the VIP pools, engine groups and DNS zones it may use;
//   - virtual services (analytics, logs): those whose every owning object (the routes of an HTTP
//     virtual host, the SNI routes of a TLS listener, the Service of an L4 listener) is in one of
//     its namespaces. Hostname ownership keeps a virtual host to one tenant, so "every" only
//     hides a shared one (a listener without routes, an IngressClass's listener).
// Anything else answers as if it did not exist (404), so a scoped token cannot probe for names.
import type { Inspection } from "../controller/views.ts";
import type { EngineSnapshot } from "../model/ir.ts";
import { vsKey } from "../analytics/types.ts";
import type { FleetView } from "../controller/fleet/view.ts";

/** TenantScope is what one tenant may see now. */
export interface TenantScope {
  tenant: string;
  /** exists is false when no Tenant of that name is in the configuration (the scope then holds nothing). */
  exists: boolean;
  namespaces: ReadonlySet<string>;
  /** services are the virtual service keys (vsKey) the tenant owns in the serving snapshot. */
  services: ReadonlySet<string>;
  /** addresses are the VIPs of the tenant's listeners in the serving snapshot (a shared pool's announcements are shown for these only). */
  addresses: ReadonlySet<string>;
  /** ownPool tells whether a pool is the tenant's alone (it lists it and no other Tenant does): only then are its used and pending counts the tenant's to see. */
  ownPool(name: string): boolean;
  pool(name: string): boolean;
  group(name: string): boolean;
  zone(name: string): boolean;
}

/** ObjectRef is an object named by a key ("Kind/ns/name", or "Kind/name" when cluster-scoped). */
export interface ObjectRef {
  kind: string;
  namespace: string;
  name: string;
}

/**
 * parseObjectKey reads the object at the start of a key or IR name: "Ingress/ns/web#0.1",
 * "Service/ns/dns:53/UDP", "IngressClass/portico:443"; undefined when it names none.
 */
export function parseObjectKey(key: string): ObjectRef | undefined {
  const m = /^([A-Za-z]+)\/([^/#:\s]+)(?:\/([^/#:\s]+))?/.exec(key);
  if (!m) return undefined;
  return m[3] === undefined
    ? { kind: m[1]!, namespace: "", name: m[2]! }
    : { kind: m[1]!, namespace: m[2]!, name: m[3] };
}

/** serviceOwners maps every virtual service key of a snapshot to the names of the IR parts that own it. */
export function serviceOwners(snap: Pick<EngineSnapshot, "l4" | "http">): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const l of snap.l4) out.set(l.name, [l.name]);
  for (const l of snap.http) {
    const sni = (l.sniRoutes ?? []).map((r) => r.name);
    out.set(l.name, sni.length > 0 ? sni : [l.name]);
    for (const v of l.virtualHosts) {
      const routes = v.routes.map((r) => r.name);
      out.set(vsKey(l.name, v.hostname), routes.length > 0 ? routes : [l.name]);
    }
  }
  return out;
}

/** serviceTenant is the one tenant owning every owner, or "" (no tenant, several, or a cluster-scoped owner). */
export function serviceTenant(owners: readonly string[], tenantOf: (ns: string) => string): string {
  let tenant: string | undefined;
  for (const o of owners) {
    const ref = parseObjectKey(o);
    const t = ref && ref.namespace !== "" ? tenantOf(ref.namespace) : "";
    if (t === "" || (tenant !== undefined && t !== tenant)) return "";
    tenant = t;
  }
  return tenant ?? "";
}

/** tenantScope resolves what tenant may see in the configuration now serving (nothing before one serves). */
export function tenantScope(tenant: string, now: Inspection | undefined): TenantScope {
  const set = now?.set;
  const t = set?.tenants.find((x) => x.metadata.name === tenant);
  const nsMap = now?.out.translate.tenants?.namespaces ?? {};
  const namespaces = new Set(
    t ? Object.entries(nsMap).flatMap(([ns, owner]) => (owner === tenant ? [ns] : [])) : [],
  );
  const services = new Set<string>();
  if (t && now)
    for (const [vs, owners] of serviceOwners(now.out.snapshot))
      if (serviceTenant(owners, (ns) => (namespaces.has(ns) ? tenant : "")) === tenant) services.add(vs);
  const addresses = new Set<string>();
  if (t && now)
    for (const l of [...now.out.snapshot.l4, ...now.out.snapshot.http]) {
      const ns = parseObjectKey(l.name)?.namespace;
      if (ns && namespaces.has(ns)) addresses.add(l.address);
    }
  // A pool some Tenant lists is reserved to those tenants; the others may draw from unlisted ones.
  const reserved = new Set((set?.tenants ?? []).flatMap((x) => x.spec?.vipPools ?? []));
  const listers = (pool: string) => (set?.tenants ?? []).filter((x) => x.spec?.vipPools?.includes(pool));
  const spec = t?.spec;
  const within = (list: readonly string[] | undefined, name: string) =>
    list === undefined || list.includes(name);
  return {
    tenant,
    exists: t !== undefined,
    namespaces,
    services,
    addresses,
    ownPool: (name) => t !== undefined && listers(name).every((x) => x === t) && listers(name).length > 0,
    pool: (name) => t !== undefined && (spec?.vipPools ? spec.vipPools.includes(name) : !reserved.has(name)),
    group: (name) => t !== undefined && within(spec?.engineGroups, name),
    zone: (name) => t !== undefined && within(spec?.dnsZones, name),
  };
}

/** objectVisible says whether an object (namespace "" or absent: cluster-scoped) is in the scope. */
export function objectVisible(
  scope: TenantScope,
  kind: string,
  namespace: string | undefined,
  name: string,
): boolean {
  if (namespace !== undefined && namespace !== "") return scope.namespaces.has(namespace);
  switch (kind) {
    case "Tenant":
      return name === scope.tenant && scope.exists;
    case "VipPool":
      return scope.pool(name);
    case "EngineGroup":
      return scope.group(name);
    case "DnsZone":
      return scope.zone(name);
    default:
      return false;
  }
}

/** keyVisible is objectVisible for a key ("Kind/ns/name"); a key naming no object is not visible. */
export function keyVisible(scope: TenantScope, key: string): boolean {
  const ref = parseObjectKey(key);
  return ref !== undefined && objectVisible(scope, ref.kind, ref.namespace, ref.name);
}

/** Row is a table row of /api/v1/tables (column → cell). */
type Row = Record<string, string>;

/** SHARED_POOL_HIDDEN are the pool columns a tenant does not see of a pool others use too. */
const SHARED_POOL_HIDDEN: Row = {
  "IPV4 USED": "-",
  "IPV4 PENDING": "-",
  "IPV6 USED": "-",
  "IPV6 PENDING": "-",
};

/** scopeRows keeps the rows of table kind the scope may see: namespaced tables by NAMESPACE, cluster ones by NAME. */
export function scopeRows(kind: string, rows: readonly Row[], scope: TenantScope): Row[] {
  if (kind === "pools")
    // A shared pool's used and pending counts are every tenant's: shown only for the tenant's own pools.
    return rows
      .filter((r) => scope.pool(r.NAME ?? ""))
      .map((r) => (scope.ownPool(r.NAME ?? "") ? r : { ...r, ...SHARED_POOL_HIDDEN }));
  return rows.filter((r) => {
    switch (kind) {
      case "pools":
        return scope.pool(r.NAME ?? "");
      case "enginegroups":
        return scope.group(r.NAME ?? "");
      case "tenants":
        return objectVisible(scope, "Tenant", "", r.NAME ?? "");
      case "dns":
        // A shared zone holds other tenants' names: a record row shows only when every object
        // publishing it is the tenant's; the zone's own SOA and NS rows show with the zone.
        if (!scope.zone(r.ZONE ?? "")) return false;
        if (r.TYPE === "SOA" || r.TYPE === "NS") return true;
        return (r.SOURCE ?? "").split(",").every((k) => keyVisible(scope, k.trim()));
      default:
        return r.NAMESPACE !== undefined && scope.namespaces.has(r.NAMESPACE);
    }
  });
}

/**
 * scopeFleet keeps the engines of the groups the tenant may use, each with only the tenant's
 * listeners; announcement reports (every VIP of the engine), load and history (every tenant's
 * traffic) and a nack naming another's listener are left out, and announced VIPs are the
 * tenant's own (of its listeners, in pools it may use).
 */
export function scopeFleet(fleet: FleetView, scope: TenantScope): FleetView {
  const { announcements, ...rest } = fleet;
  const mine = announcements?.filter((a) => scope.pool(a.pool) && scope.addresses.has(a.address));
  return {
    ...rest,
    engines: fleet.engines
      .filter((e) => scope.group(e.identity.group))
      // load and history are the engine's whole traffic, every tenant's: left out.
      .map(({ announce: _announce, lastNack, load: _load, history: _history, ...e }) => ({
        ...e,
        history: [],
        listeners: e.listeners.filter((l) => keyVisible(scope, l.name)),
        ...(lastNack && keyVisible(scope, lastNack.listener ?? "") ? { lastNack } : {}),
      })),
    ...(mine && mine.length > 0 ? { announcements: mine } : {}),
  };
}

/**
 * scopeErrors keeps the input problems and held objects of the tenant's namespaces from an
 * /api/v1/errors document; process-wide entries (a rejected snapshot, notices, unbound listeners
 * of others) are left out — listeners are kept when they are the tenant's.
 */
export function scopeErrors(doc: unknown, scope: TenantScope): Record<string, unknown> {
  const d = (doc ?? {}) as Record<string, unknown>;
  const list = (v: unknown) => (Array.isArray(v) ? (v as Record<string, unknown>[]) : []);
  const out: Record<string, unknown> = {};
  if ("input" in d) out.input = list(d.input).filter((e) => keyVisible(scope, String(e.object ?? "")));
  if ("invalid" in d)
    out.invalid = list(d.invalid).filter((o) =>
      objectVisible(scope, String(o.kind), o.namespace as string | undefined, String(o.name)),
    );
  if ("listeners" in d)
    out.listeners = list(d.listeners).filter((l) => keyVisible(scope, String(l.name ?? "")));
  return out;
}
