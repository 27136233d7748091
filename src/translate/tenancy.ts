// tenancy.ts: which tenant each namespace belongs to, who owns each domain, and which references
// may cross a tenant boundary — read from the Tenants and Namespaces of one ResourceSet, so a
// namespace relabelled or moved to another Tenant takes effect on the next translation.
import type { ResourceSet } from "../k8s/resource-set.ts";
import type { Tenant } from "../k8s/tenant.ts";
import { matchesSelector } from "../ipam/selector.ts";
import { domainCovers, domainRank, normaliseHost } from "./hostnames.ts";

/** TenantProblem is a condition-worthy problem of one Tenant (contested namespace or domain). */
export interface TenantProblem {
  tenant: string;
  reason: "NamespaceConflict" | "DomainConflict";
  message: string;
}

/** DomainOwner is the tenant owning a hostname, and the domain of its spec that says so. */
export interface DomainOwner {
  tenant: string;
  domain: string;
}

/** olderTenant orders Tenants oldest first (creationTimestamp, then name): the order conflicts are settled in. */
function olderTenant(a: Tenant, b: Tenant): number {
  const ta = a.metadata.creationTimestamp ?? "";
  const tb = b.metadata.creationTimestamp ?? "";
  if (ta !== tb) return ta < tb ? -1 : 1;
  return a.metadata.name < b.metadata.name ? -1 : a.metadata.name > b.metadata.name ? 1 : 0;
}

/** Tenancy answers the tenant questions of one ResourceSet. */
export class Tenancy {
  /** tenants by name, oldest first. */
  readonly tenants: ReadonlyMap<string, Tenant>;
  /** problems are the NamespaceConflict and DomainConflict conditions, per tenant. */
  readonly problems: TenantProblem[] = [];
  readonly #byNs = new Map<string, string>();
  readonly #domains: { tenant: string; domain: string }[] = [];

  /** constructor reads set; before maps namespaces to the tenant that held each last time (an incumbent keeps a contested one). */
  constructor(set: ResourceSet, before: Readonly<Record<string, string>> = {}) {
    const sorted = [...set.tenants].sort(olderTenant);
    this.tenants = new Map(sorted.map((t) => [t.metadata.name, t]));
    const labels = new Map(set.namespaces.map((n) => [n.metadata.name, n.metadata.labels ?? {}]));
    // A namespace named by a Tenant need not exist as an object (files often omit Namespaces).
    const names = new Set([...labels.keys(), ...sorted.flatMap((t) => t.spec?.namespaces ?? [])]);
    for (const ns of [...names].sort()) {
      const claimants = sorted.filter((t) => claims(t, ns, labels.get(ns)));
      if (claimants.length === 0) continue;
      const holder = holderOf(ns, claimants, before[ns]);
      this.#byNs.set(ns, holder.metadata.name);
      if (claimants.length === 1) continue;
      const all = claimants.map((t) => t.metadata.name).join(", ");
      for (const t of claimants)
        this.problems.push({
          tenant: t.metadata.name,
          reason: "NamespaceConflict",
          message: `namespace ${ns} is claimed by tenants ${all}; it stays with ${holder.metadata.name} until the others stop claiming it`,
        });
    }
    for (const t of sorted)
      for (const d of t.spec?.domains ?? []) {
        if (typeof d !== "string") continue;
        const domain = normaliseHost(d);
        const other = this.#domains.find((x) => x.domain === domain && x.tenant !== t.metadata.name);
        if (other) {
          const message = `domain ${domain} is listed by tenants ${other.tenant} and ${t.metadata.name}; it stays with ${other.tenant} (the older)`;
          this.problems.push({ tenant: other.tenant, reason: "DomainConflict", message });
          this.problems.push({ tenant: t.metadata.name, reason: "DomainConflict", message });
          continue;
        }
        this.#domains.push({ tenant: t.metadata.name, domain });
      }
  }

  /** active tells whether any Tenant exists (without one, translation is what it was before tenants). */
  get active(): boolean {
    return this.tenants.size > 0;
  }

  /** tenantOf is the name of the tenant a namespace belongs to, "" for none. */
  tenantOf(ns: string): string {
    return this.#byNs.get(ns) ?? "";
  }

  /** namespaceMap is every namespace of a tenant and its tenant (the next run's "before"). */
  namespaceMap(): Record<string, string> {
    return Object.fromEntries(this.#byNs);
  }

  /** namespacesOf lists the namespaces that belong to a tenant now, sorted. */
  namespacesOf(tenant: string): string[] {
    return [...this.#byNs].filter(([, t]) => t === tenant).map(([ns]) => ns);
  }

  /** spec is a tenant's spec ({} for none or an unknown name). */
  spec(tenant: string): NonNullable<Tenant["spec"]> {
    return this.tenants.get(tenant)?.spec ?? {};
  }

  /** domains lists every tenant domain that stands (contested ones with their older tenant only). */
  domains(): readonly DomainOwner[] {
    return this.#domains;
  }

  /** domainOwner is the tenant whose domains cover a normalised host (the most specific domain wins). */
  domainOwner(host: string): DomainOwner | undefined {
    let best: DomainOwner | undefined;
    for (const d of this.#domains) {
      if (!domainCovers(d.domain, host)) continue;
      if (!best || domainRank(d.domain) > domainRank(best.domain)) best = d;
    }
    return best;
  }

  /**
   * crossAllowed tells whether an object of namespace from may reference a Secret or Service of
   * namespace to (the ReferenceGrant is checked elsewhere): the same tenant (or both none), or the
   * referring tenant lists the other in allowReferencesTo and the other lists it in allowReferencesFrom.
   */
  crossAllowed(from: string, to: string): boolean {
    const a = this.tenantOf(from);
    const b = this.tenantOf(to);
    if (a === b) return true;
    if (a === "" || b === "") return false;
    return (
      (this.spec(a).allowReferencesTo ?? []).includes(b) &&
      (this.spec(b).allowReferencesFrom ?? []).includes(a)
    );
  }
}

/** claims tells whether a Tenant claims a namespace, by name or by label. */
function claims(t: Tenant, ns: string, labels: Readonly<Record<string, string>> | undefined): boolean {
  if ((t.spec?.namespaces ?? []).includes(ns)) return true;
  const sel = t.spec?.namespaceSelector;
  return sel !== undefined && labels !== undefined && matchesSelector(sel, labels);
}

/**
 * holderOf settles a contested namespace without moving what serves: the tenant that held it in
 * the previous translation (heldBy; files carry no status) keeps it, else the tenant whose status
 * already lists it (a restarted controller); when none or several do (a first translation), the
 * oldest Tenant does.
 */
function holderOf(ns: string, claimants: readonly Tenant[], heldBy: string | undefined): Tenant {
  if (claimants.length === 1) return claimants[0]!;
  const last = claimants.find((t) => t.metadata.name === heldBy);
  if (last) return last;
  const before = claimants.filter((t) => (t.status?.namespaces ?? []).includes(ns));
  return before.length === 1 ? before[0]! : claimants[0]!;
}
