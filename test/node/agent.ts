// agent.ts: a test-only node agent — a stand-in for a kubelet (and for kube-scheduler) so that Pods
// created in a real kube-apiserver run as local processes; not a product feature. Usage from a test:
// `const agent = await startNodeAgent({ kubeconfig, images: "map.json" })` … `await agent.stop()`;
// as a process: `sh scripts/node.sh test/node/agent.ts --kubeconfig ADMIN.kubeconfig --images
// MAP.json [--node-name N] [--pod-cidr 10.N.0.0/16] [--state-dir DIR]` (root; SIGINT/SIGTERM stop it
// and remove everything it made). It registers a Ready Node whose InternalIP is a bridge address,
// binds every unscheduled Pod (default scheduler) to it, runs each Pod in its own network namespace
// with a pod IP the host routes to, maps container images to local binaries (images.ts for the map
// format), sets the Downward API environment, mounts Secret/ConfigMap volumes, probes readiness,
// writes Pod status, and finalises deleted Pods. kube-controller-manager (scripts/kube/kcm.ts)
// supplies Deployments, ReplicaSets and EndpointSlices. What it does not do: test/node/README.md.
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { KubeApiError, KubeClient } from "../../src/sources/kube/client.ts";
import type { DataSource } from "./container-env.ts";
import { loadImageMap, type ImageMap } from "./images.ts";
import { NodeNet } from "./net.ts";
import { registerNode } from "./node.ts";
import { PodRunner } from "./pod.ts";
import { watchPods } from "./watch.ts";
import type { Pod } from "./types.ts";

/** NodeAgentOptions configure startNodeAgent. */
export interface NodeAgentOptions {
  /** kubeconfig authenticates the agent (the env's admin kubeconfig is simplest). */
  kubeconfig: string;
  /** images is the image map file (images.ts), or a map already parsed. */
  images: string | ImageMap;
  /** nodeName defaults to portico-node-<pid>. */
  nodeName?: string;
  /** podCidr is a 10.N.0.0/16; default: a free one in 10.150-199 (net.ts). */
  podCidr?: string;
  /** stateDir holds volumes and container logs (<ns>_<pod>_<uid>/<container>.log); default a temp dir. */
  stateDir?: string;
  /** log receives one line per notable event (default: nothing). */
  log?: (msg: string) => void;
}

/** NodeAgent is a running agent. */
export interface NodeAgent {
  nodeName: string;
  /** hostIp is the Node's InternalIP and the bridge address pods route through. */
  hostIp: string;
  podCidr: string;
  stateDir: string;
  /** netnsOf names the network namespace of Pod namespace/name, while it runs here. */
  netnsOf(namespace: string, name: string): string | undefined;
  /** pids are the container processes running now. */
  pids(): number[];
  /** stop ends every Pod's processes, removes their namespaces, the bridge, the Node object and
   * the state directory (unless it was given). */
  stop(): Promise<void>;
}

/** startNodeAgent registers the Node and starts running Pods; it resolves once the Node is Ready
 * and the first Pod list has been handled. */
export async function startNodeAgent(opts: NodeAgentOptions): Promise<NodeAgent> {
  if (process.getuid?.() !== 0) throw new Error("the node agent needs root (ip netns, bind mounts)");
  const images = typeof opts.images === "string" ? loadImageMap(opts.images) : opts.images;
  const imageSource = typeof opts.images === "string" ? opts.images : "the image map given to startNodeAgent";
  const nodeName = opts.nodeName ?? `portico-node-${process.pid}`;
  const log = opts.log ?? (() => undefined);
  const stateDir = opts.stateDir ?? mkdtempSync(join(tmpdir(), "portico-node-"));
  mkdirSync(stateDir, { recursive: true });
  const client = await KubeClient.fromFile(opts.kubeconfig);
  const net = await NodeNet.create(opts.podCidr);
  const runners = new Map<string, PodRunner>();
  const finishing = new Map<string, Promise<void>>();
  // Pods whose delete was finalised: later events for them (until DELETED) change nothing.
  const finalised = new Set<string>();
  const abort = new AbortController();
  // A test process that dies without stop() must not leave namespaces and links behind; container
  // processes die with it through their pdeathsig (container.ts).
  const orphanGuard = () => {
    const sh = (cmd: string) => {
      try {
        execFileSync("sh", ["-c", cmd], { stdio: "ignore" });
      } catch {
        // Best effort on the way out; the next agent's sweepStale removes what remains.
      }
    };
    for (const r of runners.values()) if (r.netns) sh(`ip netns del ${r.netns}`);
    sh(`ip -o link | grep -o 'pnbr-${process.pid.toString(36)}_[0-9]' | xargs -rn1 ip link del`);
  };
  process.once("exit", orphanGuard);

  const statusWriter = new StatusWriter(client, log);
  const read =
    (ns: string): DataSource =>
    async (kind, name) => {
      const plural = kind === "secret" ? "secrets" : "configmaps";
      try {
        return await client.request(`GET`, `/api/v1/namespaces/${ns}/${plural}/${name}`);
      } catch (e) {
        if (e instanceof KubeApiError && e.status === 404) return undefined;
        throw e;
      }
    };
  const ctx = {
    net,
    nodeName,
    stateDir,
    images,
    imageSource,
    read,
    log,
    changed: (r: PodRunner) => statusWriter.mark(r),
  };

  const finish = (uid: string, pod: Pod, graceMs: number, deleteObject: boolean): Promise<void> => {
    if (finalised.has(uid)) return Promise.resolve();
    // One termination per Pod; stop() waits for those already under way.
    const running = finishing.get(uid);
    if (running) return running;
    const done = terminate(uid, pod, graceMs, deleteObject).finally(() => finishing.delete(uid));
    finishing.set(uid, done);
    return done;
  };
  const terminate = async (uid: string, pod: Pod, graceMs: number, deleteObject: boolean) => {
    const r = runners.get(uid);
    if (r) {
      statusWriter.forget(r);
      await r.terminate(graceMs);
      runners.delete(uid);
    }
    if (!deleteObject) return;
    finalised.add(uid);
    const { namespace, name } = pod.metadata;
    await client
      .request("DELETE", `/api/v1/namespaces/${namespace}/pods/${name}`, {
        gracePeriodSeconds: 0,
        preconditions: { uid },
      })
      .then(
        () => log(`pod ${namespace}/${name} removed`),
        (e: unknown) => {
          if (e instanceof KubeApiError && (e.status === 404 || e.status === 409)) return;
          // Let the next event for the Pod try again.
          finalised.delete(uid);
          log(`delete pod ${namespace}/${name}: ${String(e)}`);
        },
      );
  };

  const bound = new Set<string>();
  const bind = async (pod: Pod): Promise<void> => {
    const { uid, namespace, name } = pod.metadata;
    try {
      await client.request("POST", `/api/v1/namespaces/${namespace}/pods/${name}/binding`, {
        apiVersion: "v1",
        kind: "Binding",
        metadata: { name, namespace, uid },
        target: { apiVersion: "v1", kind: "Node", name: nodeName },
      });
    } catch (e) {
      // 409: bound already; 404: deleted meanwhile. Anything else is retried in a second.
      if (e instanceof KubeApiError && (e.status === 409 || e.status === 404)) return;
      log(`bind pod ${namespace}/${name}: ${String(e)}; retrying`);
      if (!abort.signal.aborted) setTimeout(() => void bind(pod), 1_000);
    }
  };
  const onPod = (type: "ADDED" | "MODIFIED" | "DELETED", pod: Pod) => {
    const { uid, namespace, name } = pod.metadata;
    if (type === "DELETED") {
      finalised.delete(uid);
      if (runners.has(uid)) void finish(uid, pod, 0, false);
      return;
    }
    if (!pod.spec.nodeName) {
      const ours = (pod.spec.schedulerName ?? "default-scheduler") === "default-scheduler";
      if (ours && !pod.metadata.deletionTimestamp && !bound.has(uid)) {
        bound.add(uid);
        void bind(pod);
      }
      return;
    }
    if (pod.spec.nodeName !== nodeName) return;
    let r = runners.get(uid);
    if (pod.metadata.deletionTimestamp) {
      const grace = pod.metadata.deletionGracePeriodSeconds ?? pod.spec.terminationGracePeriodSeconds ?? 30;
      void finish(uid, pod, grace * 1000, true);
      return;
    }
    if (r) {
      r.pod = pod;
      return;
    }
    r = new PodRunner(ctx, pod);
    runners.set(uid, r);
    log(`pod ${namespace}/${name} starting`);
    void r.start();
  };

  let node: { stop(): Promise<void> } | undefined;
  let pods: Promise<void> | undefined;
  const stop = async () => {
    abort.abort();
    await pods;
    await node?.stop();
    await Promise.all([...runners.entries()].map(([uid, r]) => finish(uid, r.pod, 2_000, false)));
    await Promise.all(finishing.values());
    await statusWriter.idle();
    await net.close();
    client.close();
    process.off("exit", orphanGuard);
    if (!opts.stateDir) rmSync(stateDir, { recursive: true, force: true });
  };
  try {
    node = await registerNode(client, nodeName, net, log);
    let synced!: () => void;
    const firstList = new Promise<void>((ok) => (synced = ok));
    pods = watchPods(client, onPod, abort.signal, log, synced);
    await firstList;
  } catch (e) {
    await stop();
    throw e;
  }
  return {
    nodeName,
    hostIp: net.hostIp,
    podCidr: net.podCidr,
    stateDir,
    netnsOf: (ns, name) =>
      [...runners.values()].find((r) => r.pod.metadata.namespace === ns && r.pod.metadata.name === name)
        ?.netns,
    pids: () => [...runners.values()].flatMap((r) => r.pids()),
    stop,
  };
}

/** StatusWriter writes each runner's status when it differs from the last one written, one
 * request per Pod at a time (the latest status wins; intermediate ones are skipped). */
class StatusWriter {
  readonly #client: KubeClient;
  readonly #log: (msg: string) => void;
  readonly #written = new WeakMap<PodRunner, string>();
  readonly #busy = new Map<PodRunner, Promise<void>>();
  readonly #dirty = new Set<PodRunner>();
  readonly #gone = new WeakSet<PodRunner>();

  constructor(client: KubeClient, log: (msg: string) => void) {
    this.#client = client;
    this.#log = log;
  }

  /** mark schedules a write of r's status. */
  mark(r: PodRunner): void {
    if (this.#gone.has(r)) return;
    this.#dirty.add(r);
    if (!this.#busy.has(r)) this.#busy.set(r, this.#drain(r));
  }

  /** forget stops writing r's status (it is being deleted). */
  forget(r: PodRunner): void {
    this.#gone.add(r);
    this.#dirty.delete(r);
  }

  /** idle resolves when no write is in flight. */
  async idle(): Promise<void> {
    await Promise.all(this.#busy.values());
  }

  async #drain(r: PodRunner): Promise<void> {
    // Yield once so that a burst of changes in one tick becomes one write.
    await Promise.resolve();
    while (this.#dirty.delete(r) && !this.#gone.has(r)) {
      const status = r.status();
      // Transition times follow from the previous status, so comparing without them is exact.
      const key = JSON.stringify(status, (k, v: unknown) => (k === "lastTransitionTime" ? undefined : v));
      if (this.#written.get(r) === key) continue;
      const { namespace, name } = r.pod.metadata;
      try {
        const updated = await this.#client.request<Pod>(
          "PATCH",
          `/api/v1/namespaces/${namespace}/pods/${name}/status`,
          { status },
          "application/merge-patch+json",
        );
        this.#written.set(r, key);
        r.pod = { ...r.pod, status: updated.status ?? {} };
      } catch (e) {
        if (!(e instanceof KubeApiError && e.status === 404))
          this.#log(`status of pod ${namespace}/${name}: ${String(e)}`);
      }
    }
    this.#busy.delete(r);
  }
}

if (process.argv[1] === import.meta.filename) {
  const { values } = parseArgs({
    options: {
      kubeconfig: { type: "string" },
      images: { type: "string" },
      "node-name": { type: "string" },
      "pod-cidr": { type: "string" },
      "state-dir": { type: "string" },
      quiet: { type: "boolean" },
    },
  });
  if (!values.kubeconfig || !values.images) {
    process.stderr.write(
      "usage: agent.ts --kubeconfig FILE --images MAP.json [--node-name N] [--pod-cidr 10.N.0.0/16] [--state-dir DIR] [--quiet]\n",
    );
    process.exit(2);
  }
  const agent = await startNodeAgent({
    kubeconfig: values.kubeconfig,
    images: values.images,
    ...(values["node-name"] ? { nodeName: values["node-name"] } : {}),
    ...(values["pod-cidr"] ? { podCidr: values["pod-cidr"] } : {}),
    ...(values["state-dir"] ? { stateDir: values["state-dir"] } : {}),
    ...(values.quiet ? {} : { log: (m: string) => process.stderr.write(`node-agent: ${m}\n`) }),
  });
  process.stdout.write(
    `node ${agent.nodeName} Ready: InternalIP ${agent.hostIp}, pods in ${agent.podCidr}, state in ${agent.stateDir}\n`,
  );
  await new Promise<void>((done) => {
    process.once("SIGINT", done);
    process.once("SIGTERM", done);
  });
  await agent.stop();
}
