// ip.ts: the pure half of talking to iproute2 — the `ip -batch` text that adds, renews and removes
// leased addresses, the errors it reports per line, and the choice of interface from `ip -j addr`
// and `ip -j route` output. No I/O here, so every rule is unit-tested against real tool output.
import { BlockList, isIP, SocketAddress } from "node:net";

/** LeasedAddress is one address the announcer keeps in the kernel: "198.51.100.10/32" on dev. */
export interface LeasedAddress {
  /** cidr is the address with the prefix length it is added with ("2001:db8::10/128"). */
  cidr: string;
  dev: string;
  /** noPrefixRoute keeps the kernel from routing (or, on lo, making local) the whole prefix. */
  noPrefixRoute?: boolean;
}

/** addressKey identifies a leased address: the kernel matches an address by address, length and device. */
export function addressKey(a: LeasedAddress): string {
  return `${a.dev} ${a.cidr}`;
}

/** leaseSeconds is the lifetime given to the kernel: whole seconds (its unit), at least 1. */
export function leaseSeconds(leaseMs: number): number {
  return Math.max(1, Math.ceil(leaseMs / 1000));
}

/**
 * batchLines is the `ip -batch` input of one tick: `address replace` (adds, or renews the lifetime
 * of, an address) for every address in keep and `address del` for every one in remove. IPv6
 * addresses are added `nodad`: the address must be usable at once (a failover), and another engine
 * may still hold it for the rest of its lease, which DAD would turn into a dead "dadfailed" address.
 */
export function batchLines(
  keep: readonly LeasedAddress[],
  remove: readonly LeasedAddress[],
  leaseMs: number,
): string[] {
  const s = leaseSeconds(leaseMs);
  const lines: string[] = [];
  for (const a of keep) {
    const flags = [
      a.cidr.includes(":") && a.dev !== "lo" ? "nodad" : "",
      a.noPrefixRoute ? "noprefixroute" : "",
    ]
      .filter(Boolean)
      .join(" ");
    lines.push(
      `address replace ${a.cidr} dev ${a.dev}${flags ? ` ${flags}` : ""} valid_lft ${s} preferred_lft ${s}`,
    );
  }
  for (const a of remove) lines.push(`address del ${a.cidr} dev ${a.dev}`);
  return lines;
}

/**
 * batchErrors maps `ip -force -batch -` stderr to the 0-based input lines that failed, with the
 * tool's message: ip prints the error's text, then "Command failed -:N" (N counts from 1).
 */
export function batchErrors(stderr: string): Map<number, string> {
  const out = new Map<number, string>();
  let pending: string[] = [];
  for (const line of stderr.split("\n")) {
    const m = /^Command failed -:(\d+)\s*$/.exec(line);
    if (m) {
      out.set(Number(m[1]) - 1, pending.join("; ") || "failed");
      pending = [];
    } else if (line.trim() !== "") pending.push(line.trim());
  }
  return out;
}

/** IpAddrInfo is the part of one `ip -j addr` entry the interface choice reads. */
export interface IpLink {
  ifname: string;
  flags?: string[];
  addr_info?: { family: string; local: string; prefixlen: number }[];
}

/** IpRoute is the part of one `ip -j route` entry the interface choice reads. */
export interface IpRoute {
  dst: string;
  dev?: string;
}

/** InterfaceChoice is where an L2 VIP goes, or why it cannot go anywhere. */
export type InterfaceChoice =
  { dev: string; why: string } | { dev?: undefined; reason: "InterfaceNotFound"; message: string };

/**
 * chooseInterface picks the interface for an L2 VIP: the first of the pool's interfaces present on
 * the node; with none configured, the one whose subnet holds the VIP (the longest such prefix,
 * host addresses and lo left out), else the default route's of the VIP's family.
 */
export function chooseInterface(
  vip: string,
  pool: string,
  configured: readonly string[] | undefined,
  links: readonly IpLink[],
  routes: readonly IpRoute[],
): InterfaceChoice {
  const present = links.map((l) => l.ifname);
  if (configured && configured.length > 0) {
    const dev = configured.find((c) => present.includes(c));
    if (dev) return { dev, why: `VipPool ${pool} lists it` };
    return {
      reason: "InterfaceNotFound",
      message: `none of VipPool ${pool}'s spec.announce.l2.interfaces (${configured.join(", ")}) is on this node (it has ${present.join(", ") || "none"}); list an interface this node has, or leave the list empty to use the one whose subnet holds ${vip}`,
    };
  }
  const family = isIP(vip) === 6 ? "inet6" : "inet";
  const host = family === "inet6" ? 128 : 32;
  let best: { dev: string; len: number } | undefined;
  for (const l of links) {
    if (l.ifname === "lo" || l.flags?.includes("LOOPBACK")) continue;
    for (const a of l.addr_info ?? []) {
      if (a.family !== family || a.prefixlen >= host) continue;
      if (inPrefix(vip, a.local, a.prefixlen) && (!best || a.prefixlen > best.len))
        best = { dev: l.ifname, len: a.prefixlen };
    }
  }
  if (best) return { dev: best.dev, why: `its subnet (/${best.len}) holds ${vip}` };
  const def = routes.find((r) => r.dst === "default" && r.dev !== undefined);
  if (def?.dev) return { dev: def.dev, why: "it carries the default route" };
  return {
    reason: "InterfaceNotFound",
    message: `no interface of this node has a subnet holding ${vip} and there is no ${family === "inet6" ? "IPv6 " : ""}default route; set VipPool ${pool}'s spec.announce.l2.interfaces to the interface on the VIP's network`,
  };
}

/** coveringPrefix is the network of address at length bits ("198.51.100.7", 24 → "198.51.100.0/24"). */
export function coveringPrefix(address: string, length: number): string {
  const v6 = isIP(address) === 6;
  const bits = v6 ? 128 : 32;
  const mask = length === 0 ? 0n : ((1n << BigInt(length)) - 1n) << BigInt(bits - length);
  const n = toBig(address) & mask;
  const width = v6 ? 16 : 8;
  const parts = [];
  for (let s = bits - width; s >= 0; s -= width)
    parts.push(Number((n >> BigInt(s)) & ((1n << BigInt(width)) - 1n)));
  const text = v6 ? parts.map((p) => p.toString(16)).join(":") : parts.join(".");
  // SocketAddress prints the canonical (RFC 5952) form, so prefixes compare as text.
  return `${new SocketAddress({ address: text, family: v6 ? "ipv6" : "ipv4" }).address}/${length}`;
}

/** inPrefix says whether address lies in net/len (both of one family). */
export function inPrefix(address: string, net: string, len: number): boolean {
  const family = isIP(address) === 6 ? "ipv6" : "ipv4";
  if (isIP(address) !== isIP(net)) return false;
  const list = new BlockList();
  list.addSubnet(net, len, family);
  return list.check(address, family);
}

// toBig reads an address as an unsigned integer; "::" expands to the missing zero groups.
function toBig(address: string): bigint {
  if (isIP(address) === 4) return address.split(".").reduce((acc, p) => (acc << 8n) | BigInt(Number(p)), 0n);
  const [head = "", tail] = address.split("::");
  const groups = (s: string) => (s === "" ? [] : s.split(":"));
  const h = groups(head);
  const t = tail === undefined ? [] : groups(tail);
  const all = [...h, ...Array<string>(8 - h.length - t.length).fill("0"), ...t];
  return all.reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g, 16)), 0n);
}
