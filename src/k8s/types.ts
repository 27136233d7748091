// types.ts: the Kubernetes object types Portico reads, taken from @kubernetes/client-node's generated
// models (never retyped by hand). Objects in a ResourceSet are plain JSON as the API server serves
// them, so timestamps are RFC 3339 strings rather than the client's Date objects.
import type {
  V1EndpointSlice,
  V1Ingress,
  V1IngressClass,
  V1Namespace,
  V1ObjectMeta,
  V1Secret,
  V1Service,
  V1Condition,
  V1LoadBalancerIngress,
} from "@kubernetes/client-node";

/** ObjectMeta is V1ObjectMeta with timestamps as the wire's RFC 3339 strings. */
export type ObjectMeta = Omit<V1ObjectMeta, "creationTimestamp" | "deletionTimestamp"> & {
  name: string;
  namespace?: string;
  creationTimestamp?: string;
  deletionTimestamp?: string;
};

/** Wire turns a generated model into its JSON shape: required metadata with string timestamps. */
export type Wire<T extends { metadata?: V1ObjectMeta }> = Omit<T, "metadata" | "apiVersion" | "kind"> & {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
};

/** Service is core/v1 Service as served by the API. */
export type Service = Wire<V1Service>;
/** EndpointSlice is discovery.k8s.io/v1 EndpointSlice. */
export type EndpointSlice = Wire<V1EndpointSlice>;
/** Ingress is networking.k8s.io/v1 Ingress. */
export type Ingress = Wire<V1Ingress>;
/** IngressClass is networking.k8s.io/v1 IngressClass. */
export type IngressClass = Wire<V1IngressClass>;
/** Secret is core/v1 Secret (data values base64, as on the wire). */
export type Secret = Wire<V1Secret>;
/** Namespace is core/v1 Namespace; its labels feed VipPool namespace selectors. */
export type Namespace = Wire<V1Namespace>;
/** Condition is metav1.Condition with lastTransitionTime as a string. */
export type Condition = Omit<V1Condition, "lastTransitionTime"> & { lastTransitionTime?: string };
/** LoadBalancerIngress is one entry of status.loadBalancer.ingress. */
export type LoadBalancerIngress = V1LoadBalancerIngress;

/** AnyObject is any manifest with apiVersion, kind and metadata; unknown kinds stay this shape. */
export interface AnyObject {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  [field: string]: unknown;
}
