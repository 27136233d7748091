// gateway-build.ts: one Gateway's IR. Its usable listeners are grouped by port and transport: an
// HTTP port becomes a plain HttpListener, an HTTPS/TLS port one HttpListener with an SNI
// certificate table, virtual hosts and SNI routes, a TCP or UDP port an L4 listener. All of them
// share the Gateway's VIP, requested from IPAM under "Gateway/ns/name" with every port it binds.
import type { Gateway, GatewayClass } from "../k8s/gateway-api.ts";
import { parseIp } from "../ipam/address.ts";
import type { IpFamily, PortClaim, VipRequest } from "../ipam/types.ts";
import type { ListenerTls } from "../model/ir.ts";
import { requestOrder, type TranslateContext } from "./context.ts";
import { claimGroup, classGroup } from "./engine-group.ts";
import { withClientCertificate } from "./gateway-backend-tls.ts";
import { virtualHostsFor, type CompiledRoute } from "./gateway-http.ts";
import {
  byAge,
  listenerUsable,
  nsOf,
  transportOf,
  type Listener,
  type RouteObject,
} from "./gateway-types.ts";
import { HTTP_DEFAULTS } from "./types.ts";
import { L4_DEFAULTS } from "./service-lb.ts";
import { readVipAnnotations } from "./vip-annotations.ts";
import type { L4Rule } from "./tcproute.ts";
import { sniRoutesFor, type TlsRule } from "./tlsroute.ts";

/** Compiled holds every route compiled once, by kind of output. */
export interface Compiled {
  http: Map<RouteObject, CompiledRoute>;
  tls: Map<RouteObject, TlsRule>;
  l4: Map<RouteObject, L4Rule>;
}

/**
 * requestedAddresses reads spec.addresses; non-IP entries are the caller's to reject. An
 * IPAddress entry without a value asks for an address of IPAM's choosing (GatewayAddressEmpty).
 */
export function requestedAddresses(gw: Gateway): { ips: string[]; bad: string[] } {
  const ips: string[] = [];
  const bad: string[] = [];
  for (const a of gw.spec.addresses ?? []) {
    const type = a.type ?? "IPAddress";
    if (type === "IPAddress" && !a.value) continue;
    if (type === "IPAddress" && parseIp(a.value!)) ips.push(a.value!);
    else bad.push(`${type} ${JSON.stringify(a.value ?? "")}`);
  }
  return { ips, bad };
}

/** buildGateway adds the listeners and VIP request of one Gateway. */
export function buildGateway(
  ctx: TranslateContext,
  gw: Gateway,
  listeners: readonly Listener[],
  compiled: Compiled,
  clientCertificate?: string,
): void {
  const key = `Gateway/${nsOf(gw)}/${gw.metadata.name}`;
  const usable = listeners.filter(listenerUsable);
  const groups = new Map<string, Listener[]>();
  for (const l of usable) {
    const id = `${l.port}/${transportOf(l.protocol)}`;
    groups.set(id, [...(groups.get(id) ?? []), l]);
  }
  const ports: PortClaim[] = [];
  for (const group of groups.values()) {
    const first = group[0]!;
    ports.push({ port: first.port, protocol: transportOf(first.protocol) });
    if (first.protocol === "TCP" || first.protocol === "UDP") buildL4(ctx, key, first, compiled);
    else buildHttp(ctx, key, group, compiled, clientCertificate);
  }
  ctx.vipOf[key] = key;
  const cls = ctx.set.other.find(
    (o) => o.kind === "GatewayClass" && o.metadata.name === gw.spec.gatewayClassName,
  );
  const group = classGroup((cls as unknown as GatewayClass | undefined)?.spec?.parametersRef);
  claimGroup(ctx, gw, key, group ? { rule: "GatewayClass", group } : undefined);
  const { ips } = requestedAddresses(gw);
  const families = [...new Set(ips.map((ip): IpFamily => parseIp(ip)!.family))];
  const req: VipRequest = {
    key,
    namespace: nsOf(gw),
    labels: { ...(gw.metadata.labels ?? {}) },
    requested: ips,
    ports: ports.sort((a, b) => a.port - b.port || (a.protocol < b.protocol ? -1 : 1)),
    families: families.length > 0 ? families : ["IPv4"],
    familyPolicy: families.length > 1 ? "RequireDualStack" : "SingleStack",
    order: requestOrder(gw, key),
  };
  // Gateway addresses come from spec.addresses; the pool and sharing key may be MetalLB's spelling.
  const vip = readVipAnnotations(ctx, gw, (m) => ctx.notices.push(`${key}: ${m}`));
  if (vip.pool) req.pool = vip.pool;
  if (vip.sharing) req.sharingKey = vip.sharing;
  ctx.vipRequests.push(req);
}

/** buildL4 serves a TCP or UDP listener with its oldest attached route that has a usable backend. */
function buildL4(ctx: TranslateContext, key: string, l: Listener, compiled: Compiled): void {
  const rule = [...l.attached]
    .sort(byAge)
    .map((r) => compiled.l4.get(r))
    .find((r) => r?.pool !== undefined);
  if (!rule?.pool) return; // nothing to forward to: the port stays closed
  const udp = l.protocol === "UDP";
  ctx.l4.push({
    name: `${key}:${l.port}/${udp ? "UDP" : "TCP"}`,
    vip: key,
    port: l.port,
    protocol: udp ? "UDP" : "TCP",
    pool: rule.pool,
    idleTimeoutMs: udp ? L4_DEFAULTS.udpIdleTimeoutMs : L4_DEFAULTS.tcpIdleTimeoutMs,
    connectTimeoutMs: L4_DEFAULTS.connectTimeoutMs,
    ...(udp ? { maxSessions: L4_DEFAULTS.maxSessions } : {}),
  });
}

/** buildHttp serves the HTTP, HTTPS and TLS listeners sharing one port. */
function buildHttp(
  ctx: TranslateContext,
  key: string,
  group: readonly Listener[],
  compiled: Compiled,
  clientCertificate: string | undefined,
): void {
  const port = group[0]!.port;
  const httpish = group.filter((l) => l.protocol === "HTTP" || l.protocol === "HTTPS");
  const tls = certificateTable(group);
  const hostnames = httpsHostnames(group);
  if (tls && hostnames.length > 1) tls.listenerHostnames = hostnames;
  const sniRoutes = sniRoutesFor(group, compiled.tls);
  // A TLS port with no certificate and no SNI route has nothing to serve: leave it closed rather
  // than let the listener speak plain HTTP there.
  if (httpish.length === 0 && !tls && sniRoutes.length === 0) return;
  ctx.http.push({
    name: `${key}:${port}`,
    vip: key,
    port,
    ...(tls ? { tls } : {}),
    virtualHosts: virtualHostsFor(httpish, compiled.http, (l, r) => {
      const route = ctx.policies.gatewayRoute(r.route, {
        gateway: l.gateway,
        // A ListenerSet's listener is no section of the Gateway, whatever its name.
        ...(l.owner === l.gateway ? { listener: l.name } : {}),
        route: r.owner,
        rule: r.rule,
      });
      return clientCertificate === undefined ? route : withClientCertificate(ctx, route, clientCertificate);
    }),
    ...HTTP_DEFAULTS,
    ...(sniRoutes.length > 0 ? { sniRoutes } : {}),
    ...maxConnectionsOf(ctx, group),
  });
}

/** maxConnectionsOf is the AccessPolicy connection limit of a port's listeners (the smallest, if several). */
function maxConnectionsOf(ctx: TranslateContext, group: readonly Listener[]): { maxConnections?: number } {
  // A ListenerSet's listeners are not Gateway sections: only the Gateway's own names can be targeted.
  const own = group.filter((l) => l.owner === l.gateway).map((l) => l.name);
  const n = ctx.policies.maxConnections(group[0]!.gateway, own.length > 0 ? own : [""]);
  return n === undefined ? {} : { maxConnections: n };
}

/**
 * httpsHostnames are the hostnames ("*" for none) of the HTTPS listeners sharing a port: with two
 * or more, the engine answers 421 to a request whose Host belongs to another listener than the
 * connection's SNI (GatewayHTTPSListenerDetectMisdirectedRequests).
 */
function httpsHostnames(group: readonly Listener[]): string[] {
  const names = group.filter((l) => l.protocol === "HTTPS").map((l) => l.hostname ?? "*");
  return [...new Set(names)].sort();
}

/**
 * certificateTable maps terminating listeners' hostnames to their first certificate; the others
 * (other key types, see checkTls) become its alternates.
 */
function certificateTable(group: readonly Listener[]): ListenerTls | undefined {
  const sni = new Map<string, string>();
  let fallback: string | undefined;
  const alternates: { primary: string; certificate: string }[] = [];
  let terminating = false;
  for (const l of group) {
    const terminates = l.protocol === "HTTPS" || (l.protocol === "TLS" && l.spec.tls?.mode !== "Passthrough");
    terminating ||= terminates;
    const [cert, ...more] = l.certificates;
    if (!terminates || !cert) continue;
    for (const m of more)
      if (!alternates.some((a) => a.primary === cert && a.certificate === m))
        alternates.push({ primary: cert, certificate: m });
    if (l.hostname === undefined) fallback ??= cert;
    else if (!sni.has(l.hostname)) sni.set(l.hostname, cert);
  }
  // A terminating listener left without a servable certificate is served with the default one.
  if (sni.size === 0 && fallback === undefined && !terminating) return undefined;
  const out: ListenerTls = {
    sni: [...sni.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([hostname, certificate]) => ({ hostname, certificate })),
  };
  if (fallback !== undefined) out.defaultCertificate = fallback;
  // spec.tls.frontend is per Gateway and port, so every HTTPS listener of the group carries the same.
  const validation = group.find((l) => l.clientValidation !== undefined)?.clientValidation;
  if (validation !== undefined) out.clientValidation = validation;
  if (alternates.length > 0) out.alternates = alternates;
  // OpenSSL fixes versions and suites before SNI picks a listener: the port takes the first
  // terminating listener's options, and gateway-listeners.ts refuses listeners that differ.
  const options = group.find((l) => l.certificates.length > 0)?.tlsOptions;
  if (options !== undefined) out.options = options;
  return out;
}
