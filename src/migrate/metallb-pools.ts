// metallb-pools.ts: MetalLB's IPAddressPool, L2Advertisement, BGPAdvertisement and Community
// objects → Portico VipPools. A pool keeps its name, addresses and allocation rules; the
// advertisements that select it become its spec.announce (a Portico pool is announced one way,
// with one set of BGP attributes — the rest is reported).
import { matchesSelector } from "../ipam/selector.ts";
import type { LabelSelector, VipPool, VipPoolAnnounce, VipPoolSpec } from "../k8s/vip-pool.ts";
import { isObject } from "./workspace.ts";
import type { Src } from "./metallb-common.ts";
import { strings } from "./metallb-common.ts";

/** PoolPlan is one IPAddressPool on its way to a VipPool. */
export interface PoolPlan {
  src: Src;
  pool: VipPool;
  l2: Src[];
  bgp: Src[];
}

/** poolOf converts an IPAddressPool's own fields (advertisements come later). */
export function poolOf(src: Src, engineGroup: string | undefined): PoolPlan {
  const spec: VipPoolSpec = {
    addresses: strings(src.get("addresses")).map((a) => a.replace(/\s+/g, "")),
  };
  if (src.get("autoAssign") === false) spec.autoAssign = false;
  if (src.get("avoidBuggyIPs") === true) spec.avoidBuggyIPs = true;
  const alloc = src.get("serviceAllocation");
  if (isObject(alloc)) {
    if (typeof alloc.priority === "number") spec.priority = alloc.priority;
    const sa: NonNullable<VipPoolSpec["serviceAllocation"]> = {};
    const ns = strings(alloc.namespaces);
    if (ns.length > 0) sa.namespaces = ns;
    if (Array.isArray(alloc.namespaceSelectors) && alloc.namespaceSelectors.length > 0)
      sa.namespaceSelectors = alloc.namespaceSelectors as LabelSelector[];
    if (Array.isArray(alloc.serviceSelectors) && alloc.serviceSelectors.length > 0)
      sa.serviceSelectors = alloc.serviceSelectors as LabelSelector[];
    if (Object.keys(sa).length > 0) spec.serviceAllocation = sa;
    for (const k of Object.keys(alloc).sort())
      if (!["priority", "namespaces", "namespaceSelectors", "serviceSelectors"].includes(k))
        src.note("lost", `serviceAllocation.${k}`, "not carried: a field portico migrate does not know");
  }
  if (engineGroup !== undefined) spec.engineGroup = engineGroup;
  src.rest();
  const labels = src.labels();
  const pool: VipPool = {
    apiVersion: "portico.dev/v1alpha1",
    kind: "VipPool",
    metadata: { name: src.name, ...(Object.keys(labels).length > 0 ? { labels: { ...labels } } : {}) },
    spec,
  };
  return { src, pool, l2: [], bgp: [] };
}

/**
 * unsetPriorities: MetalLB tries pools without a priority after every pool that has one; in
 * Portico an unset priority is 0, tried first. So when some pools set one, the others get one more
 * than the largest, which keeps MetalLB's order.
 */
export function unsetPriorities(plans: PoolPlan[]): void {
  const set = plans.map((p) => p.pool.spec.priority).filter((p): p is number => p !== undefined);
  if (set.length === 0 || set.length === plans.length) return;
  const last = Math.max(...set) + 1;
  for (const p of plans) {
    if (p.pool.spec.priority !== undefined) continue;
    p.pool.spec.priority = last;
    p.src.note(
      "carried",
      "serviceAllocation.priority",
      `unset: MetalLB tries such pools after those with a priority; the VipPool gets priority ${last} to keep that order`,
    );
  }
}

/** selectPools returns the pools an advertisement applies to (all of them when it names none). */
export function selectPools(ad: Src, plans: PoolPlan[]): PoolPlan[] {
  const names = strings(ad.get("ipAddressPools"));
  const selectors = ad.get("ipAddressPoolSelectors");
  const sels = Array.isArray(selectors) ? (selectors as LabelSelector[]) : [];
  const mine = plans.filter((p) => p.src.namespace === ad.namespace);
  if (names.length === 0 && sels.length === 0) return mine;
  for (const n of names)
    if (!mine.some((p) => p.src.name === n))
      ad.note(
        "lost",
        "ipAddressPools",
        `${JSON.stringify(n)} names no IPAddressPool in the input; nothing to attach it to`,
      );
  return mine.filter(
    (p) => names.includes(p.src.name) || sels.some((s) => matchesSelector(s, p.src.labels())),
  );
}

/** COMMUNITY is a standard community, the only form Portico's pools take. */
const COMMUNITY = /^\d{1,5}:\d{1,5}$/;

/** bgpAttributes reads a BGPAdvertisement's route attributes (community aliases resolved). */
export function bgpAttributes(ad: Src, aliases: Map<string, string>): BgpAttributes {
  const out: BgpAttributes = {};
  const agg = ad.get("aggregationLength");
  if (typeof agg === "number" && agg !== 32) out.aggregationLength = agg;
  const agg6 = ad.get("aggregationLengthV6");
  if (typeof agg6 === "number" && agg6 !== 128) out.aggregationLengthV6 = agg6;
  const pref = ad.get("localPref");
  if (typeof pref === "number" && pref !== 0) out.localPref = pref;
  const communities: string[] = [];
  for (const c of strings(ad.get("communities"))) {
    const value = aliases.get(c) ?? c;
    if (COMMUNITY.test(value)) communities.push(value);
    else if (value.startsWith("large:"))
      ad.note(
        "lost",
        "communities",
        `${JSON.stringify(c)} (${value}) not carried: Portico pools take standard communities ("65000:100") only`,
      );
    else
      ad.note(
        "lost",
        "communities",
        `${JSON.stringify(c)} not carried: neither a community nor the name of one in a Community object of the input`,
      );
  }
  if (communities.length > 0) out.communities = communities;
  ad.lost(
    "peers",
    "a Portico pool is announced to every peer of its EngineGroup's spec.bgp; use a separate EngineGroup (and pool) for peers that must not see it",
  );
  ad.lost(
    "nodeSelectors",
    "which engines announce is the EngineGroup's (its placement.nodeSelector and HA mode), not the pool's",
  );
  ad.rest();
  return out;
}

/** BgpAttributes are one BGPAdvertisement's route attributes, read once. */
export type BgpAttributes = NonNullable<VipPoolAnnounce["bgp"]>;

/** announceOf decides a pool's spec.announce from the advertisements that selected it. */
export function announceOf(plan: PoolPlan, attrs: Map<Src, BgpAttributes>): VipPoolAnnounce | undefined {
  const { src } = plan;
  if (plan.bgp.length > 0) {
    const [first, ...others] = plan.bgp;
    const bgp = attrs.get(first!) ?? {};
    for (const o of others) {
      const again = attrs.get(o) ?? {};
      if (JSON.stringify(again) !== JSON.stringify(bgp))
        src.note(
          "lost",
          "",
          `BGPAdvertisement ${o.name} also selects this pool with other attributes ${JSON.stringify(again)}; a Portico pool has one set, ${first!.name}'s ${JSON.stringify(bgp)} kept`,
        );
    }
    for (const l2 of plan.l2)
      src.note(
        "lost",
        "",
        `L2Advertisement ${l2.name} also selects this pool; a Portico pool is announced one way: BGP kept (give the L2 addresses their own pool)`,
      );
    return { mode: "BGP", ...(Object.keys(bgp).length > 0 ? { bgp: { ...bgp } } : {}) };
  }
  if (plan.l2.length > 0) {
    // An advertisement without interfaces means every interface: then the union is unrestricted.
    const lists = plan.l2.map((a) => strings(a.spec.interfaces));
    const all = lists.some((l) => l.length === 0);
    const interfaces = [...new Set(lists.flat())];
    return { mode: "L2", ...(!all && interfaces.length > 0 ? { l2: { interfaces } } : {}) };
  }
  src.note(
    "carried",
    "",
    "no L2Advertisement or BGPAdvertisement selects this pool, so MetalLB did not announce it; the VipPool's announce mode is None (the default) too",
  );
  return undefined;
}

/** l2Fields reports an L2Advertisement's fields beyond pools and interfaces. */
export function l2Fields(ad: Src): void {
  ad.get("interfaces");
  ad.lost(
    "nodeSelectors",
    "which engine answers ARP/NDP for a VIP is the EngineGroup's (its placement.nodeSelector and HA mode), not the pool's",
  );
  ad.rest();
}
