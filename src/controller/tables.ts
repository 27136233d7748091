// tables.ts: kubectl-like tables of Services and Ingresses with the addresses Portico assigned.
import type { ResourceSet } from "../k8s/resource-set.ts";
import type { ObjectStatus } from "../translate/types.ts";
import { PROGRAMMED } from "./bind-status.ts";

/** Row is one table line, column name → cell. */
export type Row = Record<string, string>;

function statusOf(
  statuses: readonly ObjectStatus[],
  kind: string,
  ns: string,
  name: string,
): ObjectStatus | undefined {
  return statuses.find((s) => s.kind === kind && (s.namespace ?? "") === ns && s.name === name);
}

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
    };
  });
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
