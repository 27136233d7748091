// watch.ts: every Pod in the cluster, listed then watched, relisting after 410 Gone or a broken
// stream. The agent needs all Pods, not only its own: unscheduled ones are what it binds.
import { KubeApiError, type KubeClient } from "../../src/sources/kube/client.ts";
import type { Pod } from "./types.ts";

type Handler = (type: "ADDED" | "MODIFIED" | "DELETED", pod: Pod) => void;

/** watchPods calls onPod for each Pod and change until signal aborts; synced fires after the first
 * list was handled. Pods that vanished between a watch break and the relist arrive as DELETED. */
export async function watchPods(
  client: KubeClient,
  onPod: Handler,
  signal: AbortSignal,
  log: (msg: string) => void,
  synced: () => void,
): Promise<void> {
  let known = new Map<string, Pod>();
  while (!signal.aborted) {
    try {
      const list = await client.request<{ metadata: { resourceVersion: string }; items: Pod[] }>(
        "GET",
        "/api/v1/pods",
      );
      const now = new Map(list.items.map((p) => [p.metadata.uid, p]));
      for (const [uid, p] of known) if (!now.has(uid)) onPod("DELETED", p);
      known = now;
      for (const p of list.items) onPod("ADDED", p);
      synced();
      let rv = list.metadata.resourceVersion;
      for (;;) {
        if (signal.aborted) return;
        let gone = false;
        await client.watch(
          `/api/v1/pods?watch=1&allowWatchBookmarks=true&timeoutSeconds=300&resourceVersion=${rv}`,
          (e) => {
            const obj = e.object as unknown as Pod & { code?: number };
            if (e.type === "ERROR") {
              gone = true;
              if (obj.code !== 410) log(`pod watch: ${JSON.stringify(e.object)}`);
              return;
            }
            rv = obj.metadata.resourceVersion ?? rv;
            if (e.type === "BOOKMARK") return;
            if (e.type === "DELETED") known.delete(obj.metadata.uid);
            else known.set(obj.metadata.uid, obj);
            onPod(e.type, obj);
          },
          signal,
        );
        if (gone) break;
      }
    } catch (e) {
      if (signal.aborted) return;
      if (!(e instanceof KubeApiError && e.status === 410)) log(`pod watch: ${String(e)}; relisting`);
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}
