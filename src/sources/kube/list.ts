// list.ts: read the cluster once, for one-shot commands (`portico explain --kubeconfig`). Unlike
// the reflectors it never retries: a kind the user may not read becomes a notice, not a hang.
import { buildResourceSet, objectKey, type Origin, type ResourceSet } from "../../k8s/resource-set.ts";
import type { AnyObject } from "../../k8s/types.ts";
import { KubeApiError, type KubeClient } from "./client.ts";
import { collectionPath, RESOURCES } from "./kinds.ts";
import { normalise, selector } from "./reflector.ts";

/** listOnce lists every watched resource (per namespace when scoped) into a ResourceSet. */
export async function listOnce(client: KubeClient, namespaces: readonly string[]): Promise<ResourceSet> {
  const objects: AnyObject[] = [];
  const origins = new Map<string, Origin>();
  const notices: string[] = [];
  for (const r of RESOURCES) {
    for (const ns of r.namespaced && namespaces.length > 0 ? namespaces : [""]) {
      let cont = "";
      try {
        do {
          const page = await client.request<{
            metadata: { continue?: string };
            items: Record<string, unknown>[];
          }>(
            "GET",
            `${collectionPath(r, ns)}?limit=500${selector(r)}${cont ? `&continue=${encodeURIComponent(cont)}` : ""}`,
          );
          for (const raw of page.items) {
            const obj = normalise(raw, r);
            objects.push(obj);
            origins.set(objectKey(obj), { file: `kube:${obj.metadata.resourceVersion ?? ""}`, line: 0 });
          }
          cont = page.metadata.continue ?? "";
        } while (cont);
      } catch (e) {
        if (e instanceof KubeApiError && (e.status === 404 || e.status === 403)) {
          if (!(r.optional && e.status === 404))
            notices.push(
              `${r.plural}${ns ? ` in ${ns}` : ""}: ${e.status === 403 ? "not allowed to list" : "not served"}`,
            );
          continue;
        }
        throw e;
      }
    }
  }
  const set = buildResourceSet(objects, origins, []);
  return notices.length > 0 ? { ...set, notices } : set;
}
