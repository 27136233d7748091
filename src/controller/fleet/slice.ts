// slice.ts: the snapshot one engine gets — the listeners and DNS servers of its group whose address
// placement gives it, with the pools and certificates those reference and nothing else (an engine
// holds no key it does not serve). Pure: the full snapshot, the engine and its group's placement in.
import { DEFAULT_ENGINE_GROUP } from "../../k8s/engine-group.ts";
import type { Announcement, DnsServer, EngineSnapshot, HttpListener, L4Listener } from "../../model/ir.ts";
import type { Placement } from "./placement.ts";
import type { Announcers } from "./announcers.ts";
import { DEFAULT_ANNOUNCEMENT, type GroupSettings } from "./group-settings.ts";

/** groupOf is the EngineGroup a listener or DNS server belongs to. */
export function groupOf(l: L4Listener | HttpListener | DnsServer): string {
  return l.group ?? DEFAULT_ENGINE_GROUP;
}

/** groupVips lists each group's listener addresses (what placement places), sorted. */
export function groupVips(snapshot: EngineSnapshot): Map<string, string[]> {
  const out = new Map<string, Set<string>>();
  for (const l of [...snapshot.l4, ...snapshot.http, ...(snapshot.dns ?? [])]) {
    const g = groupOf(l);
    if (!out.has(g)) out.set(g, new Set());
    out.get(g)!.add(l.address);
  }
  return new Map([...out].map(([g, set]) => [g, [...set].sort()]));
}

/**
 * sliceFor is the part of snapshot engine serves under placement (its group's placement), with
 * announce, its announce slice (announceFor), when it has one; an L2 VIP's listeners and DNS
 * servers go only to the engine announcing it. served, when given, lists every VIP address some
 * engine serves now (any group): a health-aware DNS record whose address no engine serves is
 * withdrawn, as one whose pools are all down is.
 */
export function sliceFor(
  snapshot: EngineSnapshot,
  engine: { name: string; group: string },
  placement: Placement,
  announce?: Announcement,
  served?: ReadonlySet<string>,
): EngineSnapshot {
  // An L2 VIP's address exists only on its owner's node: the other engines placed on it could not
  // bind it (EADDRNOTAVAIL, retried every second: never ready, and a failover waits for the next
  // retry). So its listeners go to the engine that announces it, and move with the announcement.
  const l2 = new Set((snapshot.announce?.vips ?? []).filter((v) => v.mode === "L2").map((v) => v.address));
  const owned = new Set((announce?.vips ?? []).map((v) => v.address));
  const mine = (l: L4Listener | HttpListener | DnsServer) =>
    groupOf(l) === engine.group &&
    (placement[l.address]?.active ?? []).includes(engine.name) &&
    (!l2.has(l.address) || owned.has(l.address));
  const l4 = snapshot.l4.filter(mine);
  const http = snapshot.http.filter(mine);
  const pools = new Set<string>();
  const certificates = new Set<string>();
  for (const l of l4) pools.add(l.pool);
  for (const l of http) collectRefs(l, pools, certificates);
  // A DNS server goes where its VIP is placed, with the pools its health-aware records watch.
  const dns = snapshot.dns?.filter(mine).map((d) => (served ? withoutUnserved(d, served) : d));
  for (const d of dns ?? [])
    for (const z of d.zones) for (const r of z.records) for (const p of r.pools ?? []) pools.add(p);
  return {
    version: snapshot.version,
    l4,
    http,
    pools: pick(snapshot.pools, pools),
    certificates: pick(snapshot.certificates, certificates),
    ...(dns !== undefined ? { dns } : {}),
    ...(announce ? { announce } : {}),
    // Every engine answers every pending ACME challenge: the CA's request may reach any of them.
    ...(snapshot.acme ? { acme: snapshot.acme } : {}),
    // Analytics settings are keyed by virtual service; an engine ignores the keys it does not serve.
    ...(snapshot.analytics ? { analytics: snapshot.analytics } : {}),
  };
}

/** withoutUnserved drops a server's health-aware A/AAAA records whose address no engine serves (Fallback ones stay). */
function withoutUnserved(d: DnsServer, served: ReadonlySet<string>): DnsServer {
  const keep = (r: DnsServer["zones"][number]["records"][number]) =>
    !r.pools || r.fallback === true || (r.type !== "A" && r.type !== "AAAA") || served.has(r.value);
  if (d.zones.every((z) => z.records.every(keep))) return d;
  return { ...d, zones: d.zones.map((z) => ({ ...z, records: z.records.filter(keep) })) };
}

/**
 * announceFor is what engine announces: its group's lease and drain delay, the VIPs announcers
 * gives it (without their group), and its group's BGP speaker with the peers whose nodes include
 * the engine's node (or name none). Undefined when it announces nothing and has no BGP peer: an
 * engine of a group with peers keeps its sessions up while it announces no VIP, so a VIP moving to
 * it is announced without waiting for a session to establish.
 */
export function announceFor(
  full: Announcement | undefined,
  engine: { name: string; group: string; node: string },
  owners: Announcers,
  settings: GroupSettings | undefined,
): Announcement | undefined {
  const vips = (full?.vips ?? [])
    .filter((v) => (v.group ?? DEFAULT_ENGINE_GROUP) === engine.group)
    .filter((v) => (owners[v.address] ?? []).includes(engine.name))
    .map(({ group: _group, ...v }) => v);
  const speaker = settings?.bgp;
  const peers = (speaker?.peers ?? [])
    .filter((p) => p.nodes === undefined || p.nodes.length === 0 || p.nodes.includes(engine.node))
    .map(({ nodes: _nodes, ...p }) => p);
  if (vips.length === 0 && peers.length === 0) return undefined;
  const timing = settings?.announcement ?? DEFAULT_ANNOUNCEMENT;
  const out: Announcement = { leaseMs: timing.leaseMs, withdrawDelayMs: timing.withdrawDelayMs, vips };
  if (speaker && peers.length > 0)
    out.bgp = { asn: speaker.asn, ...(speaker.routerId ? { routerId: speaker.routerId } : {}), peers };
  return out;
}

// collectRefs walks a listener and notes every pool ("pool") and certificate ("certificate",
// "defaultCertificate") key it names: the IR links parts only by these fields (model/validate.ts),
// so a new place that names a pool is covered without a change here.
function collectRefs(v: unknown, pools: Set<string>, certificates: Set<string>): void {
  if (Array.isArray(v)) {
    for (const x of v) collectRefs(x, pools, certificates);
    return;
  }
  if (v === null || typeof v !== "object") return;
  for (const [k, x] of Object.entries(v)) {
    if (typeof x === "string") {
      if (k === "pool") pools.add(x);
      else if (k === "certificate" || k === "defaultCertificate") certificates.add(x);
    } else collectRefs(x, pools, certificates);
  }
}

function pick<T>(all: Record<string, T>, keys: Set<string>): Record<string, T> {
  const out: Record<string, T> = {};
  for (const k of Object.keys(all)) if (keys.has(k)) out[k] = all[k]!;
  return out;
}
