// gateway-types.ts: the Gateway passes' working model. A Gateway's listeners (its own and those
// ListenerSets add) are validated once; Routes then attach to them; the IR is built last from the
// listeners that are valid and the routes attached to them.
import type { Gateway, GatewaySpecListeners, ListenerSet } from "../k8s/gateway-api.ts";
import type { AnyObject } from "../k8s/types.ts";
import type { ClientValidation, TlsOptions } from "../model/ir.ts";
import type { Problems, Cond } from "./gateway-conditions.ts";

/** RouteKind is a Gateway API route kind Portico serves. */
export type RouteKind = "HTTPRoute" | "GRPCRoute" | "TLSRoute" | "TCPRoute" | "UDPRoute";

/** ROUTE_KINDS lists the route kinds in the order their passes read them. */
export const ROUTE_KINDS: readonly RouteKind[] = [
  "HTTPRoute",
  "GRPCRoute",
  "TLSRoute",
  "TCPRoute",
  "UDPRoute",
];

/** ParentRef is a route's spec.parentRefs entry (the same shape for every route kind). */
export interface ParentRef {
  group?: string;
  kind?: string;
  namespace?: string;
  name: string;
  sectionName?: string;
  port?: number;
}

/** RouteObject is any route kind, read through the fields they share. */
export type RouteObject = AnyObject & {
  kind: RouteKind;
  spec?: { parentRefs?: ParentRef[]; hostnames?: string[]; rules?: unknown[] };
};

/** Listener is one Gateway listener, from the Gateway itself or from a ListenerSet. */
export interface Listener {
  /** gateway is the Gateway the listener serves on. */
  gateway: Gateway;
  /** owner is the object whose spec lists the listener (the Gateway or a ListenerSet). */
  owner: Gateway | ListenerSet;
  spec: GatewaySpecListeners;
  name: string;
  port: number;
  protocol: string;
  /** hostname is lower-cased; undefined matches any name. TCP and UDP listeners ignore it. */
  hostname?: string;
  /** supportedKinds are the route kinds this listener accepts (spec.allowedRoutes.kinds ∩ protocol). */
  supportedKinds: RouteKind[];
  accepted: Problems;
  resolvedRefs: Problems;
  /**
   * certificateProblems are certificates that parsed but can't be served now (expired, not yet
   * valid, not naming the listener's hostname): reported as ResolvedRefs=False
   * InvalidCertificateRef, while the listener stays programmed with the default certificate.
   */
  certificateProblems: Problems;
  /** conflicted, when set, is the Conflicted=True value (HostnameConflict, ProtocolConflict). */
  conflicted?: Cond;
  /** certificates are certificate keys ("ns/secret") from tls.certificateRefs, in order. */
  certificates: string[];
  /** clientValidation is spec.tls.frontend resolved for this HTTPS listener (gateway-frontend-tls.ts). */
  clientValidation?: ClientValidation;
  /** tlsOptions are the listener's tls.options read by tls-options.ts (absent: the defaults). */
  tlsOptions?: TlsOptions;
  /** attached are the routes attached to this listener, in the order they attached. */
  attached: RouteObject[];
}

/** listenerUsable tells whether a listener is programmed: accepted, not conflicted, refs resolved. */
export function listenerUsable(l: Listener): boolean {
  return l.accepted.empty && !l.conflicted && l.resolvedRefs.empty;
}

/** transportOf is the transport a listener binds: UDP listeners bind UDP, every other one TCP. */
export function transportOf(protocol: string): "TCP" | "UDP" {
  return protocol === "UDP" ? "UDP" : "TCP";
}

/** KINDS_BY_PROTOCOL are the route kinds each listener protocol can carry. */
export const KINDS_BY_PROTOCOL: Readonly<Record<string, readonly RouteKind[]>> = {
  HTTP: ["HTTPRoute", "GRPCRoute"],
  HTTPS: ["HTTPRoute", "GRPCRoute"],
  TLS: ["TLSRoute"],
  TCP: ["TCPRoute"],
  UDP: ["UDPRoute"],
};

/** nsOf is an object's namespace ("" when cluster-scoped). */
export function nsOf(obj: { metadata: { namespace?: string } }): string {
  return obj.metadata.namespace ?? "";
}

/** keyOfObj names an object "Kind/ns/name". */
export function keyOfObj(obj: { kind: string; metadata: { name: string; namespace?: string } }): string {
  return obj.metadata.namespace
    ? `${obj.kind}/${obj.metadata.namespace}/${obj.metadata.name}`
    : `${obj.kind}/${obj.metadata.name}`;
}

/** byAge orders objects oldest first, then by namespace/name: the spec's tie-break order. */
export function byAge(
  a: { metadata: { creationTimestamp?: string; name: string; namespace?: string } },
  b: typeof a,
): number {
  const ta = a.metadata.creationTimestamp ?? "";
  const tb = b.metadata.creationTimestamp ?? "";
  if (ta !== tb) return ta < tb ? -1 : 1;
  const ka = `${a.metadata.namespace ?? ""}/${a.metadata.name}`;
  const kb = `${b.metadata.namespace ?? ""}/${b.metadata.name}`;
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}
