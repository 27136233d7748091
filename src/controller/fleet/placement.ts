// placement.ts: which engines serve which VIP, per group and HA mode — pure, sticky, deterministic.
// ActiveActive: every ready engine of the group serves every VIP of the group. ActiveStandby: each
// VIP has one active and one standby engine (on another node or zone when there is one); the
// standby takes it when the active goes. NPlusM: VIPs spread over the group's engines less M
// spares, and a spare takes the VIPs of an engine that goes. (docs/engines.md)
import type { HaMode } from "../../k8s/engine-group.ts";

/** PlacedEngine is what placement knows of an engine. */
export interface PlacedEngine {
  name: string;
  node: string;
  zone?: string;
  ready: boolean;
}

/** VipPlacement is who serves one VIP address. */
export interface VipPlacement {
  active: string[];
  standby: string[];
}

/** Placement maps a VIP address to its engines, within one group. */
export type Placement = Record<string, VipPlacement>;

/** PlacementInput is one group's state. */
export interface PlacementInput {
  mode: HaMode;
  /** spares is M for NPlusM. */
  spares: number;
  engines: readonly PlacedEngine[];
  /** vips are the addresses of the group's listeners. */
  vips: readonly string[];
  previous: Placement;
}

/** place computes a group's placement. (ActiveActive only for now; the other modes land with the group work.) */
export function place(input: PlacementInput): Placement {
  const ready = input.engines
    .filter((e) => e.ready)
    .map((e) => e.name)
    .sort();
  const out: Placement = {};
  for (const vip of input.vips) out[vip] = { active: ready, standby: [] };
  return out;
}
