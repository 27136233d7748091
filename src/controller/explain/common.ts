// common.ts: what every explanation shares — the Explanation document, and the plain-words pieces
// (the VIP and each pool's verdict, a pool's backends, a route's target, the conditions).
import { X509Certificate } from "node:crypto";
import type { ResourceSet } from "../../k8s/resource-set.ts";
import type { AllocationResult } from "../../ipam/types.ts";
import type { PoolView } from "../../ipam/view.ts";
import type { Pool, Route } from "../../model/ir.ts";
import type { ObjectStatus } from "../../translate/types.ts";
import { ruleText } from "../../translate/engine-group.ts";
import { certName } from "../../translate/secrets.ts";
import { keyOf } from "../../translate/status.ts";
import type { PipelineOutput } from "../pipeline.ts";
import { targetKey, type Target } from "./target.ts";
import type { VipAnnouncementView } from "../fleet/announce-view.ts";

/** PipelineView is the part of the pipeline's output an explanation reads; announcements, from a
 * running Portico only, say who announces each announced VIP. */
export type PipelineView = Pick<
  PipelineOutput,
  "snapshot" | "allocations" | "statuses" | "translate" | "groups" | "dns"
> & { announcements?: readonly VipAnnouncementView[] };

/** Explanation is `portico explain`'s answer: the same document offline and from a running Portico. */
export interface Explanation {
  kind: string;
  namespace?: string;
  name: string;
  /** found is false when no such object was read; the CLI then exits 1. */
  found: boolean;
  /** definedAt is "file:line" (standalone) or "kube:<resourceVersion>". */
  definedAt?: string;
  /** vip is IPAM's answer for the object's VIP, with every pool's verdict. */
  vip?: AllocationResult & { key: string };
  /** pool is a VipPool's addresses, holders, free ranges and waiting requests (vippool only). */
  pool?: PoolView;
  /** status is what Portico would write on the object. */
  status?: ObjectStatus["status"];
  /** lines are the explanation in plain words, as `-o table` prints them. */
  lines: string[];
}

/** Where is "manifests" (offline, standalone) or "cluster" (--kubeconfig): what "not found" names. */
export type Where = "manifests" | "cluster";

/** begin starts an explanation: the object, where it was defined, its status. */
export function begin(set: ResourceSet, out: PipelineView, t: Target, head: string): Explanation {
  const key = targetKey(t);
  const e: Explanation = { kind: t.kind, name: t.name, found: true, lines: [head] };
  if (t.namespace) e.namespace = t.namespace;
  const o = set.origins.get(key);
  if (o) {
    e.definedAt = `${o.file}:${o.line}`;
    e.lines.push(`  defined at ${e.definedAt}`);
  }
  const st = statusOf(out.statuses, t.kind, t.namespace, t.name);
  if (st) e.status = st.status;
  return e;
}

/** notFound is the explanation of an object nobody defined, with where to look instead. */
export function notFound(t: Target, where: Where, list: string): Explanation {
  const id = t.namespace ? `${t.namespace}/${t.name}` : t.name;
  const e: Explanation = { kind: t.kind, name: t.name, found: false, lines: [] };
  if (t.namespace) e.namespace = t.namespace;
  e.lines.push(
    `${t.kind} ${id} is not in the ${where}. Check the namespace and name ('portico get ${list}').`,
  );
  return e;
}

/** byKey indexes each statuses list once (the first status of a key wins, as a linear find would):
 * a table looks up every row, so a per-row find made `get` quadratic in the objects. Lists are
 * built fresh per pipeline run or live view and never changed after, so the index stays true. */
const byKey = new WeakMap<readonly ObjectStatus[], Map<string, ObjectStatus>>();

/** statusOf finds the status Portico computed for one object. */
export function statusOf(
  statuses: readonly ObjectStatus[],
  kind: string,
  ns: string,
  name: string,
): ObjectStatus | undefined {
  let index = byKey.get(statuses);
  if (index === undefined) {
    index = new Map();
    for (const s of statuses) if (!index.has(keyOf(s))) index.set(keyOf(s), s);
    byKey.set(statuses, index);
  }
  return index.get(keyOf({ kind, namespace: ns, name }));
}

/** vipSection says which address the VIP request `key` got, from which pool, and why each pool was or was not chosen. */
export function vipSection(e: Explanation, key: string, out: PipelineView): void {
  const r = out.allocations.results[key];
  if (!r) {
    e.lines.push(`VIP: none requested (${key} asked IPAM for nothing)`);
    return;
  }
  e.vip = { key, ...r };
  e.lines.push(
    r.ok
      ? `VIP: ${r.addresses.join(", ")} (from pool ${[...new Set(r.pools)].join(", ")})`
      : `VIP: <pending> — ${r.message}`,
  );
  if (r.verdicts.length === 0) e.lines.push("  no VipPool exists: create one (see docs/concepts.md)");
  for (const v of r.verdicts)
    e.lines.push(
      `  pool ${v.pool}: ${v.chosen ? "chosen" : v.reason ? `refused (${v.reason})` : "not chosen"} — ${v.detail}`,
    );
  if (r.ok) for (const address of r.addresses) announceLines(e, address, out);
}

/** announceLines says how one address is announced: its mode, and live, who announces it since when. */
function announceLines(e: Explanation, address: string, out: PipelineView): void {
  const v = out.snapshot.announce?.vips.find((x) => x.address === address);
  if (v === undefined) return;
  e.lines.push(`Announce: ${address} via ${v.mode} (pool ${v.pool}, group ${v.group ?? "default"})`);
  if (out.announcements === undefined) {
    e.lines.push("  who announces it is known to a running Portico (portico explain --admin ...)");
    return;
  }
  const live = out.announcements.find((x) => x.address === address);
  if (live === undefined || live.announcers.length === 0) {
    e.lines.push(
      `  no engine announces it: no engine of group ${v.group ?? "default"} serves it (portico get engines)`,
    );
    return;
  }
  for (const a of live.announcers) {
    const where = `  engine ${a.engine}${a.node ? ` on node ${a.node}` : ""}`;
    const since = a.since ? ` since ${a.since}` : "";
    const dev = a.interface ? ` (interface ${a.interface})` : "";
    if (a.state === "Pending") e.lines.push(`${where}: not reported yet`);
    else if (a.state === "Failed")
      e.lines.push(`${where}: Failed${since} — ${a.reason ?? "Failed"}: ${a.message ?? "no message"}`);
    else e.lines.push(`${where}: ${a.state}${since}${dev}`);
  }
}

/** groupSection says which EngineGroup serves the object's VIP and which rule picked it. */
export function groupSection(e: Explanation, object: string, out: PipelineView): void {
  for (const [name, g] of Object.entries(out.groups)) {
    const o = g.objects.find((x) => x.object === object);
    if (!o) continue;
    const why = o.asked
      ? `asked for ${o.asked} (${ruleText(o.rule)}), but shares the VIP with ${o.winner}, whose choice serves it`
      : ruleText(o.rule);
    const gone = g.exists
      ? g.accepted
        ? ""
        : " — it has no valid spec, so nothing serves this VIP"
      : " — it does not exist, so nothing serves this VIP";
    e.lines.push(`Engine group: ${name} (${why})${gone}`);
  }
}

/** poolLines lists a backend pool's endpoints with their readiness. */
export function poolLines(pool: Pool | undefined, indent: string): string[] {
  if (!pool) return [`${indent}(no pool)`];
  if (pool.endpoints.length === 0)
    return [`${indent}no endpoints: no EndpointSlice lists a backend for ${pool.name}`];
  return pool.endpoints.map((e) => {
    const state = e.ready
      ? "ready"
      : e.serving
        ? "serving (terminating)"
        : e.terminating
          ? "terminating"
          : "not ready";
    return `${indent}${e.address.includes(":") ? `[${e.address}]` : e.address}:${e.port} ${state}`;
  });
}

/** routeTarget says where a route sends a request: a redirect, a fixed answer, or weighted pools. */
export function routeTarget(route: Route, out: PipelineView): string[] {
  const redirect = route.filters?.find((f) => f.type === "RequestRedirect");
  if (redirect) {
    const to = [
      redirect.scheme && `scheme ${redirect.scheme}`,
      redirect.hostname && `host ${redirect.hostname}`,
      redirect.port && `port ${redirect.port}`,
      redirect.path && `path ${redirect.path.value}`,
    ].filter(Boolean);
    return [`redirects ${redirect.statusCode}${to.length > 0 ? ` to ${to.join(", ")}` : ""}`];
  }
  const a = route.action;
  if (a.type === "DirectResponse") return [`answers ${a.status} itself: ${a.body.trim()}`];
  return [
    ...a.backends.flatMap((b) => [
      `→ pool ${b.pool}${a.backends.length > 1 ? ` (weight ${b.weight})` : ""}`,
      ...poolLines(out.translate.pools[b.pool], "  "),
    ]),
    ...(a.invalid ?? []).map((i) => `→ ${i.ref} (weight ${i.weight}): unresolved, answers 500`),
  ];
}

/** certLine names a certificate's subject and expiry. */
export function certLine(pem: string | undefined): string {
  if (!pem) return "certificate missing";
  try {
    const x = new X509Certificate(pem);
    return `certificate ${certName(x)}, expires ${new Date(x.validTo).toISOString().slice(0, 10)}`;
  } catch {
    return "certificate unreadable";
  }
}

/** conditionLines prints conditions, one per line, with reason and message. */
export function conditionLines(
  conds: readonly { type: string; status: string; reason?: string; message?: string }[] | undefined,
  indent = "  ",
): string[] {
  return (conds ?? []).map((c) =>
    `${indent}${c.type}=${c.status} ${c.reason ?? ""}${c.message ? `: ${c.message}` : ""}`.trimEnd(),
  );
}

/** conditionsSection adds the object's conditions under a "Conditions:" heading, if it has any. */
export function conditionsSection(e: Explanation): void {
  const lines = conditionLines(e.status?.conditions);
  if (lines.length > 0) e.lines.push("Conditions:", ...lines);
}
