// announce-topology.ts: the network of issue 14's tests, built from network namespaces. A LAN
// (a bridge in a namespace of its own, 198.51.100.0/24) joins a controller, three engine "nodes",
// a backend and a router; a client sits behind the router on 203.0.113.0/24 (reaching BGP VIPs
// from 192.0.2.0/24 through it) and also on the LAN (reaching L2 VIPs, 198.51.100.200+, by ARP).
// The router runs BIRD 2 as the network's upstream router: one BGP neighbor per engine, `merge
// paths on` so an ECMP route with every announcing engine as next hop lands in its kernel table.
//
//               client 203.0.113.2 ── wan ── 203.0.113.1 router (BIRD, AS 64500) 198.51.100.1
//               client 198.51.100.30 ──┐                                       │
//   ctl .2   e1 .11   e2 .12   e3 .13  backend .20  ───────── LAN bridge ──────┘
//
// Documentation addresses only, nothing configured in the root namespace; names carry this
// process's pid so parallel runs cannot collide; close() (also run at process exit) kills what
// runs inside and deletes every namespace.
import { execFile, execFileSync, spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { createInterface } from "node:readline";
import { tempDir, removeDir, waitFor, watchChild, type StatusEntry } from "./harness.ts";
import type { Netns } from "./netns.ts";
import { allAcked, startEngine, type EngineProc } from "./fleet-helpers.ts";
import type { FleetView } from "../../src/controller/fleet/view.ts";

const exec = promisify(execFile);
const agentFile = resolve(import.meta.dirname, "announce-agent.ts");
const main = resolve(import.meta.dirname, "../../src/cli/main.ts");

/** LAN is the LAN's prefix; ROUTER_ASN and ENGINE_ASN are the BGP sides' AS numbers. */
export const LAN = "198.51.100";
export const ROUTER_ASN = 64500;
export const ENGINE_ASN = 64501;
/** ROUTER_LAN is the router's LAN address: the engines' BGP peer and default gateway. */
export const ROUTER_LAN = `${LAN}.1`;
/** CTL_LINK is where the controller listens for engines. */
export const CTL_LINK = `${LAN}.2:9443`;
/** CLIENT_LAN and CLIENT_WAN are the client's addresses on the LAN and behind the router. */
export const CLIENT_LAN = `${LAN}.30`;
export const CLIENT_WAN = "203.0.113.2";
/** BACKEND is the backend's LAN address. */
export const BACKEND = `${LAN}.20`;
/** LAN_IF is the LAN interface's name in every namespace. */
export const LAN_IF = "lan0";

/** Node is one namespace of the topology. */
export interface Node extends Netns {
  role: string;
  /** lanIp is the node's LAN address (nsIp too), or "" when it is not on the LAN. */
  lanIp: string;
  /** ip runs `ip -n NS args` and resolves with its stdout. */
  ip(...args: string[]): Promise<string>;
  /** mac is the MAC address of the node's LAN interface. */
  mac(): Promise<string>;
  /** pidsOf lists the processes in the namespace whose command name is comm ("bird"). */
  pidsOf(comm: string): Promise<number[]>;
  /** addresses lists the IPv4 addresses on dev (default every interface) without their length. */
  addresses(dev?: string): Promise<string[]>;
}

/** Agent is announce-agent.ts running in a namespace; call sends one command and resolves with its answer. */
export interface Agent {
  call<T = Record<string, unknown>>(op: string, args?: Record<string, unknown>): Promise<T>;
  close(): void;
}

/** Rec is one request of a load: start, end (wall ms), ok, the failure's code or status, the body,
 * the client's port (0: never connected). */
export type Rec = [t0: number, t1: number, ok: 0 | 1, why: string, body: string, port: number];

/** Topology is the whole network, up. */
export interface Topology {
  id: string;
  dir: string;
  lan: string;
  ctl: Node;
  engines: Node[];
  backend: Node;
  router: Node;
  client: Node;
  /** agent starts announce-agent.ts in node (one per call; closed by close()). */
  agent(node: Node): Agent;
  /** startRouterBird starts the router's BIRD (again); stopRouterBird ends it with signal. */
  startRouterBird(): Promise<void>;
  stopRouterBird(signal?: NodeJS.Signals): Promise<void>;
  /** birdc runs the router's birdc with args. */
  birdc(...args: string[]): Promise<string>;
  /** nextHops lists the gateways of the router's kernel route for prefix, sorted ([] when none). */
  nextHops(prefix: string): Promise<string[]>;
  /** neighbour is the client's LAN neighbour entry for address: its MAC and state, if any. */
  neighbour(address: string): Promise<{ mac?: string; state: string[] } | undefined>;
  close(): Promise<void>;
}

/** now is wall-clock milliseconds with sub-millisecond precision, comparable with the agent's. */
export const now = (): number => performance.timeOrigin + performance.now();

/** routerBirdConfig is the upstream router's BIRD 2 configuration: a neighbor per engine, ECMP into the kernel. */
export function routerBirdConfig(engineIps: readonly string[], holdTime = 9): string {
  const peers = engineIps
    .map((ip, i) => `protocol bgp engine${i + 1} from engines { neighbor ${ip} as ${ENGINE_ASN}; }`)
    .join("\n");
  return `# The network's router, as a network team would configure it for Portico's engines.
log stderr all;
router id ${ROUTER_LAN};
protocol device { scan time 10; }
# merge paths: equal routes from several engines become one multipath (ECMP) kernel route.
protocol kernel {
  ipv4 { import none; export all; };
  merge paths on;
}
template bgp engines {
  local ${ROUTER_LAN} as ${ROUTER_ASN};
  hold time ${holdTime};
  # Come back quickly after a restart or a peer's error (defaults: 5 s, 120 s, 60-300 s).
  connect delay time 1;
  connect retry time 2;
  error wait time 1, 5;
  ipv4 { import all; export none; };
}
${peers}
`;
}

/** buildTopology creates the namespaces, links and addresses, and starts the router's BIRD. */
export async function buildTopology(engineCount = 3): Promise<Topology> {
  const id = `pa${process.pid % 100000}`;
  const dir = tempDir("portico-announce-");
  const names: string[] = [];
  const children: ChildProcess[] = [];
  const agents: Agent[] = [];
  let closed = false;
  const ipc = async (...args: string[]) => (await exec("ip", args, { maxBuffer: 16 << 20 })).stdout;

  const removeAll = () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
    for (const n of names) {
      // Whatever still runs inside our namespaces is ours (engines' BIRD children included).
      try {
        const pids = execFileSync("ip", ["netns", "pids", n], { encoding: "utf8" })
          .split(/\s+/)
          .filter(Boolean);
        for (const pid of pids) {
          try {
            process.kill(Number(pid), "SIGKILL");
          } catch {
            /* gone */
          }
        }
      } catch {
        /* namespace already gone */
      }
      try {
        execFileSync("ip", ["netns", "del", n], { stdio: "ignore" });
      } catch {
        /* already gone */
      }
    }
    removeDir(dir);
  };
  // A test that dies mid-way must not leave namespaces behind.
  const onExit = () => {
    if (!closed) removeAll();
  };
  // Every child and agent watches process exit, so a dead test leaves nothing running.
  process.setMaxListeners(Math.max(process.getMaxListeners(), 64));
  process.once("exit", onExit);

  const makeNode = async (role: string, lanIp: string): Promise<Node> => {
    const name = `${id}-${role}`;
    await ipc("netns", "add", name);
    names.push(name);
    await ipc("-n", name, "link", "set", "lo", "up");
    const ip = (...args: string[]) => ipc("-n", name, ...args);
    const node: Node = {
      role,
      name,
      lanIp,
      nsIp: lanIp,
      hostIp: "",
      ip,
      async run(cmd, args) {
        return (await exec("ip", ["netns", "exec", name, cmd, ...args], { maxBuffer: 16 << 20 })).stdout;
      },
      spawn(cmd, args, opts = {}) {
        const c = spawn("ip", ["netns", "exec", name, cmd, ...args], opts);
        children.push(c);
        return c;
      },
      addVip() {
        throw new Error("the announcement topology routes nothing by hand: engines announce their VIPs");
      },
      close: async () => undefined,
      async mac() {
        const [l] = JSON.parse(await ip("-j", "link", "show", LAN_IF)) as { address: string }[];
        return l!.address;
      },
      async pidsOf(comm) {
        const pids = (await ipc("netns", "pids", name)).split(/\s+/).filter(Boolean);
        return pids.map(Number).filter((pid) => {
          try {
            return readFileSync(`/proc/${pid}/comm`, "utf8").trim() === comm;
          } catch {
            return false;
          }
        });
      },
      async addresses(dev) {
        const links = JSON.parse(await ip("-j", "-4", "addr", "show", ...(dev ? ["dev", dev] : []))) as {
          addr_info: { local: string }[];
        }[];
        return links.flatMap((l) => l.addr_info.map((a) => a.local));
      },
    };
    return node;
  };

  const lan = `${id}-lan`;
  try {
    await ipc("netns", "add", lan);
    names.push(lan);
    await ipc("-n", lan, "link", "add", "br0", "type", "bridge");
    await ipc("-n", lan, "link", "set", "br0", "up");
    // attach puts node on the LAN: a veth from the bridge to the node's lan0.
    const attach = async (node: Node, addr: string) => {
      const port = `v-${node.role}`;
      await ipc("-n", lan, "link", "add", port, "type", "veth", "peer", "name", LAN_IF, "netns", node.name);
      await ipc("-n", lan, "link", "set", port, "master", "br0", "up");
      await node.ip("addr", "add", `${addr}/24`, "dev", LAN_IF);
      await node.ip("link", "set", LAN_IF, "up");
    };
    const sysctl = (node: Node, ...kv: string[]) => node.run("sysctl", ["-qw", ...kv]);

    const router = await makeNode("router", ROUTER_LAN);
    await attach(router, ROUTER_LAN);
    const ctl = await makeNode("ctl", `${LAN}.2`);
    await attach(ctl, ctl.lanIp);
    const engines: Node[] = [];
    for (let i = 1; i <= engineCount; i++) {
      const e = await makeNode(`e${i}`, `${LAN}.${10 + i}`);
      await attach(e, e.lanIp);
      await e.ip("route", "add", "default", "via", ROUTER_LAN);
      engines.push(e);
    }
    const backend = await makeNode("backend", BACKEND);
    await attach(backend, BACKEND);
    await backend.ip("route", "add", "default", "via", ROUTER_LAN);
    const client = await makeNode("client", CLIENT_LAN);
    await attach(client, CLIENT_LAN);
    // The client's WAN leg: a veth straight to the router; BGP VIPs (192.0.2.0/24) go through it.
    await ipc(
      "-n",
      router.name,
      "link",
      "add",
      "wan0",
      "type",
      "veth",
      "peer",
      "name",
      "wan0",
      "netns",
      client.name,
    );
    await router.ip("addr", "add", "203.0.113.1/24", "dev", "wan0");
    await router.ip("link", "set", "wan0", "up");
    await client.ip("addr", "add", `${CLIENT_WAN}/24`, "dev", "wan0");
    await client.ip("link", "set", "wan0", "up");
    await client.ip("route", "add", "default", "via", "203.0.113.1");
    // The router forwards, and hashes flows over ECMP next hops by ports too (the default hashes
    // addresses only, which would send one client's every connection to one engine).
    await sysctl(router, "net.ipv4.ip_forward=1", "net.ipv4.fib_multipath_hash_policy=1");
    for (const n of [router, client])
      await sysctl(n, "net.ipv4.conf.all.rp_filter=0", "net.ipv4.conf.default.rp_filter=0");

    const conf = join(dir, "router-bird.conf");
    const sock = join(dir, "router-bird.ctl");
    writeFileSync(conf, routerBirdConfig(engines.map((e) => e.lanIp)));
    let bird: ChildProcess | undefined;
    let birdExited: Promise<number | null> = Promise.resolve(null);
    let birdLogs: string[] = [];
    const birdc = async (...args: string[]) => (await exec("birdc", ["-s", sock, ...args])).stdout;

    const topo: Topology = {
      id,
      dir,
      lan,
      ctl,
      engines,
      backend,
      router,
      client,
      agent(node) {
        const proc = node.spawn(process.execPath, ["--disable-warning=ExperimentalWarning", agentFile], {
          stdio: ["pipe", "pipe", "pipe"],
        });
        watchChild(proc);
        const waiting = new Map<number, (v: Record<string, unknown>) => void>();
        let next = 1;
        createInterface({ input: proc.stdout! }).on("line", (line) => {
          const m = JSON.parse(line) as { id: number };
          waiting.get(m.id)?.(m);
          waiting.delete(m.id);
        });
        const died = new Promise<never>((_, reject) =>
          proc.once("exit", (code) => reject(new Error(`agent in ${node.name} exited ${code}`))),
        );
        died.catch(() => {});
        const a: Agent = {
          async call<T>(op: string, args: Record<string, unknown> = {}) {
            const id = next++;
            const answer = new Promise<Record<string, unknown>>((r) => waiting.set(id, r));
            proc.stdin!.write(`${JSON.stringify({ id, op, ...args })}\n`);
            const m = await Promise.race([answer, died]);
            if (typeof m.error === "string") throw new Error(`agent ${op}: ${m.error}`);
            return m as T;
          },
          close: () => proc.stdin!.end(),
        };
        agents.push(a);
        return a;
      },
      async startRouterBird() {
        const p = router.spawn("bird", ["-f", "-c", conf, "-s", sock], {
          stdio: ["ignore", "ignore", "pipe"],
        });
        const w = watchChild(p);
        bird = p;
        birdExited = w.exited;
        birdLogs = w.logs;
        await waitFor(
          "the router's BIRD to answer on its socket",
          async () => /BIRD .* ready/.test(await birdc("show", "status")),
          10_000,
        ).catch((e: Error) => {
          throw new Error(`${e.message}\n${birdLogs.join("\n")}`);
        });
      },
      async stopRouterBird(signal = "SIGTERM") {
        if (bird && bird.exitCode === null && bird.signalCode === null) bird.kill(signal);
        await birdExited;
      },
      birdc,
      async nextHops(prefix) {
        const routes = JSON.parse(await router.ip("-j", "route", "show", "exact", prefix)) as {
          gateway?: string;
          nexthops?: { gateway: string }[];
        }[];
        const hops = routes.flatMap((r) =>
          r.nexthops ? r.nexthops.map((h) => h.gateway) : r.gateway ? [r.gateway] : [],
        );
        return hops.sort();
      },
      async neighbour(address) {
        const [n] = JSON.parse(await client.ip("-j", "neigh", "show", address, "dev", LAN_IF)) as {
          lladdr?: string;
          state?: string[];
        }[];
        return n ? { mac: n.lladdr, state: n.state ?? [] } : undefined;
      },
      async close() {
        if (closed) return;
        for (const a of agents) a.close();
        await topo.stopRouterBird("SIGKILL");
        closed = true;
        process.off("exit", onExit);
        removeAll();
      },
    };
    await topo.startRouterBird();
    return topo;
  } catch (e) {
    closed = true;
    process.off("exit", onExit);
    removeAll();
    throw e;
  }
}

/** Controller is `portico run --engine-listen` in the controller's namespace. */
export interface Controller {
  proc: ChildProcess;
  logs: string[];
  stateDir: string;
  /** adminUrl is the admin API's URL inside the controller's namespace. */
  adminUrl: string;
  /** api GETs path from the admin API (through an agent in the namespace) and parses JSON. */
  api<T>(path: string): Promise<T>;
  /** cli runs `portico ARGS --admin ADMIN` in the controller's namespace and resolves with stdout. */
  cli(...args: string[]): Promise<string>;
  stop(): Promise<void>;
}

/** startController runs the controller on dir in topo's controller namespace, without an engine of its own. */
export async function startController(topo: Topology, manifestDir: string): Promise<Controller> {
  const stateDir = join(topo.dir, "state");
  const node = [process.execPath, "--disable-warning=ExperimentalWarning", main];
  const proc = topo.ctl.spawn(
    node[0]!,
    [
      ...node.slice(1),
      "run",
      manifestDir,
      "--admin",
      "127.0.0.1:0",
      "--state-dir",
      stateDir,
      "--engine-listen",
      CTL_LINK,
      "--no-local-engine",
    ],
    { stdio: ["ignore", "ignore", "pipe"], env: { ...process.env, PORTICO_LOG_LEVEL: "info" } },
  );
  const { logs, exited } = watchChild(proc);
  const adminUrl = await waitFor(
    "the controller's admin API",
    () => {
      if (proc.exitCode !== null) throw new Error(`controller exited ${proc.exitCode}: ${logs.join("\n")}`);
      for (const l of logs) {
        try {
          const j = JSON.parse(l) as { msg?: string; url?: string };
          if (j.msg === "admin API listening") return j.url;
        } catch {
          /* not JSON */
        }
      }
      return undefined;
    },
    30_000,
  );
  const agent = topo.agent(topo.ctl);
  return {
    proc,
    logs,
    stateDir,
    adminUrl,
    async api<T>(path: string) {
      const r = await agent.call<{ ok: boolean; why: string; body: string }>("get", {
        url: `${adminUrl}${path}`,
      });
      if (!r.ok) throw new Error(`GET ${path}: ${r.why} ${r.body}`);
      return JSON.parse(r.body) as T;
    },
    async cli(...args) {
      const admin = adminUrl.replace(/^http:\/\//, "");
      return topo.ctl.run(process.execPath, [...node.slice(1), ...args, "--admin", admin]);
    },
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill("SIGTERM");
      await exited;
    },
  };
}

/** Outage is what a load saw around a fault at time t: requests failed, by cause, and when traffic flowed again. */
export interface Outage {
  /** recoveredMs: from t to the end of the first success after the last failure (0: nothing failed). */
  recoveredMs: number;
  failed: number;
  total: number;
  /** causes counts failures by code (ECONNRESET, ECONNREFUSED, TIMEOUT, a status...). */
  causes: Record<string, number>;
}

/** outage measures recs (a load's requests) against a fault at time t. */
export function outage(recs: readonly Rec[], t: number): Outage {
  const after = recs.filter((r) => r[1] >= t);
  const failures = after.filter((r) => r[2] === 0);
  const causes: Record<string, number> = {};
  for (const f of failures) causes[f[3]] = (causes[f[3]] ?? 0) + 1;
  if (failures.length === 0) return { recoveredMs: 0, failed: 0, total: after.length, causes };
  const lastFailStart = Math.max(...failures.map((f) => f[0]));
  const back = after.filter((r) => r[2] === 1 && r[0] > lastFailStart).map((r) => r[1]);
  const recoveredMs = back.length > 0 ? Math.min(...back) - t : Number.POSITIVE_INFINITY;
  return { recoveredMs: Math.round(recoveredMs), failed: failures.length, total: after.length, causes };
}

/** measured prints a figure for the report: `# measured: ...` lines are collected from the test output. */
export function measured(what: string, o: Outage | string): void {
  const text =
    typeof o === "string"
      ? o
      : `${Number.isFinite(o.recoveredMs) ? `traffic flowing again after ${o.recoveredMs} ms` : "still failing when the load stopped"}; ${o.failed} of ${o.total} requests failed${
          o.failed
            ? ` (${Object.entries(o.causes)
                .map(([k, v]) => `${k} ${v}`)
                .join(", ")})`
            : ""
        }`;
  process.stdout.write(`# measured: ${what}: ${text}\n`);
}

/** Fleet is the controller and the engines (one per engine namespace, named by role: e1, e2, e3). */
export interface Fleet {
  ctl: Controller;
  dir: string;
  engines: Map<string, EngineProc>;
  /** start (re)starts engine name in its namespace. */
  start(name: string): EngineProc;
  /** acked waits until the named engines (default all three) are connected, acked and ready. */
  acked(names?: readonly string[], deadlineMs?: number): Promise<FleetView>;
  /** write writes a manifest file into the controller's directory (the controller reloads it). */
  write(name: string, text: string): void;
  /** vip is the address the controller gave an object (Service, Ingress, Gateway). */
  vip(kind: string, ns: string, name: string): Promise<string | undefined>;
  stop(): Promise<void>;
}

/** startFleet writes manifests, starts the controller and one engine per engine namespace in group, and waits until all acked. */
export async function startFleet(
  topo: Topology,
  group: string,
  manifests: Record<string, string>,
  engineArgs: string[] = [],
): Promise<Fleet> {
  const dir = join(topo.dir, "manifests");
  mkdirSync(dir, { recursive: true });
  const write = (name: string, text: string) => writeFileSync(join(dir, name), text);
  for (const [name, text] of Object.entries(manifests)) write(name, text);
  const ctl = await startController(topo, dir);
  const engines = new Map<string, EngineProc>();
  const start = (name: string) => {
    const node = topo.engines.find((e) => e.role === name)!;
    const e = startEngine(node, {
      name,
      group,
      controller: CTL_LINK,
      stateDir: ctl.stateDir,
      adminPort: 9902,
      // One node name per namespace: status and explain name the node that announces.
      extra: ["--node", `node-${name}`, ...engineArgs],
    });
    engines.set(name, e);
    return e;
  };
  const names = topo.engines.map((e) => e.role);
  const acked = (which: readonly string[] = names, deadlineMs = 60_000) =>
    allAcked(() => ctl.api<FleetView>("/api/v1/engines"), which, deadlineMs).catch((e: Error) => {
      const tail = [...engines.values()].map((x) => `${x.name}:\n${x.logs.slice(-15).join("\n")}`);
      throw new Error(`${e.message}\ncontroller:\n${ctl.logs.slice(-20).join("\n")}\n${tail.join("\n")}`);
    });
  // The engine credentials exist once the controller listens.
  await waitFor("the engine CA and token", () => existsSync(join(ctl.stateDir, "engine-token")), 30_000);
  for (const n of names) start(n);
  await acked();
  return {
    ctl,
    dir,
    engines,
    start,
    acked,
    write,
    async vip(kind, ns, name) {
      const all = await ctl.api<StatusEntry[]>("/api/v1/status");
      const s = all.find((x) => x.kind === kind && (x.namespace ?? "") === ns && x.name === name);
      return s?.status?.loadBalancer?.ingress?.[0]?.ip;
    },
    async stop() {
      for (const e of engines.values()) await e.stop("SIGKILL");
      await ctl.stop();
    },
  };
}

/** Load is a load generator running in the client's namespace (announce-agent.ts). */
export interface Load {
  /** since returns the requests that started at or after t (wall ms). */
  since(t: number): Promise<Rec[]>;
  stop(): Promise<Rec[]>;
}

/**
 * startLoad runs clients loops of GET url in agent, each at most one request per 20 ms: a new
 * connection per request, or one kept-alive connection per client.
 */
export async function startLoad(
  agent: Agent,
  url: string,
  mode: "fresh" | "keepalive",
  clients: number,
  timeoutMs = 1000,
): Promise<Load> {
  const { id } = await agent.call<{ id: number }>("load", { url, mode, clients, timeoutMs });
  return {
    since: async (t) => (await agent.call<{ recs: Rec[] }>("since", { load: id, t })).recs,
    stop: async () => (await agent.call<{ recs: Rec[] }>("stop", { load: id })).recs,
  };
}

/** recovered waits until load has run streak successes in a row after time t (after any failure). */
export async function recovered(load: Load, t: number, deadlineMs: number, streak = 20): Promise<void> {
  await waitFor(
    `${streak} requests in a row to succeed after the fault`,
    async () => {
      const recs = await load.since(t - 2000);
      const tail = recs.filter((r) => r[1] >= t).slice(-streak);
      return tail.length === streak && tail.every((r) => r[2] === 1);
    },
    deadlineMs,
  );
}

/** owners lists the engine namespaces that hold address on dev (L2: the LAN interface). */
export async function owners(topo: Topology, address: string, dev = LAN_IF): Promise<Node[]> {
  const held = await Promise.all(topo.engines.map(async (e) => (await e.addresses(dev)).includes(address)));
  return topo.engines.filter((_, i) => held[i]);
}
