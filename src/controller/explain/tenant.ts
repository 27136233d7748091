// tenant.ts: Tenants in `portico get tenants` and `portico explain tenant/NAME` — the namespaces a
// tenant holds, its usage against every quota, what it may use, and which objects its rules refused.
import type { ResourceSet } from "../../k8s/resource-set.ts";
import type { Tenant } from "../../k8s/tenant.ts";
import type { ObjectStatus } from "../../translate/types.ts";
import { QUOTAS } from "../../translate/tenant-claims.ts";
import { CONFLICTED } from "../../translate/tenant-status.ts";
import {
  begin,
  conditionsSection,
  notFound,
  statusOf,
  type Explanation,
  type PipelineView,
  type Where,
} from "./common.ts";
import type { Target } from "./target.ts";

/** TENANT_REASONS are the condition reasons the tenant rules give the objects they refuse. */
const TENANT_REASONS = new Set(["HostnameOwned", "HostnameHeld", "QuotaExceeded", "EngineGroupNotAllowed"]);

/** usageOf reads a Tenant's status.usage. */
function usageOf(s: ObjectStatus | undefined): Record<string, number> {
  return (s?.status.usage as Record<string, number> | undefined) ?? {};
}

/** quotaCell is "used/quota", or "used" when the quota is unlimited. */
function quotaCell(t: Tenant, usage: Record<string, number>, q: (typeof QUOTAS)[number]): string {
  const limit = t.spec?.quotas?.[q];
  return limit === undefined ? String(usage[q] ?? 0) : `${usage[q] ?? 0}/${limit}`;
}

/** tenantRows lists every Tenant: namespaces, usage/quota per quota, conflicts (every column). */
export function tenantRows(set: ResourceSet, statuses: readonly ObjectStatus[]): Record<string, string>[] {
  return set.tenants.map((t) => {
    const s = statusOf(statuses, "Tenant", "", t.metadata.name);
    const usage = usageOf(s);
    const conflicted = s?.status.conditions?.find((c) => c.type === CONFLICTED);
    const row: Record<string, string> = {
      NAME: t.metadata.name,
      NAMESPACES: ((s?.status.namespaces as string[] | undefined) ?? []).join(",") || "<none>",
    };
    for (const q of QUOTAS) row[q.toUpperCase()] = quotaCell(t, usage, q);
    row.CONFLICTED = conflicted?.status === "True" ? `True(${conflicted.reason})` : "False";
    row.DOMAINS = (t.spec?.domains ?? []).join(",");
    row.POOLS = t.spec?.vipPools?.join(",") ?? "*";
    row.ZONES = t.spec?.dnsZones?.join(",") ?? "*";
    row["ENGINE GROUPS"] = t.spec?.engineGroups?.join(",") ?? "*";
    return row;
  });
}

/** explainTenant explains Tenant t.name: namespaces, what it may use, usage against quotas, refusals. */
export function explainTenant(set: ResourceSet, out: PipelineView, t: Target, where: Where): Explanation {
  const tenant = set.tenants.find((x) => x.metadata.name === t.name);
  if (!tenant) return notFound(t, where, "tenants");
  const e = begin(set, out, t, `Tenant ${t.name}`);
  const spec = tenant.spec ?? {};
  const namespaces = (e.status?.namespaces as string[] | undefined) ?? [];
  const any = (v: readonly string[] | undefined) => (v === undefined ? "any" : v.join(", ") || "none");
  e.lines.push(
    `  namespaces: ${namespaces.join(", ") || "none"}${spec.namespaceSelector ? ` (also by label: ${JSON.stringify(spec.namespaceSelector)})` : ""}`,
    `  domains: ${(spec.domains ?? []).join(", ") || "none"}`,
    `  may use VIP pools: ${any(spec.vipPools)}; DNS zones: ${any(spec.dnsZones)}; engine groups: ${any(spec.engineGroups)}`,
  );
  if (spec.allowReferencesFrom?.length || spec.allowReferencesTo?.length)
    e.lines.push(
      `  references allowed from tenants: ${any(spec.allowReferencesFrom)}; to tenants: ${any(spec.allowReferencesTo)}`,
    );
  const usage = usageOf(statusOf(out.statuses, "Tenant", "", t.name));
  e.lines.push("Usage:");
  for (const q of QUOTAS) {
    const limit = spec.quotas?.[q];
    e.lines.push(`  ${q}: ${usage[q] ?? 0}${limit === undefined ? " (no quota)" : ` of ${limit}`}`);
  }
  // Refused: this tenant's objects its rules refused, and other tenants' claims on its domains.
  const refused: string[] = [];
  for (const s of out.statuses) {
    const mine = s.namespace !== undefined && namespaces.includes(s.namespace);
    const conds = [
      ...(s.status.conditions ?? []),
      ...((s.status.parents ?? []) as { conditions?: ObjectStatus["status"]["conditions"] }[]).flatMap(
        (p) => p.conditions ?? [],
      ),
    ];
    for (const c of conds) {
      if (!TENANT_REASONS.has(c.reason ?? "")) continue;
      const aboutMe = c.reason === "HostnameOwned" && (c.message ?? "").includes(`tenant ${t.name} (`);
      if (!mine && !aboutMe) continue;
      refused.push(`  ${s.kind}/${s.namespace ?? ""}/${s.name}: ${c.reason}: ${c.message ?? ""}`);
    }
  }
  e.lines.push(`Refused (${refused.length}):`, ...(refused.length > 0 ? [...new Set(refused)] : ["  none"]));
  conditionsSection(e);
  return e;
}
