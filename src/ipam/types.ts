// types.ts: the IPAM contract. allocate() is pure: same inputs, same outputs; no clock, no I/O.
import type { Namespace } from "../k8s/types.ts";
import type { VipPool, VipPoolStatus } from "../k8s/vip-pool.ts";

/** IpFamily is an address family. */
export type IpFamily = "IPv4" | "IPv6";

/** PortClaim is one port a VIP serves; two claims clash when port and protocol are equal. */
export interface PortClaim {
  port: number;
  protocol: "TCP" | "UDP";
}

/** VipRequest asks for one VIP (one address per family) for one owner object. */
export interface VipRequest {
  /** key identifies the request and its allocation ("Service/ns/name", "IngressClass/portico"). */
  key: string;
  /** namespace of the owner ("" for cluster-scoped owners); matched by pool namespace selectors. */
  namespace: string;
  /** labels of the owner; matched by pool service selectors. */
  labels: Record<string, string>;
  /** requested are specific addresses (spec.loadBalancerIP or portico.dev/load-balancer-ips). */
  requested: string[];
  /** pool names the one pool to draw from (portico.dev/address-pool); absent: any eligible pool. */
  pool?: string;
  /** allowedPools, when set, are the only pools the request may draw from (its tenant's spec.vipPools). */
  allowedPools?: string[];
  /** reservedPools maps pools other tenants reserved (their spec.vipPools) to those tenants: not for this request. */
  reservedPools?: Record<string, string[]>;
  /**
   * allowedGroups, when set, are the EngineGroups the owner may run on (its tenant's
   * spec.engineGroups): set only for an owner that names no group of its own or of its class, whose
   * pool's engineGroup then decides where it runs — a pool of another group is not for it.
   */
  allowedGroups?: string[];
  /** tenant names the owner's tenant, for the PoolNotAllowed message. */
  tenant?: string;
  /** sharingKey lets requests with the same key share an address when their ports don't clash. */
  sharingKey?: string;
  ports: PortClaim[];
  /** families wanted, in order (spec.ipFamilies); one address per family. */
  families: IpFamily[];
  /** familyPolicy: RequireDualStack fails unless every family is served; Prefer takes what it can. */
  familyPolicy: "SingleStack" | "PreferDualStack" | "RequireDualStack";
  /** order sorts requests so older objects are served first ("<creationTimestamp>/<key>"). */
  order: string;
}

/** Assignment is what a request holds: addresses and the pool each came from. */
export interface Assignment {
  addresses: string[];
  pools: string[];
  sharingKey?: string;
  ports: PortClaim[];
}

/** AllocationState is every assignment by request key; it is what gets persisted. */
export type AllocationState = Readonly<Record<string, Assignment>>;

/** RefusalReason is why a pool could not serve a request; stable codes for status and explain. */
export type RefusalReason =
  | "PoolNotRequested"
  | "PoolNotAllowed"
  | "NamespaceMismatch"
  | "SelectorMismatch"
  | "NotAutoAssign"
  | "FamilyMismatch"
  | "Exhausted"
  | "RequestedIPOutsidePool"
  | "RequestedIPTaken"
  | "SharingKeyMismatch"
  | "PortClash"
  | "PoolInvalid";

/** PoolVerdict is one line of `portico explain`: a pool, whether it was chosen, and why. */
export interface PoolVerdict {
  pool: string;
  chosen: boolean;
  reason?: RefusalReason;
  /** detail in plain words: "exhausted: 16/16 addresses assigned", "192.0.2.5 is held by Service/a/b". */
  detail: string;
}

/** AllocationResult is the outcome for one request. */
export type AllocationResult =
  | { ok: true; addresses: string[]; pools: string[]; verdicts: PoolVerdict[] }
  | {
      ok: false;
      /** reason is the headline code (the most telling refusal among the pools). */
      reason: RefusalReason | "NoPools" | "InvalidRequest";
      /** message is a one-line summary for Events and conditions. */
      message: string;
      verdicts: PoolVerdict[];
    };

/** AllocateInput is everything allocate() reads. */
export interface AllocateInput {
  requests: readonly VipRequest[];
  pools: readonly VipPool[];
  namespaces: readonly Namespace[];
  previous: AllocationState;
}

/** AllocateOutput is the new state, a result per request, and status per pool. */
export interface AllocateOutput {
  state: AllocationState;
  results: Readonly<Record<string, AllocationResult>>;
  poolStatus: Readonly<Record<string, VipPoolStatus>>;
}
