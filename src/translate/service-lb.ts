// service-lb.ts: the pass for Services of type LoadBalancer. Each Service Portico serves becomes one
// VIP request and one L4 listener per TCP/UDP port; Services of another loadBalancerClass are left
// alone entirely (no status), because another controller owns them.
import type { Service } from "../k8s/types.ts";
import type { IpFamily, PortClaim, VipRequest } from "../ipam/types.ts";
import { parseIp } from "../ipam/address.ts";
import { annotation, PORTICO_PREFIX, requestOrder, type TranslateContext } from "./context.ts";
import { buildPool } from "./endpoints.ts";
import { claimGroup } from "./engine-group.ts";
import { poolPolicy } from "./pool-policy.ts";
import { ACCEPTED, refOf } from "./status.ts";
import { ANN_IPS, readVipAnnotations, splitIps, vipAnnotation } from "./vip-annotations.ts";
import type { PendingL4 } from "./types.ts";

/** LB_CLASS is the spec.loadBalancerClass Portico serves. */
export const LB_CLASS = "portico.dev/lb";

// The VIP annotations (and MetalLB's spellings of them) live in vip-annotations.ts.
export { ANN_IPS, ANN_POOL, ANN_SHARED } from "./vip-annotations.ts";
/** ANN_PROXY_PROTOCOL asks for a PROXY protocol header ("v1" or "v2") towards TCP backends. */
export const ANN_PROXY_PROTOCOL = `${PORTICO_PREFIX}proxy-protocol`;

/**
 * Defaults for L4 listeners. A TCP idle of 5 minutes outlives common keep-alive intervals (and
 * matches what cloud NLBs do, 350 s on AWS) without pinning dead peers for an hour; UDP sessions
 * expire after a minute, like conntrack's "assured" UDP timeout of 120 s halved for a proxy.
 */
export const L4_DEFAULTS = {
  tcpIdleTimeoutMs: 300_000,
  connectTimeoutMs: 5_000,
  udpIdleTimeoutMs: 60_000,
  maxSessions: 10_000,
} as const;

/** servesService tells whether Portico owns a LoadBalancer Service, by its class. */
export function servesService(svc: Service, serveClassless: boolean): boolean {
  const cls = svc.spec?.loadBalancerClass;
  return cls ? cls === LB_CLASS : serveClassless;
}

/** translateServices is the pass: VIP requests, L4 listeners, pools and status for LB Services. */
export function translateServices(ctx: TranslateContext): void {
  for (const svc of ctx.set.services) {
    if (svc.spec?.type !== "LoadBalancer") continue;
    const key = `Service/${svc.metadata.namespace ?? ""}/${svc.metadata.name}`;
    if (!servesService(svc, ctx.opts.serveClasslessServices)) {
      const cls = svc.spec.loadBalancerClass;
      ctx.notices.push(
        cls
          ? `${key}: loadBalancerClass ${JSON.stringify(cls)} is not Portico's; ignored`
          : `${key}: no loadBalancerClass and classless Services are not served; ignored`,
      );
      continue;
    }
    translateService(ctx, svc, key);
  }
}

/** translateService handles one Service Portico serves. */
function translateService(ctx: TranslateContext, svc: Service, key: string): void {
  const ref = refOf(svc);
  ctx.status.ok(ref, ACCEPTED, "Accepted");
  for (const problem of poolPolicy(svc).problems)
    ctx.status.warn(ref, ACCEPTED, "InvalidAnnotation", problem);
  const ports: PortClaim[] = [];
  const seen = new Set<string>();
  for (const port of svc.spec?.ports ?? []) {
    const protocol = port.protocol ?? "TCP";
    // The API server would refuse these; from files they arrive as written, and one bad port in
    // the snapshot would make the engine refuse every change after it.
    const bad = portProblem(port.port);
    if (bad !== undefined) {
      ctx.status.warn(ref, ACCEPTED, "InvalidPort", `${bad} (skipped)`);
      continue;
    }
    if (seen.has(`${port.port}/${String(protocol)}`)) {
      ctx.status.warn(
        ref,
        ACCEPTED,
        "DuplicatePort",
        `port ${port.port}/${String(protocol)} is listed twice (the first entry is served)`,
      );
      continue;
    }
    seen.add(`${port.port}/${String(protocol)}`);
    if (protocol !== "TCP" && protocol !== "UDP") {
      ctx.status.warn(
        ref,
        ACCEPTED,
        "UnsupportedProtocol",
        `port ${port.port}/${protocol}: only TCP and UDP are served`,
      );
      continue;
    }
    const pool = buildPool(ctx.slices, svc, port, protocol === "TCP" ? "tcp" : "udp");
    ctx.pools[pool.name] = pool;
    const l4: PendingL4 = {
      name: `${key}:${port.port}/${protocol}`,
      vip: key,
      port: port.port,
      protocol,
      pool: pool.name,
      idleTimeoutMs: protocol === "TCP" ? L4_DEFAULTS.tcpIdleTimeoutMs : L4_DEFAULTS.udpIdleTimeoutMs,
      connectTimeoutMs: L4_DEFAULTS.connectTimeoutMs,
    };
    if (protocol === "UDP") l4.maxSessions = L4_DEFAULTS.maxSessions;
    const pp = proxyProtocol(ctx, svc);
    if (pp !== undefined && protocol === "TCP") l4.proxyProtocol = pp;
    ctx.l4.push(l4);
    ports.push({ port: port.port, protocol });
  }
  if (ports.length === 0) {
    ctx.status.fail(ref, ACCEPTED, "NoPorts", "no TCP or UDP port to serve");
    return;
  }
  const vip = readVipAnnotations(ctx, svc);
  const requested = requestedIps(ctx, svc);
  const req: VipRequest = {
    key,
    namespace: svc.metadata.namespace ?? "",
    labels: { ...(svc.metadata.labels ?? {}) },
    requested,
    ports,
    ...families(svc, requested),
    order: requestOrder(svc, key),
  };
  if (vip.pool) req.pool = vip.pool;
  if (vip.sharing) req.sharingKey = vip.sharing;
  ctx.vipRequests.push(req);
  ctx.vipOf[key] = key;
  claimGroup(ctx, svc, key);
}

/** portProblem says why a spec.ports[].port value cannot be served, or undefined when it can. */
export function portProblem(port: unknown): string | undefined {
  if (typeof port === "number" && Number.isInteger(port) && port >= 1 && port <= 65535) return undefined;
  return `port ${JSON.stringify(port) ?? "(missing)"} is not a number from 1 to 65535`;
}

/** proxyProtocol reads the PROXY protocol annotation; a bad value is a warning and means none. */
function proxyProtocol(ctx: TranslateContext, svc: Service): 1 | 2 | undefined {
  const v = annotation(svc, ANN_PROXY_PROTOCOL);
  if (v === undefined) return undefined;
  if (v === "v1") return 1;
  if (v === "v2") return 2;
  ctx.status.warn(
    refOf(svc),
    ACCEPTED,
    "InvalidAnnotation",
    `${ANN_PROXY_PROTOCOL}: ${JSON.stringify(v)} is not "v1" or "v2"`,
  );
  return undefined;
}

/**
 * requestedSources reads the addresses a Service asks for: the annotation's list (Portico's, else
 * MetalLB's; annName says which) and spec.loadBalancerIP.
 */
export function requestedSources(svc: Service): {
  fromAnn: string[];
  annName: string;
  spec: string | undefined;
} {
  const ann = vipAnnotation(svc, "ips");
  const fromAnn = splitIps(ann?.value);
  const annName = ann?.name ?? ANN_IPS;
  // A number or other non-string from a hand-written file is read as text, so IPAM reports it.
  const raw: unknown = svc.spec?.loadBalancerIP;
  const spec = raw === undefined || raw === null ? undefined : String(raw).trim();
  return { fromAnn, annName, spec: spec === "" ? undefined : spec };
}

/**
 * requestedIps reads the annotation (a comma-separated list, one address per family) or else
 * spec.loadBalancerIP (deprecated upstream, still common). The annotation wins; when both are set
 * and disagree the Service says so, since the user's intent is unclear.
 */
function requestedIps(ctx: TranslateContext, svc: Service): string[] {
  const { fromAnn, annName, spec } = requestedSources(svc);
  if (fromAnn.length > 0) {
    if (spec && !fromAnn.includes(spec)) {
      ctx.status.warn(
        refOf(svc),
        ACCEPTED,
        "ConflictingRequestedIPs",
        `${annName} (${fromAnn.join(",")}) and spec.loadBalancerIP (${spec}) disagree; the annotation wins`,
      );
    }
    return fromAnn;
  }
  return spec ? [spec] : [];
}

/**
 * families reads spec.ipFamilies and ipFamilyPolicy (default IPv4 SingleStack). Without an API
 * server to default them, a dual-stack policy naming one family gets the other one appended, and
 * requested addresses stand in for what is left unsaid: with no ipFamilies, the families are those
 * of the requested addresses (an IPv6 loadBalancerIP means IPv6), and with no ipFamilyPolicy, asking
 * for an address of each family means RequireDualStack — as docs/concepts.md's
 * `portico.dev/load-balancer-ips: "192.0.2.7,2001:db8::7"` promises.
 */
function families(svc: Service, requested: readonly string[]): Pick<VipRequest, "families" | "familyPolicy"> {
  const policy = svc.spec?.ipFamilyPolicy;
  const asked = [...new Set(requested.map((ip) => parseIp(ip)?.family).filter((f) => f !== undefined))];
  const familyPolicy: VipRequest["familyPolicy"] =
    policy === "PreferDualStack" || policy === "RequireDualStack"
      ? policy
      : policy === undefined && asked.length > 1
        ? "RequireDualStack"
        : "SingleStack";
  const given: unknown = svc.spec?.ipFamilies;
  const listed = (Array.isArray(given) ? (given as unknown[]) : []).filter(
    (f): f is IpFamily => f === "IPv4" || f === "IPv6",
  );
  let fams: IpFamily[] = [...new Set(listed)];
  if (fams.length === 0) fams = asked.length > 0 ? asked : ["IPv4"];
  if (familyPolicy === "SingleStack") fams = fams.slice(0, 1);
  else if (fams.length === 1) fams.push(fams[0] === "IPv4" ? "IPv6" : "IPv4");
  return { families: fams, familyPolicy };
}
