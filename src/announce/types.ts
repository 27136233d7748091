// types.ts: what an engine's announcer does and reports. The announcer makes the VIPs of the
// engine's snapshot (EngineSnapshot.announce) reachable on the network with the system's own tools
// — iproute2, arping and na6 for L2, a BIRD child process for BGP — and never writes ARP or BGP
// packets itself (ARCHITECTURE.md). Imports only the IR, like the engine.
//
// The kernel is the lease: every address the announcer adds carries valid_lft = leaseMs and is
// renewed every leaseMs/3, so the announcements of an engine that dies or freezes end within one
// lease without anyone cleaning up (a BGP route is exported only while its address exists).
import type { Announcement } from "../model/ir.ts";

/** VipAnnounceState is where one VIP's announcement stands on this engine. */
export type VipAnnounceState = "Announced" | "Failed" | "Withdrawn";

/** VipAnnounceStatus is one VIP as this engine announces it. */
export interface VipAnnounceStatus {
  address: string;
  mode: "L2" | "BGP";
  state: VipAnnounceState;
  /** interface the address is on (L2: the announcing interface; BGP: lo). */
  interface?: string;
  /** since is when state last changed (ISO 8601). */
  since: string;
  /**
   * reason is a CamelCase cause. Failed: InterfaceNotFound, AddressFailed, ToolMissing, ToolFailed,
   * DaemonUnreachable, NoPeerEstablished. Withdrawn: Draining, EngineFrozen (the engine did not run
   * for more than a lease; it announces nothing until the controller sends a snapshot).
   */
  reason?: string;
  /** message says what happened and what to do next. */
  message?: string;
}

/** BgpPeerStatus is one BGP session as the engine's BIRD reports it. */
export interface BgpPeerStatus {
  name: string;
  address: string;
  /** state is BIRD's BGP state: Idle, Connect, Active, OpenSent, OpenConfirm, Established (or Down when the daemon is gone). */
  state: string;
  /** since is when state last changed (ISO 8601). */
  since: string;
  /** message is BIRD's last error for the session ("Received: Hold timer expired"), when any. */
  message?: string;
  /** routesExported is how many prefixes the session announces now. */
  routesExported?: number;
}

/** AnnounceStatus is everything the announcer reports (engine → controller, admin API, metrics). */
export interface AnnounceStatus {
  vips: VipAnnounceStatus[];
  peers: BgpPeerStatus[];
  /** daemon is BIRD's state, when the engine runs one: Running, or Failed with a message. */
  daemon?: { state: "Running" | "Failed"; message?: string; restarts: number };
}

/**
 * Announcer is the engine's side of VIP announcement. The engine port calls prepare() before it
 * binds a snapshot's listeners (a VIP address must exist locally before a listener can bind it)
 * and commit() once the binds settled (announce what is new, withdraw and remove what is gone).
 * On a refused snapshot it calls commit() with the previous announcement, which undoes prepare().
 */
export interface Announcer {
  /** prepare adds the addresses that next announces and the engine does not have yet (no announcement yet). */
  prepare(next: Announcement | undefined): Promise<void>;
  /** commit makes next the announced set: announces new VIPs, withdraws and removes the rest. */
  commit(next: Announcement | undefined): Promise<void>;
  /** withdrawAll stops every announcement (a drain) but keeps the addresses, so open connections finish. */
  withdrawAll(): Promise<void>;
  /** releaseL2 removes the L2 addresses after a drain's withdraw delay (the new owners announced by then). */
  releaseL2?(): Promise<void>;
  status(): AnnounceStatus;
  /** onChange calls fn whenever status() changes (a VIP announced or failed, a peer's state). */
  onChange(fn: () => void): void;
  /** close withdraws everything, removes the addresses, and stops BIRD. */
  close(): Promise<void>;
}

/** BgpRoute is one prefix the speaker exports, with its attributes. */
export interface BgpRoute {
  /** prefix is "192.0.2.10/32", or the covering prefix when aggregationLength is set. */
  prefix: string;
  communities: string[];
  localPref?: number;
}

/**
 * BgpDriver runs the engine's BIRD. set() is idempotent: the speaker and the exact set of routes
 * to export; an unchanged configuration does not touch BIRD, a changed one is reloaded in place
 * (`birdc configure`), which keeps unchanged sessions up.
 */
export interface BgpDriver {
  set(speaker: Announcement["bgp"], routes: readonly BgpRoute[]): Promise<void>;
  peers(): BgpPeerStatus[];
  daemon(): AnnounceStatus["daemon"];
  onChange(fn: () => void): void;
  close(): Promise<void>;
}
