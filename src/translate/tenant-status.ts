// tenant-status.ts: what the tenant pre-pass (tenant-admit.ts) decided, written as status — each
// refused object's condition (Gateway API kinds per parent), and every Tenant's conditions,
// namespaces and usage per quota.
import type { TenantSpec } from "../k8s/tenant.ts";
import type { TranslateContext } from "./context.ts";
import { conditions, generationOf, no, yes } from "./gateway-conditions.ts";
import type { RouteObject } from "./gateway-types.ts";
import { routeParent } from "./gateway-status.ts";
import { ACCEPTED, refOf } from "./status.ts";
import type { Admission, Refusal } from "./tenant-admit.ts";
import { LIMITS_ENFORCED, limitsMessage } from "./tenant-limits.ts";

/** recordAdmission writes the refusals on their objects and every Tenant's status. */
export function recordAdmission(ctx: TranslateContext, a: Admission): void {
  ctx.notices.push(...a.notices);
  for (const r of a.refusals) {
    const ref = refOf(r.obj);
    if (r.hosts) {
      ctx.status.warn(ref, ACCEPTED, r.reason, refusalMessage(r));
    } else if (r.obj.kind === "Gateway" || r.obj.kind === "ListenerSet") {
      const gen = generationOf(r.obj);
      ctx.status.field(
        ref,
        "conditions",
        conditions({ Accepted: no(r.reason, r.message), Programmed: no(r.reason, r.message) }, gen),
      );
      ctx.status.field(ref, "listeners", []);
    } else if (r.obj.kind.endsWith("Route")) {
      const route = r.obj as RouteObject;
      const parents = (route.spec?.parentRefs ?? []).map((p) =>
        routeParent(
          p,
          { accepted: no(r.reason, r.message), resolvedRefs: yes("ResolvedRefs") },
          generationOf(route),
        ),
      );
      const prev = (ctx.status.fieldOf(ref, "parents") as unknown[] | undefined) ?? [];
      ctx.status.field(ref, "parents", [...prev, ...parents]);
    } else {
      ctx.status.fail(ref, ACCEPTED, r.reason, refusalMessage(r));
    }
    ctx.notices.push(
      `${ref.namespace ? `${ref.kind}/${ref.namespace}/${ref.name}` : `${ref.kind}/${ref.name}`}: ${r.message}`,
    );
  }
  for (const [name, t] of a.tenancy.tenants) {
    const ref = refOf(t);
    ctx.status.ok(ref, ACCEPTED, "Accepted");
    ctx.status.set(ref, CONFLICTED, "False", "NoConflicts", "");
    for (const p of a.tenancy.problems.filter((x) => x.tenant === name))
      ctx.status.warn(ref, CONFLICTED, p.reason, p.message);
    for (const problem of unknownNames(ctx, t.spec ?? {}))
      ctx.status.warn(ref, ACCEPTED, "UnknownReference", problem);
    const limits = limitsMessage(t.spec?.quotas ?? {});
    if (limits !== undefined) ctx.status.set(ref, LIMITS_ENFORCED, "True", "PerEngine", limits);
    ctx.status.field(ref, "namespaces", a.tenancy.namespacesOf(name));
    ctx.status.field(ref, "usage", { ...a.usage.get(name)! });
  }
}

/**
 * refusalMessage is the condition message a refusal puts on its object (Gateway API kinds carry the
 * message alone, per parent); the admission webhook answers with the same words.
 */
export function refusalMessage(r: Refusal): string {
  if (r.hosts) return `${r.message} (its rules for this hostname are not served)`;
  return r.obj.kind === "Gateway" || r.obj.kind.endsWith("Route") ? r.message : `${r.message} (not served)`;
}

/** CONFLICTED is True on a Tenant that claims a namespace or domain another Tenant claims too. */
export const CONFLICTED = "portico.dev/Conflicted";

/** unknownNames says which pools, zones and groups a Tenant lists that do not exist. */
function unknownNames(ctx: TranslateContext, spec: TenantSpec): string[] {
  const out: string[] = [];
  const check = (field: string, listed: readonly string[] | undefined, known: ReadonlySet<string>) => {
    for (const n of listed ?? [])
      if (!known.has(n)) out.push(`spec.${field}: ${n} does not exist (nothing can be drawn from it)`);
  };
  check("vipPools", spec.vipPools, new Set(ctx.set.vipPools.map((p) => p.metadata.name)));
  check("dnsZones", spec.dnsZones, new Set(ctx.set.dnsZones.map((z) => z.metadata.name)));
  const groups = new Set(["default", ...ctx.set.engineGroups.map((g) => g.metadata.name)]);
  check("engineGroups", spec.engineGroups, groups);
  check(
    "quotas.engineGroupLimits",
    (spec.quotas?.engineGroupLimits ?? []).map((e) => e.engineGroup),
    groups,
  );
  return out;
}
