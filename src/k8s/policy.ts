// policy.ts: Portico's two attachable policies (portico.dev/v1alpha1, namespaced): WafPolicy, the
// OWASP CRS and custom rules on a Gateway, listener, route or route rule (docs/waf.md), and
// AccessPolicy, client-address lists, rate and connection limits (docs/access-policy.md). Both
// attach by Gateway API targetRefs (direct policy attachment, GEP-713) or by Ingress annotation.
// The schemas of record are deploy/crds/portico.dev_{wafpolicies,accesspolicies}.yaml; these
// types mirror them (src/k8s/policy-crd.test.ts keeps them in step).
import type { Condition, ObjectMeta } from "./types.ts";

/** WAF_POLICY_ANNOTATION attaches a WafPolicy of the Ingress's namespace to all its routes. */
export const WAF_POLICY_ANNOTATION = "portico.dev/waf-policy";
/** ACCESS_POLICY_ANNOTATION attaches an AccessPolicy of the Ingress's namespace to all its routes. */
export const ACCESS_POLICY_ANNOTATION = "portico.dev/access-policy";

/**
 * PolicyTargetRef is Gateway API's LocalPolicyTargetReferenceWithSectionName: an object of the
 * policy's own namespace; sectionName is a Gateway listener's name or a route rule's name.
 */
export interface PolicyTargetRef {
  group: string;
  kind: "Gateway" | "HTTPRoute" | "GRPCRoute";
  name: string;
  sectionName?: string;
}

/** PolicyAncestorRef names what a status entry is about: the targeted object (and section). */
export interface PolicyAncestorRef {
  group: string;
  kind: string;
  namespace?: string;
  name: string;
  sectionName?: string;
}

/** PolicyAncestorStatus is Gateway API's: one target's conditions, written by one controller. */
export interface PolicyAncestorStatus {
  ancestorRef: PolicyAncestorRef;
  controllerName: string;
  conditions: Condition[];
}

/** PolicyStatus holds one entry per target (ancestors) and the policy's own InputValid (conditions). */
export interface PolicyStatus {
  ancestors?: PolicyAncestorStatus[];
  conditions?: Condition[];
}

/** WafExclusionSpec silences rules by id (942100 or "942100-942199") and/or tag, wholly or for some variables. */
export interface WafExclusionSpec {
  ruleIds?: (number | string)[];
  tags?: string[];
  variables?: string[];
}

/** WafPathMatch is an allowlisted request path. */
export interface WafPathMatch {
  type?: "Exact" | "PathPrefix" | "RegularExpression";
  value: string;
}

/** WafPolicySpec describes one policy; every field has a default (docs/waf.md). */
export interface WafPolicySpec {
  /** targetRefs attach the policy; absent or empty: only Ingress annotations attach it. */
  targetRefs?: PolicyTargetRef[];
  /** mode: Detection (default) logs what would be blocked; Enforcement blocks. */
  mode?: "Detection" | "Enforcement";
  /** paranoiaLevel 1–4 (default 1) blocks; detectionParanoiaLevel (≥ it) also runs higher rules, logging only. */
  paranoiaLevel?: number;
  detectionParanoiaLevel?: number;
  /** anomalyThreshold: the CRS anomaly scores that block (inbound 5, outbound 4). */
  anomalyThreshold?: { inbound?: number; outbound?: number };
  /** exclusions silence rules for every route the policy covers. */
  exclusions?: WafExclusionSpec[];
  /** allowlist: requests from these clients or to these paths are not inspected. */
  allowlist?: { clientCIDRs?: string[]; paths?: WafPathMatch[] };
  /** crsSettings set other CRS tx variables (allowed_methods, ...), without the "tx." prefix. */
  crsSettings?: Record<string, string>;
  /** customRules are SecLang texts run after the CRS; name locates their errors (name:line). */
  customRules?: { name: string; rules: string }[];
  /** requestBody: bytes buffered for inspection (131072); past it Reject (413, default) or ProcessPartial. */
  requestBody?: { limitBytes?: number; onLimit?: "Reject" | "ProcessPartial" };
  /** responseBody: inspect (false) text responses up to limitBytes (524288). */
  responseBody?: { inspect?: boolean; limitBytes?: number };
  /** budget: WAF time per exchange (50 ms); past it FailOpen (default) serves, FailClosed answers 503. */
  budget?: { milliseconds?: number; onExceeded?: "FailOpen" | "FailClosed" };
}

/** WafPolicy is the custom resource. */
export interface WafPolicy {
  apiVersion: "portico.dev/v1alpha1";
  kind: "WafPolicy";
  metadata: ObjectMeta;
  spec: WafPolicySpec;
  status?: PolicyStatus;
}

/** RateLimitSpec: requests per period per key on average, burst at once (a local token bucket). */
export interface RateLimitSpec {
  requests: number;
  /** per is the period (default Second). */
  per?: "Second" | "Minute" | "Hour";
  /** burst is the bucket's size (default: requests). */
  burst?: number;
  /** key: ClientAddress (default) or the value of a request Header (name required). */
  key?: { type: "ClientAddress" | "Header"; name?: string };
}

/** AccessPolicySpec describes one policy (docs/access-policy.md). */
export interface AccessPolicySpec {
  targetRefs?: PolicyTargetRef[];
  /** clientAddresses: CIDRs; deny wins over allow; a non-empty allow refuses every other client. */
  clientAddresses?: { allow?: string[]; deny?: string[] };
  rateLimit?: RateLimitSpec;
  /** connectionLimit caps client connections per listener (Gateway or listener targets only). */
  connectionLimit?: { maxConnections: number };
}

/** AccessPolicy is the custom resource. */
export interface AccessPolicy {
  apiVersion: "portico.dev/v1alpha1";
  kind: "AccessPolicy";
  metadata: ObjectMeta;
  spec: AccessPolicySpec;
  status?: PolicyStatus;
}
