// harness.ts: what stands in for a cluster's nodes during a conformance run — kube-controller-
// manager (Deployments, ReplicaSets, EndpointSlices, namespace deletion) and the test-only node
// agent (test/node), which runs the suite's Pods as local processes in network namespaces, each
// image mapped to the binary build.sh made from its source — and the kubelet's Pod log endpoint
// (kubelet-logs.ts). A test harness, not a product feature.
import { join } from "node:path";
import { startControllerManager, type ControllerManager } from "../kube/kcm.ts";
import type { KubeEnv } from "../kube/env.ts";
import { startNodeAgent, type NodeAgent } from "../../test/node/agent.ts";
import { KubeClient } from "../../src/sources/kube/client.ts";
import { startKubeletLogs } from "./kubelet-logs.ts";

/** NodeHarness is a running controller-manager and node agent. */
export interface NodeHarness {
  agent: NodeAgent;
  /** stop ends the agent (its Pods, namespaces and links) and then the controller-manager. */
  stop(): Promise<void>;
}

/** startNodeHarness starts kube-controller-manager and the node agent against env; the agent's
 * state (container logs) lives in logDir/node. */
export async function startNodeHarness(
  env: KubeEnv,
  opts: { images: string; logDir: string; log?: (line: string) => void },
): Promise<NodeHarness> {
  const kcm: ControllerManager = await startControllerManager(env);
  let agent: NodeAgent;
  try {
    agent = await startNodeAgent({
      kubeconfig: env.adminKubeconfig,
      images: opts.images,
      stateDir: join(opts.logDir, "node"),
      ...(opts.log ? { log: opts.log } : {}),
    });
  } catch (e) {
    await kcm.stop();
    throw e;
  }
  let logs: Awaited<ReturnType<typeof startKubeletLogs>> | undefined;
  try {
    // Pod logs for the mirror tests: the Node says where its "kubelet" listens.
    logs = await startKubeletLogs(agent.hostIp, agent.stateDir);
    const client = await KubeClient.fromFile(env.adminKubeconfig);
    try {
      await client.request(
        "PATCH",
        `/api/v1/nodes/${agent.nodeName}/status`,
        { status: { daemonEndpoints: { kubeletEndpoint: { Port: logs.port } } } },
        "application/merge-patch+json",
      );
    } finally {
      client.close();
    }
  } catch (e) {
    // Nothing started here may outlive a failed start: the agent's Pods hold namespaces and links.
    await logs?.stop();
    await agent.stop();
    await kcm.stop();
    throw e;
  }
  const kubelet = logs;
  return {
    agent,
    async stop() {
      await kubelet.stop();
      await agent.stop();
      await kcm.stop();
    },
  };
}
