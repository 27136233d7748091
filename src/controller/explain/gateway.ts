// gateway.ts: a Gateway and its routes (HTTPRoute, GRPCRoute, TLSRoute, TCPRoute, UDPRoute) in
// plain words — the VIP, the ports the engine really binds, each listener's state, the parents a
// route attached to (or why not), and where its requests, connections or datagrams go.
import type { ResourceSet } from "../../k8s/resource-set.ts";
import type { AnyObject } from "../../k8s/types.ts";
import type { ParentRef } from "../../translate/gateway-types.ts";
import {
  begin,
  conditionLines,
  conditionsSection,
  notFound,
  poolLines,
  statusOf,
  groupSection,
  vipSection,
  type Explanation,
  type PipelineView,
  type Where,
} from "./common.ts";
import { certificateLines } from "./certificate.ts";
import { hostLines, listenerHead } from "./ingress.ts";
import { targetKey, type Target } from "./target.ts";

/** GatewayListener is a spec.listeners entry. */
interface GatewayListener {
  name: string;
  port: number;
  protocol: string;
  hostname?: string;
}

/** spec reads an object's spec as the shape the caller expects (the source validated the fields). */
function spec<T>(o: AnyObject): Partial<T> {
  return (o.spec ?? {}) as Partial<T>;
}

/** findObject finds an object of a Gateway API kind in the set. */
function findObject(set: ResourceSet, t: Target): AnyObject | undefined {
  return set.other.find(
    (o) =>
      o.kind === t.kind && (o.metadata.namespace ?? "default") === t.namespace && o.metadata.name === t.name,
  );
}

/** gatewayOf resolves a parentRef to the key of the Gateway whose VIP serves it. */
function gatewayOf(set: ResourceSet, ref: ParentRef, ns: string): string | undefined {
  const refNs = ref.namespace ?? ns;
  if ((ref.kind ?? "Gateway") === "Gateway") return `Gateway/${refNs}/${ref.name}`;
  if (ref.kind !== "ListenerSet") return undefined;
  const ls = set.other.find(
    (o) => o.kind === "ListenerSet" && o.metadata.namespace === refNs && o.metadata.name === ref.name,
  );
  const p = ls ? spec<{ parentRef: ParentRef }>(ls).parentRef : undefined;
  return p ? `Gateway/${p.namespace ?? refNs}/${p.name}` : undefined;
}

/** refText writes a parentRef as "Gateway infra/demo section http". */
function refText(ref: ParentRef, ns: string): string {
  return `${ref.kind ?? "Gateway"} ${ref.namespace ?? ns}/${ref.name}${ref.sectionName ? ` section ${ref.sectionName}` : ""}${ref.port ? ` port ${ref.port}` : ""}`;
}

/** explainGateway explains a Gateway: VIP, ports bound, listeners, ListenerSets and attached routes. */
export function explainGateway(set: ResourceSet, out: PipelineView, t: Target, where: Where): Explanation {
  const gw = findObject(set, t);
  if (!gw) return notFound(t, where, "gateways");
  const key = targetKey(t);
  const gs = spec<{ gatewayClassName: string; listeners: GatewayListener[] }>(gw);
  const e = begin(set, out, t, `Gateway ${t.namespace}/${t.name} (class ${gs.gatewayClassName ?? "<none>"})`);
  vipSection(e, key, out);
  groupSection(e, key, out);
  const http = out.translate.http.filter((l) => l.vip === key);
  const l4 = out.translate.l4.filter((l) => l.vip === key);
  e.lines.push(e.vip?.ok ? "Ports the VIP serves:" : "Ports (bound once the VIP is assigned):");
  if (http.length + l4.length === 0)
    e.lines.push("  none: no listener is usable (see Listeners and Conditions)");
  for (const l of http) {
    const hosts = l.virtualHosts.map((vh) => vh.hostname);
    const sni = (l.sniRoutes ?? []).map((r) => `${r.hostname} (${r.mode})`);
    e.lines.push(
      `  ${l.port}/${l.tls ? "HTTPS" : "HTTP"}${hosts.length > 0 ? ` hosts ${hosts.join(", ")}` : ""}${sni.length > 0 ? `; TLS ${sni.join(", ")}` : ""}`,
    );
  }
  for (const l of l4) e.lines.push(`  ${l.port}/${l.protocol} → pool ${l.pool}`);
  const listeners = (e.status?.listeners ?? []) as {
    name: string;
    attachedRoutes: number;
    conditions?: { type: string; status: string; reason?: string; message?: string }[];
  }[];
  e.lines.push("Listeners:");
  for (const l of gs.listeners ?? []) {
    const st = listeners.find((s) => s.name === l.name);
    const programmed = st?.conditions?.find((c) => c.type === "Programmed");
    e.lines.push(
      `  ${l.name} ${l.port}/${l.protocol}${l.hostname ? ` ${l.hostname}` : ""}: ${st?.attachedRoutes ?? 0} route(s) attached, Programmed=${programmed?.status ?? "Unknown"}`,
      ...conditionLines(
        st?.conditions?.filter((c) => c.status !== (c.type === "Conflicted" ? "False" : "True")),
        "    ",
      ),
    );
  }
  const sets = set.other.filter(
    (o) =>
      o.kind === "ListenerSet" &&
      gatewayOf(set, { kind: "ListenerSet", name: o.metadata.name }, o.metadata.namespace ?? "") === key,
  );
  if (sets.length > 0) {
    e.lines.push("ListenerSets:");
    for (const ls of sets) {
      const st = statusOf(out.statuses, "ListenerSet", ls.metadata.namespace ?? "", ls.metadata.name);
      const acc = st?.status.conditions?.find((c) => c.type === "Accepted");
      e.lines.push(`  ${ls.metadata.namespace}/${ls.metadata.name}: Accepted=${acc?.status ?? "Unknown"}`);
    }
  }
  const routes = attachedRoutes(set, out, key);
  e.lines.push(`Routes: ${routes.length > 0 ? "" : "none attached"}`.trimEnd());
  for (const r of routes) e.lines.push(`  ${r}`);
  e.lines.push(...certificateLines(out.translate.certificateUses, key));
  conditionsSection(e);
  return e;
}

/** attachedRoutes lists "Kind ns/name (Accepted=…)" for each route naming the Gateway (directly or by ListenerSet). */
function attachedRoutes(set: ResourceSet, out: PipelineView, gwKey: string): string[] {
  const lines: string[] = [];
  for (const s of out.statuses) {
    const parents = (s.status.parents ?? []) as {
      parentRef: ParentRef;
      conditions?: { type: string; status: string }[];
    }[];
    const mine = parents.filter((p) => gatewayOf(set, p.parentRef, s.namespace ?? "") === gwKey);
    if (mine.length === 0) continue;
    const accepted = mine.map((p) => p.conditions?.find((c) => c.type === "Accepted")?.status ?? "Unknown");
    lines.push(`${s.kind} ${s.namespace}/${s.name}: Accepted=${[...new Set(accepted)].join("/")}`);
  }
  return lines;
}

/** ROUTE_LIST is what `portico get` calls every route kind. */
const ROUTE_LIST = "routes";

/** explainRoute explains a route: its parents and their verdicts, then where its traffic goes. */
export function explainRoute(set: ResourceSet, out: PipelineView, t: Target, where: Where): Explanation {
  const route = findObject(set, t);
  if (!route) return notFound(t, where, ROUTE_LIST);
  const key = targetKey(t);
  const rs = spec<{
    hostnames: string[];
    parentRefs: ParentRef[];
    rules: { backendRefs?: { name: string; namespace?: string; port?: number }[] }[];
  }>(route);
  const e = begin(set, out, t, `${t.kind} ${t.namespace}/${t.name}`);
  if (rs.hostnames?.length) e.lines.push(`  hostnames: ${rs.hostnames.join(", ")}`);
  e.lines.push("Parents:");
  const parents = (e.status?.parents ?? []) as {
    parentRef: ParentRef;
    conditions?: { type: string; status: string; reason?: string; message?: string }[];
  }[];
  if (parents.length === 0) e.lines.push("  none: no parentRef names a Gateway of Portico's class");
  for (const p of parents) {
    e.lines.push(
      `  ${refText(p.parentRef, t.namespace)}: ${(p.conditions ?? []).map((c) => `${c.type}=${c.status}`).join(", ")}`,
      ...conditionLines(
        p.conditions?.filter((c) => c.status !== (c.type === "PartiallyInvalid" ? "False" : "True")),
        "    ",
      ),
    );
  }
  // Portico writes no status for a parent that is not its own (the Gateway API leaves it to that
  // parent's controller), so a parentRef without an entry names something Portico does not serve.
  const reported = new Set(parents.map((p) => refText(p.parentRef, t.namespace)));
  for (const ref of rs.parentRefs ?? []) {
    if (!reported.has(refText(ref, t.namespace)))
      e.lines.push(
        `  ${refText(ref, t.namespace)}: not served by Portico (no such object, or another class)`,
      );
  }
  const gateways = [
    ...new Set(
      (rs.parentRefs ?? []).map((p) => gatewayOf(set, p, t.namespace)).filter((g) => g !== undefined),
    ),
  ];
  for (const g of gateways.filter((g) => out.allocations.results[g] !== undefined)) vipSection(e, g, out);
  e.lines.push("Served on:");
  const before = e.lines.length;
  const prefix = `${key}#`;
  if (t.kind === "HTTPRoute" || t.kind === "GRPCRoute") {
    for (const l of out.translate.http.filter((l) => gateways.includes(l.vip))) {
      const hosts = hostLines(l, out, prefix);
      if (hosts.length > 0) e.lines.push(`  ${l.vip} ${listenerHead(l)}`, ...hosts.map((h) => `  ${h}`));
    }
  } else if (t.kind === "TLSRoute") {
    for (const l of out.translate.http.filter((l) => gateways.includes(l.vip))) {
      for (const r of (l.sniRoutes ?? []).filter((r) => r.name.startsWith(prefix))) {
        e.lines.push(`  ${l.vip} port ${l.port}: TLS ${r.hostname} (${r.mode})`);
        for (const b of r.backends)
          e.lines.push(`    → pool ${b.pool}`, ...poolLines(out.translate.pools[b.pool], "      "));
      }
    }
  } else {
    const proto = t.kind === "UDPRoute" ? "UDP" : "TCP";
    const pools = new Set([
      `${key}#0`,
      ...(rs.rules?.[0]?.backendRefs ?? []).map(
        (b) => `${b.namespace ?? t.namespace}/${b.name}:${b.port}/${proto}`,
      ),
    ]);
    for (const l of out.translate.l4.filter((l) => gateways.includes(l.vip) && pools.has(l.pool))) {
      e.lines.push(
        `  ${l.vip} port ${l.port}/${l.protocol} → pool ${l.pool}`,
        ...poolLines(out.translate.pools[l.pool], "    "),
      );
    }
  }
  if (e.lines.length === before)
    e.lines.push(
      "  nowhere: the route is not attached, its backends are unusable, or an older route holds the port",
    );
  return e;
}
