// kinds.ts: the API resources the kube source watches — every kind the file source reads, at the
// version the API serves it — and how to build their URLs.

/** Resource is one watched API resource. */
export interface Resource {
  kind: string;
  /** group is the API group ("" for core). */
  group: string;
  version: string;
  /** plural is the URL segment ("services"). */
  plural: string;
  namespaced: boolean;
  /** optional resources (CRDs that may not be installed) are skipped while the API answers 404. */
  optional: boolean;
  /** fieldSelector narrows what is listed and watched (Secrets: only TLS key pairs). */
  fieldSelector?: string;
}

const res = (
  kind: string,
  group: string,
  version: string,
  plural: string,
  namespaced: boolean,
  optional = false,
): Resource => ({
  kind,
  group,
  version,
  plural,
  namespaced,
  optional,
});

const GW = "gateway.networking.k8s.io";

/** RESOURCES lists what the kube source watches; Gateway API kinds (v1, as the v1.5+ standard
 * channel serves every one of them) are optional: absent CRDs are skipped. */
export const RESOURCES: readonly Resource[] = [
  res("Service", "", "v1", "services", true),
  res("EndpointSlice", "discovery.k8s.io", "v1", "endpointslices", true),
  res("Ingress", "networking.k8s.io", "v1", "ingresses", true),
  res("IngressClass", "networking.k8s.io", "v1", "ingressclasses", false),
  // Only kubernetes.io/tls Secrets can hold a serving certificate; not reading the others keeps
  // tokens and passwords out of Portico's memory.
  { ...res("Secret", "", "v1", "secrets", true), fieldSelector: "type=kubernetes.io/tls" },
  // An EngineGroup's BGP peer passwords (spec.bgp.peers[].passwordSecretRef), typed as MetalLB
  // asks for them: kubernetes.io/basic-auth, key "password".
  { ...res("Secret", "", "v1", "secrets", true), fieldSelector: "type=kubernetes.io/basic-auth" },
  res("Namespace", "", "v1", "namespaces", false),
  // ConfigMaps carry BackendTLSPolicy CA certificates (ca.crt), as the Gateway API specifies.
  res("ConfigMap", "", "v1", "configmaps", true),
  res("VipPool", "portico.dev", "v1alpha1", "vippools", false, true),
  res("EngineGroup", "portico.dev", "v1alpha1", "enginegroups", false, true),
  res("DnsZone", "portico.dev", "v1alpha1", "dnszones", false, true),
  res("CertificateIssuer", "portico.dev", "v1alpha1", "certificateissuers", false, true),
  res("Tenant", "portico.dev", "v1alpha1", "tenants", false, true),
  res("WafPolicy", "portico.dev", "v1alpha1", "wafpolicies", true, true),
  res("AccessPolicy", "portico.dev", "v1alpha1", "accesspolicies", true, true),
  res("GatewayClass", GW, "v1", "gatewayclasses", false, true),
  res("Gateway", GW, "v1", "gateways", true, true),
  res("ListenerSet", GW, "v1", "listenersets", true, true),
  res("HTTPRoute", GW, "v1", "httproutes", true, true),
  res("GRPCRoute", GW, "v1", "grpcroutes", true, true),
  res("TLSRoute", GW, "v1", "tlsroutes", true, true),
  res("TCPRoute", GW, "v1", "tcproutes", true, true),
  res("UDPRoute", GW, "v1", "udproutes", true, true),
  res("ReferenceGrant", GW, "v1", "referencegrants", true, true),
  res("BackendTLSPolicy", GW, "v1", "backendtlspolicies", true, true),
];

/** apiVersionOf is "group/version" ("v1" for core). */
export function apiVersionOf(r: Pick<Resource, "group" | "version">): string {
  return r.group ? `${r.group}/${r.version}` : r.version;
}

/** collectionPath is the URL of r's collection, in namespace ns when given ("" = all namespaces). */
export function collectionPath(r: Resource, ns = ""): string {
  const base = r.group ? `/apis/${r.group}/${r.version}` : `/api/${r.version}`;
  return ns && r.namespaced ? `${base}/namespaces/${ns}/${r.plural}` : `${base}/${r.plural}`;
}

/** objectPath is the URL of one object (plus "/status" etc. via sub). */
export function objectPath(r: Resource, ns: string | undefined, name: string, sub = ""): string {
  return `${collectionPath(r, ns ?? "")}/${encodeURIComponent(name)}${sub ? `/${sub}` : ""}`;
}

/** resourceOf finds the watched resource of a kind. */
export function resourceOf(kind: string): Resource {
  const r = RESOURCES.find((x) => x.kind === kind);
  if (!r) throw new Error(`kind ${kind} is not watched`);
  return r;
}
