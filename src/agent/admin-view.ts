// admin-view.ts: what an engine's admin port answers (`portico engine --admin`): /readyz is 200
// once a snapshot is applied and every listener it holds is bound, and not while draining (so a
// Service stops sending here first); /metrics is the engine's exposition labelled with its name
// and group. The controller-only routes (tables, explain) have nothing to show on an engine.
import type { AdminView } from "../api/admin.ts";
import { listenersCheck } from "../controller/bind-status.ts";
import type { EnginePort } from "../controller/standalone.ts";
import type { EngineAgent } from "./agent.ts";
import { addLabels } from "./metrics-labels.ts";
import type { AnnounceStatus } from "../announce/types.ts";

/** EngineViewOptions: the engine, its link, its labels and whether it is draining. */
export interface EngineViewOptions {
  engine: EnginePort;
  agent: EngineAgent;
  labels: { engine: string; group: string };
  controller: string;
  draining: () => boolean;
}

/** engineAdminView adapts an engine and its agent to the admin server. */
export function engineAdminView(o: EngineViewOptions): AdminView {
  return {
    inspect: () => undefined,
    // The engine's own objects: how it announces its VIPs, when a snapshot asked it to.
    statuses: () => {
      const announce = o.engine.announce?.();
      return announce ? [{ kind: "Announcement", name: o.labels.engine, status: announce }] : [];
    },
    errors: () => ({ lastRejected: o.engine.status()?.lastError ?? null }),
    metrics: async () => addLabels(await o.engine.metrics(), o.labels),
    readiness() {
      const applied = o.agent.applied();
      const link = o.agent.link();
      const since = new Date(link.since).toISOString();
      return [
        {
          name: "snapshot",
          ok: applied !== undefined,
          detail: applied
            ? `epoch ${applied.epoch} seq ${applied.seq} version ${applied.version}`
            : `none yet: waiting for the controller at ${o.controller}`,
        },
        listenersCheck(o.engine.status()?.listeners ?? []),
        // Not a readiness failure: with the controller away the engine serves its last good snapshot.
        {
          name: "controller",
          ok: true,
          detail: link.connected
            ? `connected to ${link.controller ?? o.controller} since ${since}`
            : `not connected since ${since}${link.refused ? ` (refused: ${link.refused})` : ""}; serving the last good snapshot`,
        },
        ...announceCheck(o.engine.announce?.()),
        {
          name: "draining",
          ok: !o.draining(),
          detail: o.draining() ? "yes: finishing open connections" : "no",
        },
      ];
    },
  };
}

// announceCheck is a /readyz line about the VIPs this engine announces. Not a readiness failure:
// a VIP that cannot be announced is the network's problem, and this engine still serves the others.
function announceCheck(s: AnnounceStatus | undefined): { name: string; ok: boolean; detail: string }[] {
  if (s === undefined) return [];
  const vips = s.vips.map(
    (v) =>
      `${v.address} ${v.mode} ${v.state}${v.interface ? ` on ${v.interface}` : ""} since ${v.since}${v.reason ? ` (${v.reason}: ${v.message})` : ""}`,
  );
  const peers = s.peers.map((p) => `peer ${p.name} ${p.state}`);
  return [{ name: "announce", ok: true, detail: [...vips, ...peers].join("; ") || "nothing to announce" }];
}
