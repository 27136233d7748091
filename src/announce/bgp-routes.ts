// bgp-routes.ts: what a BGP VIP puts on the node and what it exports. BIRD exports, through
// `protocol direct` on lo, the prefix of each address there, so the address carries the prefix
// length of the route: VIP/32 (/128) for a host route, VIP/aggregationLength for the covering
// prefix. The latter is added `noprefixroute`: on lo a prefix route would be a *local* route for
// the whole prefix, and the node would swallow traffic for every other address in it.
import { isIP } from "node:net";
import { coveringPrefix, type LeasedAddress } from "./ip.ts";
import type { BgpRoute } from "./types.ts";
import type { AnnouncedVip } from "../model/ir.ts";

/** bgpAddress is the leased address of a BGP VIP on lo. */
export function bgpAddress(vip: AnnouncedVip): LeasedAddress {
  const host = isIP(vip.address) === 6 ? 128 : 32;
  const len = vip.aggregationLength ?? host;
  return { cidr: `${vip.address}/${len}`, dev: "lo", ...(len < host ? { noPrefixRoute: true } : {}) };
}

/** bgpPrefix is the route a BGP VIP is exported as: its host route or its covering prefix. */
export function bgpPrefix(vip: AnnouncedVip): string {
  const host = isIP(vip.address) === 6 ? 128 : 32;
  return coveringPrefix(vip.address, vip.aggregationLength ?? host);
}

/**
 * bgpRoutes is the export set of vips, one route per prefix, sorted. VIPs that aggregate into one
 * prefix share one route: its communities are the union of theirs and its LOCAL_PREF the highest.
 */
export function bgpRoutes(vips: readonly AnnouncedVip[]): BgpRoute[] {
  const by = new Map<string, BgpRoute>();
  for (const v of vips) {
    if (v.mode !== "BGP") continue;
    const prefix = bgpPrefix(v);
    const r = by.get(prefix) ?? { prefix, communities: [] };
    r.communities = [...new Set([...r.communities, ...(v.communities ?? [])])].sort();
    if (v.localPref !== undefined) r.localPref = Math.max(r.localPref ?? 0, v.localPref);
    by.set(prefix, r);
  }
  return [...by.values()].sort((a, b) => (a.prefix < b.prefix ? -1 : a.prefix > b.prefix ? 1 : 0));
}

/** needsPromoteSecondaries says whether an aggregated IPv4 address goes on lo: several in one prefix are "secondaries", which the kernel deletes with the first unless promote_secondaries is set. */
export function needsPromoteSecondaries(vips: readonly AnnouncedVip[]): boolean {
  return vips.some((v) => v.mode === "BGP" && isIP(v.address) === 4 && (v.aggregationLength ?? 32) < 32);
}
