// kube-finalizer.ts: the `service.kubernetes.io/load-balancer-cleanup` finalizer, the one cloud
// load balancers use. Portico adds it before a Service gets an address; deleting the Service then
// only marks it (deletionTimestamp) until Portico has stopped serving it and removes the finalizer.
// The Service keeps its address until it is really gone, so no two Services ever show one VIP.
import type { AnyObject } from "../k8s/types.ts";
import { KubeApiError, type KubeClient } from "../sources/kube/client.ts";
import { objectPath, resourceOf } from "../sources/kube/kinds.ts";

/** LB_FINALIZER is the finalizer on every Service Portico gave (or is giving) an address. */
export const LB_FINALIZER = "service.kubernetes.io/load-balancer-cleanup";

/** hasFinalizer tells whether obj carries LB_FINALIZER. */
export function hasFinalizer(obj: AnyObject): boolean {
  return (obj.metadata.finalizers ?? []).includes(LB_FINALIZER);
}

/**
 * setFinalizer adds (present=true) or removes LB_FINALIZER on a Service. The merge patch carries
 * resourceVersion so it applies only to the version read; on 409 the Service is read again.
 */
export async function setFinalizer(client: KubeClient, obj: AnyObject, present: boolean): Promise<void> {
  const path = objectPath(resourceOf(obj.kind), obj.metadata.namespace, obj.metadata.name);
  let cur: AnyObject = obj;
  for (let attempt = 1; ; attempt++) {
    const list = cur.metadata.finalizers ?? [];
    if (list.includes(LB_FINALIZER) === present) return;
    const finalizers = present ? [...list, LB_FINALIZER] : list.filter((f) => f !== LB_FINALIZER);
    try {
      await client.request(
        "PATCH",
        path,
        { metadata: { finalizers, resourceVersion: cur.metadata.resourceVersion } },
        "application/merge-patch+json",
      );
      return;
    } catch (e) {
      if (e instanceof KubeApiError && e.status === 404) return;
      if (!(e instanceof KubeApiError && e.status === 409) || attempt >= 5) throw e;
      try {
        cur = await client.request<AnyObject>("GET", path);
      } catch (err) {
        if (err instanceof KubeApiError && err.status === 404) return;
        throw err;
      }
      // Adding a finalizer to a Service already being deleted is refused by the API; stop.
      if (present && cur.metadata.deletionTimestamp) return;
    }
  }
}
