// announcers.ts: which engines announce each VIP of a group — pure, sticky, deterministic, from the
// group's placement (placement.ts), the VIPs' announce modes and the previous answer.
//
// BGP in an ActiveActive group: every engine placed on the VIP announces it, and the router spreads
// flows over them by ECMP. Everything else has ONE announcer per VIP — an address answered by ARP
// from two machines, or a route to a standby, sends traffic where it is not served: ActiveStandby
// and NPlusM announce from the VIP's active engine; ActiveActive + L2 (every engine serves every
// VIP) spreads the VIPs over the engines: a VIP keeps its announcer while that engine is placed on
// it (moving it re-points every client's ARP cache and breaks nothing only if it need not happen),
// else goes to the placed engine announcing the fewest, ties by name. (docs/engines.md)
import type { HaMode } from "../../k8s/engine-group.ts";
import type { AnnouncedVip } from "../../model/ir.ts";
import type { Placement } from "./placement.ts";

/** Announcers maps a VIP address to the engines announcing it, sorted by name. */
export type Announcers = Record<string, string[]>;

/** AnnouncersInput is one group's state. */
export interface AnnouncersInput {
  mode: HaMode;
  placement: Placement;
  /** vips are the group's announced VIPs (their mode decides). */
  vips: readonly Pick<AnnouncedVip, "address" | "mode">[];
  previous: Announcers;
}

/** announcers computes who announces each VIP of one group; the same input always gives the same output. */
export function announcers(input: AnnouncersInput): Announcers {
  const out: Announcers = {};
  const vips = [...input.vips].sort((a, b) => (a.address < b.address ? -1 : a.address > b.address ? 1 : 0));
  const owned = new Map<string, number>();
  const own = (vip: string, engine: string) => {
    out[vip] = [engine];
    owned.set(engine, (owned.get(engine) ?? 0) + 1);
  };
  const spread: string[] = [];
  for (const v of vips) {
    const active = [...(input.placement[v.address]?.active ?? [])].sort();
    if (active.length === 0) {
      out[v.address] = [];
    } else if (input.mode === "ActiveActive" && v.mode === "BGP") {
      out[v.address] = active;
    } else if (input.mode !== "ActiveActive") {
      // The placement's first active is the owner (ActiveStandby and NPlusM place one).
      own(v.address, input.placement[v.address]!.active[0]!);
    } else {
      const prev = input.previous[v.address]?.[0];
      if (prev !== undefined && active.includes(prev)) own(v.address, prev);
      else spread.push(v.address);
    }
  }
  // New and orphaned L2 VIPs after the sticky ones, so the counts they balance include those.
  for (const vip of spread) {
    const active = [...input.placement[vip]!.active].sort();
    let best = active[0]!;
    for (const e of active) if ((owned.get(e) ?? 0) < (owned.get(best) ?? 0)) best = e;
    own(vip, best);
  }
  return out;
}
