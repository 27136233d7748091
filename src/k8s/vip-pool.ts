// vip-pool.ts: the VipPool custom resource (portico.dev/v1alpha1). Its schema of record is
// deploy/crds/portico.dev_vippools.yaml; this type mirrors that schema and a test keeps them in step.
import type { Condition, ObjectMeta } from "./types.ts";

/** LabelSelector is metav1.LabelSelector (matchLabels ANDed with matchExpressions). */
export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: {
    key: string;
    operator: "In" | "NotIn" | "Exists" | "DoesNotExist";
    values?: string[];
  }[];
}

/** VipPoolSpec describes addresses Portico may hand out and who may get them. */
export interface VipPoolSpec {
  /** addresses are CIDRs ("192.0.2.0/28", "2001:db8::/120") or ranges ("192.0.2.10-192.0.2.20"). */
  addresses: string[];
  /** autoAssign: when false the pool is used only when asked for by name or by a requested IP. Default true. */
  autoAssign?: boolean;
  /** avoidBuggyIPs skips addresses ending in .0 or .255 (network/broadcast-looking). Default false. */
  avoidBuggyIPs?: boolean;
  /** priority: among pools whose selectors match, lower numbers are tried first. Default 0. */
  priority?: number;
  /** engineGroup names the EngineGroup that serves this pool's addresses when the object names none (default "default"). */
  engineGroup?: string;
  /**
   * announce says how the pool's addresses reach the network (docs/networking.md); default None:
   * the network routes them to the nodes by hand. L2 and BGP follow MetalLB's L2Advertisement and
   * BGPAdvertisement; which engines announce is the EngineGroup's (its placement and HA mode).
   */
  announce?: VipPoolAnnounce;
  /** serviceAllocation limits which objects may draw from the pool. */
  serviceAllocation?: {
    namespaces?: string[];
    namespaceSelectors?: LabelSelector[];
    serviceSelectors?: LabelSelector[];
  };
}

/** VipPoolAnnounce is a pool's announcement mode and its options. */
export interface VipPoolAnnounce {
  mode: "None" | "L2" | "BGP";
  /** l2.interfaces: where the owning engine adds the address (default: the interface whose subnet holds it). */
  l2?: { interfaces?: string[] };
  /** bgp: route attributes (the sessions are the EngineGroup's spec.bgp). */
  bgp?: {
    communities?: string[];
    localPref?: number;
    /** aggregationLength (IPv4, default 32) and aggregationLengthV6 (default 128) announce covering prefixes. */
    aggregationLength?: number;
    aggregationLengthV6?: number;
  };
}

/** VipPoolStatus is what Portico reports back on a pool. */
export interface VipPoolStatus {
  assignedIPv4: number;
  assignedIPv6: number;
  availableIPv4: number;
  /** availableIPv6 saturates at Number.MAX_SAFE_INTEGER for very large v6 pools. */
  availableIPv6: number;
  conditions?: Condition[];
}

/** VipPool is a named set of VIP addresses. Cluster-scoped. */
export interface VipPool {
  apiVersion: "portico.dev/v1alpha1";
  kind: "VipPool";
  metadata: ObjectMeta;
  spec: VipPoolSpec;
  status?: VipPoolStatus;
}
