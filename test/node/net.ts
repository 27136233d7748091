// net.ts: the node's pod network. One Linux bridge holds the node's address (10.N.0.1/16) on the
// host side; each Pod gets a network namespace and a veth pair whose host end is a bridge port and
// whose other end is the Pod's eth0 with its pod IP. The host (where Portico runs) thus reaches
// every pod IP directly, and Pods reach each other through the bridge.
//
// Names carry the agent's pid (base 36) so that a later agent can find and remove what an agent
// killed without cleanup left behind (sweepStale), and so that agents in parallel never collide.
import { execFile } from "node:child_process";
import { promisify } from "node:util";

const run = promisify(execFile);

/** ip runs `ip ARGS`; the error names the command, so a failure says what could not be set up. */
export async function ip(...args: string[]): Promise<string> {
  try {
    return (await run("ip", args)).stdout;
  } catch (e) {
    throw new Error(`ip ${args.join(" ")}: ${String((e as { stderr?: string }).stderr ?? e).trim()}`);
  }
}

/** PodNet is one Pod's namespace, host-side veth and address. */
export interface PodNet {
  netns: string;
  hostIf: string;
  ip: string;
}

const NAME = /^(?:pnode-|pnbr-|pn)([0-9a-z]+)_\d/;
let instances = 0;

/** NodeNet is the bridge and the pod address allocator of one agent. */
export class NodeNet {
  /** hostIp is the bridge's address: the Node's InternalIP and every Pod's hostIP. */
  readonly hostIp: string;
  /** podCidr is the /16 pod IPs come from. */
  readonly podCidr: string;
  readonly #tag: string;
  readonly #bridge: string;
  readonly #prefix: string;
  #next = 2;
  #count = 0;

  private constructor(tag: string, prefix: string) {
    this.#tag = tag;
    this.#bridge = `pnbr-${tag}`;
    this.#prefix = prefix;
    this.hostIp = `${prefix}.0.1`;
    this.podCidr = `${prefix}.0.0/16`;
  }

  /** create sweeps what dead agents left, picks a free 10.N.0.0/16 (or podCidr) and makes the bridge. */
  static async create(podCidr?: string): Promise<NodeNet> {
    await sweepStale();
    const tag = `${process.pid.toString(36)}_${instances++ % 10}`;
    const prefix = podCidr ? prefixOf(podCidr) : await freePrefix();
    const net = new NodeNet(tag, prefix);
    try {
      await ip("link", "add", net.#bridge, "type", "bridge");
      await ip("addr", "add", `${net.hostIp}/16`, "dev", net.#bridge);
      await ip("link", "set", net.#bridge, "up");
    } catch (e) {
      await ip("link", "del", net.#bridge).catch(() => undefined);
      throw e;
    }
    return net;
  }

  /** addPod creates a namespace with eth0 on the bridge and the next free pod IP. */
  async addPod(): Promise<PodNet> {
    const n = this.#count++;
    let i = this.#next++;
    // Skip addresses ending in .0 and .255: valid in a /16, but tools and people trip on them.
    while (i % 256 === 0 || i % 256 === 255) i = this.#next++;
    const pod: PodNet = {
      netns: `pnode-${this.#tag}-${n}`,
      hostIf: `pn${this.#tag}v${n}`,
      ip: `${this.#prefix}.${i >> 8}.${i & 255}`,
    };
    try {
      await ip("netns", "add", pod.netns);
      await ip("link", "add", pod.hostIf, "type", "veth", "peer", "name", "eth0", "netns", pod.netns);
      await ip("link", "set", pod.hostIf, "master", this.#bridge, "up");
      const inNs = (...a: string[]) => ip("netns", "exec", pod.netns, "ip", ...a);
      await inNs("addr", "add", `${pod.ip}/16`, "dev", "eth0");
      await inNs("link", "set", "eth0", "up");
      await inNs("link", "set", "lo", "up");
      await inNs("route", "add", "default", "via", this.hostIp);
    } catch (e) {
      await removePod(pod);
      throw e;
    }
    return pod;
  }

  /** close removes the bridge (Pods are removed by their runners first). */
  async close(): Promise<void> {
    await ip("link", "del", this.#bridge).catch(() => undefined);
  }
}

/** removePod deletes the veth pair (explicitly: a namespace's links go away asynchronously) and
 * the namespace; what is already gone is not an error. */
export async function removePod(pod: PodNet): Promise<void> {
  await ip("link", "del", pod.hostIf).catch(() => undefined);
  await ip("netns", "del", pod.netns).catch(() => undefined);
}

/** sweepStale removes namespaces, veths and bridges of agents whose process no longer exists. */
export async function sweepStale(): Promise<void> {
  const dead = (name: string) => {
    const m = NAME.exec(name);
    if (!m) return false;
    try {
      process.kill(parseInt(m[1]!, 36), 0);
      return false;
    } catch (e) {
      return (e as NodeJS.ErrnoException).code === "ESRCH";
    }
  };
  const links = (JSON.parse(await ip("-j", "link", "show")) as { ifname: string }[]).map((l) => l.ifname);
  for (const l of links.filter(dead)) await ip("link", "del", l).catch(() => undefined);
  const netns = (await ip("netns", "list")).split("\n").map((l) => l.split(" ")[0] ?? "");
  for (const n of netns.filter(dead)) await ip("netns", "del", n).catch(() => undefined);
}

/** prefixOf reads "10.N.0.0/16" as "10.N"; the agent allocates within a /16 only. */
function prefixOf(cidr: string): string {
  const m = /^(\d+\.\d+)\.0\.0\/16$/.exec(cidr);
  if (!m) throw new Error(`pod CIDR ${cidr}: the node agent needs an IPv4 /16 such as 10.150.0.0/16`);
  return m[1]!;
}

/** freePrefix picks 10.N (N in 150..199, starting from the pid) that no route on the host overlaps,
 * away from the 10.244/10.245 /24s other tests route to their own namespaces. */
async function freePrefix(): Promise<string> {
  const routes = (JSON.parse(await ip("-j", "route", "show")) as { dst: string }[]).map((r) => r.dst);
  for (let k = 0; k < 50; k++) {
    const p = `10.${150 + ((process.pid + k) % 50)}`;
    if (!routes.some((d) => d.startsWith(`${p}.`))) return p;
  }
  throw new Error("no free 10.150-199.0.0/16 for pods; pass podCidr (--pod-cidr)");
}
