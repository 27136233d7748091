// group-settings.ts: what the fleet needs of each EngineGroup — its HA mode and spares (placement),
// its announcement timings and its BGP speaker with passwords resolved (the engines' announce
// slices) — cut from the pipeline's groups, so a fleet places and announces a push by the groups
// the same push was built from.
import type { HaMode } from "../../k8s/engine-group.ts";
import type { GroupServing } from "../../translate/engine-group.ts";
import {
  DEFAULT_LEASE_SECONDS,
  DEFAULT_WITHDRAW_DELAY_SECONDS,
  type GroupBgp,
} from "../../translate/announce.ts";

/** GroupSettings is what placement and announcement need of an EngineGroup. */
export interface GroupSettings {
  haMode: HaMode;
  spares: number;
  /** announcement are the group's lease and drain delay (absent: the defaults, 3 s and 2 s). */
  announcement?: { leaseMs: number; withdrawDelayMs: number };
  /** bgp is the group's speaker, peers with their nodes; absent without spec.bgp. */
  bgp?: GroupBgp;
}

/** DEFAULT_ANNOUNCEMENT is a group's announcement timings when it sets none. */
export const DEFAULT_ANNOUNCEMENT = {
  leaseMs: DEFAULT_LEASE_SECONDS * 1000,
  withdrawDelayMs: DEFAULT_WITHDRAW_DELAY_SECONDS * 1000,
} as const;

/** groupSettings maps each group of the pipeline's output to its placement and announcement settings. */
export function groupSettings(groups: Readonly<Record<string, GroupServing>>): Record<string, GroupSettings> {
  const out: Record<string, GroupSettings> = {};
  for (const [name, g] of Object.entries(groups)) {
    const a = g.spec.announcement;
    out[name] = {
      haMode: g.spec.haMode,
      spares: g.spec.spares,
      announcement: { leaseMs: a.leaseSeconds * 1000, withdrawDelayMs: a.withdrawDelaySeconds * 1000 },
      ...(g.bgp ? { bgp: g.bgp } : {}),
    };
  }
  return out;
}
