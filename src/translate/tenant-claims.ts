// tenant-claims.ts: what each served object asks of its tenant — hostnames, and its share of every
// quota (VIPs, listeners, routes, backends) — read before the passes run, so hostname ownership and
// quotas are settled across kinds in one order (oldest first) whatever pass later builds the object.
import { ENGINE_GROUP_ANNOTATION } from "../k8s/engine-group.ts";
import type { ResourceSet } from "../k8s/resource-set.ts";
import type { AnyObject, Ingress, Service } from "../k8s/types.ts";
import type { Gateway, ListenerSet } from "../k8s/gateway-api.ts";
import type { TranslateContext } from "./context.ts";
import { annotation } from "./context.ts";
import { normaliseHost } from "./hostnames.ts";
import { ANN_DEDICATED_VIP } from "./ingress.ts";
import { classifyIngresses } from "./ingress-class.ts";
import { intersectHost } from "./gateway-attach.ts";
import { ourClasses } from "./gateway-class.ts";
import { listenerSetsOf } from "./listenerset.ts";
import { classGroup } from "./engine-group.ts";
import type { ParentRef, RouteObject } from "./gateway-types.ts";
import { servesService } from "./service-lb.ts";
import { StatusBook } from "./status.ts";
import type { TranslateOptions } from "./types.ts";

/** QUOTAS are the quota names of spec.quotas, in the order status and messages list them. */
export const QUOTAS = ["vips", "listeners", "routes", "hostnames", "backends"] as const;
/** QuotaName is one of QUOTAS. */
export type QuotaName = (typeof QUOTAS)[number];

/** ObjectClaim is one served object and what it would use. */
export interface ObjectClaim {
  obj: AnyObject;
  /** key is "Kind/ns/name". */
  key: string;
  namespace: string;
  /** order sorts claims oldest first: creationTimestamp, then namespace/name, then kind. */
  order: string;
  /** hosts are the normalised hostnames it serves ("*" and empty left out). */
  hosts: string[];
  vips: number;
  listeners: number;
  routes: number;
  /** backends are the Services it sends traffic to, as "ns/name". */
  backends: string[];
  /** group is the EngineGroup it asks for: its annotation, else its class's parameters (VIP owners only). */
  group?: string;
}

const ROUTE_KINDS = new Set(["HTTPRoute", "GRPCRoute", "TLSRoute", "TCPRoute", "UDPRoute"]);

/** collectClaims lists the objects Portico serves, oldest first, with what each would use. */
export function collectClaims(set: ResourceSet, opts: TranslateOptions): ObjectClaim[] {
  // The class passes record statuses as they classify; this scratch book is thrown away, the real
  // passes record them again on the real one.
  const scratch = { set, opts, status: new StatusBook(), notices: [] } as unknown as TranslateContext;
  const out: ObjectClaim[] = [];
  for (const svc of set.services)
    if (svc.spec?.type === "LoadBalancer" && servesService(svc, opts.serveClasslessServices))
      out.push(withGroup(serviceClaim(svc), undefined));
  for (const { cls, ingresses } of classifyIngresses(scratch))
    for (const ing of ingresses) {
      // Only a dedicated VIP runs where the class says; the shared one is the class's own.
      const c = ingressClaim(ing);
      out.push(withGroup(c, c.vips > 0 ? classGroup(cls.spec?.parameters) : undefined));
    }
  const classes = ourClasses(scratch);
  const ours = new Map<string, Gateway>();
  for (const o of set.other) {
    if (o.kind !== "Gateway") continue;
    const gw = o as unknown as Gateway;
    if (!classes.has(gw.spec?.gatewayClassName)) continue;
    ours.set(`${gw.metadata.namespace ?? ""}/${gw.metadata.name}`, gw);
    const params = classes.get(gw.spec?.gatewayClassName)?.cls.spec?.parametersRef;
    out.push(withGroup(gatewayClaim(gw), classGroup(params)));
    // A ListenerSet's listeners open ports and hold hostnames as the Gateway's do, for the tenant
    // of the ListenerSet's namespace (which may not be the Gateway's); one the Gateway does not
    // take (allowedListeners) opens nothing and counts nothing.
    for (const v of listenerSetsOf(set, gw)) if (!v.refused) out.push(listenerSetClaim(v.set));
  }
  for (const o of set.other) {
    if (!ROUTE_KINDS.has(o.kind)) continue;
    const route = o as RouteObject;
    const ns = route.metadata.namespace ?? "";
    const parents = route.spec?.parentRefs ?? [];
    if (parents.some((p) => servedParent(p, ns, ours))) out.push(routeClaim(route, ours));
  }
  return out.sort((a, b) => (a.order < b.order ? -1 : a.order > b.order ? 1 : 0));
}

/** servedParent tells whether a parentRef names one of Portico's Gateways (or a ListenerSet, checked later). */
function servedParent(p: ParentRef, ns: string, ours: ReadonlyMap<string, Gateway>): boolean {
  const kind = p.kind ?? "Gateway";
  if (kind === "ListenerSet") return true;
  return kind === "Gateway" && ours.has(`${p.namespace ?? ns}/${p.name}`);
}

/** base starts a claim for obj. */
function base(obj: AnyObject): ObjectClaim {
  const ns = obj.metadata.namespace ?? "";
  return {
    obj,
    key: `${obj.kind}/${ns}/${obj.metadata.name}`,
    namespace: ns,
    order: `${obj.metadata.creationTimestamp ?? ""}/${ns}/${obj.metadata.name}/${obj.kind}`,
    hosts: [],
    vips: 0,
    listeners: 0,
    routes: 0,
    backends: [],
  };
}

/** hostList normalises hostnames, dropping "*", empty and non-string entries, without repeats. */
export function hostList(hosts: readonly unknown[]): string[] {
  const out = new Set<string>();
  for (const h of hosts) if (typeof h === "string" && h !== "" && h !== "*") out.add(normaliseHost(h));
  return [...out];
}

function serviceClaim(svc: Service): ObjectClaim {
  const c = base(svc as unknown as AnyObject);
  c.vips = 1;
  c.listeners = (svc.spec?.ports ?? []).length;
  c.backends = [`${c.namespace}/${svc.metadata.name}`];
  return c;
}

function ingressClaim(ing: Ingress): ObjectClaim {
  const c = base(ing as unknown as AnyObject);
  const rules = ing.spec?.rules ?? [];
  const tls = ing.spec?.tls ?? [];
  c.hosts = hostList([...rules.map((r) => r.host), ...tls.flatMap((t) => t.hosts ?? [])]);
  const backends = new Set<string>();
  const add = (name: unknown) => {
    if (typeof name === "string") backends.add(`${c.namespace}/${name}`);
  };
  for (const r of rules)
    for (const p of r.http?.paths ?? []) {
      c.routes++;
      add(p.backend?.service?.name);
    }
  if (ing.spec?.defaultBackend) {
    c.routes++;
    add(ing.spec.defaultBackend.service?.name);
  }
  c.backends = [...backends];
  if (annotation(ing, ANN_DEDICATED_VIP) === "true") {
    c.vips = 1;
    c.listeners = tls.length > 0 ? 2 : 1;
  }
  return c;
}

function gatewayClaim(gw: Gateway): ObjectClaim {
  const c = base(gw as unknown as AnyObject);
  const listeners = gw.spec?.listeners ?? [];
  c.vips = 1;
  c.listeners = listeners.length;
  c.hosts = hostList(listeners.map((l) => l.hostname));
  return c;
}

function listenerSetClaim(ls: ListenerSet): ObjectClaim {
  const c = base(ls as unknown as AnyObject);
  const listeners = ls.spec?.listeners ?? [];
  c.listeners = listeners.length;
  c.hosts = hostList(listeners.map((l) => l.hostname));
  return c;
}

/**
 * effectiveHosts are the names a route serves: its hostnames intersected with each listener it
 * may attach to (a route without hostnames takes the listener's), as the Gateway API routes them.
 * A parent that is not one of Portico's Gateways (a ListenerSet) leaves the route's own names.
 */
function effectiveHosts(route: RouteObject, ours: ReadonlyMap<string, Gateway>): unknown[] {
  const own = route.spec?.hostnames ?? [];
  if (!HOST_AWARE.has(route.kind)) return own;
  const out: unknown[] = [];
  for (const p of route.spec?.parentRefs ?? []) {
    const gw =
      (p.kind ?? "Gateway") === "Gateway"
        ? ours.get(`${p.namespace ?? route.metadata.namespace ?? ""}/${p.name}`)
        : undefined;
    if (!gw) {
      out.push(...own);
      continue;
    }
    for (const l of gw.spec?.listeners ?? []) {
      if (p.sectionName !== undefined && l.name !== p.sectionName) continue;
      if (p.port !== undefined && l.port !== p.port) continue;
      const lh = typeof l.hostname === "string" ? normaliseHost(l.hostname) : undefined;
      if (own.length === 0) out.push(lh);
      for (const h of own) if (typeof h === "string") out.push(intersectHost(lh, normaliseHost(h)));
    }
  }
  return out;
}

const HOST_AWARE = new Set(["HTTPRoute", "GRPCRoute", "TLSRoute"]);

function routeClaim(route: RouteObject, ours: ReadonlyMap<string, Gateway>): ObjectClaim {
  const c = base(route);
  c.hosts = hostList(effectiveHosts(route, ours));
  const rules = (route.spec?.rules ?? []) as {
    backendRefs?: { group?: string; kind?: string; name?: string; namespace?: string }[];
  }[];
  c.routes = Math.max(1, rules.length);
  const backends = new Set<string>();
  for (const r of rules)
    for (const b of r.backendRefs ?? [])
      if ((b.group ?? "") === "" && (b.kind ?? "Service") === "Service" && typeof b.name === "string")
        backends.add(`${b.namespace ?? c.namespace}/${b.name}`);
  c.backends = [...backends];
  return c;
}

/** withGroup sets a claim's EngineGroup: its own annotation wins over its class's choice (engine-group.ts's precedence). */
function withGroup(c: ObjectClaim, fromClass: string | undefined): ObjectClaim {
  const meta = c.obj as { metadata: { annotations?: Record<string, string> } };
  const group = annotation(meta, ENGINE_GROUP_ANNOTATION) ?? fromClass;
  if (group !== undefined) c.group = group;
  return c;
}
