// group-settings.ts: what placement needs of each EngineGroup (its HA mode and spares), cut from
// the pipeline's groups, so a fleet places a push by the groups the same push was built from.
import type { HaMode } from "../../k8s/engine-group.ts";
import type { GroupServing } from "../../translate/engine-group.ts";

/** GroupSettings is what placement needs of an EngineGroup. */
export interface GroupSettings {
  haMode: HaMode;
  spares: number;
}

/** groupSettings maps each group of the pipeline's output to its placement settings. */
export function groupSettings(groups: Readonly<Record<string, GroupServing>>): Record<string, GroupSettings> {
  const out: Record<string, GroupSettings> = {};
  for (const [name, g] of Object.entries(groups))
    out[name] = { haMode: g.spec.haMode, spares: g.spec.spares };
  return out;
}
