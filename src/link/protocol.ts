// protocol.ts: the link between a controller and its engines (`portico engine`), both ways.
// The engine dials the controller's engine port over TLS (it pins the controller's CA), sends a
// Hello with the group's token, and from then on receives snapshots and answers each with an Ack
// or a Nack. Every snapshot carries the controller's epoch (a leader term: the Lease's transition
// count in Kubernetes, a counter kept in the state file standalone) and a sequence number within
// it, so an engine never applies a snapshot from an older leader or an older push
// (docs/engines.md). Frames are length-prefixed JSON (frames.ts); the IR has no classes.
import type { EngineSnapshot } from "../model/ir.ts";
import type { ListenerStatus } from "../engine/listeners.ts";
import type { AnnounceStatus } from "../announce/types.ts";
import type { AnalyticsBatch } from "../analytics/types.ts";

/** LINK_VERSION changes when a message changes incompatibly; a mismatch is refused with both versions named. */
export const LINK_VERSION = 1;

/** TLS_SERVER_NAME is the name engines verify on the controller's certificate (its only DNS SAN). */
export const TLS_SERVER_NAME = "portico-controller";

/** HELLO_TIMEOUT_MS: a connection that has not authenticated within this is closed. */
export const HELLO_TIMEOUT_MS = 5_000;
/** MAX_UNAUTHENTICATED_FRAME bounds what a peer may send before its Hello is accepted. */
export const MAX_UNAUTHENTICATED_FRAME = 64 * 1024;
/** MAX_FRAME bounds one message after authentication (a snapshot of 10,000 routes is ~10 MiB). */
export const MAX_FRAME = 256 * 1024 * 1024;
/** LOAD_INTERVAL_MS is how often an engine reports its load; the report is also its heartbeat. */
export const LOAD_INTERVAL_MS = 2_000;
/** PING_INTERVAL_MS is how often the controller pings an engine; the engine's liveness signal of the controller. */
export const PING_INTERVAL_MS = 2_000;
/** PEER_TIMEOUT_MS: a peer silent this long is gone (3 missed reports/pings + slack); the link is closed. */
export const PEER_TIMEOUT_MS = 7_000;

/** EngineIdentity is who an engine is, sent in its Hello and shown by `portico get engines`. */
export interface EngineIdentity {
  /** name is unique in the group (the pod name in Kubernetes; --name or the hostname standalone). */
  name: string;
  /** group is the EngineGroup this engine serves. */
  group: string;
  /** node is the machine (spec.nodeName in Kubernetes, the hostname standalone). */
  node: string;
  /** zone is topology.kubernetes.io/zone of the node, when known (spreading, ActiveStandby pairs). */
  zone?: string;
  /** version is the Portico version the engine runs. */
  version: string;
  pid: number;
  /** vcpu is the CPUs the engine may use (cgroup quota, else available parallelism). */
  vcpu: number;
  /** memoryBytes is the memory the engine may use (cgroup limit, else total memory). */
  memoryBytes: number;
  /** limits are the engine's configured connection limits (0: off). */
  limits: { maxConnections: number; maxConnectionRate: number };
}

/** EngineLoad is one load report: rates over the interval since the previous report. */
export interface EngineLoad {
  /** at is when it was taken (ms since the epoch, engine clock). */
  at: number;
  intervalMs: number;
  /** cpuCores is CPU time used per wall second over the interval (1.0 = one core busy), all workers. */
  cpuCores: number;
  /** eventLoopUtilization is the busiest worker's ELU over the interval, 0..1. */
  eventLoopUtilization: number;
  /** lagP99Ms is the busiest worker's event-loop delay, 99th percentile, over the interval. */
  lagP99Ms: number;
  connectionsOpen: number;
  connectionsPerSecond: number;
  requestsPerSecond: number;
  /**
   * tlsRequestsPerSecond are the requests of requestsPerSecond that came over TLS (sizing weighs
   * them by the HTTPS capacity); absent from an engine that does not tell them apart.
   */
  tlsRequestsPerSecond?: number;
  /** tlsHandshakesPerSecond: the costliest thing an HTTPS engine does; sizing weighs it. */
  tlsHandshakesPerSecond: number;
  bytesInPerSecond: number;
  bytesOutPerSecond: number;
  rssBytes: number;
}

/** Engine → controller messages. */
export type FromEngine =
  /** hello is the first frame: the token authenticates the engine; have is what it serves now. */
  | {
      type: "hello";
      linkVersion: number;
      token: string;
      engine: EngineIdentity;
      have?: { epoch: number; seq: number; version: number };
    }
  | { type: "ack"; epoch: number; seq: number; version: number }
  /**
   * nack refuses a snapshot; the engine keeps serving the last good one. stale is set when the
   * refusal is for its epoch or sequence (an old leader), not its content. code and listener come
   * from the engine's ApplyResult / EngineConfigError, so the controller can name the object.
   */
  | {
      type: "nack";
      epoch: number;
      seq: number;
      version: number;
      error: string;
      code: string;
      listener?: string;
      stale?: boolean;
    }
  /** status is the engine's listener bind state, sent after every ack/nack and when it changes. */
  | { type: "status"; listeners: ListenerStatus[] }
  | { type: "load"; load: EngineLoad }
  /** announce is the engine's VIP announcements and BGP sessions, sent when they change. */
  | { type: "announce"; status: AnnounceStatus }
  /**
   * analytics is the engine's traffic figures since its previous batch (analytics/types.ts), sent
   * every LOAD_INTERVAL_MS when there were any; while the link is down the engine keeps merging them
   * into one batch (bounded), sent once the link is back. The controller stamps the engine's name.
   */
  | { type: "analytics"; batch: AnalyticsBatch }
  | { type: "pong"; at: number };

/** Controller → engine messages. */
export type FromController =
  /** welcome accepts a hello; the controller's snapshot follows (or none, if have is current). */
  | { type: "welcome"; controller: string; epoch: number }
  /** refused closes the link: a wrong token, link version or group; reason says what to fix. */
  | { type: "refused"; reason: string }
  | { type: "snapshot"; epoch: number; seq: number; snapshot: EngineSnapshot }
  /** drain asks the engine to stop accepting, finish what is open, and exit (a rolling restart). */
  | { type: "drain"; deadlineMs: number }
  | { type: "ping"; at: number };
