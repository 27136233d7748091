// pool.ts: a VipPool in plain words — its addresses, who holds each, what is free and who waits.
import type { VipPoolAnnounce } from "../../k8s/vip-pool.ts";
import type { ResourceSet } from "../../k8s/resource-set.ts";
import { poolView } from "../../ipam/view.ts";
import {
  begin,
  conditionsSection,
  notFound,
  type Explanation,
  type PipelineView,
  type Where,
} from "./common.ts";
import type { Target } from "./target.ts";

/** explainPool explains VipPool t.name from IPAM's answer. */
export function explainPool(set: ResourceSet, out: PipelineView, t: Target, where: Where): Explanation {
  const v = poolView(t.name, set.vipPools, out.allocations, out.translate.vipRequests);
  if (!v) return notFound(t, where, "pools");
  const e = begin(set, out, t, `VipPool ${t.name}`);
  e.pool = v;
  e.lines.push(
    `  addresses: ${v.addresses.join(", ")}`,
    `  autoAssign ${v.autoAssign}, priority ${v.priority}${v.avoidBuggyIPs ? ", .0 and .255 avoided" : ""}`,
  );
  if (v.invalid) e.lines.push(`  invalid: ${v.invalid} — the pool serves nobody until fixed`);
  const ann = set.vipPools.find((p) => p.metadata.name === t.name)?.spec?.announce;
  e.lines.push(`  announce: ${announceText(ann)}`);
  e.lines.push(`Held (${v.held.length}):`);
  if (v.held.length === 0) e.lines.push("  none");
  for (const h of v.held) {
    for (const who of h.holders) {
      const via = who.pool !== t.name ? ` (drawn from overlapping pool ${who.pool})` : "";
      const share = who.sharingKey !== undefined ? `, sharing key "${who.sharingKey}"` : "";
      e.lines.push(`  ${h.address} ${who.key} ${who.ports.join(",")}${share}${via}`);
    }
  }
  e.lines.push("Free:");
  for (const family of ["IPv4", "IPv6"] as const) {
    const f = v.free[family];
    if (f.count === "0" && f.ranges.length === 0) continue;
    e.lines.push(`  ${family}: ${f.count} — ${f.ranges.join(", ") || "none"}${f.more ? ", …" : ""}`);
  }
  e.lines.push(`Waiting (${v.waiting.length}):`);
  if (v.waiting.length === 0) e.lines.push("  none");
  for (const w of v.waiting) e.lines.push(`  ${w.key} (${w.families.join(", ")}): ${w.reason} — ${w.detail}`);
  conditionsSection(e);
  return e;
}

/** announceText says how a pool's addresses reach the network. */
function announceText(a: VipPoolAnnounce | undefined): string {
  if (a === undefined || a.mode === "None")
    return "None (the network routes the addresses to the engines' nodes)";
  if (a.mode === "L2")
    return `L2, by each VIP's owning engine${a.l2?.interfaces?.length ? ` on the first present of ${a.l2.interfaces.join(", ")}` : " on the interface whose subnet holds it"}`;
  const b = a.bgp ?? {};
  const attrs = [
    b.communities?.length ? `communities ${b.communities.join(" ")}` : "",
    b.localPref !== undefined ? `LOCAL_PREF ${b.localPref}` : "",
    b.aggregationLength !== undefined ? `IPv4 as /${b.aggregationLength}` : "",
    b.aggregationLengthV6 !== undefined ? `IPv6 as /${b.aggregationLengthV6}` : "",
  ].filter((x) => x !== "");
  return `BGP, to the peers of the serving EngineGroup's spec.bgp${attrs.length > 0 ? ` (${attrs.join(", ")})` : ""}`;
}
