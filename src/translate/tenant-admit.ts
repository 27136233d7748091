// tenant-admit.ts: tenants, before the passes run. Every served object is taken oldest first
// (creationTimestamp, then namespace/name): a hostname inside another tenant's domains is refused;
// a hostname no tenant owns is held by the tenant of its oldest claimant, and later claimants of
// another tenant are refused naming the holder; an object that would take its tenant over a quota
// is refused whole, naming the quota and its usage. Older objects keep what they have, so a
// newcomer never takes down what serves. The passes then read a ResourceSet without the refused
// objects (an Ingress loses only the rules of refused hosts), and a ReferenceGrant no longer lists
// namespaces of a tenant its own tenant does not accept references from.
import { DEFAULT_ENGINE_GROUP } from "../k8s/engine-group.ts";
import { allObjects, buildResourceSet, type ResourceSet } from "../k8s/resource-set.ts";
import type { AnyObject, Ingress } from "../k8s/types.ts";
import type { ReferenceGrant } from "../k8s/gateway-api.ts";
import { normaliseHost } from "./hostnames.ts";
import { collectClaims, QUOTAS, type ObjectClaim, type QuotaName } from "./tenant-claims.ts";
import { Tenancy } from "./tenancy.ts";
import type { TenantMemory, TranslateOptions } from "./types.ts";

/** Refusal is why an object (or some of its hostnames) is not served. */
export interface Refusal {
  obj: AnyObject;
  reason: "HostnameOwned" | "HostnameHeld" | "QuotaExceeded" | "EngineGroupNotAllowed";
  message: string;
  /** hosts, when set, are the hostnames refused; the rest of the object is served. */
  hosts?: string[];
}

/** Usage is what a tenant's admitted objects use, per quota. */
export type Usage = Record<QuotaName, number>;

/** Admission is the tenant pre-pass's answer. */
export interface Admission {
  /** set is the ResourceSet the passes read. */
  set: ResourceSet;
  tenancy: Tenancy;
  /** usage per tenant, of admitted objects. */
  usage: Map<string, Usage>;
  refusals: Refusal[];
  /** notices are ReferenceGrant entries not honoured across tenants. */
  notices: string[];
  /** memory is what was admitted, for the next translation (absent without Tenants). */
  memory?: TenantMemory;
}

/** admitTenants runs the tenant rules over a ResourceSet; without Tenants it changes nothing. */
export function admitTenants(set: ResourceSet, opts: TranslateOptions): Admission {
  const before = opts.tenantsBefore;
  const tenancy = new Tenancy(set, before?.namespaces);
  const usage = new Map<string, Usage>();
  if (!tenancy.active) return { set, tenancy, usage, refusals: [], notices: [] };
  for (const t of tenancy.tenants.keys())
    usage.set(t, { vips: 0, listeners: 0, routes: 0, hostnames: 0, backends: 0 });
  const seenHosts = new Map<string, Set<string>>();
  const seenBackends = new Map<string, Set<string>>();
  const holders = new Map<string, { key: string; tenant: string }>();
  const refusals: Refusal[] = [];
  const replaced = new Map<AnyObject, AnyObject | undefined>();
  const admitted: Record<string, string> = {};
  const claims = incumbentsFirst(collectClaims(set, opts), before);
  seedHolders(tenancy, holders, claims, before);
  for (const c of claims) {
    const tenant = tenancy.tenantOf(c.namespace);
    // A VIP owner without a group of its own or of its class runs where its pool says (else on
    // the default engines): it is let through when a pool it may use serves one of the tenant's
    // groups (IPAM then draws only from those, tenant-pools.ts), else refused here — leaving the
    // annotation off is no way around engineGroups.
    const groups = tenancy.spec(tenant).engineGroups;
    const poolGroups = c.group === undefined && c.vips > 0 ? groupsOfPools(set, tenancy, tenant) : [];
    const group =
      c.group ??
      (c.vips > 0 && !poolGroups.some((g) => groups?.includes(g)) ? DEFAULT_ENGINE_GROUP : undefined);
    if (tenant && group !== undefined && groups !== undefined && !groups.includes(group)) {
      const pools = c.group === undefined ? "; no VipPool it may use has an engineGroup among them" : "";
      refusals.push({
        obj: c.obj,
        reason: "EngineGroupNotAllowed",
        message: `EngineGroup ${group} is not among tenant ${tenant}'s engineGroups (${groups.join(", ") || "none"})${pools}`,
      });
      // It may hold names from the previous translation (seedHolders): refused, it serves none.
      release(holders, c, c.hosts);
      replaced.set(c.obj, undefined);
      continue;
    }
    const hostRefusals = refuseHosts(tenancy, holders, c, tenant);
    const refusedHosts = new Set(hostRefusals.map((r) => r.host));
    const kept = c.hosts.filter((h) => !refusedHosts.has(h));
    // Only an Ingress is served in part: its rules are per host. A Route's or a Gateway's
    // hostnames qualify all of it, so serving the rest would change what it means.
    const partial = c.obj.kind === "Ingress" && (kept.length > 0 || hasHostless(c.obj as Ingress));
    if (hostRefusals.length > 0) {
      for (const r of hostRefusals)
        refusals.push({
          obj: c.obj,
          reason: r.reason,
          message: r.message,
          ...(partial ? { hosts: [r.host] } : {}),
        });
      if (!partial) {
        // Refused whole, it serves none of its names: the holds it just took would refuse later
        // claimants for a name nobody serves.
        release(holders, c, c.hosts);
        replaced.set(c.obj, undefined);
        continue;
      }
    }
    const use = tenant ? usage.get(tenant)! : undefined;
    const hosts = seenHosts.get(tenant) ?? new Set<string>();
    const backends = seenBackends.get(tenant) ?? new Set<string>();
    const need: Usage = {
      vips: c.vips,
      listeners: c.listeners,
      routes: hostRefusals.length > 0 ? routesWithout(c.obj as Ingress, refusedHosts) : c.routes,
      hostnames: kept.filter((h) => !hosts.has(h)).length,
      backends: c.backends.filter((b) => !backends.has(b)).length,
    };
    const quotas = tenancy.spec(tenant).quotas ?? {};
    const over = use
      ? QUOTAS.filter((q) => quotas[q] !== undefined && need[q] > 0 && use[q] + need[q] > quotas[q]!)
      : [];
    if (use && over.length > 0) {
      const words = over.map(
        (q) =>
          `quota ${q}: ${use[q] + need[q]} of ${quotas[q]} used (this ${c.obj.kind} needs ${need[q]}, older objects hold ${use[q]})`,
      );
      refusals.push({ obj: c.obj, reason: "QuotaExceeded", message: `tenant ${tenant} ${words.join("; ")}` });
      // Hostnames it would have held are released: a later object of its tenant may take them.
      release(holders, c, kept);
      replaced.set(c.obj, undefined);
      continue;
    }
    if (use) for (const q of QUOTAS) use[q] += need[q];
    for (const h of kept) hosts.add(h);
    for (const b of c.backends) backends.add(b);
    seenHosts.set(tenant, hosts);
    seenBackends.set(tenant, backends);
    if (hostRefusals.length > 0) replaced.set(c.obj, withoutHosts(c.obj as Ingress, refusedHosts));
    admitted[c.key] = fingerprint(c);
  }
  const notices: string[] = [];
  for (const o of set.other)
    if (o.kind === "ReferenceGrant") {
      const trimmed = trimGrant(tenancy, o as unknown as ReferenceGrant, notices);
      if (trimmed) replaced.set(o, trimmed);
    }
  const memory: TenantMemory = {
    admitted,
    holders: Object.fromEntries(
      [...holders].map(([k, h]) => [k, h.key]).sort(([a], [b]) => (a! < b! ? -1 : 1)),
    ),
    namespaces: tenancy.namespaceMap(),
  };
  return { set: rebuild(set, replaced), tenancy, usage, refusals, notices, memory };
}

/**
 * groupsOfPools are the EngineGroups of the VipPools IPAM may draw from for the tenant's owner
 * that names no pool (spec.engineGroup, else "default"): its own vipPools when it lists them, else
 * the pools no Tenant reserves (as restrictTenantPools tells IPAM), and never an autoAssign: false pool.
 */
function groupsOfPools(set: ResourceSet, tenancy: Tenancy, tenant: string): string[] {
  const allowed = tenancy.spec(tenant).vipPools;
  const reserved = new Set([...tenancy.tenants.values()].flatMap((t) => t.spec?.vipPools ?? []));
  return set.vipPools
    .filter((p) => p.spec?.autoAssign !== false)
    .filter((p) => (allowed ? allowed.includes(p.metadata.name) : !reserved.has(p.metadata.name)))
    .map((p) => p.spec?.engineGroup?.trim() || DEFAULT_ENGINE_GROUP);
}

/** fingerprint is what a claim asks (hostnames, quota needs, group): an edit that changes it makes the object a newcomer again. */
export function fingerprint(c: ObjectClaim): string {
  return JSON.stringify([c.hosts, c.vips, c.listeners, c.routes, c.backends, c.group ?? ""]);
}

/**
 * incumbentsFirst orders claims for the quotas: what the previous translation admitted and has not
 * changed since keeps its share, then everything else (new objects, and incumbents whose edit asks
 * for something else), each oldest first. So an older object edited to need more is the one
 * refused, not a newer one that serves; a first run (no memory) is oldest first.
 */
function incumbentsFirst(claims: ObjectClaim[], before: TenantMemory | undefined): ObjectClaim[] {
  if (!before) return claims;
  const kept = (c: ObjectClaim) => before.admitted[c.key] === fingerprint(c);
  return [...claims.filter(kept), ...claims.filter((c) => !kept(c))];
}

/**
 * seedHolders gives each hostname back to the object that held it in the previous translation, when
 * that object still claims it and its tenant may: an older object edited to add a name a newer
 * one serves does not take it (the holder's traffic never fails because of a newcomer).
 */
function seedHolders(
  tenancy: Tenancy,
  holders: Map<string, { key: string; tenant: string }>,
  claims: readonly ObjectClaim[],
  before: TenantMemory | undefined,
): void {
  if (!before) return;
  for (const c of claims) {
    const tenant = tenancy.tenantOf(c.namespace);
    for (const h of c.hosts) {
      const k = holdKey(c, h);
      if (before.holders[k] !== c.key || holders.has(k)) continue;
      const owner = tenancy.domainOwner(h);
      if (owner && owner.tenant !== tenant) continue;
      holders.set(k, { key: c.key, tenant });
    }
  }
}

/**
 * holdKey separates what holds a hostname: a Gateway's (or ListenerSet's) listener hostname holds
 * it against other Gateways and ListenerSets only, and a route or Ingress against other routes and Ingresses — a shared Gateway's
 * listener for shop.example.com must not refuse the tenant's HTTPRoute that attaches to it. A
 * tenant's domains bind both alike.
 */
function holdKey(c: ObjectClaim, host: string): string {
  return c.obj.kind === "Gateway" || c.obj.kind === "ListenerSet" ? `listener ${host}` : `route ${host}`;
}

/** release drops the holds a claim took on hosts (it is refused, so it serves none of them). */
function release(
  holders: Map<string, { key: string; tenant: string }>,
  c: ObjectClaim,
  hosts: readonly string[],
): void {
  for (const h of hosts) if (holders.get(holdKey(c, h))?.key === c.key) holders.delete(holdKey(c, h));
}

/** refuseHosts checks a claim's hostnames against domain owners and earlier holders; it records holds. */
function refuseHosts(
  tenancy: Tenancy,
  holders: Map<string, { key: string; tenant: string }>,
  c: ObjectClaim,
  tenant: string,
): { host: string; reason: Refusal["reason"]; message: string }[] {
  const out: { host: string; reason: Refusal["reason"]; message: string }[] = [];
  const who = tenant ? `tenant ${tenant}` : "no tenant";
  for (const host of c.hosts) {
    const owner = tenancy.domainOwner(host);
    if (owner && owner.tenant !== tenant) {
      out.push({
        host,
        reason: "HostnameOwned",
        message: `hostname ${host} belongs to tenant ${owner.tenant} (spec.domains ${owner.domain}); namespace ${c.namespace} is in ${who}`,
      });
      continue;
    }
    const holder = holders.get(holdKey(c, host));
    if (holder && holder.tenant !== tenant) {
      out.push({
        host,
        reason: "HostnameHeld",
        message: `hostname ${host} is held by ${holder.key} (${holder.tenant ? `tenant ${holder.tenant}` : "no tenant"}, an earlier claim); namespace ${c.namespace} is in ${who}`,
      });
      continue;
    }
    if (!holder) holders.set(holdKey(c, host), { key: c.key, tenant });
  }
  return out;
}

/** hasHostless tells whether an Ingress serves anything without a host (a "*" rule or default backend). */
function hasHostless(ing: Ingress): boolean {
  return ing.spec?.defaultBackend !== undefined || (ing.spec?.rules ?? []).some((r) => !r.host);
}

/** routesWithout counts an Ingress's paths outside the refused hosts. */
function routesWithout(ing: Ingress, refused: ReadonlySet<string>): number {
  let n = ing.spec?.defaultBackend ? 1 : 0;
  for (const r of ing.spec?.rules ?? [])
    if (!r.host || !refused.has(normaliseHost(r.host))) n += (r.http?.paths ?? []).length;
  return n;
}

/** withoutHosts copies an Ingress without the rules and TLS hosts of the refused hostnames. */
function withoutHosts(ing: Ingress, refused: ReadonlySet<string>): AnyObject {
  const keep = (h: unknown) => typeof h !== "string" || !refused.has(normaliseHost(h));
  const spec = { ...ing.spec };
  if (spec.rules) spec.rules = spec.rules.filter((r) => keep(r.host));
  if (spec.tls)
    spec.tls = spec.tls
      .map((t) => ({ ...t, hosts: (t.hosts ?? []).filter(keep) }))
      .filter((t, i) => t.hosts.length > 0 || (ing.spec?.tls?.[i]?.hosts ?? []).length === 0);
  return { ...ing, spec } as unknown as AnyObject;
}

/** trimGrant drops a ReferenceGrant's `from` entries whose tenant may not reference the grant's namespace. */
function trimGrant(tenancy: Tenancy, g: ReferenceGrant, notices: string[]): AnyObject | undefined {
  const ns = g.metadata.namespace ?? "";
  const from = g.spec?.from ?? [];
  const kept = from.filter((f) => tenancy.crossAllowed(f.namespace, ns));
  if (kept.length === from.length) return undefined;
  for (const f of from)
    if (!kept.includes(f)) {
      const a = tenancy.tenantOf(f.namespace) || "no tenant";
      const b = tenancy.tenantOf(ns) || "no tenant";
      notices.push(
        `ReferenceGrant/${ns}/${g.metadata.name}: from namespace ${f.namespace} (${a}) is not honoured: references into ${b} cross a tenant boundary; both Tenants must allow it (allowReferencesTo on ${a}, allowReferencesFrom on ${b})`,
      );
    }
  return { ...g, spec: { ...g.spec, from: kept } } as unknown as AnyObject;
}

/** rebuild makes the ResourceSet the passes read: refused objects out, trimmed ones in their place. */
function rebuild(set: ResourceSet, replaced: ReadonlyMap<AnyObject, AnyObject | undefined>): ResourceSet {
  if (replaced.size === 0) return set;
  const objects: AnyObject[] = [];
  for (const o of allObjects(set)) {
    if (!replaced.has(o)) objects.push(o);
    else if (replaced.get(o)) objects.push(replaced.get(o)!);
  }
  const out = buildResourceSet(objects, set.origins, set.errors);
  return set.notices ? { ...out, notices: set.notices } : out;
}
