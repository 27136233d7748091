// status.ts: reads `birdc show protocols all` (BIRD 2.0) into the peers' status. birdc prints a
// table line per protocol ("name proto table state since info") followed by indented details;
// for BGP the details hold "BGP state:", "Neighbor address:", "Last error:" and, per channel,
// "Routes: N imported, M exported, K preferred". The configuration sets `timeformat protocol "%s"`,
// so Since is Unix seconds and needs no time zone. Pure; tested on captured output (testdata/).
import type { BgpPeerStatus } from "../types.ts";

/** BirdProtocol is one protocol as `show protocols all` lists it. */
export interface BirdProtocol {
  name: string;
  proto: string;
  /** state is the protocol's state: up, start, stop, down. */
  state: string;
  /** since is the raw Since column (Unix seconds with our timeformat). */
  since: string;
  /** bgpState is the BGP FSM state (BGP protocols only). */
  bgpState?: string;
  neighbor?: string;
  lastError?: string;
  /** exported sums the "exported" routes of every channel. */
  exported: number;
}

/** parseProtocols reads birdc's `show protocols all` output; lines it does not know are skipped. */
export function parseProtocols(text: string): BirdProtocol[] {
  const out: BirdProtocol[] = [];
  let cur: BirdProtocol | undefined;
  for (const line of text.split("\n")) {
    if (line.trim() === "" || line.startsWith("BIRD ") || line.startsWith("Name ")) continue;
    if (!/^\s/.test(line)) {
      const [name = "", proto = "", , state = "", since = ""] = line.trim().split(/\s+/);
      cur = { name, proto, state, since, exported: 0 };
      out.push(cur);
      continue;
    }
    if (!cur) continue;
    const m = /^\s+([A-Za-z][A-Za-z0-9 ]*?):\s+(.*)$/.exec(line);
    if (!m) continue;
    const [, key, value = ""] = m;
    if (key === "BGP state") cur.bgpState = value.trim();
    else if (key === "Neighbor address") cur.neighbor = value.trim();
    else if (key === "Last error") cur.lastError = value.trim();
    else if (key === "Routes") cur.exported += Number(/(\d+) exported/.exec(value)?.[1] ?? 0);
  }
  return out;
}

/**
 * peerStatuses maps BIRD's protocols to the configured peers (protocol name → peer name), in peer
 * order. since is when the state last changed: BIRD's Since when the peer is first seen or BIRD
 * moved it, else the poll that noticed the change (Active ↔ Connect does not move BIRD's Since).
 */
export function peerStatuses(
  protocols: readonly BirdProtocol[],
  peers: ReadonlyMap<string, string>,
  addresses: ReadonlyMap<string, string>,
  previous: readonly BgpPeerStatus[],
  now: Date,
): BgpPeerStatus[] {
  const byName = new Map(protocols.map((p) => [p.name, p]));
  const prev = new Map(previous.map((p) => [p.name, p]));
  const out: BgpPeerStatus[] = [];
  for (const [proto, name] of peers) {
    const p = byName.get(proto);
    const before = prev.get(name);
    const address = p?.neighbor ?? addresses.get(name) ?? "";
    if (!p) {
      const state = "Down";
      out.push({
        name,
        address,
        state,
        since: sinceOf(state, before, now),
        message: "BIRD does not list this peer yet",
      });
      continue;
    }
    const state = p.bgpState ?? (p.state === "down" ? "Down" : "Idle");
    const birdSince = /^\d+$/.test(p.since) ? new Date(Number(p.since) * 1000) : undefined;
    const since =
      before === undefined && birdSince
        ? birdSince.toISOString()
        : before?.state !== state && birdSince && birdSince.getTime() > Date.parse(before?.since ?? "")
          ? birdSince.toISOString()
          : sinceOf(state, before, now);
    const s: BgpPeerStatus = { name, address, state, since, routesExported: p.exported };
    if (p.lastError && state !== "Established") s.message = p.lastError;
    out.push(s);
  }
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** downStatuses is every peer Down with message (the daemon is gone or not started). */
export function downStatuses(
  addresses: ReadonlyMap<string, string>,
  previous: readonly BgpPeerStatus[],
  message: string,
  now: Date,
): BgpPeerStatus[] {
  const prev = new Map(previous.map((p) => [p.name, p]));
  return [...addresses]
    .map(([name, address]) => ({
      name,
      address,
      state: "Down",
      since: sinceOf("Down", prev.get(name), now),
      message,
    }))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

function sinceOf(state: string, before: BgpPeerStatus | undefined, now: Date): string {
  return before?.state === state ? before.since : now.toISOString();
}
