// announce-port.ts: the EnginePort that also announces its VIPs (src/announce). Around the inner
// engine's apply: announcer.prepare (addresses, so the listeners can bind them) → apply →
// announcer.commit (the new announcement, or the previous one when the engine refused the
// snapshot, which undoes prepare). A drain withdraws first, waits withdrawDelayMs for routers and
// neighbours to move new traffic away, then drains the engine. Nothing is started — no timer, no
// child process — until a snapshot carries `announce`, so an engine that announces nothing pays
// one property read per snapshot.
import { KernelAnnouncer } from "../announce/announcer.ts";
import { serializer } from "../announce/serial.ts";
import type { AnnounceStatus, Announcer, BgpDriver } from "../announce/types.ts";
import { Gauge } from "../engine/prom.ts";
import type { Announcement } from "../model/ir.ts";
import type { Logger } from "./log.ts";
import type { EnginePort } from "./standalone.ts";

/** WITHDRAW_DELAY_MS is the wait between withdrawing and draining when the snapshot names none. */
export const WITHDRAW_DELAY_MS = 2000;

/** AnnouncePortOptions: create makes the announcer (tests); bgp makes the BGP driver of the default one. */
export interface AnnouncePortOptions {
  log: Logger;
  bgp?: () => BgpDriver;
  create?: () => Announcer;
  /**
   * sole: this engine is the only one announcing its VIPs and no controller elsewhere sends it
   * snapshots (`portico run` without --engine-listen). After a freeze it announces them again at
   * once: nobody else can have taken them, and no snapshot would come to end the withdrawal.
   */
  sole?: boolean;
}

/** withAnnouncer wraps inner so the VIPs of its snapshots are announced (docs/networking.md). */
export function withAnnouncer(inner: EnginePort, o: AnnouncePortOptions): EnginePort {
  let announcer: Announcer | undefined;
  let current: Announcement | undefined;
  const listeners: (() => void)[] = [];
  // apply and a sole engine's re-announcement run one at a time: the announcer's calls never overlap.
  const serial = serializer();
  let draining = false;
  const make = (): Announcer => {
    const a = o.create?.() ?? new KernelAnnouncer({ log: o.log, bgp: o.bgp });
    a.onChange(() => {
      if (o.sole && !draining && wokeFrozen(a.status())) {
        o.log("warn", "the engine was frozen longer than its lease; announcing its VIPs again");
        void serial(() => guarded("re-announcement", () => a.commit(current)));
      }
      listeners.forEach((fn) => fn());
    });
    return a;
  };
  // The announcer's failures are statuses; a throw here is a bug, and must not fail the snapshot.
  const guarded = async (what: string, fn: () => Promise<void>) => {
    try {
      await fn();
    } catch (err) {
      o.log("error", `announcer ${what} failed`, { error: (err as Error)?.stack ?? String(err) });
    }
  };
  // Explicit delegation: inner may be a class instance (WorkerGroup), whose methods a spread drops.
  return {
    status: () => inner.status(),
    ...(inner.onListenerChange && { onListenerChange: (fn: () => void) => inner.onListenerChange!(fn) }),
    ...(inner.liveness && { liveness: () => inner.liveness!() }),
    ...(inner.load && { load: () => inner.load!() }),
    ...(inner.analytics && { analytics: () => inner.analytics!() }),
    ...(inner.cutAnalytics && { cutAnalytics: () => inner.cutAnalytics!() }),
    ...(inner.view && { view: () => inner.view!() }),
    ...(inner.setGroups && {
      setGroups: (g: Parameters<NonNullable<EnginePort["setGroups"]>>[0]) => inner.setGroups!(g),
    }),
    async apply(snapshot) {
      if (announcer === undefined && snapshot.announce === undefined) return inner.apply(snapshot);
      const a = (announcer ??= make());
      return serial(async () => {
        await guarded("prepare", () => a.prepare(snapshot.announce));
        let result: Awaited<ReturnType<EnginePort["apply"]>> | undefined;
        try {
          result = await inner.apply(snapshot);
          if (result.ok) current = snapshot.announce;
        } finally {
          // Also when apply threw: the addresses prepare added for a snapshot not applied must go
          // (an L2 address left on this node answers ARP beside the VIP's real owner).
          await guarded("commit", () => a.commit(current));
        }
        return result;
      });
    },
    // The in-process engine's metrics are a string, and callers may rely on that: stay synchronous
    // when the inner port is (the announcer's status is a plain read).
    metrics() {
      const text = inner.metrics();
      const a = announcer;
      if (!a) return text;
      const add = (t: string) =>
        `${t}${t === "" || t.endsWith("\n") ? "" : "\n"}${announceMetrics(a.status())}`;
      return typeof text === "string" ? add(text) : text.then(add);
    },
    async drain(deadlineMs) {
      if (!announcer) return (await inner.drain?.(deadlineMs)) ?? true;
      const started = performance.now();
      draining = true;
      await guarded("withdrawal", () => announcer!.withdrawAll());
      const delay = Math.min(current?.withdrawDelayMs ?? WITHDRAW_DELAY_MS, deadlineMs);
      o.log("info", "announcements withdrawn; waiting before the drain", { delayMs: delay });
      await new Promise((r) => setTimeout(r, delay));
      // The VIPs' new owners have announced by now: stop answering ARP/NDP for them here.
      await guarded("L2 release", async () => await announcer!.releaseL2?.());
      const left = Math.max(0, Math.round(deadlineMs - (performance.now() - started)));
      return (await inner.drain?.(left)) ?? true;
    },
    async close() {
      // Withdraw and remove the addresses before the listeners go: the network moves first.
      if (announcer) await guarded("close", () => announcer!.close());
      await inner.close();
    },
    announce: () => announcer?.status(),
    onAnnounceChange: (fn) => void listeners.push(fn),
  };
}

const STATES = ["Announced", "Failed", "Withdrawn"] as const;

/** announceMetrics renders portico_announce_vip_state (1 for each VIP's current state) and portico_bgp_session_up. */
export function announceMetrics(s: AnnounceStatus): string {
  const state = new Gauge(
    "portico_announce_vip_state",
    "Announcement state of each VIP this engine holds: 1 for its current state (Announced, Failed, Withdrawn).",
    ["vip", "mode", "state"],
  );
  for (const v of s.vips) for (const st of STATES) state.set([v.address, v.mode, st], v.state === st ? 1 : 0);
  const up = new Gauge("portico_bgp_session_up", "1 while the BGP session to the peer is Established.", [
    "peer",
  ]);
  for (const p of s.peers) up.set([p.name], p.state === "Established" ? 1 : 0);
  const out: string[] = [];
  state.render(out);
  if (s.peers.length > 0) up.render(out);
  return out.join("\n") + "\n";
}

/**
 * wokeFrozen says whether an engine reports that it withdrew its VIPs after being frozen longer than
 * a lease (announcer.ts): it announces nothing again until it is sent a snapshot. A fleet re-pushes
 * its slice (fleet-port.ts): a freeze shorter than the link's timeout, or a reconnect whose Hello
 * `have` is current, changes nothing the fleet would push for, so it would stay withdrawn for good;
 * the slice is the current plan, so a VIP that moved away while it was frozen is not in it. A sole
 * engine (`portico run` without a fleet) announces its VIPs again itself (withAnnouncer).
 */
export function wokeFrozen(s: AnnounceStatus | undefined): boolean {
  return (s?.vips ?? []).some((v) => v.state === "Withdrawn" && v.reason === "EngineFrozen");
}
