// engine-group.ts: an EngineGroup in plain words — its spec with defaults, what its HA mode
// promises, which VIPs and objects it serves and which rule sent each there, what is wrong, and
// (from a running Portico, given the fleet view) each engine: node, acked version, ready, load.
import type { ResourceSet } from "../../k8s/resource-set.ts";
import { DEFAULT_ENGINE_GROUP } from "../../k8s/engine-group.ts";
import type { GroupServing, ServedObject } from "../../translate/engine-group.ts";
import { ruleText } from "../../translate/engine-group.ts";
import type { GroupSpec } from "../../translate/engine-group-spec.ts";
import type { FleetView } from "../fleet/view.ts";
import {
  begin,
  conditionsSection,
  statusOf,
  type Explanation,
  type PipelineView,
  type Where,
} from "./common.ts";
import type { Target } from "./target.ts";

/** haModeText says what a group's HA mode promises, in words. */
export function haModeText(spec: GroupSpec): string {
  switch (spec.haMode) {
    case "ActiveActive":
      return "ActiveActive — every ready engine serves every VIP of the group; losing one engine loses its share of connections, the others keep serving.";
    case "ActiveStandby":
      return "ActiveStandby — each VIP is served by one engine, with one standby (in another zone, else on another node, when there is one) that takes the VIP when the active goes; a returning engine takes nothing back.";
    case "NPlusM":
      return `NPlusM — the VIPs are spread over the engines less ${spec.spares} spare(s); when an engine goes, a spare takes all of its VIPs; a returning engine takes nothing back.`;
  }
}

/** specLines renders a spec with defaults applied. */
function specLines(s: GroupSpec): string[] {
  const count = s.autoscaling
    ? `autoscaling ${s.autoscaling.minReplicas}–${s.autoscaling.maxReplicas} engines at ${s.autoscaling.targetUtilization}% of measured capacity`
    : `${s.replicas} engine(s), fixed`;
  const size = `cpu ${s.resources.cpu ?? "unset"}, memory ${s.resources.memory ?? "unset"}`;
  const selector = Object.entries(s.placement.nodeSelector).map(([k, v]) => `${k}=${v}`);
  const limit = (n: number) => (n === 0 ? "off" : String(n));
  return [
    "Spec (defaults applied):",
    `  ${count}, run as a ${s.workload}, ${s.workers} worker(s) each`,
    `  size per engine: ${size}`,
    `  placement: spread across ${s.placement.spreadAcross}${selector.length > 0 ? `, nodes ${selector.join(",")}` : ""}${s.placement.tolerations.length > 0 ? `, ${s.placement.tolerations.length} toleration(s)` : ""}`,
    `  limits per engine: connections ${limit(s.limits.maxConnections)}, new connections/s ${limit(s.limits.maxConnectionRate)}`,
  ];
}

/** announceLines says how the group's engines announce: the lease, the drain delay and each BGP peer
 * (its password only as set or not: never printed). */
function announceLines(g: GroupServing): string[] {
  const a = g.spec.announcement;
  const lines = [
    `Announcement: lease ${a.leaseSeconds} s, withdraw ${a.withdrawDelaySeconds} s before a drain stops accepting`,
  ];
  if (g.bgp === undefined) {
    lines.push("  BGP: no spec.bgp (pools of this group announced by BGP are not announced)");
    return lines;
  }
  lines.push(
    `  BGP: AS ${g.bgp.asn}${g.bgp.routerId ? `, router id ${g.bgp.routerId}` : ""}, ${g.bgp.peers.length} usable peer(s)`,
  );
  for (const p of g.bgp.peers)
    lines.push(
      `    ${p.name}: ${p.address}${p.port ? `:${p.port}` : ""} AS ${p.asn}, hold ${p.holdTimeSeconds} s${p.bfd ? ", BFD" : ""}${p.password !== undefined ? ", TCP-MD5" : ""}, ${p.nodes ? `nodes ${p.nodes.join(",")}` : "every node"}`,
    );
  return lines;
}

/** servedLine says why one object is served by this group. */
function servedLine(o: ServedObject): string {
  const where = o.addresses.length > 0 ? o.addresses.join(", ") : "<VIP pending>";
  if (o.asked !== undefined)
    return `  ${where} ${o.object}: asked for ${o.asked} (${ruleText(o.rule)}), but shares the VIP with ${o.winner}, whose choice serves it`;
  return `  ${where} ${o.object}: ${ruleText(o.rule)}`;
}

/** engineLines lists the group's engines from the fleet view. */
function engineLines(fleet: FleetView, name: string): string[] {
  const engines = fleet.engines.filter((e) => e.identity.group === name);
  const lines = [`Engines (${engines.length}, live):`];
  if (engines.length === 0) lines.push("  none connected: nothing serves this group's VIPs");
  for (const e of engines) {
    const acked = e.acked ? `acked version ${e.acked.version} (seq ${e.acked.seq})` : "nothing acked yet";
    const load = e.load
      ? `, ${Math.round(e.load.requestsPerSecond)} req/s, ${e.load.connectionsOpen} connections, ${e.load.cpuCores.toFixed(2)} cores`
      : "";
    const state = e.ready ? "ready" : e.connected ? "not ready" : "disconnected";
    lines.push(
      `  ${e.identity.name} on node ${e.identity.node}${e.identity.zone ? ` (${e.identity.zone})` : ""}: ${state}, ${acked}${load}`,
    );
    if (e.lastNack)
      lines.push(`    last refused snapshot: version ${e.lastNack.version}: ${e.lastNack.error}`);
  }
  return lines;
}

/** explainEngineGroup explains EngineGroup t.name; fleet, when given, adds the live engines. */
export function explainEngineGroup(
  set: ResourceSet,
  out: PipelineView,
  t: Target,
  where: Where,
  fleet?: FleetView,
): Explanation {
  const g: GroupServing | undefined = out.groups[t.name];
  const manifest = set.engineGroups.find((x) => x.metadata.name === t.name);
  if (!g || (!g.exists && !manifest)) return missing(t, where, g);
  const e = begin(set, out, t, `EngineGroup ${t.name}`);
  if (g.builtin)
    e.lines.push(`  built in: no manifest defines it; a manifest named ${DEFAULT_ENGINE_GROUP} replaces it`);
  const accepted = statusOf(out.statuses, "EngineGroup", "", t.name)?.status.conditions?.find(
    (c) => c.type === "Accepted",
  );
  if (!g.accepted)
    e.lines.push("  not accepted: its spec has never been valid, so it serves nothing (see Problems)");
  else {
    e.lines.push(...specLines(g.spec), `HA mode: ${haModeText(g.spec)}`, ...announceLines(g));
  }
  e.lines.push(`Serves ${g.vips.length} VIP(s) for ${g.objects.length} object(s):`);
  if (g.objects.length === 0) e.lines.push("  nothing: no object, class or VipPool picks this group");
  e.lines.push(...g.objects.map(servedLine));
  if (fleet) e.lines.push(...engineLines(fleet, t.name));
  const problems: string[] = [];
  if (accepted && accepted.status === "False")
    problems.push(`  spec: ${accepted.reason}: ${accepted.message}`);
  for (const o of g.objects.filter((x) => x.asked !== undefined))
    problems.push(`  ${o.object} asked for ${o.asked}; it is served here because its VIP is shared`);
  if (problems.length > 0) e.lines.push("Problems:", ...problems);
  conditionsSection(e);
  return e;
}

/** missing explains a group with no manifest, naming the objects that refer to it anyway. */
function missing(t: Target, where: Where, g: GroupServing | undefined): Explanation {
  const e: Explanation = { kind: t.kind, name: t.name, found: false, lines: [] };
  e.lines.push(`EngineGroup ${t.name} is not in the ${where}. Check the name ('portico get enginegroups').`);
  if (g && g.objects.length > 0) {
    e.lines.push(`These objects name it, so no engine serves them (they fail closed) until it exists:`);
    e.lines.push(...g.objects.map(servedLine));
    e.lines.push(`Create it: apiVersion: portico.dev/v1alpha1, kind: EngineGroup, metadata.name: ${t.name}.`);
  }
  return e;
}
