// node.ts: the agent's Node object. Created (or taken over, when one of that name exists) with the
// not-ready taint the API server's admission adds on creation removed — a kubelet-less cluster has
// no node lifecycle controller to remove it — and a Ready condition renewed every 10 s, so that
// whatever reads heartbeats sees a live node.
import { arch, cpus, totalmem } from "node:os";
import { KubeApiError, type KubeClient } from "../../src/sources/kube/client.ts";
import { now } from "./container.ts";
import type { NodeNet } from "./net.ts";

const HEARTBEAT_MS = 10_000;

/** registerNode creates the Node, marks it Ready and keeps it so until stop(), which deletes it. */
export async function registerNode(
  client: KubeClient,
  name: string,
  net: NodeNet,
  log: (msg: string) => void,
): Promise<{ stop(): Promise<void> }> {
  const path = `/api/v1/nodes/${name}`;
  const goArch = arch() === "x64" ? "amd64" : arch();
  const labels = {
    "kubernetes.io/hostname": name,
    "kubernetes.io/os": "linux",
    "kubernetes.io/arch": goArch,
  };
  try {
    await client.request("POST", "/api/v1/nodes", {
      apiVersion: "v1",
      kind: "Node",
      metadata: { name, labels },
      spec: { podCIDR: net.podCidr, podCIDRs: [net.podCidr] },
    });
  } catch (e) {
    if (!(e instanceof KubeApiError && e.status === 409)) throw e;
    log(`node ${name} exists; taking it over`);
  }
  await client.request("PATCH", path, { spec: { taints: null } }, "application/merge-patch+json");
  const capacity = { cpu: String(cpus().length), memory: `${Math.floor(totalmem() / 1024)}Ki`, pods: "110" };
  const status = (heartbeat: string, since: string) => ({
    status: {
      capacity,
      allocatable: capacity,
      addresses: [
        { type: "InternalIP", address: net.hostIp },
        { type: "Hostname", address: name },
      ],
      conditions: [
        ...["MemoryPressure", "DiskPressure", "PIDPressure"].map((type) => ({
          type,
          status: "False",
          reason: `KubeletHas${type === "MemoryPressure" ? "SufficientMemory" : type === "DiskPressure" ? "NoDiskPressure" : "SufficientPID"}`,
          lastHeartbeatTime: heartbeat,
          lastTransitionTime: since,
        })),
        {
          type: "Ready",
          status: "True",
          reason: "KubeletReady",
          message: "portico test node agent (test/node) is running",
          lastHeartbeatTime: heartbeat,
          lastTransitionTime: since,
        },
      ],
      nodeInfo: {
        machineID: "",
        systemUUID: "",
        bootID: "",
        kernelVersion: "",
        osImage: "portico test node agent",
        containerRuntimeVersion: "portico-node://0",
        kubeletVersion: "v0.0.0-portico-node",
        kubeProxyVersion: "",
        operatingSystem: "linux",
        architecture: goArch,
      },
    },
  });
  const since = now();
  await client.request("PATCH", `${path}/status`, status(since, since), "application/merge-patch+json");
  const timer = setInterval(() => {
    client
      .request("PATCH", `${path}/status`, status(now(), since), "application/merge-patch+json")
      .catch((e: unknown) => log(`node heartbeat: ${String(e)}`));
  }, HEARTBEAT_MS);
  return {
    async stop() {
      clearInterval(timer);
      await client.request("DELETE", path).catch((e: unknown) => log(`delete node ${name}: ${String(e)}`));
    },
  };
}
