// l2.ts: L2 mode. The VIP's owner puts VIP/32 (IPv6: /128 nodad) on the interface of the VIP's
// network and tells the segment the address moved: gratuitous ARP (`arping -U`, iputils) for IPv4
// and an unsolicited neighbour advertisement with the Override flag (`na6`, ipv6toolkit) for IPv6.
// Neighbours update an entry they already have at once; hosts with no entry ask, and the kernel
// answers for any address it holds.
//
// Why na6 and not the kernel: with net.ipv6.conf.IF.ndisc_notify=1 the kernel sends an unsolicited
// NA for a new address only when it completes DAD (or skips it because dad_transmits=0) — never
// for a `nodad` address (measured on Linux 6.18: Icmp6OutNeighborAdvertisements stays put). An
// address that goes through DAD is tentative (unbindable) for a second and fails outright while
// the previous owner still holds it, and dad_transmits=0 would switch DAD off for every address of
// the node's interface. Debian's ndisc6 package only solicits; ipv6toolkit's na6 sends the NA.
import { isIP } from "node:net";
import {
  chooseInterface,
  type InterfaceChoice,
  type IpLink,
  type IpRoute,
  type LeasedAddress,
} from "./ip.ts";
import type { Tools } from "./tools.ts";
import type { AnnouncedVip } from "../model/ir.ts";

/** NEIGHBOUR_REPEAT_MS is the gap between the two announcements of a move (a lost first one is covered). */
export const NEIGHBOUR_REPEAT_MS = 1000;

/** l2Address is the leased address of an L2 VIP on dev. */
export function l2Address(vip: string, dev: string): LeasedAddress {
  return { cidr: `${vip}/${isIP(vip) === 6 ? 128 : 32}`, dev };
}

/** NodeInterfaces is the node's links with their addresses and its default routes, read once per commit. */
export interface NodeInterfaces {
  links: IpLink[];
  routes4: IpRoute[];
  routes6: IpRoute[];
}

/** readInterfaces asks iproute2 for the node's interfaces and default routes. */
export async function readInterfaces(tools: Tools): Promise<NodeInterfaces> {
  const json = async (args: string[]) => {
    const r = await tools.run("ip", ["-j", ...args]);
    if (r.code !== 0) throw new Error(`ip -j ${args.join(" ")}: ${r.stderr.trim() || `exit ${r.code}`}`);
    return JSON.parse(r.stdout || "[]") as unknown[];
  };
  const [links, routes4, routes6] = await Promise.all([
    json(["addr", "show"]),
    json(["-4", "route", "show", "default"]),
    json(["-6", "route", "show", "default"]),
  ]);
  return { links: links as IpLink[], routes4: routes4 as IpRoute[], routes6: routes6 as IpRoute[] };
}

/** l2Interface chooses where vip goes on a node with these interfaces. */
export function l2Interface(vip: AnnouncedVip, node: NodeInterfaces): InterfaceChoice {
  const routes = isIP(vip.address) === 6 ? node.routes6 : node.routes4;
  return chooseInterface(vip.address, vip.pool, vip.interfaces, node.links, routes);
}

/** NeighbourAnnouncement is a running announcement; done resolves with an error message, or undefined when sent. */
export interface NeighbourAnnouncement {
  done: Promise<string | undefined>;
  cancel(): void;
}

/**
 * announceNeighbours tells dev's segment that vip is here now, twice NEIGHBOUR_REPEAT_MS apart. It
 * resolves once the tool is known to exist (ToolMissing otherwise) and leaves the sending running
 * in child processes, so a commit never waits the second the repeat takes.
 */
export async function announceNeighbours(
  tools: Tools,
  vip: string,
  dev: string,
): Promise<NeighbourAnnouncement> {
  if (isIP(vip) === 4) {
    await tools.require("arping");
    // -U: unsolicited (gratuitous) ARP, sender and target the VIP; -c 2 sends the repeat itself.
    const run = tools.run("arping", ["-U", "-c", "2", "-w", "3", "-I", dev, vip]);
    return { done: run.then(failure("arping")), cancel: () => {} };
  }
  await tools.require("na6");
  // -o: Override, so a neighbour replaces the old owner's link-layer address; -e: carry ours.
  const args = ["-i", dev, "-s", vip, "-d", "ff02::1", "-t", vip, "-o", "-e"];
  let timer: NodeJS.Timeout | undefined;
  let skip: (v: undefined) => void = () => {};
  const first = tools.run("na6", args).then(failure("na6"));
  const second = new Promise<string | undefined>((resolve) => {
    skip = resolve;
    timer = setTimeout(
      () => void tools.run("na6", args).then(failure("na6")).then(resolve),
      NEIGHBOUR_REPEAT_MS,
    );
    timer.unref();
  });
  return {
    done: first.then((err) => err ?? second),
    cancel: () => {
      clearTimeout(timer);
      skip(undefined);
    },
  };
}

function failure(tool: string) {
  return (r: { code: number | null; stderr: string }) =>
    r.code === 0
      ? undefined
      : `${tool} exited ${r.code}: ${r.stderr.trim().split("\n").slice(-2).join("; ")}`;
}
