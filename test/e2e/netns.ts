// netns.ts: a network namespace joined to this one by a veth pair — a "machine" for tests that
// run engines apart from the controller, reached at its own address. Needs root; netnsSkip says
// why it cannot run otherwise. Names and a /30 per (pid, index), so parallel runs cannot collide.
import { execFile, spawn, type ChildProcess, type SpawnOptions } from "node:child_process";
import { promisify } from "node:util";

const exec = promisify(execFile);

/** Netns is one namespace: hostIp is this side of the veth, nsIp the namespace's side. */
export interface Netns {
  name: string;
  hostIp: string;
  nsIp: string;
  /** run executes a command inside the namespace and resolves with its stdout. */
  run(cmd: string, args: string[]): Promise<string>;
  /** spawn starts a long-running process inside the namespace. */
  spawn(cmd: string, args: string[], opts?: SpawnOptions): ChildProcess;
  /** addVip puts address on the namespace's loopback and routes it from the host through the veth. */
  addVip(address: string): Promise<void>;
  close(): Promise<void>;
}

/** netnsSkip is false when namespaces can be made here, else the reason. */
export async function netnsSkip(): Promise<string | false> {
  if (process.getuid?.() !== 0) return "needs root for ip netns";
  try {
    await exec("ip", ["netns", "list"]);
    return false;
  } catch (e) {
    return `ip netns unavailable: ${String(e)}`;
  }
}

/** createNetns makes namespace number index (0-63) of this process, with its veth up and addressed. */
export async function createNetns(index: number): Promise<Netns> {
  const id = `${process.pid % 100000}x${index}`;
  const name = `pt-${id}`;
  const hostIf = `pth${id}`.slice(0, 15);
  const nsIf = `ptn${id}`.slice(0, 15);
  // 10.252.0.0/16 split into /30s: 64 per process slot, 256 slots by pid.
  const slot = process.pid % 256;
  const base = index * 4;
  const hostIp = `10.252.${slot}.${base + 1}`;
  const nsIp = `10.252.${slot}.${base + 2}`;
  const ip = (...args: string[]) => exec("ip", args);
  await ip("netns", "add", name);
  const vips: string[] = [];
  const ns: Netns = {
    name,
    hostIp,
    nsIp,
    async run(cmd, args) {
      return (await exec("ip", ["netns", "exec", name, cmd, ...args], { maxBuffer: 16 << 20 })).stdout;
    },
    spawn(cmd, args, opts = {}) {
      return spawn("ip", ["netns", "exec", name, cmd, ...args], opts);
    },
    async addVip(address) {
      await ip("-n", name, "addr", "add", `${address}/32`, "dev", "lo");
      await ip("route", "replace", `${address}/32`, "via", nsIp);
      vips.push(address);
    },
    async close() {
      for (const v of vips) await ip("route", "del", `${v}/32`).catch(() => {});
      await ip("link", "del", hostIf).catch(() => {});
      await ip("netns", "del", name).catch(() => {});
    },
  };
  try {
    await ip("link", "add", hostIf, "type", "veth", "peer", "name", nsIf);
    await ip("link", "set", nsIf, "netns", name);
    await ip("addr", "add", `${hostIp}/30`, "dev", hostIf);
    await ip("link", "set", hostIf, "up");
    await ip("-n", name, "addr", "add", `${nsIp}/30`, "dev", nsIf);
    await ip("-n", name, "link", "set", nsIf, "up");
    await ip("-n", name, "link", "set", "lo", "up");
    await ip("-n", name, "route", "add", "default", "via", hostIp);
    // A listener that closes in a SO_REUSEPORT group hands the connections still in its accept
    // queue to a sibling instead of resetting them (Linux ≥ 5.14): engines draining for a rolling
    // restart on one machine then lose none (docs/engines.md).
    await exec("ip", ["netns", "exec", name, "sysctl", "-qw", "net.ipv4.tcp_migrate_req=1"]);
  } catch (e) {
    await ns.close();
    throw e;
  }
  return ns;
}
