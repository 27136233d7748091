// fleet-status.ts: the listener bind state of a fleet, as the controller's statuses read it. An
// engine's listeners count only once it acked the push that gave them to it; until then they read
// "binding" (waiting for it), and after a NACK "error" naming the engine, the version and the
// reason — so bind-status.ts turns them into Programmed=False on exactly the objects they serve.
// Over engines the worst state of each listener wins (mergeListeners). Pure.
import { listenerKey, type ListenerStatus } from "../../engine/listeners.ts";
import { mergeListeners } from "../../engine/workers/merge.ts";
import type { EngineSnapshot } from "../../model/ir.ts";
import type { Nack, SnapshotRef } from "./hub.ts";

/** ENGINE_NACK is the code of a listener whose engine refused the snapshot that holds it. */
export const ENGINE_NACK = "PORTICO_ENGINE_NACK";
/** ENGINE_PENDING is the code of a listener whose engine has not acked the snapshot that holds it. */
export const ENGINE_PENDING = "PORTICO_ENGINE_PENDING";

/** EngineState is what the fleet knows of one engine that should serve something. */
export interface EngineState {
  name: string;
  /** sent is the push in force for this engine: its reference and its slice. */
  sent: { ref: SnapshotRef; slice: EngineSnapshot };
  acked?: SnapshotRef;
  lastNack?: Omit<Nack, "type">;
  /** listeners are the engine's own reports. */
  listeners: readonly ListenerStatus[];
}

/** sameRef is true when a and b name the same push (epoch and sequence). */
export function sameRef(a: SnapshotRef | undefined, b: SnapshotRef | undefined): boolean {
  return a !== undefined && b !== undefined && a.epoch === b.epoch && a.seq === b.seq;
}

/** sliceListeners lists the sockets a slice asks for, as not-yet-bound statuses. */
function sliceListeners(slice: EngineSnapshot): ListenerStatus[] {
  return [
    ...slice.l4.map((l) => ({ protocol: l.protocol, address: l.address, port: l.port, name: l.name })),
    ...slice.http.map((l) => ({ protocol: "TCP" as const, address: l.address, port: l.port, name: l.name })),
  ].map((l) => ({ ...l, key: listenerKey(l.protocol, l.address, l.port), state: "binding" as const }));
}

/** engineListeners is one engine's part of the fleet's listener state. */
export function engineListeners(e: EngineState): ListenerStatus[] {
  const wanted = sliceListeners(e.sent.slice);
  const v = e.sent.ref.version;
  if (sameRef(e.acked, e.sent.ref)) {
    const reported = new Map(e.listeners.map((l) => [l.key, l]));
    return wanted.map((w) => {
      const r = reported.get(w.key);
      if (r === undefined) return { ...w, error: `engine ${e.name} has not reported this listener yet` };
      // Several engines serve a VIP: say which one cannot bind it (the others may be fine).
      return r.state === "error" && r.error !== undefined
        ? { ...r, error: `engine ${e.name}: ${r.error}` }
        : r;
    });
  }
  const nack = e.lastNack;
  if (nack !== undefined && sameRef(nack, e.sent.ref) && nack.stale !== true)
    return wanted.map((w) =>
      // A NACK naming one listener is that listener's object's problem; the rest wait with it.
      nack.listener === undefined || nack.listener === w.name
        ? {
            ...w,
            state: "error",
            code: ENGINE_NACK,
            error: `engine ${e.name} rejected version ${v}: ${nack.error}`,
          }
        : {
            ...w,
            code: ENGINE_PENDING,
            error: `engine ${e.name} rejected version ${v} because of ${nack.listener} and keeps serving its previous one`,
          },
    );
  // A stale NACK will not turn into an ack by waiting: the engine follows a newer epoch.
  const error =
    nack !== undefined && sameRef(nack, e.sent.ref) && nack.stale === true
      ? `engine ${e.name} refused version ${v} as stale (${nack.error}): another controller leads it, or this controller's state was reset; restart engine ${e.name} to follow this controller`
      : `waiting for engine ${e.name} to ack version ${v}`;
  return wanted.map((w) => ({ ...w, code: ENGINE_PENDING, error }));
}

/** fleetListeners merges every engine's listener state, the worst state of a listener winning. */
export function fleetListeners(engines: readonly EngineState[]): ListenerStatus[] {
  return mergeListeners(engines.map(engineListeners));
}
