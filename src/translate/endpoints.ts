// endpoints.ts: backend pools from EndpointSlices, and the resolution of a (Service, port) reference
// into a pool. The slice port that carries a Service port is the one with the same name (the
// EndpointSlice controller copies Service port names), which is how named target ports resolve.
import { poolPolicy } from "./pool-policy.ts";
import type { EndpointSlice, Service } from "../k8s/types.ts";
import type { Endpoint, Pool } from "../model/ir.ts";
import { parseIp } from "../ipam/address.ts";

/** validPort says whether a slice port is a usable TCP/UDP port number. */
function validPort(port: unknown): port is number {
  return typeof port === "number" && Number.isInteger(port) && port >= 1 && port <= 65535;
}

/** SERVICE_NAME_LABEL links an EndpointSlice to its Service. */
export const SERVICE_NAME_LABEL = "kubernetes.io/service-name";

/** ServicePort is one entry of a Service's spec.ports. */
export type ServicePort = NonNullable<NonNullable<Service["spec"]>["ports"]>[number];

/** SliceIndex finds the EndpointSlices of a Service quickly. */
export type SliceIndex = ReadonlyMap<string, readonly EndpointSlice[]>;

/** indexSlices groups slices by "namespace/service"; slices without the label belong to no Service. */
export function indexSlices(slices: readonly EndpointSlice[]): SliceIndex {
  const index = new Map<string, EndpointSlice[]>();
  for (const s of slices) {
    const svc = s.metadata.labels?.[SERVICE_NAME_LABEL];
    if (!svc) continue;
    const key = `${s.metadata.namespace ?? ""}/${svc}`;
    const list = index.get(key) ?? [];
    list.push(s);
    index.set(key, list);
  }
  return index;
}

/**
 * endpointsFor lists the endpoints of one Service port, sorted by address then port.
 * Only IPv4/IPv6 slices count (FQDN slices are skipped); of each endpoint only addresses[0] is
 * used, as kube-proxy does, because the others are by definition the same backend.
 */
export function endpointsFor(index: SliceIndex, svc: Service, port: ServicePort): Endpoint[] {
  const slices = index.get(`${svc.metadata.namespace ?? ""}/${svc.metadata.name}`) ?? [];
  const protocol = port.protocol ?? "TCP";
  const byId = new Map<string, Endpoint>();
  for (const slice of slices) {
    if (slice.addressType !== "IPv4" && slice.addressType !== "IPv6") continue;
    const sp = (slice.ports ?? []).find(
      (p) => (p.name ?? "") === (port.name ?? "") && (p.protocol ?? "TCP") === protocol,
    );
    // A port or address the API server would refuse is skipped: in the snapshot it would make the
    // engine refuse the whole update, not just this backend.
    if (!sp || !validPort(sp.port)) continue;
    for (const ep of slice.endpoints ?? []) {
      const address = ep.addresses?.[0];
      if (typeof address !== "string" || address.trim() !== address) continue;
      if (parseIp(address)?.family !== slice.addressType) continue;
      const c = ep.conditions ?? {};
      // EndpointSlice API: a nil ready means "unknown", to be read as ready; nil serving follows ready.
      const ready = c.ready ?? true;
      const e: Endpoint = {
        address,
        port: sp.port,
        weight: 1,
        ready,
        serving: c.serving ?? ready,
        terminating: c.terminating ?? false,
      };
      if (ep.zone) e.zone = ep.zone;
      const id = `${address}:${sp.port}`;
      // Two slices may list one endpoint while the slice controller moves it; the first one read wins.
      if (!byId.has(id)) byId.set(id, e);
    }
  }
  return [...byId.values()].sort((a, b) =>
    a.address !== b.address ? (a.address < b.address ? -1 : 1) : a.port - b.port,
  );
}

/** poolName keys the pool of a Service port: "ns/svc:port", with "/UDP" or "/TCP" for L4 pools. */
export function poolName(svc: Service, port: ServicePort, l4: boolean): string {
  const base = `${svc.metadata.namespace ?? ""}/${svc.metadata.name}:${port.port}`;
  return l4 ? `${base}/${port.protocol ?? "TCP"}` : base;
}

/** buildPool makes the pool of one Service port for the given protocol, balanced and checked as
 * the Service's annotations say (pool-policy.ts). */
export function buildPool(
  index: SliceIndex,
  svc: Service,
  port: ServicePort,
  protocol: Pool["protocol"],
): Pool {
  const l4 = protocol === "tcp" || protocol === "udp";
  const policy = poolPolicy(svc);
  const pool: Pool = {
    name: poolName(svc, port, l4),
    algorithm: policy.algorithm,
    endpoints: endpointsFor(index, svc, port),
    protocol,
  };
  // An HTTP check makes no sense on a UDP pool; TCP checks probe the port itself.
  if (policy.healthCheck && !(protocol === "udp" && policy.healthCheck.type === "HTTP")) {
    pool.healthCheck = policy.healthCheck;
  }
  return pool;
}

/** BackendRef is an Ingress-style reference: a Service name and a port number or name. */
export interface BackendRef {
  namespace: string;
  service: string;
  port: { number?: number; name?: string };
}

/** Resolved is a backend reference turned into a pool, or the reason it could not be. */
export type Resolved = { ok: true; pool: Pool } | { ok: false; reason: string; message: string };

/** resolveBackend finds the Service and port a reference names and builds its HTTP pool. */
export function resolveBackend(
  services: ReadonlyMap<string, Service>,
  index: SliceIndex,
  ref: BackendRef,
): Resolved {
  const svc = services.get(`${ref.namespace}/${ref.service}`);
  if (!svc) {
    return {
      ok: false,
      reason: "BackendNotFound",
      message: `Service ${ref.namespace}/${ref.service} not found`,
    };
  }
  const ports = (svc.spec?.ports ?? []).filter((p) => (p.protocol ?? "TCP") === "TCP");
  const want = ref.port.number !== undefined ? String(ref.port.number) : (ref.port.name ?? "");
  const port =
    ref.port.number !== undefined
      ? ports.find((p) => p.port === ref.port.number)
      : ports.find((p) => (p.name ?? "") === (ref.port.name ?? ""));
  if (!port) {
    return {
      ok: false,
      reason: "BackendPortNotFound",
      message: `Service ${ref.namespace}/${ref.service} has no TCP port ${JSON.stringify(want)}`,
    };
  }
  return { ok: true, pool: buildPool(index, svc, port, "http1") };
}

/** serviceMap indexes Services by "namespace/name". */
export function serviceMap(services: readonly Service[]): Map<string, Service> {
  return new Map(services.map((s) => [`${s.metadata.namespace ?? ""}/${s.metadata.name}`, s]));
}
