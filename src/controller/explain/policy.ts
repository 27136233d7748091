// policy.ts: WafPolicy and AccessPolicy in `portico explain` and `portico get policies` — the
// settings in force (after defaults; the held version while an edit is invalid), each target with
// its verdict, the routes and listeners the policy governs in the snapshot, and the conditions.
import type { ResourceSet } from "../../k8s/resource-set.ts";
import type { AccessPolicy, PolicyAncestorStatus, WafPolicy } from "../../k8s/policy.ts";
import type { AnyObject, Condition } from "../../k8s/types.ts";
import type { AccessConfig, EngineSnapshot, Route, WafConfig } from "../../model/ir.ts";
import {
  begin,
  conditionLines,
  conditionsSection,
  notFound,
  statusOf,
  type Explanation,
  type PipelineView,
} from "./common.ts";
import type { Target } from "./target.ts";
import type { Where } from "./common.ts";

/** policyObject finds a WafPolicy or AccessPolicy of the set. */
function policyObject(set: ResourceSet, t: Target): AnyObject | undefined {
  const list = (t.kind === "WafPolicy"
    ? set.wafPolicies
    : set.accessPolicies) as unknown as readonly AnyObject[];
  return list.find((p) => (p.metadata.namespace ?? "") === t.namespace && p.metadata.name === t.name);
}

/** governed lists "listener host route" for every IR route the policy's config is on. */
function governed(snapshot: EngineSnapshot, kind: string, key: string): string[] {
  const out: string[] = [];
  for (const l of snapshot.http)
    for (const vh of l.virtualHosts)
      for (const r of vh.routes) {
        const c: WafConfig | AccessConfig | undefined = kind === "WafPolicy" ? r.waf : r.access;
        if (c?.policy === key) out.push(`${l.name} ${vh.hostname} ${r.name}`);
      }
  return out;
}

/**
 * routePolicies name the WafPolicy and AccessPolicy a route runs under, as the engines got it (the
 * snapshot: the held version while an edit is invalid), for the route lines of Ingress, Gateway
 * and route explanations.
 */
export function routePolicies(route: Route, out: PipelineView): string[] {
  let served = route.waf !== undefined || route.access !== undefined ? route : undefined;
  for (const l of out.snapshot.http) {
    if (served !== undefined) break;
    for (const vh of l.virtualHosts) {
      served = vh.routes.find(
        (r) => r.name === route.name && (r.waf !== undefined || r.access !== undefined),
      );
      if (served !== undefined) break;
    }
  }
  const lines: string[] = [];
  const w = served?.waf;
  if (w !== undefined)
    lines.push(
      `WAF ${w.policy}: ${w.mode}, paranoia level ${w.paranoiaLevel}, inbound threshold ${w.inboundAnomalyThreshold}${w.exclusions.length > 0 ? `, ${w.exclusions.length} exclusion${w.exclusions.length > 1 ? "s" : ""}` : ""}`,
    );
  const a = served?.access;
  if (a !== undefined) lines.push(`access ${a.policy}`);
  return lines;
}

/** wafLines describe a WafConfig in force. */
function wafLines(w: WafConfig): string[] {
  const lines = [
    `  mode ${w.mode}, paranoia level ${w.paranoiaLevel}${w.detectionParanoiaLevel ? ` (detection ${w.detectionParanoiaLevel})` : ""}, anomaly thresholds inbound ${w.inboundAnomalyThreshold} outbound ${w.outboundAnomalyThreshold}`,
    `  request body ${w.requestBodyLimitBytes} bytes (${w.requestBodyLimitAction} past it); response body ${w.inspectResponseBody ? `inspected up to ${w.responseBodyLimitBytes} bytes` : "not inspected"}; budget ${w.budgetMs} ms (${w.failurePolicy})`,
  ];
  for (const e of w.exclusions) {
    const ids = (e.ruleIds ?? []).map((r) => (r.from === r.to ? `${r.from}` : `${r.from}-${r.to}`));
    const what = [
      ...(ids.length ? [`ids ${ids.join(",")}`] : []),
      ...(e.tags?.length ? [`tags ${e.tags.join(",")}`] : []),
    ];
    lines.push(
      `  exclusion: ${what.join(" ")}${e.variables?.length ? ` for ${e.variables.join(", ")}` : ""}`,
    );
  }
  if (w.allowlist?.clientCidrs) lines.push(`  allowlisted clients: ${w.allowlist.clientCidrs.join(", ")}`);
  for (const p of w.allowlist?.paths ?? []) lines.push(`  allowlisted path: ${p.type} ${p.value}`);
  for (const r of w.customRules ?? [])
    lines.push(`  custom rules ${r.name} (${r.text.split("\n").filter((l) => l.trim()).length} lines)`);
  lines.push(`  program key ${w.key}`);
  return lines;
}

/** accessLines describe an AccessConfig in force. */
function accessLines(a: AccessConfig): string[] {
  const lines: string[] = [];
  if (a.allow) lines.push(`  allow ${a.allow.join(", ")} (every other client gets 403)`);
  if (a.deny) lines.push(`  deny ${a.deny.join(", ")}`);
  const rl = a.rateLimit;
  if (rl)
    lines.push(
      `  rate limit ${rl.requests} per ${rl.periodMs / 1000} s, burst ${rl.burst}, per ${rl.key.type === "Header" ? `header ${rl.key.name}` : "client address"} (each engine counts alone)`,
    );
  return lines;
}

/** explainPolicy explains a WafPolicy or AccessPolicy. */
export function explainPolicy(set: ResourceSet, out: PipelineView, t: Target, where: Where): Explanation {
  const obj = policyObject(set, t);
  if (!obj) return notFound(t, where, "policies");
  const key = `${t.kind}/${t.namespace}/${t.name}`;
  const e = begin(set, out, t, `${t.kind} ${t.namespace}/${t.name}`);
  const routes = governed(out.snapshot, t.kind, key);
  const first = out.snapshot.http
    .flatMap((l) => l.virtualHosts.flatMap((vh) => vh.routes))
    .find((r) => (t.kind === "WafPolicy" ? r.waf : r.access)?.policy === key);
  e.lines.push("In force:");
  if (first?.waf && t.kind === "WafPolicy") e.lines.push(...wafLines(first.waf));
  else if (first?.access) e.lines.push(...accessLines(first.access));
  const limits = out.snapshot.http
    .filter((l) => l.maxConnections !== undefined)
    .map((l) => `${l.name} max ${l.maxConnections} connections`);
  if (
    t.kind === "AccessPolicy" &&
    limits.length > 0 &&
    (obj as unknown as AccessPolicy).spec?.connectionLimit
  )
    e.lines.push(...limits.map((l) => `  listener ${l}`));
  if (!first) e.lines.push("  on no route (see Targets)");
  e.lines.push("Targets:");
  const ancestors = (e.status?.ancestors ?? []) as PolicyAncestorStatus[];
  if (ancestors.length === 0)
    e.lines.push(
      `  none: add spec.targetRefs, or annotate an Ingress with portico.dev/${t.kind === "WafPolicy" ? "waf" : "access"}-policy: ${t.name}`,
    );
  for (const a of ancestors) {
    const r = a.ancestorRef;
    e.lines.push(
      `  ${r.kind} ${r.namespace ?? ""}/${r.name}${r.sectionName ? ` section ${r.sectionName}` : ""}:`,
    );
    e.lines.push(...conditionLines(a.conditions, "    "));
  }
  e.lines.push(`Routes (${routes.length}):`, ...routes.map((r) => `  ${r}`));
  conditionsSection(e);
  return e;
}

/** policyRows are `portico get policies`: one row per WafPolicy and AccessPolicy (every column). */
export function policyRows(
  set: ResourceSet,
  out: Pick<PipelineView, "statuses" | "snapshot">,
): Record<string, string>[] {
  const objs = [...set.wafPolicies, ...set.accessPolicies] as unknown as (WafPolicy | AccessPolicy)[];
  return objs.map((p) => {
    const ns = p.metadata.namespace ?? "";
    const st = statusOf(out.statuses, p.kind, ns, p.metadata.name)?.status;
    const ancestors = (st?.ancestors ?? []) as PolicyAncestorStatus[];
    const verdicts = ancestors.map((a) => {
      const c = a.conditions.find((x) => x.type === "Accepted");
      const r = a.ancestorRef;
      return `${r.kind}/${r.name}${r.sectionName ? `/${r.sectionName}` : ""}${c?.status === "True" ? "" : ` (${c?.reason ?? "?"})`}`;
    });
    const input = ((st?.conditions ?? []) as Condition[]).find((c) => c.type === "portico.dev/InputValid");
    const refused = ancestors.flatMap((a) => a.conditions.filter((c) => c.status === "False"));
    const key = `${p.kind}/${ns}/${p.metadata.name}`;
    // The mode in force: the held version's while an edit is invalid.
    const served = out.snapshot.http
      .flatMap((l) => l.virtualHosts.flatMap((vh) => vh.routes))
      .find((r) => r.waf?.policy === key)?.waf;
    const mode = p.kind === "WafPolicy" ? (served?.mode ?? p.spec?.mode ?? "Detection") : "";
    return {
      NAMESPACE: ns,
      KIND: p.kind,
      NAME: p.metadata.name,
      MODE: mode,
      TARGETS: verdicts.join(", ") || "<none>",
      ROUTES: String(governed(out.snapshot, p.kind, key).length),
      ACCEPTED:
        ancestors.length === 0
          ? "-"
          : refused.length === 0
            ? "True"
            : ancestors.length > refused.length
              ? "Partly"
              : "False",
      VALID: input?.status === "False" ? "False" : "True",
      MESSAGE: input?.message ?? refused.map((c) => c.message ?? "").join("; "),
    };
  });
}
