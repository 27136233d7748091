// sole-engine.ts: announcement for `portico run` without a fleet (no --engine-listen), where the
// in-process engine is the only engine and is given the full snapshot: it serves every listener,
// so it announces every announced VIP, with the group "default"'s lease and BGP speaker — as it
// would as the one engine of the group "default" in a fleet.
import { DEFAULT_ENGINE_GROUP } from "../../k8s/engine-group.ts";
import type { EngineSnapshot } from "../../model/ir.ts";
import type { AnnounceStatus } from "../../announce/types.ts";
import type { Announcers } from "./announcers.ts";
import { announcementViews, type VipAnnouncementView } from "./announce-view.ts";
import type { GroupSettings } from "./group-settings.ts";
import { announceFor } from "./slice.ts";

/** SOLE_ENGINE is the in-process engine's name, as a fleet calls it (fleet-port.ts LOCAL_ENGINE). */
const SOLE_ENGINE = "local";

/** soleOwners gives every announced VIP, by group, to the in-process engine. */
function soleOwners(snapshot: EngineSnapshot): Map<string, Announcers> {
  const out = new Map<string, Announcers>();
  for (const v of snapshot.announce?.vips ?? []) {
    const g = v.group ?? DEFAULT_ENGINE_GROUP;
    out.set(g, { ...(out.get(g) ?? {}), [v.address]: [SOLE_ENGINE] });
  }
  return out;
}

/** soleEngineSnapshot is snapshot with the announce slice the in-process engine applies. Pure. */
export function soleEngineSnapshot(
  snapshot: EngineSnapshot,
  groups: Readonly<Record<string, GroupSettings>>,
  node: string,
): EngineSnapshot {
  const { announce: full, ...rest } = snapshot;
  if (full === undefined && groups[DEFAULT_ENGINE_GROUP]?.bgp === undefined) return rest;
  const vips = (full?.vips ?? []).map((v) => ({ ...v, group: DEFAULT_ENGINE_GROUP }));
  const owners = Object.fromEntries(vips.map((v) => [v.address, [SOLE_ENGINE]]));
  const announce = announceFor(
    { leaseMs: full?.leaseMs ?? 0, vips },
    { name: SOLE_ENGINE, group: DEFAULT_ENGINE_GROUP, node },
    owners,
    groups[DEFAULT_ENGINE_GROUP],
  );
  return announce ? { ...rest, announce } : rest;
}

/** soleEngineAnnouncements is the announcement view with the in-process engine announcing everything. */
export function soleEngineAnnouncements(
  snapshot: EngineSnapshot | undefined,
  node: string,
  status: AnnounceStatus | undefined,
): VipAnnouncementView[] | undefined {
  const vips = snapshot?.announce?.vips ?? [];
  if (vips.length === 0) return undefined;
  return announcementViews(vips, soleOwners(snapshot!), [
    { name: SOLE_ENGINE, node, ...(status ? { status } : {}) },
  ]);
}
