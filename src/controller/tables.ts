// tables.ts: kubectl-like tables of Services, Ingresses, Gateways, routes and VIP pools with the
// addresses Portico assigned. `portico get` prints them offline and the admin API serves the same
// rows, so both answer alike. Rows carry every column (-o wide); TABLE_COLUMNS is the narrow view.
import type { VipAnnouncementView } from "./fleet/announce-view.ts";
import type { ResourceSet } from "../k8s/resource-set.ts";
import type { ObjectStatus } from "../translate/types.ts";
import { PROGRAMMED } from "./bind-status.ts";
import { waitingOn } from "../ipam/view.ts";
import { ROUTE_KINDS } from "../translate/gateway-types.ts";
import { statusOf } from "./explain/common.ts";
import type { PipelineOutput } from "./pipeline.ts";
import { dnsRows } from "./dns-table.ts";
import { certificateRows } from "./explain/certificate.ts";
import { policyRows } from "./explain/policy.ts";
import { tenantRows } from "./explain/tenant.ts";

/** Row is one table line, column name → cell. */
export type Row = Record<string, string>;

function addresses(s: ObjectStatus | undefined): string {
  const ips = (s?.status.loadBalancer?.ingress ?? []).map((i) => i.ip ?? i.hostname ?? "").filter(Boolean);
  return ips.length > 0 ? ips.join(",") : "<pending>";
}

/** programmed is the PROGRAMMED cell: True, False(Reason) when a listener cannot bind, "-" offline. */
function programmed(s: ObjectStatus | undefined): string {
  const c = s?.status.conditions?.find((x) => x.type === PROGRAMMED);
  if (c === undefined) return "-";
  return c.status === "True" ? "True" : `${c.status}(${c.reason})`;
}

/** serviceRows lists LoadBalancer Services: EXTERNAL-IP is the VIP or <pending>. */
export function serviceRows(set: ResourceSet, statuses: readonly ObjectStatus[]): Row[] {
  return set.services
    .filter((s) => s.spec?.type === "LoadBalancer")
    .map((s) => {
      const ns = s.metadata.namespace ?? "default";
      const st = statusOf(statuses, "Service", ns, s.metadata.name);
      return {
        NAMESPACE: ns,
        NAME: s.metadata.name,
        TYPE: s.spec?.type ?? "ClusterIP",
        CLASS: s.spec?.loadBalancerClass ?? "<none>",
        "EXTERNAL-IP": st ? addresses(st) : "<not ours>",
        PROGRAMMED: programmed(st),
        "PORT(S)": (s.spec?.ports ?? []).map((p) => `${p.port}/${p.protocol ?? "TCP"}`).join(","),
        REASON: st ? reasonOf(st, "VIPAllocated") : "",
      };
    });
}

/** ingressRows lists Ingresses with their hosts, the shared or dedicated VIP, and the ports served. */
export function ingressRows(
  set: ResourceSet,
  statuses: readonly ObjectStatus[],
  ports: { http: number; https: number } = { http: 80, https: 443 },
): Row[] {
  return set.ingresses.map((ing) => {
    const ns = ing.metadata.namespace ?? "default";
    const st = statusOf(statuses, "Ingress", ns, ing.metadata.name);
    const hosts = [...new Set((ing.spec?.rules ?? []).map((r) => r.host ?? "*"))];
    return {
      NAMESPACE: ns,
      NAME: ing.metadata.name,
      CLASS: ing.spec?.ingressClassName ?? "<default>",
      HOSTS: hosts.length > 0 ? hosts.join(",") : "*",
      ADDRESS: st ? addresses(st) : "<not ours>",
      PROGRAMMED: programmed(st),
      // The ports Portico listens on (--http-port/--https-port), where kubectl would assume 80/443.
      PORTS: (ing.spec?.tls ?? []).length > 0 ? `${ports.http}, ${ports.https}` : String(ports.http),
      TLS: (ing.spec?.tls ?? []).map((t) => t.secretName ?? "<none>").join(",") || "<none>",
      REASON: st ? reasonOf(st, "VIPAllocated") : "",
    };
  });
}

/** reasonOf is a condition's "Reason: message" when it is not True, else "". */
function reasonOf(s: ObjectStatus, type: string): string {
  const c = s.status.conditions?.find((c) => c.type === type);
  if (!c || c.status === "True") return "";
  return `${c.reason ?? ""}${c.message ? `: ${c.message}` : ""}`;
}

/** condition is a condition's status ("True", "False", "Unknown") or "-" when absent. */
function condition(conds: readonly { type: string; status: string }[] | undefined, type: string): string {
  return conds?.find((c) => c.type === type)?.status ?? "-";
}

/** gatewayRows lists Gateways: class, the VIP (or <pending>), Programmed, and the ports bound. */
export function gatewayRows(set: ResourceSet, out: PipelineOutput): Row[] {
  return set.other
    .filter((o) => o.kind === "Gateway")
    .map((gw) => {
      const ns = gw.metadata.namespace ?? "default";
      const key = `Gateway/${ns}/${gw.metadata.name}`;
      const st = statusOf(out.statuses, "Gateway", ns, gw.metadata.name);
      const addrs = ((st?.status.addresses ?? []) as { value: string }[]).map((a) => a.value);
      const ports = [
        ...out.translate.http
          .filter((l) => l.vip === key)
          .map((l) => `${l.port}/${l.tls ? "HTTPS" : "HTTP"}`),
        ...out.translate.l4.filter((l) => l.vip === key).map((l) => `${l.port}/${l.protocol}`),
      ];
      const listeners = ((gw.spec as { listeners?: { name: string }[] } | undefined)?.listeners ?? []).length;
      return {
        NAMESPACE: ns,
        NAME: gw.metadata.name,
        CLASS: String((gw.spec as { gatewayClassName?: string } | undefined)?.gatewayClassName ?? "<none>"),
        ADDRESS: addrs.length > 0 ? addrs.join(",") : st ? "<pending>" : "<not ours>",
        PROGRAMMED: condition(st?.status.conditions, "Programmed"),
        PORTS: ports.join(",") || "<none>",
        LISTENERS: String(listeners),
        REASON: st ? reasonOf(st, "Programmed") : "",
      };
    });
}

/** routeRows lists every route: its kind, hostnames, parents, and whether every parent accepted it. */
export function routeRows(set: ResourceSet, out: PipelineOutput): Row[] {
  return set.other
    .filter((o) => (ROUTE_KINDS as readonly string[]).includes(o.kind))
    .map((r) => {
      const ns = r.metadata.namespace ?? "default";
      const st = statusOf(out.statuses, r.kind, ns, r.metadata.name);
      const parents = (st?.status.parents ?? []) as {
        parentRef: { kind?: string; namespace?: string; name: string; sectionName?: string };
        conditions?: { type: string; status: string }[];
      }[];
      const all = (type: string) => {
        const v = [...new Set(parents.map((p) => condition(p.conditions, type)))];
        return v.length === 0 ? "-" : v.join("/");
      };
      const spec = (r.spec ?? {}) as {
        hostnames?: string[];
        rules?: { backendRefs?: { name: string; port?: number }[] }[];
      };
      const backends = (spec.rules ?? [])
        .flatMap((x) => x.backendRefs ?? [])
        .map((b) => `${b.name}:${b.port ?? ""}`);
      return {
        NAMESPACE: ns,
        KIND: r.kind,
        NAME: r.metadata.name,
        HOSTNAMES: (spec.hostnames ?? []).join(",") || "*",
        PARENTS:
          parents
            .map(
              (p) =>
                `${p.parentRef.namespace ?? ns}/${p.parentRef.name}${p.parentRef.sectionName ? `:${p.parentRef.sectionName}` : ""}`,
            )
            .join(",") || "<none>",
        ACCEPTED: all("Accepted"),
        "RESOLVED-REFS": all("ResolvedRefs"),
        BACKENDS: [...new Set(backends)].join(",") || "<none>",
      };
    });
}

/** poolRows lists VipPools like MetalLB's pool status: used, free and pending addresses per family. */
export function poolRows(
  set: ResourceSet,
  out: PipelineOutput,
  announcements?: readonly VipAnnouncementView[],
): Row[] {
  return set.vipPools.map((p) => {
    const ps = out.allocations.poolStatus[p.metadata.name];
    const pending = { IPv4: 0, IPv6: 0 };
    for (const w of waitingOn(p.metadata.name, out.allocations, out.translate.vipRequests))
      for (const f of w.families) pending[f]++;
    const ready = ps?.conditions?.find((c) => c.type === "Ready");
    return {
      NAME: p.metadata.name,
      ADDRESSES: (p.spec?.addresses ?? []).join(","),
      "IPV4 USED": String(ps?.assignedIPv4 ?? 0),
      "IPV4 FREE": String(ps?.availableIPv4 ?? 0),
      "IPV4 PENDING": String(pending.IPv4),
      "IPV6 USED": String(ps?.assignedIPv6 ?? 0),
      "IPV6 FREE": String(ps?.availableIPv6 ?? 0),
      "IPV6 PENDING": String(pending.IPv6),
      READY: ready?.status ?? "-",
      "AUTO-ASSIGN": String(p.spec?.autoAssign ?? true),
      PRIORITY: String(p.spec?.priority ?? 0),
      REASON: ready && ready.status !== "True" ? `${ready.reason}: ${ready.message ?? ""}` : "",
      ANNOUNCE: p.spec?.announce?.mode ?? "None",
      "ANNOUNCED-BY": announcedByColumn(p.metadata.name, announcements),
    };
  });
}

// announcedByColumn is "VIP=engine[,engine]" per announced VIP of the pool ("VIP=-" when nobody
// announces it); "-" offline or when the pool announces nothing, as only a running Portico knows.
function announcedByColumn(pool: string, announcements: readonly VipAnnouncementView[] | undefined): string {
  const mine = (announcements ?? []).filter((v) => v.pool === pool);
  if (mine.length === 0) return "-";
  return mine
    .map((v) => {
      const up = v.announcers.filter((a) => a.state === "Announced").map((a) => a.engine);
      return `${v.address}=${up.length > 0 ? up.join("+") : "-"}`;
    })
    .join(",");
}

/** engineGroupRows lists every EngineGroup (the built-in default too): mode, size, what it serves. */
export function engineGroupRows(out: PipelineOutput): Row[] {
  return Object.entries(out.groups)
    .filter(([, g]) => g.exists)
    .map(([name, g]) => {
      const accepted = statusOf(out.statuses, "EngineGroup", "", name)?.status.conditions?.find(
        (c) => c.type === "Accepted",
      );
      const s = g.spec;
      return {
        NAME: name,
        "HA MODE": g.accepted ? s.haMode : "-",
        REPLICAS: s.autoscaling
          ? `${s.autoscaling.minReplicas}-${s.autoscaling.maxReplicas}`
          : String(s.replicas),
        VIPS: String(g.vips.length),
        OBJECTS: String(g.objects.length),
        ACCEPTED: g.builtin ? "True(builtin)" : (accepted?.status ?? "-"),
        SPARES: String(s.spares),
        CPU: s.resources.cpu ?? "",
        MEMORY: s.resources.memory ?? "",
        WORKLOAD: s.workload,
        REASON: accepted && accepted.status !== "True" ? `${accepted.reason}: ${accepted.message ?? ""}` : "",
      };
    });
}

/** TableKind is a table `portico get` prints. */
export type TableKind =
  | "services"
  | "ingresses"
  | "gateways"
  | "routes"
  | "pools"
  | "enginegroups"
  | "dns"
  | "policies"
  | "certificates"
  | "tenants";

/** TABLE_KINDS lists the tables in the order `portico get all` prints them. */
export const TABLE_KINDS: readonly TableKind[] = [
  "services",
  "ingresses",
  "gateways",
  "routes",
  "pools",
  "enginegroups",
  "dns",
  "policies",
  "certificates",
  "tenants",
];

/** TABLE_COLUMNS are the columns `-o table` shows; `-o wide` shows every column of the rows. */
export const TABLE_COLUMNS: Record<TableKind, readonly string[]> = {
  services: ["NAMESPACE", "NAME", "TYPE", "CLASS", "EXTERNAL-IP", "PROGRAMMED", "PORT(S)"],
  ingresses: ["NAMESPACE", "NAME", "CLASS", "HOSTS", "ADDRESS", "PROGRAMMED", "PORTS"],
  gateways: ["NAMESPACE", "NAME", "CLASS", "ADDRESS", "PROGRAMMED", "PORTS"],
  routes: ["NAMESPACE", "KIND", "NAME", "HOSTNAMES", "PARENTS", "ACCEPTED"],
  pools: [
    "NAME",
    "IPV4 USED",
    "IPV4 FREE",
    "IPV4 PENDING",
    "IPV6 USED",
    "IPV6 FREE",
    "IPV6 PENDING",
    "READY",
  ],
  enginegroups: ["NAME", "HA MODE", "REPLICAS", "VIPS", "OBJECTS", "ACCEPTED"],
  dns: ["ZONE", "NAME", "TYPE", "TTL", "VALUE", "HEALTH"],
  policies: ["NAMESPACE", "KIND", "NAME", "MODE", "TARGETS", "ACCEPTED", "VALID"],
  certificates: ["NAMESPACE", "SECRET", "HOSTS", "ISSUER", "NOT AFTER", "DAYS LEFT", "STATE", "REASON"],
  tenants: ["NAME", "NAMESPACES", "VIPS", "LISTENERS", "ROUTES", "HOSTNAMES", "BACKENDS", "CONFLICTED"],
};

/** tableRows computes one table from a ResourceSet and the pipeline's output (every column). */
export function tableRows(
  kind: TableKind,
  set: ResourceSet,
  out: PipelineOutput,
  ports: { http: number; https: number },
  announcements?: readonly VipAnnouncementView[],
): Row[] {
  switch (kind) {
    case "services":
      return serviceRows(set, out.statuses);
    case "ingresses":
      return ingressRows(set, out.statuses, ports);
    case "gateways":
      return gatewayRows(set, out);
    case "routes":
      return routeRows(set, out);
    case "pools":
      return poolRows(set, out, announcements);
    case "enginegroups":
      return engineGroupRows(out);
    case "dns":
      return dnsRows(out);
    case "policies":
      return policyRows(set, out);
    case "certificates":
      return certificateRows(out.translate.certificateUses);
    case "tenants":
      return tenantRows(set, out.statuses);
  }
}

/** narrow keeps the columns of `-o table`. */
export function narrow(kind: TableKind, rows: readonly Row[]): Row[] {
  const cols = TABLE_COLUMNS[kind];
  return rows.map((r) => Object.fromEntries(cols.map((c) => [c, r[c] ?? ""])));
}

/** renderTable lays rows out in aligned columns like kubectl. */
export function renderTable(rows: readonly Row[]): string {
  if (rows.length === 0) return "No resources found.\n";
  const cols = Object.keys(rows[0]!);
  const width = cols.map((c) => Math.max(c.length, ...rows.map((r) => (r[c] ?? "").length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(width[i]! + 3)))
      .join("")
      .trimEnd() + "\n";
  return line(cols) + rows.map((r) => line(cols.map((c) => r[c] ?? ""))).join("");
}
