// announce-view.ts: who announces each VIP, as the controller sees it — the announcers it chose
// (announcers.ts) joined with what each engine reported (its AnnounceStatus). Read by the Announced
// condition (announce-status.ts), Events, `portico explain`, `portico get pools -o wide` and the
// metrics. Pure.
import type { AnnounceStatus, VipAnnounceState } from "../../announce/types.ts";
import { DEFAULT_ENGINE_GROUP } from "../../k8s/engine-group.ts";
import type { AnnouncedVip } from "../../model/ir.ts";
import type { Announcers } from "./announcers.ts";

/** AnnouncerState is one engine's announcement of a VIP; Pending until the engine reported it. */
export type AnnouncerState = VipAnnounceState | "Pending";

/** AnnouncerView is one engine that should announce a VIP, and how that stands. */
export interface AnnouncerView {
  engine: string;
  node: string;
  state: AnnouncerState;
  /** since is when the state last changed, as the engine reported it (ISO 8601). */
  since?: string;
  reason?: string;
  message?: string;
  interface?: string;
}

/** VipAnnouncementView is one announced VIP and its announcers. */
export interface VipAnnouncementView {
  address: string;
  group: string;
  pool: string;
  mode: "L2" | "BGP";
  /** announcers are the engines chosen to announce it (none: no engine of its group is placed on it). */
  announcers: AnnouncerView[];
}

/** AnnouncingEngine is an engine as the view needs it: name, node, and its latest report. */
export interface AnnouncingEngine {
  name: string;
  node: string;
  status?: AnnounceStatus;
}

/** announcementViews joins the announced VIPs, their announcers by group and the engines' reports. */
export function announcementViews(
  vips: readonly AnnouncedVip[],
  owners: ReadonlyMap<string, Announcers>,
  engines: readonly AnnouncingEngine[],
): VipAnnouncementView[] {
  const byName = new Map(engines.map((e) => [e.name, e]));
  return vips.map((v) => {
    const group = v.group ?? DEFAULT_ENGINE_GROUP;
    const names = owners.get(group)?.[v.address] ?? [];
    return {
      address: v.address,
      group,
      pool: v.pool,
      mode: v.mode,
      announcers: names.map((name) => {
        const e = byName.get(name);
        const r = e?.status?.vips.find((x) => x.address === v.address);
        const out: AnnouncerView = { engine: name, node: e?.node ?? "", state: r?.state ?? "Pending" };
        if (r?.since) out.since = r.since;
        if (r?.reason) out.reason = r.reason;
        if (r?.message) out.message = r.message;
        if (r?.interface) out.interface = r.interface;
        return out;
      }),
    };
  });
}

/** announcedBy says in words who announces a VIP ("engine e1 on node n1 via L2 since T"), or undefined. */
export function announcedBy(v: VipAnnouncementView): string | undefined {
  const up = v.announcers.filter((a) => a.state === "Announced");
  if (up.length === 0) return undefined;
  const who = up.map((a) => `engine ${a.engine}${a.node ? ` on node ${a.node}` : ""}`).join(", ");
  const since = up
    .map((a) => a.since)
    .filter((s): s is string => s !== undefined)
    .sort()[0];
  return `${who} via ${v.mode}${since ? ` since ${since}` : ""}`;
}
