// slice.ts: the snapshot one engine gets — the listeners and DNS servers of its group whose address
// placement gives it, with the pools and certificates those reference and nothing else (an engine
// holds no key it does not serve). Pure: the full snapshot, the engine and its group's placement in.
import { DEFAULT_ENGINE_GROUP } from "../../k8s/engine-group.ts";
import type { DnsServer, EngineSnapshot, HttpListener, L4Listener } from "../../model/ir.ts";
import type { Placement } from "./placement.ts";

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
 * sliceFor is the part of snapshot engine serves under placement (its group's placement). served,
 * when given, lists every VIP address some engine serves now (any group): a health-aware DNS
 * record whose address no engine serves is withdrawn, as one whose pools are all down is.
 */
export function sliceFor(
  snapshot: EngineSnapshot,
  engine: { name: string; group: string },
  placement: Placement,
  served?: ReadonlySet<string>,
): EngineSnapshot {
  const mine = (l: L4Listener | HttpListener | DnsServer) =>
    groupOf(l) === engine.group && (placement[l.address]?.active ?? []).includes(engine.name);
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
  };
}

/** withoutUnserved drops a server's health-aware A/AAAA records whose address no engine serves (Fallback ones stay). */
function withoutUnserved(d: DnsServer, served: ReadonlySet<string>): DnsServer {
  const keep = (r: DnsServer["zones"][number]["records"][number]) =>
    !r.pools || r.fallback === true || (r.type !== "A" && r.type !== "AAAA") || served.has(r.value);
  if (d.zones.every((z) => z.records.every(keep))) return d;
  return { ...d, zones: d.zones.map((z) => ({ ...z, records: z.records.filter(keep) })) };
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
