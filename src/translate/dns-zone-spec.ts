// dns-zone-spec.ts: a DnsZone's spec checked and completed. The CRD's schema refuses most of these
// mistakes at the API server; files reach Portico unchecked, so the DNS pass checks here and every
// later step reads the spec with its defaults applied (docs/dns.md).
import type { DnsZone, DnsZoneSpec } from "../k8s/dns-zone.ts";
import type { LabelSelector } from "../k8s/vip-pool.ts";
import { parseIp } from "../ipam/address.ts";
import { matchesSelector } from "../ipam/selector.ts";

/** DNS_DEFAULTS are the values of the fields a DnsZone leaves out (the CRD's defaults). */
export const DNS_DEFAULTS = {
  ttl: 30,
  port: 53,
  refresh: 3600,
  retry: 600,
  expire: 604800,
  minimum: 30,
  /** nsTtl: NS names change seldom, so resolvers may keep them longer than the records. */
  nsTtl: 3600,
  responsesPerSecond: 100,
  slip: 2,
} as const;

/** ZoneSpec is a DnsZone spec with every default applied. */
export interface ZoneSpec {
  zone: string;
  soa: { mname: string; rname: string; refresh: number; retry: number; expire: number; minimum: number };
  nameservers: string[];
  ttl: number;
  namespaces?: string[];
  namespaceSelector?: LabelSelector;
  listen: { pool?: string; address?: string; port: number; engineGroup?: string };
  unhealthy: "Withdraw" | "Fallback";
  records: { name: string; type: "A" | "AAAA" | "CNAME" | "TXT"; value: string; ttl: number }[];
  rateLimit?: { responsesPerSecond: number; slip: number };
  forward?: string[];
}

/** ZoneProblem is why a spec (or one part of it) cannot be used: a stable reason, the field, the message. */
export interface ZoneProblem {
  reason:
    "InvalidZone" | "InvalidName" | "InvalidRecord" | "InvalidListen" | "InvalidNumber" | "InvalidForward";
  field: string;
  message: string;
}

const LABEL = /^[a-z0-9_]([-a-z0-9_]{0,61}[a-z0-9_])?$/;

/** validName says whether text is a lower-case DNS name (wildcard allowed when star), no final dot. */
export function validName(text: string, star = false): boolean {
  if (text.length === 0 || text.length > 253) return false;
  const labels = text.split(".");
  return labels.every((l, i) => LABEL.test(l) || (star && i === 0 && l === "*" && labels.length > 1));
}

/** normalName lower-cases a name and drops a final dot. */
export function normalName(text: string): string {
  const t = text.trim().toLowerCase();
  return t.endsWith(".") ? t.slice(0, -1) : t;
}

/** inZone says whether name (or the wildcard's base) is the zone's apex or below it. */
export function inZone(name: string, zone: string): boolean {
  return name === zone || name.endsWith(`.${zone}`);
}

/** MAX_TTL is the largest TTL and SOA timer (RFC 2181 8: 2^31 - 1); the engine refuses a snapshot above it. */
export const MAX_TTL = 0x7fffffff;

/** MAX_TXT_BYTES is the longest TXT value the engine accepts (validate.ts); longer ones are dropped here. */
export const MAX_TXT_BYTES = 4000;

const count = (v: unknown, min: number) =>
  typeof v === "number" && Number.isInteger(v) && v >= min && v <= MAX_TTL;

/**
 * zoneSpec applies defaults and checks a zone. Fatal problems (the zone name, the listen address)
 * leave spec undefined; a bad static record or NS name is dropped and reported, the rest serves.
 */
export function zoneSpec(obj: DnsZone): { spec?: ZoneSpec; problems: ZoneProblem[] } {
  const problems: ZoneProblem[] = [];
  const s: Partial<DnsZoneSpec> = obj.spec && typeof obj.spec === "object" ? obj.spec : {};
  const zone = typeof s.zone === "string" ? normalName(s.zone) : "";
  if (!validName(zone)) {
    problems.push({
      reason: "InvalidZone",
      field: "spec.zone",
      message: `zone ${JSON.stringify(s.zone)} is not a DNS name`,
    });
    return { problems };
  }
  const number = (field: string, v: unknown, dflt: number, min = 0): number => {
    if (v === undefined) return dflt;
    if (count(v, min)) return v as number;
    problems.push({
      reason: "InvalidNumber",
      field,
      message: `${field} ${JSON.stringify(v)} is not a whole number in ${min}..${MAX_TTL}; using ${dflt}`,
    });
    return dflt;
  };
  const listen = s.listen ?? {};
  const port = number("spec.listen.port", listen.port, DNS_DEFAULTS.port, 1);
  if (port > 65535 || (listen.address !== undefined && !parseIp(listen.address))) {
    problems.push({
      reason: "InvalidListen",
      field: port > 65535 ? "spec.listen.port" : "spec.listen.address",
      message:
        port > 65535
          ? `port ${port} is above 65535`
          : `listen address ${JSON.stringify(listen.address)} is not an IP address`,
    });
    return { problems };
  }
  const nameservers: string[] = [];
  for (const [i, n] of (s.nameservers ?? [`ns.${zone}`]).entries()) {
    const name = normalName(String(n));
    if (validName(name)) nameservers.push(name);
    else
      problems.push({
        reason: "InvalidName",
        field: `spec.nameservers[${i}]`,
        message: `NS name ${JSON.stringify(n)} is not a DNS name`,
      });
  }
  if (nameservers.length === 0) nameservers.push(`ns.${zone}`);
  const ttl = number("spec.ttl", s.ttl, DNS_DEFAULTS.ttl);
  const soa = s.soa ?? {};
  const records: ZoneSpec["records"] = [];
  for (const [i, r] of (s.records ?? []).entries()) {
    const field = `spec.records[${i}]`;
    const bad = recordProblem(r, zone);
    if (bad) {
      problems.push({ reason: "InvalidRecord", field, message: bad });
      continue;
    }
    const value = r.type === "CNAME" ? normalName(r.value) : r.type === "TXT" ? r.value : r.value.trim();
    records.push({ name: normalName(r.name), type: r.type, value, ttl: number(`${field}.ttl`, r.ttl, ttl) });
  }
  dropCnameConflicts(records, nameservers, problems);
  const forward: string[] = [];
  for (const [i, f] of (s.forward ?? []).entries()) {
    const addr = forwardAddress(String(f));
    if (addr) forward.push(addr);
    else
      problems.push({
        reason: "InvalidForward",
        field: `spec.forward[${i}]`,
        message: `resolver ${JSON.stringify(f)} is not "ip" or "ip:port"`,
      });
  }
  const rps = number(
    "spec.rateLimit.responsesPerSecond",
    s.rateLimit?.responsesPerSecond,
    DNS_DEFAULTS.responsesPerSecond,
  );
  // A bad SOA name falls back to its default: the engine refuses a whole snapshot holding one.
  const soaName = (field: string, v: unknown, dflt: string): string => {
    if (v === undefined || v === "") return dflt;
    const name = normalName(String(v).replace("@", "."));
    if (validName(name)) return name;
    problems.push({
      reason: "InvalidName",
      field,
      message: `${JSON.stringify(v)} is not a DNS name; using ${dflt}`,
    });
    return dflt;
  };
  const spec: ZoneSpec = {
    zone,
    soa: {
      mname: soaName("spec.soa.mname", soa.mname, nameservers[0]!),
      rname: soaName("spec.soa.rname", soa.rname, `hostmaster.${zone}`),
      refresh: number("spec.soa.refresh", soa.refresh, DNS_DEFAULTS.refresh, 1),
      retry: number("spec.soa.retry", soa.retry, DNS_DEFAULTS.retry, 1),
      expire: number("spec.soa.expire", soa.expire, DNS_DEFAULTS.expire, 1),
      minimum: number("spec.soa.minimum", soa.minimum, DNS_DEFAULTS.minimum),
    },
    nameservers,
    ttl,
    listen: { port },
    unhealthy: s.unhealthy === "Fallback" ? "Fallback" : "Withdraw",
    records,
  };
  if (listen.pool) spec.listen.pool = listen.pool;
  if (listen.address) spec.listen.address = listen.address.trim();
  if (listen.engineGroup) spec.listen.engineGroup = listen.engineGroup;
  if (s.namespaces) spec.namespaces = [...s.namespaces];
  if (s.namespaceSelector) spec.namespaceSelector = s.namespaceSelector;
  // 0 responses per second turns rate limiting off (docs/dns.md).
  if (rps > 0)
    spec.rateLimit = {
      responsesPerSecond: rps,
      slip: number("spec.rateLimit.slip", s.rateLimit?.slip, DNS_DEFAULTS.slip),
    };
  if (forward.length > 0) spec.forward = forward;
  return { spec, problems };
}

/** recordProblem says why a static record cannot be published, or undefined when it can. */
function recordProblem(r: NonNullable<DnsZoneSpec["records"]>[number], zone: string): string | undefined {
  if (!r || typeof r !== "object") return "a record must be an object with name, type and value";
  const name = normalName(String(r.name ?? ""));
  if (!validName(name, true)) return `name ${JSON.stringify(r.name)} is not a DNS name`;
  if (!inZone(name, zone)) return `name ${name} is outside zone ${zone}`;
  const value = typeof r.value === "string" ? r.value : "";
  switch (r.type) {
    case "A":
      return parseIp(value)?.family === "IPv4"
        ? undefined
        : `A value ${JSON.stringify(r.value)} is not an IPv4 address`;
    case "AAAA":
      return parseIp(value)?.family === "IPv6"
        ? undefined
        : `AAAA value ${JSON.stringify(r.value)} is not an IPv6 address`;
    case "CNAME":
      if (name === zone) return "a CNAME cannot be at the zone's apex (it holds SOA and NS)";
      return validName(normalName(value))
        ? undefined
        : `CNAME target ${JSON.stringify(r.value)} is not a DNS name`;
    case "TXT":
      if (value.length === 0) return "TXT value is empty";
      return Buffer.byteLength(value) > MAX_TXT_BYTES
        ? `TXT value is ${Buffer.byteLength(value)} bytes, above ${MAX_TXT_BYTES}`
        : undefined;
    default:
      return `type ${JSON.stringify(r.type)} is not A, AAAA, CNAME or TXT`;
  }
}

/**
 * dropCnameConflicts drops each static CNAME whose name has other data (another static record,
 * a second CNAME, or an in-zone NS name, which gets the DNS VIP's addresses): a CNAME owns its
 * name alone (RFC 1034 3.6.2), and the engine refuses a whole snapshot that breaks that rule.
 */
function dropCnameConflicts(
  records: ZoneSpec["records"],
  nameservers: string[],
  problems: ZoneProblem[],
): void {
  const other = new Set([...nameservers, ...records.filter((r) => r.type !== "CNAME").map((r) => r.name)]);
  const cnames = new Set<string>();
  for (let i = 0; i < records.length; i++) {
    const r = records[i]!;
    if (r.type !== "CNAME") continue;
    if (!other.has(r.name) && !cnames.has(r.name)) {
      cnames.add(r.name);
      continue;
    }
    problems.push({
      reason: "InvalidRecord",
      field: `spec.records (CNAME ${r.name})`,
      message: `${r.name} has a CNAME and other data (a CNAME must be alone at its name, RFC 1034 3.6.2); the CNAME is dropped`,
    });
    records.splice(i--, 1);
  }
}

/** forwardAddress reads "ip" or "ip:port" ("[v6]:port" too) as "ip:port", or undefined. */
function forwardAddress(text: string): string | undefined {
  const t = text.trim();
  const bracket = /^\[([^\]]+)\](?::(\d+))?$/.exec(t);
  const plain = /^([^:]+)(?::(\d+))?$/.exec(t);
  const [host, port] = bracket ? [bracket[1]!, bracket[2]] : plain ? [plain[1]!, plain[2]] : [t, undefined];
  const ip = parseIp(host);
  const p = port === undefined ? 53 : Number(port);
  if (!ip || !(p >= 1 && p <= 65535)) return undefined;
  return ip.family === "IPv6" ? `[${host}]:${p}` : `${host}:${p}`;
}

/** namespaceAllowed applies spec.namespaces and spec.namespaceSelector (both must admit when set). */
export function namespaceAllowed(s: ZoneSpec, ns: string, labels: Readonly<Record<string, string>>): boolean {
  if (s.namespaces && !s.namespaces.includes(ns)) return false;
  if (
    s.namespaceSelector &&
    !matchesSelector(s.namespaceSelector, { ...labels, "kubernetes.io/metadata.name": ns })
  )
    return false;
  return true;
}
