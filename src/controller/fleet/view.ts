// view.ts: the engines as the controller sees them — the body of GET /api/v1/engines, read by
// `portico get engines`, `portico explain enginegroup/NAME` and `portico size`.
import type { ListenerStatus } from "../../engine/listeners.ts";
import type { Calibration } from "../../k8s/engine-group.ts";
import type { EngineIdentity, EngineLoad } from "../../link/protocol.ts";
import type { AnnounceStatus } from "../../announce/types.ts";
import type { VipAnnouncementView } from "./announce-view.ts";

/** EngineView is one engine: who it is, what it serves, how loaded it is. */
export interface EngineView {
  identity: EngineIdentity;
  /** local is the in-process engine of `portico run`. */
  local: boolean;
  connected: boolean;
  /** connectedSince is an ISO time; absent for the local engine. */
  connectedSince?: string;
  lastHeardMsAgo: number;
  /** acked is the snapshot the engine last acknowledged (what it serves). */
  acked?: { epoch: number; seq: number; version: number };
  /** pending is the snapshot sent and not yet answered. */
  pending?: { epoch: number; seq: number; version: number };
  lastNack?: { epoch: number; seq: number; version: number; error: string; code: string; listener?: string };
  /** ready: connected, has acked the current push, and every listener it should have is bound. */
  ready: boolean;
  listeners: ListenerStatus[];
  /** load is the latest report. */
  load?: EngineLoad;
  /** history is up to the last hour of reports, oldest first (bounded; older ones rolled up). */
  history: EngineLoad[];
  /** announce is the engine's latest announcement report (its VIPs and BGP sessions). */
  announce?: AnnounceStatus;
}

/** FleetView is every engine of every group, with the controller's epoch and push sequence. */
export interface FleetView {
  epoch: number;
  seq: number;
  engines: EngineView[];
  /** calibration is the measured per-core capacity sizing divides by, when one was recorded. */
  calibration?: Calibration;
  /** announcements are the announced VIPs and who announces each (absent when none is announced). */
  announcements?: VipAnnouncementView[];
}
