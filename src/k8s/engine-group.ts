// engine-group.ts: the EngineGroup custom resource (portico.dev/v1alpha1, cluster-scoped): a set
// of engines (`portico engine`) sized, placed and failed over together, as Avi's Service Engine
// groups. Its schema of record is deploy/crds/portico.dev_enginegroups.yaml; this type mirrors it.
import type { Condition, ObjectMeta } from "./types.ts";
import type { LabelSelector } from "./vip-pool.ts";

/** DEFAULT_ENGINE_GROUP serves every VIP that names no group; it exists without a manifest. */
export const DEFAULT_ENGINE_GROUP = "default";

/** ENGINE_GROUP_ANNOTATION picks a group on a Service, Ingress or Gateway; it wins over class parameters and the VipPool. */
export const ENGINE_GROUP_ANNOTATION = "portico.dev/engine-group";

/** HaMode says how a group's engines share its VIPs. */
export type HaMode = "ActiveActive" | "ActiveStandby" | "NPlusM";

/** EngineGroupSpec is what the user asks of a group; every field has a default. */
export interface EngineGroupSpec {
  /** replicas is a fixed engine count (default 1); ignored when autoscaling is set. */
  replicas?: number;
  /** autoscaling lets the controller pick the count between min and max on measured load. */
  autoscaling?: {
    minReplicas: number;
    maxReplicas: number;
    /** targetUtilization is the share of measured capacity to run at, percent (default 70). */
    targetUtilization?: number;
  };
  /** resources is the size of one engine: vCPU ("500m", "2") and memory ("512Mi"). */
  resources?: { cpu?: string; memory?: string };
  /** workers is the engine's worker processes ("auto": one per vCPU; default 1). */
  workers?: number | "auto";
  /** workload is how Kubernetes runs the engines (default Deployment). */
  workload?: "Deployment" | "DaemonSet";
  placement?: {
    nodeSelector?: Record<string, string>;
    tolerations?: Toleration[];
    /** spreadAcross: topology to spread engines over (default Node). */
    spreadAcross?: "Node" | "Zone" | "None";
  };
  /** haMode: ActiveActive (default), ActiveStandby, NPlusM. */
  haMode?: HaMode;
  /** spares is M of NPlusM (default 1). */
  spares?: number;
  /** limits per engine (0: off). */
  limits?: { maxConnections?: number; maxConnectionRate?: number };
  /** selector, when set, is the label selector of objects the group serves (besides explicit references). */
  selector?: LabelSelector;
  /** announcement tunes how engines announce VIPs (pools choose L2 or BGP; docs/networking.md). */
  announcement?: {
    /** leaseSeconds: a dead or frozen engine's announcements end within this (default 3, 1-60). */
    leaseSeconds?: number;
    /** withdrawDelaySeconds: a draining engine waits this long after withdrawing before it stops accepting (default 2). */
    withdrawDelaySeconds?: number;
  };
  /** bgp: the sessions the group's engines open to the network's routers, for pools announced by BGP. */
  bgp?: EngineGroupBgp;
}

/** EngineGroupBgp is the group's BGP speaker: its ASN and peers (MetalLB's BGPPeer). */
export interface EngineGroupBgp {
  /** asn is the engines' AS number. */
  asn: number;
  /** routerId (IPv4 literal); default: each engine's lowest IPv4 address. */
  routerId?: string;
  peers: {
    /** name names the peer in status and metrics (default "peer-N"). */
    name?: string;
    address: string;
    asn: number;
    port?: number;
    /** passwordSecretRef names a Secret key holding the TCP-MD5 password (namespace: the controller's; standalone: any). */
    passwordSecretRef?: { name: string; namespace?: string; key?: string };
    /** holdTimeSeconds (default 9; 3-65535) and keepaliveSeconds (default a third of it). */
    holdTimeSeconds?: number;
    keepaliveSeconds?: number;
    bfd?: boolean;
    ebgpMultihop?: number;
    /** nodes limits the peer to engines on these nodes (default every node). */
    nodes?: string[];
  }[];
}

/** Toleration is a core/v1 Toleration, copied onto the engines' pods. */
export interface Toleration {
  key?: string;
  operator?: "Exists" | "Equal";
  value?: string;
  effect?: "NoSchedule" | "PreferNoSchedule" | "NoExecute";
  tolerationSeconds?: number;
}

/** EngineGroupStatus is what the controller reports on a group. */
export interface EngineGroupStatus {
  conditions?: Condition[];
  /** observedGeneration is the generation the conditions and vips describe. */
  observedGeneration?: number;
  /** vips are the VIP addresses the group serves, sorted. */
  vips?: string[];
  replicas?: number;
  readyReplicas?: number;
  engines?: EngineStatusEntry[];
  /** capacity is the calibrated per-core throughput the sizing divides by (portico size --calibrate). */
  capacity?: Calibration;
  /** sizing is the last sizing verdict, in words and numbers. */
  sizing?: { saturation: number; peak: string; advice: string; at: string };
}

/** EngineStatusEntry is one engine as the group's status lists it. */
export interface EngineStatusEntry {
  name: string;
  node: string;
  zone?: string;
  version: string;
  /** ackedVersion is the snapshot version the engine serves (acked); absent before its first ack. */
  ackedVersion?: number;
  ready: boolean;
  /** load is a short summary: requests/s, connections, CPU cores, saturation percent. */
  load?: { requestsPerSecond: number; connectionsOpen: number; cpuCores: number; saturationPercent: number };
  lastNack?: string;
}

/** Calibration is a measured capacity of one core, per kind of traffic. */
export interface Calibration {
  measuredAt: string;
  /** how: the command and machine it ran on, so a reader can rerun it. */
  how: string;
  perCore: { httpRequestsPerSecond: number; httpsRequestsPerSecond: number; tlsHandshakesPerSecond: number };
}

/** EngineGroup is the custom resource. */
export interface EngineGroup {
  apiVersion: "portico.dev/v1alpha1";
  kind: "EngineGroup";
  metadata: ObjectMeta;
  spec: EngineGroupSpec;
  status?: EngineGroupStatus;
}
