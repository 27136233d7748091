// metallb.ts: `portico migrate metallb` — MetalLB's configuration objects become Portico's: each
// IPAddressPool a VipPool (in its place in the file, comments kept), the advertisements that select
// it its spec.announce, the BGPPeers one EngineGroup's spec.bgp. Services need no change: the
// metallb.io/ (and metallb.universe.tf/) Service annotations work as Portico's own.
import type { EngineGroup, EngineGroupBgp } from "../k8s/engine-group.ts";
import { DEFAULT_ENGINE_GROUP } from "../k8s/engine-group.ts";
import type { Report } from "./report.ts";
import { isObject, type InputObject, type Workspace } from "./workspace.ts";
import { isMetallb, Src } from "./metallb-common.ts";
import {
  announceOf,
  bgpAttributes,
  l2Fields,
  poolOf,
  selectPools,
  unsetPriorities,
  type BgpAttributes,
  type PoolPlan,
} from "./metallb-pools.ts";
import { peerOf } from "./metallb-peers.ts";

/** MetallbOptions: engineGroup is the EngineGroup the peers go to (default "default"). */
export interface MetallbOptions {
  engineGroup?: string;
}

/** migrateMetallb converts every MetalLB object of the workspace, reporting what it cannot carry. */
export function migrateMetallb(ws: Workspace, report: Report, opts: MetallbOptions = {}): void {
  const group = opts.engineGroup ?? DEFAULT_ENGINE_GROUP;
  const of = (kind: string) => ws.objects.filter((o) => isMetallb(o, kind)).map((o) => new Src(o, report));
  // Community aliases are folded into the advertisements that use them.
  const aliases = new Map<string, string>();
  for (const c of of("Community")) {
    for (const e of Array.isArray(c.get("communities")) ? (c.spec.communities as unknown[]) : [])
      if (isObject(e) && typeof e.name === "string" && typeof e.value === "string")
        aliases.set(e.name, e.value);
    c.rest();
    c.note("carried", "", "folded into the communities of the pools whose BGPAdvertisements name it");
    ws.replace(c.o, []);
  }
  const plans = poolsOf(of("IPAddressPool"), group === DEFAULT_ENGINE_GROUP ? undefined : group);
  for (const ad of of("L2Advertisement")) {
    for (const p of selectPools(ad, plans)) p.l2.push(ad);
    l2Fields(ad);
    ws.replace(ad.o, []);
  }
  const attrs = new Map<Src, BgpAttributes>();
  for (const ad of of("BGPAdvertisement")) {
    for (const p of selectPools(ad, plans)) p.bgp.push(ad);
    attrs.set(ad, bgpAttributes(ad, aliases));
    ws.replace(ad.o, []);
  }
  unsetPriorities(plans);
  for (const p of plans) {
    const announce = announceOf(p, attrs);
    if (announce) p.pool.spec.announce = announce;
    ws.replace(p.src.o, [p.pool as unknown as Record<string, unknown>]);
  }
  const bfd = new Set(of("BFDProfile").map((b) => b.name));
  for (const b of of("BFDProfile")) {
    b.note(
      "lost",
      "",
      "not carried: BFD runs with BIRD's default timers on the peers that name this profile",
    );
    ws.replace(b.o, []);
  }
  peersOf(ws, of("BGPPeer"), bfd, group);
  for (const o of ws.objects)
    if (isMetallb(o) && !HANDLED.has(String(o.obj.kind)))
      new Src(o, report).note(
        "error",
        "",
        `not converted: Portico has no equivalent of MetalLB's ${String(o.obj.kind)}; left as it is`,
      );
}

const HANDLED = new Set([
  "IPAddressPool",
  "L2Advertisement",
  "BGPAdvertisement",
  "BGPPeer",
  "Community",
  "BFDProfile",
]);

// poolsOf converts the pools; two pools of one name (in different namespaces) cannot both be VipPools of that name.
function poolsOf(srcs: Src[], group: string | undefined): PoolPlan[] {
  const plans: PoolPlan[] = [];
  const seen = new Set<string>();
  for (const s of srcs) {
    const plan = poolOf(s, group);
    if (seen.has(plan.pool.metadata.name)) {
      const renamed = `${s.namespace}-${s.name}`;
      s.note(
        "carried",
        "metadata.name",
        `another IPAddressPool is named ${s.name}; VipPools are cluster-scoped, so this one is ${renamed} (change metallb.io/address-pool annotations that name it)`,
      );
      plan.pool.metadata.name = renamed;
    }
    seen.add(plan.pool.metadata.name);
    plans.push(plan);
  }
  return plans;
}

// peersOf gathers the BGPPeers into one EngineGroup: the first BGPPeer's place holds it (or an
// EngineGroup of that name in the input gets spec.bgp); the other BGPPeers go.
function peersOf(ws: Workspace, peers: Src[], bfd: Set<string>, group: string): void {
  if (peers.length === 0) return;
  const bgp: EngineGroupBgp = { asn: 0, peers: [] };
  const secrets: Record<string, unknown>[] = [];
  const routerIds = new Set<string>();
  const converted: Src[] = [];
  for (const src of peers) {
    const r = peerOf(src, bfd);
    if (r.routerId) routerIds.add(r.routerId);
    if (r.myASN !== undefined && bgp.asn === 0) bgp.asn = r.myASN;
    if (r.peer && r.myASN !== bgp.asn) {
      src.note(
        "error",
        "myASN",
        `not converted: ${r.myASN} differs from the ${bgp.asn} of the other peers, and a group's engines speak one ASN; convert it with --engine-group OTHER on a directory of its own`,
      );
      continue;
    }
    if (!r.peer) continue; // reported by peerOf; the BGPPeer stays as it is
    bgp.peers.push(r.peer);
    converted.push(src);
    if (r.secret) secrets.push(r.secret);
    if (r.password !== undefined) ws.secrets.push(r.password);
  }
  if (routerIds.size === 1) bgp.routerId = [...routerIds][0]!;
  else if (routerIds.size > 1)
    peers[0]!.note(
      "lost",
      "routerID",
      `the peers name several router IDs (${[...routerIds].join(", ")}); a Portico engine has one (default: its lowest IPv4 address), none carried`,
    );
  const existing = ws.objects.find(
    (o) =>
      o.obj.apiVersion === "portico.dev/v1alpha1" &&
      o.obj.kind === "EngineGroup" &&
      isObject(o.obj.metadata) &&
      o.obj.metadata.name === group,
  );
  const objs: Record<string, unknown>[] = [];
  if (bgp.peers.length > 0 && existing) {
    mergeInto(ws, existing, bgp, peers[0]!);
  } else if (bgp.peers.length > 0) {
    const eg: EngineGroup = {
      apiVersion: "portico.dev/v1alpha1",
      kind: "EngineGroup",
      metadata: { name: group },
      spec: { bgp },
    };
    objs.push(eg as unknown as Record<string, unknown>);
  }
  objs.push(...secrets);
  converted.forEach((p, i) => ws.replace(p.o, i === 0 ? objs : []));
}

function mergeInto(ws: Workspace, existing: InputObject, bgp: EngineGroupBgp, first: Src) {
  const spec = isObject(existing.obj.spec) ? existing.obj.spec : {};
  if (isObject(spec.bgp)) {
    first.note(
      "error",
      "",
      `not converted: EngineGroup ${String((existing.obj.metadata as { name: string }).name)} (${existing.file}:${existing.line}) already has spec.bgp; merge by hand: ${JSON.stringify(bgp)}`,
    );
    return;
  }
  ws.set(existing, ["spec", "bgp"], bgp);
  first.note(
    "carried",
    "",
    `the peers went into the existing EngineGroup at ${existing.file}:${existing.line}`,
  );
}
