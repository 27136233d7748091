// dns.ts: the DNS pass. translateDnsZones (a translate pass) checks each DnsZone and asks IPAM for
// the zone's own VIP (UDP and TCP, like a Service); buildDns (run by the pipeline once IPAM has
// answered) publishes every hostname Portico serves inside a zone as A/AAAA records with the VIPs
// that serve it, and reports on the zones and on every object whose names fall in one. Pure: the
// clock and the previous serials come in as arguments.
import { createHash } from "node:crypto";
import type { DnsZone } from "../k8s/dns-zone.ts";
import { DNS_HOSTNAME_ANNOTATION, EXTERNAL_DNS_HOSTNAME_ANNOTATION } from "../k8s/dns-zone.ts";
import type { Gateway } from "../k8s/gateway-api.ts";
import type { ResourceSet } from "../k8s/resource-set.ts";
import type { Condition } from "../k8s/types.ts";
import type { VipRequest } from "../ipam/types.ts";
import { parseIp } from "../ipam/address.ts";
import type { DnsRecord, DnsServer, DnsZoneData, HttpListener, L4Listener } from "../model/ir.ts";
import { annotation, requestOrder, type TranslateContext } from "./context.ts";
import { inZone, namespaceAllowed, normalName, validName, zoneSpec, type ZoneSpec } from "./dns-zone-spec.ts";
import { refOf } from "./status.ts";
import { Tenancy } from "./tenancy.ts";
import { acmeTxtRecords, type AcmeTxt } from "./acme-txt.ts";
import type { ObjectStatus } from "./types.ts";

/** DNS_RECORD_READY is the condition of an object whose names are published. */
export const DNS_RECORD_READY = "portico.dev/DNSRecordReady";
/** DNS_RECORD_FAILED is the condition of an object one of whose names could not be published. */
export const DNS_RECORD_FAILED = "portico.dev/DNSRecordFailed";

/** PendingZone is a checked DnsZone waiting for its VIP. */
export interface PendingZone {
  /** object is "DnsZone/name". */
  object: string;
  /** vip is the key of the zone's VIP request. */
  vip: string;
  /** order is the VIP request's ("<creationTimestamp>/<key>"): of two zones for one apex, the older serves. */
  order: string;
  spec: ZoneSpec;
  generation?: number;
  /** problems are the spec's non-fatal mistakes (dropped records), reported on the zone. */
  problems: string[];
  /** serial is status.serial as read (a restarted controller continues from it). */
  serial?: number;
}

/** translateDnsZones is the pass: each valid DnsZone becomes a VIP request on UDP and TCP. */
export function translateDnsZones(ctx: TranslateContext): void {
  // Oldest first, so that of two zones for one apex the older one serves.
  const zones = ctx.set.dnsZones
    .map((o) => ({ o, order: requestOrder(o, `DnsZone/${o.metadata.name}`) }))
    .sort((a, b) => cmp(a.order, b.order));
  const served = new Map<string, string>();
  for (const { o } of zones) {
    const ref = refOf(o);
    const object = `DnsZone/${o.metadata.name}`;
    const { spec, problems } = zoneSpec(o);
    const first = spec ? served.get(spec.zone) : undefined;
    if (spec && first) {
      ctx.status.fail(
        ref,
        "Accepted",
        "DuplicateZone",
        `zone ${spec.zone} is already served by ${first}; this one is ignored`,
      );
      ctx.status.fail(ref, "Programmed", "DuplicateZone", "not served");
      continue;
    }
    if (spec) served.set(spec.zone, object);
    for (const p of problems) {
      const text = `${p.field}: ${p.message}`;
      if (spec) ctx.status.warn(ref, "Accepted", p.reason, text);
      else ctx.status.fail(ref, "Accepted", p.reason, text);
    }
    if (!spec) continue;
    ctx.status.ok(ref, "Accepted", "Accepted", `zone ${spec.zone}`);
    const requested = spec.listen.address ? [spec.listen.address] : [];
    const family = spec.listen.address ? parseIp(spec.listen.address)!.family : "IPv4";
    const req: VipRequest = {
      key: object,
      namespace: "",
      labels: { ...(o.metadata.labels ?? {}) },
      requested,
      ports: [
        { port: spec.listen.port, protocol: "UDP" },
        { port: spec.listen.port, protocol: "TCP" },
      ],
      families: [family],
      familyPolicy: "SingleStack",
      order: requestOrder(o, object),
    };
    if (spec.listen.pool) req.pool = spec.listen.pool;
    ctx.vipRequests.push(req);
    // spec.listen.engineGroup chooses the group as the annotation does on a Service.
    const claim = { object, vip: object, order: req.order };
    ctx.groupClaims.push(
      spec.listen.engineGroup ? { ...claim, group: spec.listen.engineGroup, rule: "annotation" } : claim,
    );
    const zone: PendingZone = {
      object,
      vip: object,
      order: req.order,
      spec,
      problems: problems.map((p) => `${p.field}: ${p.message}`),
    };
    if (o.metadata.generation !== undefined) zone.generation = o.metadata.generation;
    const serial = (o as DnsZone).status?.serial;
    // Anything but a 32-bit serial (RFC 1982) in status is ignored: the engine would refuse it.
    if (Number.isInteger(serial) && serial! >= 0 && serial! <= 0xffffffff) zone.serial = serial!;
    ctx.dnsZones.push(zone);
  }
}

/** DnsSerials are each zone's content hash and serial, carried from one build to the next. */
export type DnsSerials = ReadonlyMap<string, { hash: string; serial: number }>;

/** DnsInput is what buildDns reads: the set, the zones, the listeners with addresses, IPAM's answers. */
export interface DnsInput {
  set: ResourceSet;
  zones: readonly PendingZone[];
  l4: readonly L4Listener[];
  http: readonly HttpListener[];
  /** vipOf maps an object key to its VIP request key (TranslateResult.vipOf). */
  vipOf: Readonly<Record<string, string>>;
  addressesOf(vip: string): string[];
  /** whyNoAddress is IPAM's refusal of a VIP request ("pool \"x\" does not exist"), if it refused. */
  whyNoAddress?(vip: string): { reason: string; message: string } | undefined;
  groupOf(address: string): string;
  /** serials are the previous build's (absent: none; status.serial then is the floor). */
  serials?: DnsSerials;
  /** nowSeconds is the clock (Unix seconds) a changed zone's serial is at least; absent (offline): status.serial, else 1. */
  nowSeconds?: number;
  /** tenantNamespaces is translate's namespace → tenant map (TranslateResult.tenants). */
  tenantNamespaces?: Readonly<Record<string, string>>;
  /** acmeTxt are the built-in issuer's pending DNS-01 answers, added to the zones that hold them (acme-txt.ts). */
  acmeTxt?: readonly AcmeTxt[];
}

/** PublishedName is one name an object publishes, with the zone and addresses it got or why not. */
export interface PublishedName {
  name: string;
  zone?: string;
  addresses: string[];
  /** refused is the reason the name is not published (NamespaceNotAllowed, ZoneNotAllowed). */
  refused?: { reason: string; message: string };
}

/** DnsOutput is the servers for the snapshot, the statuses, the serials to carry, and per-object names. */
export interface DnsOutput {
  servers: DnsServer[];
  /** zoneStatuses are the DnsZone objects' statuses. */
  zoneStatuses: ObjectStatus[];
  /** conditions are the DNSRecordReady/DNSRecordFailed condition of each object whose names fall in a zone. */
  conditions: Record<string, Condition>;
  /** names lists, per object key, the names it publishes (explain). */
  names: Record<string, PublishedName[]>;
  serials: Map<string, { hash: string; serial: number }>;
}

/** Claim is one object's wish to publish name at addresses, health-aware through pools. */
interface Claim {
  object: string;
  name: string;
  addresses: string[];
  /** pools: the route's backends; undefined: not health-aware (a Gateway listener's own name). */
  pools?: string[];
  /** weak claims (a Gateway listener's hostname) only publish a name no route publishes. */
  weak?: boolean;
}

/** buildDns publishes the names of the served objects in their zones. Pure. */
export function buildDns(input: DnsInput): DnsOutput {
  const claims = collectClaims(input);
  const out: DnsOutput = { servers: [], zoneStatuses: [], conditions: {}, names: {}, serials: new Map() };
  const nsLabels = new Map(input.set.namespaces.map((n) => [n.metadata.name, n.metadata.labels ?? {}]));
  // This run's namespace map as "before": a contested namespace stays where translate put it.
  const tenancy = new Tenancy(input.set, input.tenantNamespaces);
  // Zones by name, longest first: a name belongs to the most specific zone (as a delegation would).
  const zones = [...input.zones].sort(
    (a, b) => b.spec.zone.length - a.spec.zone.length || cmp(a.object, b.object),
  );
  const byZone = new Map<PendingZone, Claim[]>(zones.map((z) => [z, []]));
  for (const c of claims) {
    const base = c.name.startsWith("*.") ? c.name.slice(2) : c.name;
    const z = zones.find((zz) => inZone(base, zz.spec.zone));
    // A name outside every zone is not an error: someone else may publish it.
    if (!z) continue;
    const names = (out.names[c.object] ??= []);
    const ns = c.object.split("/").length === 3 ? c.object.split("/")[1]! : "";
    const allowed = namespaceAllowed(z.spec, ns, nsLabels.get(ns) ?? {});
    const tenantRefusal = tenantZoneRefusal(tenancy, ns, z.object);
    if (tenantRefusal) {
      names.push({
        name: c.name,
        zone: z.spec.zone,
        addresses: [],
        refused: { reason: "ZoneNotAllowed", message: `${c.name}: ${tenantRefusal}` },
      });
      continue;
    }
    if (!allowed) {
      names.push({
        name: c.name,
        zone: z.spec.zone,
        addresses: [],
        refused: {
          reason: "NamespaceNotAllowed",
          message: `namespace ${ns} may not publish ${c.name} in zone ${z.spec.zone} (${z.object} spec.namespaces/namespaceSelector)`,
        },
      });
      continue;
    }
    // A CNAME owns its name alone (RFC 1034 3.6.2): addresses beside it would make the engine
    // refuse the whole snapshot, so the published name gives way to the zone's declared CNAME.
    if (z.spec.records.some((r) => r.type === "CNAME" && r.name === c.name)) {
      names.push({
        name: c.name,
        zone: z.spec.zone,
        addresses: [],
        refused: {
          reason: "CNAMEConflict",
          message: `${c.name} is a CNAME in ${z.object} spec.records; a name with a CNAME can have no addresses`,
        },
      });
      continue;
    }
    names.push({ name: c.name, zone: z.spec.zone, addresses: c.addresses });
    byZone.get(z)!.push(c);
  }
  const servers = new Map<string, DnsServer>();
  for (const z of [...zones].sort((a, b) => cmp(a.spec.zone, b.spec.zone) || cmp(a.object, b.object))) {
    const vipAddrs = input.addressesOf(z.vip);
    const conditions: Condition[] = [];
    const cond = (type: string, ok: boolean, reason: string, message: string) => {
      const c: Condition = { type, status: ok ? "True" : "False", reason, message };
      if (z.generation !== undefined) c.observedGeneration = z.generation;
      conditions.push(c);
    };
    cond(
      "Accepted",
      true,
      z.problems.length > 0 ? "PartiallyInvalid" : "Accepted",
      z.problems.join("; ") || `zone ${z.spec.zone}`,
    );
    const data = zoneData(z, byZone.get(z)!, vipAddrs, acmeTxtRecords(z.spec, input.acmeTxt ?? [], zones));
    const hash = createHash("sha256")
      .update(JSON.stringify({ ...data, soa: { ...data.soa, serial: 0 } }))
      .digest("hex")
      .slice(0, 16);
    const prev = input.serials?.get(z.object);
    // Unchanged content keeps its serial; a change (or a restart, which lost the hash) moves it on.
    // Without a clock (offline commands, explain --kubeconfig) the serial is the one in status.
    const serial =
      prev && prev.hash === hash
        ? prev.serial
        : input.nowSeconds === undefined
          ? (z.serial ?? (prev ? prev.serial + 1 : 1))
          : nextSerial(Math.max(prev?.serial ?? 0, z.serial ?? 0), input.nowSeconds);
    data.soa.serial = serial;
    out.serials.set(z.object, { hash, serial });
    for (const address of vipAddrs) {
      const key = `${address}|${z.spec.listen.port}`;
      let server = servers.get(key);
      if (!server) {
        server = {
          // Names are unique per snapshot (the engine keys its servers by them): a dual-stack
          // zone's second address is named with it.
          name: address === vipAddrs[0] ? z.object : `${z.object}@${address}`,
          address,
          port: z.spec.listen.port,
          group: input.groupOf(address),
          zones: [],
        };
        if (z.spec.rateLimit) server.rateLimit = z.spec.rateLimit;
        if (z.spec.forward) server.forward = z.spec.forward;
        servers.set(key, server);
      }
      server.zones.push(data);
    }
    if (vipAddrs.length === 0) {
      // Say why, as a Service's status does: the zone's owner has nothing else to go on.
      const why = input.whyNoAddress?.(z.vip);
      cond(
        "Programmed",
        false,
        "AddressPending",
        why
          ? `no address for ${z.object}'s DNS service: ${why.message.replace(/^no address: /, "")} (${why.reason})`
          : `no address for ${z.object}'s DNS service yet (see portico get pools)`,
      );
    } else
      cond(
        "Programmed",
        true,
        "Programmed",
        `serving ${z.spec.zone} on ${vipAddrs.map((a) => hostPort(a, z.spec.listen.port)).join(", ")} (UDP and TCP), serial ${serial}`,
      );
    const status: ObjectStatus["status"] = {
      conditions,
      addresses: vipAddrs,
      records: data.records.length,
      serial,
    };
    if (z.generation !== undefined) status.observedGeneration = z.generation;
    out.zoneStatuses.push({ kind: "DnsZone", name: z.object.slice("DnsZone/".length), status });
  }
  out.servers = [...servers.values()].sort((a, b) => cmp(a.address, b.address) || a.port - b.port);
  for (const [object, names] of Object.entries(out.names)) {
    const refused = names.filter((n) => n.refused);
    const ok = names.filter((n) => !n.refused);
    const pending = ok.every((n) => n.addresses.length === 0);
    out.conditions[object] =
      refused.length === 0 && pending
        ? {
            type: DNS_RECORD_READY,
            status: "False",
            reason: "AddressPending",
            message: `${ok.map((n) => n.name).join(", ")}: no record until ${object} has an address (see portico explain)`,
          }
        : refused.length > 0
          ? {
              type: DNS_RECORD_FAILED,
              status: "True",
              reason: refused[0]!.refused!.reason,
              message: refused.map((n) => n.refused!.message).join("; "),
            }
          : {
              type: DNS_RECORD_READY,
              status: "True",
              reason: "Published",
              message: ok
                .map(
                  (n) => `${n.name} ${n.addresses.length > 0 ? n.addresses.join(", ") : "(no address yet)"}`,
                )
                .join("; "),
            };
  }
  return out;
}

/** nextSerial is a changed zone's serial: above the previous one, and at least the clock (RFC 1982 space). */
function nextSerial(previous: number, nowSeconds: number): number {
  // Seconds since 1970 keep increasing across restarts that lose the previous serial; +1 covers
  // several changes within one second. Both stay below 2^32 until 2106.
  return Math.max(previous + 1, Math.floor(nowSeconds)) % 2 ** 32;
}

/** zoneData renders one zone: SOA, NS, glue for in-zone NS names, static and published records. */
function zoneData(
  z: PendingZone,
  claims: readonly Claim[],
  vipAddrs: readonly string[],
  challenges: readonly DnsRecord[],
): DnsZoneData {
  const s = z.spec;
  const records = new Map<string, DnsRecord>();
  const add = (r: DnsRecord) => {
    const key = `${r.name}|${r.type}|${r.value}`;
    const old = records.get(key);
    if (!old) return void records.set(key, r);
    // The same name and address from two routes: answered while either's pools are up.
    if (!old.pools || !r.pools) delete old.pools;
    else old.pools = [...new Set([...old.pools, ...r.pools])].sort();
  };
  for (const ns of s.nameservers) {
    if (!inZone(ns, s.zone)) continue;
    for (const a of vipAddrs) add({ name: ns, type: typeOf(a), ttl: s.ttl, value: a });
  }
  for (const r of s.records) add({ name: r.name, type: r.type, ttl: r.ttl, value: r.value });
  for (const r of challenges) add(r);
  const strong = new Set(claims.filter((c) => !c.weak && c.addresses.length > 0).map((c) => c.name));
  for (const c of claims) {
    if (c.weak && strong.has(c.name)) continue;
    for (const a of c.addresses) {
      const r: DnsRecord = { name: c.name, type: typeOf(a), ttl: s.ttl, value: a };
      if (c.pools && c.pools.length > 0) {
        r.pools = [...new Set(c.pools)].sort();
        if (s.unhealthy === "Fallback") r.fallback = true;
      }
      add(r);
    }
  }
  return {
    name: s.zone,
    soa: { ...s.soa, serial: 0, ttl: s.ttl },
    ns: [...s.nameservers],
    nsTtl: Math.max(s.ttl, 3600),
    records: [...records.values()].sort(
      (a, b) => cmp(a.name, b.name) || cmp(a.type, b.type) || cmp(a.value, b.value),
    ),
  };
}

/** collectClaims lists every name the served objects publish, with the addresses serving it. */
function collectClaims(input: DnsInput): Claim[] {
  const claims: Claim[] = [];
  // addresses may be empty: a Service or Gateway whose VIP is pending still claims its names, so
  // it is told why they have no record yet (DNSRecordReady=False AddressPending).
  const push = (object: string, name: string, addresses: string[], pools?: string[], weak?: boolean) => {
    const n = normalName(name);
    if (n === "*" || !validName(n, true)) return;
    const c: Claim = { object, name: n, addresses: [...addresses] };
    if (pools) c.pools = pools;
    if (weak) c.weak = true;
    claims.push(c);
  };
  // Ingress rules and Gateway routes: the IR's virtual hosts already hold the hostnames Portico
  // serves (a route's hostnames intersected with its listener's), each route naming its object.
  for (const l of input.http) {
    for (const vh of l.virtualHosts) {
      for (const r of vh.routes) {
        const pools = r.action.type === "Forward" ? r.action.backends.map((b) => b.pool) : [];
        push(objectOf(r.name), vh.hostname, [l.address], pools);
      }
    }
    for (const r of l.sniRoutes ?? [])
      push(
        objectOf(r.name),
        r.hostname,
        [l.address],
        r.backends.map((b) => b.pool),
      );
  }
  // Gateway listener hostnames, published even before a route attaches.
  for (const o of input.set.other) {
    if (o.kind !== "Gateway") continue;
    const gw = o as unknown as Gateway;
    const key = `Gateway/${gw.metadata.namespace ?? ""}/${gw.metadata.name}`;
    const vip = input.vipOf[key];
    if (!vip) continue;
    for (const ln of gw.spec?.listeners ?? []) {
      if (!ln.hostname || !["HTTP", "HTTPS", "TLS"].includes(ln.protocol)) continue;
      push(key, ln.hostname, input.addressesOf(vip), undefined, true);
    }
  }
  // Services that ask for names; health follows their L4 listeners' pools.
  for (const svc of input.set.services) {
    const names = [DNS_HOSTNAME_ANNOTATION, EXTERNAL_DNS_HOSTNAME_ANNOTATION]
      .flatMap((a) => (annotation(svc, a) ?? "").split(","))
      .map((n) => n.trim())
      .filter((n) => n.length > 0);
    if (names.length === 0) continue;
    const key = `Service/${svc.metadata.namespace ?? ""}/${svc.metadata.name}`;
    const vip = input.vipOf[key];
    if (!vip) continue;
    const pools = [...new Set(input.l4.filter((l) => l.name.startsWith(`${key}:`)).map((l) => l.pool))];
    for (const n of new Set(names)) push(key, n, input.addressesOf(vip), pools);
  }
  // One claim per object and name, addresses merged (an object on port 80 and 443, or dual-stack).
  const merged = new Map<string, Claim>();
  for (const c of claims) {
    const key = `${c.object}|${c.name}|${c.weak ? "w" : ""}`;
    const old = merged.get(key);
    if (!old) {
      merged.set(key, { ...c, addresses: [...c.addresses] });
      continue;
    }
    for (const a of c.addresses) if (!old.addresses.includes(a)) old.addresses.push(a);
    if (old.pools && c.pools) old.pools = [...new Set([...old.pools, ...c.pools])];
    else delete old.pools;
  }
  return [...merged.values()].sort((a, b) => cmp(a.object, b.object) || cmp(a.name, b.name));
}

/** objectOf turns a route name ("HTTPRoute/ns/name#0.1") into its object key. */
function objectOf(routeName: string): string {
  const i = routeName.indexOf("#");
  return i < 0 ? routeName : routeName.slice(0, i);
}

const typeOf = (address: string): "A" | "AAAA" => (address.includes(":") ? "AAAA" : "A");
const hostPort = (a: string, p: number) => (a.includes(":") ? `[${a}]:${p}` : `${a}:${p}`);
const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** tenantZoneRefusal says why namespace ns may not publish in zone object ("DnsZone/name"): its tenant lists dnsZones without it. */
function tenantZoneRefusal(tenancy: Tenancy, ns: string, object: string): string | undefined {
  const tenant = tenancy.tenantOf(ns);
  const zones = tenancy.spec(tenant).dnsZones;
  const name = object.slice("DnsZone/".length);
  if (!tenant || zones === undefined || zones.includes(name)) return undefined;
  return `zone ${name} is not among tenant ${tenant}'s dnsZones (${zones.join(", ") || "none"})`;
}
