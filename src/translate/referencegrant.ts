// referencegrant.ts: ReferenceGrant, the Gateway API's consent for references across namespaces.
// A Route's backendRef, a Gateway's or ListenerSet's certificateRef into another namespace is only
// followed when a ReferenceGrant in the target namespace lists the referring kind and namespace in
// `from` and the target kind (and, when given, name) in `to`. References within one namespace need none.
import type { ResourceSet } from "../k8s/resource-set.ts";
import type { ReferenceGrant } from "../k8s/gateway-api.ts";
import { GATEWAY_GROUP } from "./gateway-conditions.ts";

/** RefFrom is the referring object's group, kind and namespace. */
export interface RefFrom {
  group: string;
  kind: string;
  namespace: string;
}

/** RefTo is the referenced object's group, kind, namespace and name. */
export interface RefTo {
  group: string;
  kind: string;
  namespace: string;
  name: string;
}

/** GrantIndex holds the ReferenceGrants of a ResourceSet by namespace. */
export type GrantIndex = ReadonlyMap<string, readonly ReferenceGrant[]>;

/** indexGrants collects ReferenceGrants (v1 and v1beta1 read the same) by namespace. */
export function indexGrants(set: ResourceSet): GrantIndex {
  const index = new Map<string, ReferenceGrant[]>();
  for (const o of set.other) {
    if (o.kind !== "ReferenceGrant") continue;
    const g = o as unknown as ReferenceGrant;
    const ns = g.metadata.namespace ?? "";
    index.set(ns, [...(index.get(ns) ?? []), g]);
  }
  return index;
}

/** refPermitted tells whether from may refer to `to`: same namespace, or a grant in to's namespace. */
export function refPermitted(grants: GrantIndex, from: RefFrom, to: RefTo): boolean {
  if (from.namespace === to.namespace) return true;
  for (const g of grants.get(to.namespace) ?? []) {
    const fromOk = (g.spec?.from ?? []).some(
      (f) => f.group === from.group && f.kind === from.kind && f.namespace === from.namespace,
    );
    if (!fromOk) continue;
    const toOk = (g.spec?.to ?? []).some(
      (t) =>
        t.group === to.group &&
        t.kind === to.kind &&
        (t.name === undefined || t.name === "" || t.name === to.name),
    );
    if (toOk) return true;
  }
  return false;
}

/** gatewayFrom is the RefFrom of a Gateway API object (Route, Gateway, ListenerSet). */
export function gatewayFrom(kind: string, namespace: string): RefFrom {
  return { group: GATEWAY_GROUP, kind, namespace };
}
