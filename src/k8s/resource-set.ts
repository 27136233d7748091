// resource-set.ts: the immutable, sorted set of objects a source emits (file or kube) and the
// translator reads. Nothing downstream knows which source produced it.
import type { AnyObject, EndpointSlice, Ingress, IngressClass, Namespace, Secret, Service } from "./types.ts";
import type { DnsZone } from "./dns-zone.ts";
import type { AccessPolicy, WafPolicy } from "./policy.ts";
import type { EngineGroup } from "./engine-group.ts";
import type { Tenant } from "./tenant.ts";
import type { VipPool } from "./vip-pool.ts";

/** Origin says where an object came from, for error messages ("file:line" or "kube"). */
export interface Origin {
  /** file is the manifest path (standalone) or "kube:<resourceVersion>". */
  file: string;
  /** line is the 1-based line of the document's first line, 0 when unknown. */
  line: number;
}

/** SourceError is a problem with input that the source could not turn into an object. */
export interface SourceError {
  file: string;
  line: number;
  /** object is "Kind/namespace/name" when known, "" otherwise. */
  object: string;
  message: string;
  /** stale is true when an older good version of the file is still in force. */
  stale?: boolean;
}

/** ResourceSet is everything the translator reads. Every array is sorted by (namespace, name). */
export interface ResourceSet {
  readonly services: readonly Service[];
  readonly endpointSlices: readonly EndpointSlice[];
  readonly ingresses: readonly Ingress[];
  readonly ingressClasses: readonly IngressClass[];
  readonly secrets: readonly Secret[];
  readonly namespaces: readonly Namespace[];
  readonly vipPools: readonly VipPool[];
  /** engineGroups are the EngineGroup manifests (the built-in "default" group is not among them). */
  readonly engineGroups: readonly EngineGroup[];
  /** dnsZones are the DnsZone manifests (docs/dns.md). */
  readonly dnsZones: readonly DnsZone[];
  /** wafPolicies and accessPolicies are the attachable policies (docs/waf.md, docs/access-policy.md). */
  readonly wafPolicies: readonly WafPolicy[];
  readonly accessPolicies: readonly AccessPolicy[];
  /** tenants are the Tenant manifests (docs/tenants.md). */
  readonly tenants: readonly Tenant[];
  /** other holds recognised kinds no pass reads yet (Gateway API objects until their passes land). */
  readonly other: readonly AnyObject[];
  /** origins maps objectKey(obj) to where it was read. */
  readonly origins: ReadonlyMap<string, Origin>;
  /** errors are input problems found by the source (bad YAML, missing fields, unknown kinds). */
  readonly errors: readonly SourceError[];
  /** notices are non-fatal "file:line: ..." remarks from the source (kinds it skipped). */
  readonly notices?: readonly string[];
}

/** objectKey names an object as "Kind/namespace/name" ("Kind/name" when cluster-scoped). */
export function objectKey(obj: { kind: string; metadata: { name: string; namespace?: string } }): string {
  const ns = obj.metadata.namespace;
  return ns ? `${obj.kind}/${ns}/${obj.metadata.name}` : `${obj.kind}/${obj.metadata.name}`;
}

/** compareObjects orders by namespace then name, the order every ResourceSet array keeps. */
export function compareObjects(a: { metadata: { name: string; namespace?: string } }, b: typeof a): number {
  const na = a.metadata.namespace ?? "";
  const nb = b.metadata.namespace ?? "";
  if (na !== nb) return na < nb ? -1 : 1;
  return a.metadata.name < b.metadata.name ? -1 : a.metadata.name > b.metadata.name ? 1 : 0;
}

/** emptyResourceSet is a ResourceSet with nothing in it. */
export function emptyResourceSet(): ResourceSet {
  return buildResourceSet([], new Map(), []);
}

/**
 * buildResourceSet sorts objects into their kinds, sorts each list, and freezes the result.
 * Objects of a kind that appears twice under one key keep the first; callers dedupe with errors.
 */
export function buildResourceSet(
  objects: readonly AnyObject[],
  origins: ReadonlyMap<string, Origin>,
  errors: readonly SourceError[],
): ResourceSet {
  const by = (kind: string) => objects.filter((o) => o.kind === kind).sort(compareObjects);
  const known = new Set([
    "Service",
    "EndpointSlice",
    "Ingress",
    "IngressClass",
    "Secret",
    "Namespace",
    "VipPool",
    "EngineGroup",
    "DnsZone",
    "WafPolicy",
    "AccessPolicy",
    "Tenant",
  ]);
  const set: ResourceSet = {
    services: by("Service") as unknown as Service[],
    endpointSlices: by("EndpointSlice") as unknown as EndpointSlice[],
    ingresses: by("Ingress") as unknown as Ingress[],
    ingressClasses: by("IngressClass") as unknown as IngressClass[],
    secrets: by("Secret") as unknown as Secret[],
    namespaces: by("Namespace") as unknown as Namespace[],
    vipPools: by("VipPool") as unknown as VipPool[],
    engineGroups: by("EngineGroup") as unknown as EngineGroup[],
    dnsZones: by("DnsZone") as unknown as DnsZone[],
    wafPolicies: by("WafPolicy") as unknown as WafPolicy[],
    accessPolicies: by("AccessPolicy") as unknown as AccessPolicy[],
    tenants: by("Tenant") as unknown as Tenant[],
    other: objects.filter((o) => !known.has(o.kind)).sort(compareObjects),
    origins,
    errors: [...errors],
  };
  return deepFreeze(set);
}

/** allObjects lists every object of a set, kind by kind (what buildResourceSet was given, sorted). */
export function allObjects(set: ResourceSet): AnyObject[] {
  return [
    ...set.services,
    ...set.endpointSlices,
    ...set.ingresses,
    ...set.ingressClasses,
    ...set.secrets,
    ...set.namespaces,
    ...set.vipPools,
    ...set.engineGroups,
    ...set.dnsZones,
    ...set.wafPolicies,
    ...set.accessPolicies,
    ...set.tenants,
    ...set.other,
  ] as unknown as AnyObject[];
}

/** deepFreeze freezes an object graph so no consumer can mutate a shared ResourceSet. */
export function deepFreeze<T>(value: T): T {
  if (value && typeof value === "object" && !Object.isFrozen(value)) {
    if (value instanceof Map) {
      // Maps can't be frozen by Object.freeze; origins is typed ReadonlyMap instead.
      return value;
    }
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}
