// announce-topo.ts: one L2 segment of network namespaces for the announcement tests — a bridge in
// its own namespace and hosts (a client, engines) each joined to it by a veth, addressed from
// 198.51.100.0/24 and 2001:db8::/64. Nothing is configured in the test's own namespace. Names carry
// the pid, so parallel runs cannot collide; close() deletes every namespace (and so every link).
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { after, before } from "node:test";
import { promisify } from "node:util";

const exec = promisify(execFile);

/** SegmentHost is one namespace on the segment: its interface, addresses and MAC. */
export interface SegmentHost {
  ns: string;
  dev: string;
  ip4: string;
  ip6: string;
  mac: string;
  /** run executes cmd inside the namespace and resolves with its stdout. */
  run(cmd: string, args: string[]): Promise<string>;
}

/** Segment is a bridge with hosts on it. */
export interface Segment {
  hosts: Record<string, SegmentHost>;
  close(): Promise<void>;
}

/** createSegment builds a bridge and one namespace per name, host i at 198.51.100.(i+1) and 2001:db8::(i+1). */
export async function createSegment(names: string[]): Promise<Segment> {
  const tag = `${process.pid % 100000}`;
  const bridge = `pl2-${tag}-br`;
  const made: string[] = [];
  const ip = (...args: string[]) => exec("ip", args);
  const close = async () => {
    for (const ns of made.reverse()) await ip("netns", "del", ns).catch(() => {});
  };
  const hosts: Record<string, SegmentHost> = {};
  try {
    await ip("netns", "add", bridge);
    made.push(bridge);
    await ip("-n", bridge, "link", "add", "br0", "type", "bridge");
    await ip("-n", bridge, "link", "set", "br0", "up");
    for (const [i, name] of names.entries()) {
      const ns = `pl2-${tag}-${name}`;
      const dev = `eth${i + 1}`;
      await ip("netns", "add", ns);
      made.push(ns);
      await ip("-n", ns, "link", "add", dev, "type", "veth", "peer", "name", `p${i}`, "netns", bridge);
      await ip("-n", bridge, "link", "set", `p${i}`, "master", "br0");
      await ip("-n", bridge, "link", "set", `p${i}`, "up");
      // DAD off for the hosts' own addresses, so they are usable at once (the VIPs go nodad anyway).
      await ip("netns", "exec", ns, "sysctl", "-qw", `net.ipv6.conf.${dev}.accept_dad=0`);
      await ip("-n", ns, "link", "set", "lo", "up");
      await ip("-n", ns, "link", "set", dev, "up");
      const ip4 = `198.51.100.${i + 1}`;
      const ip6 = `2001:db8::${i + 1}`;
      await ip("-n", ns, "addr", "add", `${ip4}/24`, "dev", dev);
      await ip("-n", ns, "addr", "add", `${ip6}/64`, "dev", dev, "nodad");
      const link = JSON.parse((await ip("-n", ns, "-j", "link", "show", dev)).stdout) as {
        address: string;
      }[];
      hosts[name] = {
        ns,
        dev,
        ip4,
        ip6,
        mac: link[0]!.address,
        run: async (cmd, args) => (await exec("ip", ["netns", "exec", ns, cmd, ...args])).stdout,
      };
    }
  } catch (e) {
    await close();
    throw e;
  }
  return { hosts, close };
}

/** AddrInfo is one address of `ip -j addr` with its remaining lifetimes (seconds). */
export interface AddrInfo {
  local: string;
  prefixlen: number;
  dev: string;
  valid_life_time: number;
  preferred_life_time: number;
}

/** addresses lists host's addresses with their lifetimes. */
export async function addresses(host: SegmentHost): Promise<AddrInfo[]> {
  const links = JSON.parse(await host.run("ip", ["-j", "addr", "show"])) as {
    ifname: string;
    addr_info: Omit<AddrInfo, "dev">[];
  }[];
  return links.flatMap((l) => l.addr_info.map((a) => ({ ...a, dev: l.ifname })));
}

/** neighbour is the MAC host's kernel has for address now (any state but FAILED/INCOMPLETE), or undefined. */
export async function neighbour(host: SegmentHost, address: string): Promise<string | undefined> {
  const entries = JSON.parse(await host.run("ip", ["-j", "neigh", "show", address])) as {
    lladdr?: string;
    state?: string[];
  }[];
  return entries.find((e) => e.lladdr && !e.state?.includes("FAILED"))?.lladdr;
}

/** touch makes host's kernel resolve address (a TCP connect; refused is fine: the neighbour answered). */
export async function touch(host: SegmentHost, address: string): Promise<void> {
  await host.run("timeout", ["2", "bash", "-c", `exec 3<>/dev/tcp/${address}/9`]).catch(() => {});
}

/** JsonChild is a process in a namespace whose stdout is JSON lines. */
export interface JsonChild<T> {
  proc: ChildProcess;
  lines: T[];
  stderr(): string;
  exited: Promise<number | null>;
}

/** SegmentFixture gives a test file one segment (made before, deleted after) and kills its children after. */
export interface SegmentFixture {
  readonly hosts: Record<string, SegmentHost>;
  /** spawn runs `node FILE ARGS` in host's namespace with a JSON-lines stdout. */
  spawn<T>(host: SegmentHost, file: string, args: string[], env?: NodeJS.ProcessEnv): JsonChild<T>;
}

/** useSegment registers before/after hooks making a segment of names, unless skip. */
export function useSegment(names: string[], skip: string | false): SegmentFixture {
  let seg: Segment | undefined;
  const children: ChildProcess[] = [];
  before(async () => {
    if (!skip) seg = await createSegment(names);
  });
  after(async () => {
    for (const c of children) {
      c.kill("SIGCONT");
      c.kill("SIGKILL");
    }
    await seg?.close();
  });
  return {
    get hosts() {
      return seg!.hosts;
    },
    spawn<T>(host: SegmentHost, file: string, args: string[], env: NodeJS.ProcessEnv = {}): JsonChild<T> {
      const proc = spawn(
        "/usr/sbin/ip",
        ["netns", "exec", host.ns, process.execPath, "--disable-warning=ExperimentalWarning", file, ...args],
        { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...env } },
      );
      children.push(proc);
      const lines: T[] = [];
      let buf = "";
      let errors = "";
      proc.stdout!.setEncoding("utf8").on("data", (d: string) => {
        buf += d;
        for (let i = buf.indexOf("\n"); i >= 0; i = buf.indexOf("\n")) {
          lines.push(JSON.parse(buf.slice(0, i)) as T);
          buf = buf.slice(i + 1);
        }
      });
      proc.stderr!.setEncoding("utf8").on("data", (d: string) => (errors += d));
      const exited = new Promise<number | null>((r) => proc.once("exit", (code) => r(code)));
      return { proc, lines, stderr: () => errors.slice(-800), exited };
    },
  };
}

/** segmentSkip is false when namespaces can be made here and every tool (path: Debian package) is installed, else why not. */
export function segmentSkip(tools: Record<string, string>): string | false {
  if (process.getuid?.() !== 0) return "needs root for ip netns";
  const missing = Object.entries(tools).filter(([path]) => !existsSync(path));
  if (missing.length === 0) return false;
  return `needs ${missing.map(([path, pkg]) => `${path} (${pkg})`).join(", ")}: scripts/peers.sh installs them`;
}
