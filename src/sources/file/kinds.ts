// kinds.ts: which kinds the file source reads, under which API groups, and their scope. A kind is
// identified by (group, kind): a same-named kind from another project (Knative's Service, Istio's
// Gateway) is a different resource and is skipped with a notice rather than rejected.

/** KindInfo describes one kind Portico reads. */
export interface KindInfo {
  /** group is the API group ("" for core). */
  group: string;
  /** versions lists accepted versions; a RegExp when a whole family is served (Gateway API). */
  versions: readonly string[] | RegExp;
  /** preferred is the apiVersion named in error messages. */
  preferred: string;
  /** namespaced is false for cluster-scoped kinds. */
  namespaced: boolean;
  /** related lists groups that mean the user wanted this kind but wrote an old or wrong group. */
  related: readonly string[];
}

const gatewayVersions = /^v1((alpha|beta)\d+)?$/;
const gw = (preferred: string, namespaced = true, extra: string[] = []): KindInfo => ({
  group: "gateway.networking.k8s.io",
  versions: gatewayVersions,
  preferred: `gateway.networking.k8s.io/${preferred}`,
  namespaced,
  related: ["gateway.networking.k8s.io", "gateway.networking.x-k8s.io", ...extra],
});

/** porticoNamespaced is a namespaced portico.dev/v1alpha1 kind (the attachable policies). */
const porticoNamespaced: KindInfo = {
  group: "portico.dev",
  versions: ["v1alpha1"],
  preferred: "portico.dev/v1alpha1",
  namespaced: true,
  related: ["portico.dev"],
};

/** KINDS is every kind the file source turns into an object, keyed by kind. */
export const KINDS: ReadonlyMap<string, KindInfo> = new Map<string, KindInfo>([
  ["Service", { group: "", versions: ["v1"], preferred: "v1", namespaced: true, related: ["", "core"] }],
  ["Secret", { group: "", versions: ["v1"], preferred: "v1", namespaced: true, related: ["", "core"] }],
  ["Namespace", { group: "", versions: ["v1"], preferred: "v1", namespaced: false, related: ["", "core"] }],
  // ConfigMaps carry BackendTLSPolicy CA certificates (ca.crt); they arrive in ResourceSet.other.
  ["ConfigMap", { group: "", versions: ["v1"], preferred: "v1", namespaced: true, related: ["", "core"] }],
  [
    "EndpointSlice",
    {
      group: "discovery.k8s.io",
      versions: ["v1"],
      preferred: "discovery.k8s.io/v1",
      namespaced: true,
      related: ["discovery.k8s.io"],
    },
  ],
  [
    "Ingress",
    {
      group: "networking.k8s.io",
      versions: ["v1"],
      preferred: "networking.k8s.io/v1",
      namespaced: true,
      related: ["networking.k8s.io", "extensions"],
    },
  ],
  [
    "IngressClass",
    {
      group: "networking.k8s.io",
      versions: ["v1"],
      preferred: "networking.k8s.io/v1",
      namespaced: false,
      related: ["networking.k8s.io", "extensions"],
    },
  ],
  [
    "VipPool",
    {
      group: "portico.dev",
      versions: ["v1alpha1"],
      preferred: "portico.dev/v1alpha1",
      namespaced: false,
      related: ["portico.dev"],
    },
  ],
  [
    "EngineGroup",
    {
      group: "portico.dev",
      versions: ["v1alpha1"],
      preferred: "portico.dev/v1alpha1",
      namespaced: false,
      related: ["portico.dev"],
    },
  ],
  [
    "DnsZone",
    {
      group: "portico.dev",
      versions: ["v1alpha1"],
      preferred: "portico.dev/v1alpha1",
      namespaced: false,
      related: ["portico.dev"],
    },
  ],
  [
    "Tenant",
    {
      group: "portico.dev",
      versions: ["v1alpha1"],
      preferred: "portico.dev/v1alpha1",
      namespaced: false,
      related: ["portico.dev"],
    },
  ],
  [
    "CertificateIssuer",
    {
      group: "portico.dev",
      versions: ["v1alpha1"],
      preferred: "portico.dev/v1alpha1",
      namespaced: false,
      related: ["portico.dev"],
    },
  ],
  ["WafPolicy", porticoNamespaced],
  ["AccessPolicy", porticoNamespaced],
  ["GatewayClass", gw("v1", false)],
  ["Gateway", gw("v1")],
  ["HTTPRoute", gw("v1")],
  ["GRPCRoute", gw("v1")],
  ["TLSRoute", gw("v1alpha2")],
  ["TCPRoute", gw("v1alpha2")],
  ["UDPRoute", gw("v1alpha2")],
  ["ReferenceGrant", gw("v1beta1")],
  ["BackendTLSPolicy", gw("v1")],
  ["ListenerSet", gw("v1")],
]);

/** splitApiVersion splits "group/version" ("v1" is the core group). */
export function splitApiVersion(apiVersion: string): { group: string; version: string } {
  const slash = apiVersion.lastIndexOf("/");
  return slash < 0
    ? { group: "", version: apiVersion }
    : { group: apiVersion.slice(0, slash), version: apiVersion.slice(slash + 1) };
}

/** KindMatch is the verdict on an (apiVersion, kind) pair. */
export type KindMatch =
  | { verdict: "read"; info: KindInfo }
  | { verdict: "skip"; reason: string }
  | { verdict: "error"; message: string };

/** classifyKind says whether Portico reads apiVersion/kind, skips it, or rejects it as a mistake. */
export function classifyKind(apiVersion: string, kind: string): KindMatch {
  const info = KINDS.get(kind);
  if (!info) return { verdict: "skip", reason: "Portico does not read this kind" };
  const { group, version } = splitApiVersion(apiVersion);
  const versionOk =
    info.versions instanceof RegExp ? info.versions.test(version) : info.versions.includes(version);
  // ListenerSet started in the experimental group; accept it there too.
  const groupOk = group === info.group || (kind === "ListenerSet" && group === "gateway.networking.x-k8s.io");
  if (groupOk && versionOk) return { verdict: "read", info };
  // A Kubernetes-owned group (or a known old one) means a mistake; anything else is another product's kind.
  if (info.related.includes(group) || group.endsWith(".k8s.io")) {
    return {
      verdict: "error",
      message: `apiVersion ${apiVersion} is not served for ${kind}; change it to apiVersion: ${info.preferred}`,
    };
  }
  return { verdict: "skip", reason: `Portico reads ${kind} only from ${info.preferred}` };
}
