// announce-status.ts: the portico.dev/Announced condition of Services and Gateways, from who
// announces their VIPs (fleet/announce-view.ts): True naming the engine, node, mode and since when;
// False AnnounceFailed with the engine's message, or NotAnnounced while no engine announces it.
// Objects whose VIPs come from pools with mode None get no such condition, and one the pipeline
// already marked (NoBgpPeers) keeps its verdict. Applied beside the bind state (bind-status.ts),
// the same way Programmed is derived. Pure.
import type { Condition } from "../k8s/types.ts";
import type { EngineSnapshot } from "../model/ir.ts";
import { ANNOUNCED } from "../translate/announce.ts";
import { keyOf } from "../translate/status.ts";
import type { ObjectStatus } from "../translate/types.ts";
import { announcedBy, type VipAnnouncementView } from "./fleet/announce-view.ts";
import { objectAddresses } from "./bind-status.ts";

/** KINDS are the kinds whose status carries the condition (an Ingress gets Events instead). */
const KINDS = new Set(["Service", "Gateway"]);

/** Verdict is one VIP's part of the condition. */
type Verdict = Pick<Condition, "status" | "reason" | "message">;

/** vipVerdict is one VIP's verdict: announced (with any engine's failure noted), failed, or not yet. */
export function vipVerdict(v: VipAnnouncementView): Verdict {
  const failed = v.announcers
    .filter((a) => a.state === "Failed")
    .map(
      (a) =>
        `engine ${a.engine}${a.node ? ` on node ${a.node}` : ""} failed${a.reason ? ` (${a.reason})` : ""}: ${a.message ?? "no message"}`,
    );
  const by = announcedBy(v);
  if (by !== undefined)
    return {
      status: "True",
      reason: "Announced",
      message: `${v.address} announced by ${by}${failed.length > 0 ? `; ${failed.join("; ")}` : ""}`,
    };
  if (failed.length > 0)
    return {
      status: "False",
      reason: "AnnounceFailed",
      message: `${v.address} not announced: ${failed.join("; ")}`,
    };
  const waiting = v.announcers.map((a) => a.engine);
  return {
    status: "False",
    reason: "NotAnnounced",
    message:
      waiting.length > 0
        ? `${v.address} (${v.mode}) not announced yet: waiting for engine ${waiting.join(", ")} to report it`
        : `${v.address} (${v.mode}) not announced: no engine of group ${v.group} serves it; start one (portico engine --group ${v.group}) or see portico get engines`,
  };
}

/** applyAnnounceState returns statuses with the Announced condition of each Service and Gateway
 * whose VIPs are announced; other objects keep their identity. */
export function applyAnnounceState(
  statuses: readonly ObjectStatus[],
  snapshot: EngineSnapshot,
  announcements: readonly VipAnnouncementView[] | undefined,
): ObjectStatus[] {
  if (announcements === undefined || announcements.length === 0) return [...statuses];
  const byAddress = new Map(announcements.map((v) => [v.address, v]));
  const addressesOf = objectAddresses(snapshot);
  return statuses.map((s) => {
    if (!KINDS.has(s.kind)) return s;
    const conditions = s.status.conditions ?? [];
    if (conditions.some((c) => c.type === ANNOUNCED)) return s;
    const mine = (addressesOf.get(keyOf(s)) ?? []).flatMap((a) => byAddress.get(a) ?? []);
    if (mine.length === 0) return s;
    const verdicts = mine.map(vipVerdict);
    const bad = verdicts.filter((v) => v.status === "False");
    const v: Verdict =
      bad.length > 0
        ? { status: "False", reason: bad[0]!.reason, message: bad.map((b) => b.message).join("; ") }
        : { status: "True", reason: "Announced", message: verdicts.map((x) => x.message).join("; ") };
    const generation = conditions.find((c) => c.observedGeneration !== undefined)?.observedGeneration;
    const c: Condition = {
      type: ANNOUNCED,
      ...v,
      ...(generation !== undefined ? { observedGeneration: generation } : {}),
    };
    return {
      ...s,
      status: {
        ...s.status,
        conditions: [...conditions, c].sort((a, b) => (a.type < b.type ? -1 : a.type > b.type ? 1 : 0)),
      },
    };
  });
}
