// validate.ts: checks an EngineSnapshot is internally consistent before an engine compiles it.
// The translator should never produce a snapshot with problems; engines run this too, so a bad
// snapshot from any source is NACKed with a readable list instead of failing half-applied.
import { isIP, isIPv4, isIPv6 } from "node:net";
import type { DnsServer, EngineSnapshot, HttpListener, Route } from "./ir.ts";
import { checkAuth, checkErrorPages } from "./validate-auth.ts";
import { checkAccess, checkAffinity, checkWaf, sameKeyProblems } from "./validate-policy.ts";

/** validPort tells whether n is a TCP/UDP port number usable for listening or connecting. */
function validPort(n: number): boolean {
  return Number.isInteger(n) && n >= 1 && n <= 65535;
}

/** validateSnapshot lists the problems of a snapshot, empty when it is usable. */
export function validateSnapshot(s: EngineSnapshot): string[] {
  const problems: string[] = [];
  if (!Number.isInteger(s.version) || s.version < 0)
    problems.push(`version ${s.version} is not a non-negative integer`);
  const bound = new Map<string, string>();
  const bind = (name: string, address: string, port: number, proto: string) => {
    if (!isIP(address)) problems.push(`${name}: address ${JSON.stringify(address)} is not an IP literal`);
    if (!validPort(port)) problems.push(`${name}: port ${port} out of range 1-65535`);
    const id = `${address}:${port}/${proto}`;
    const other = bound.get(id);
    if (other) problems.push(`${name}: ${id} is also bound by ${other}`);
    else bound.set(id, name);
  };
  for (const l of s.l4) {
    bind(l.name, l.address, l.port, l.protocol);
    if (!s.pools[l.pool]) problems.push(`${l.name}: pool ${JSON.stringify(l.pool)} does not exist`);
    if (l.proxyProtocol !== undefined && l.protocol !== "TCP")
      problems.push(`${l.name}: proxyProtocol is TCP only`);
    if (!(l.idleTimeoutMs > 0)) problems.push(`${l.name}: idleTimeoutMs must be positive`);
  }
  for (const l of s.http) {
    bind(l.name, l.address, l.port, "TCP");
    problems.push(...checkHttp(s, l));
  }
  problems.push(
    ...sameKeyProblems(
      s.http.flatMap((l) => l.virtualHosts.flatMap((vh) => vh.routes.flatMap((r) => (r.waf ? [r.waf] : [])))),
    ),
  );
  for (const d of s.dns ?? []) {
    bind(d.name, d.address, d.port, "UDP");
    bind(d.name, d.address, d.port, "TCP");
    problems.push(...checkDns(d));
  }
  for (const [key, p] of Object.entries(s.pools)) {
    if (p.name !== key) problems.push(`pool ${key}: name ${JSON.stringify(p.name)} differs from its key`);
    const client = p.tls?.clientCertificate;
    if (client !== undefined && !s.certificates[client])
      problems.push(`pool ${key}: client certificate ${JSON.stringify(client)} does not exist`);
    for (const e of p.endpoints) {
      if (!isIP(e.address))
        problems.push(`pool ${key}: endpoint address ${JSON.stringify(e.address)} is not an IP literal`);
      if (!validPort(e.port)) problems.push(`pool ${key}: endpoint ${e.address} port ${e.port} out of range`);
      if (!(e.weight >= 0))
        problems.push(`pool ${key}: endpoint ${e.address}:${e.port} has a negative weight`);
    }
  }
  for (const [key, c] of Object.entries(s.certificates)) {
    if (!c.certPem.includes("-----BEGIN") || !c.keyPem.includes("-----BEGIN")) {
      problems.push(`certificate ${key}: not PEM`);
    }
  }
  return problems;
}

/** checkHttp checks one HTTP listener: certificates, host uniqueness, route references. */
function checkHttp(s: EngineSnapshot, l: HttpListener): string[] {
  const problems: string[] = [];
  const certRefs = [...(l.tls?.sni.map((e) => e.certificate) ?? [])];
  if (l.tls?.defaultCertificate) certRefs.push(l.tls.defaultCertificate);
  for (const a of l.tls?.alternates ?? []) certRefs.push(a.certificate);
  for (const c of certRefs) {
    if (!s.certificates[c]) problems.push(`${l.name}: certificate ${JSON.stringify(c)} does not exist`);
  }
  const hosts = new Set<string>();
  for (const vh of l.virtualHosts) {
    if (hosts.has(vh.hostname)) problems.push(`${l.name}: virtual host ${vh.hostname} appears twice`);
    hosts.add(vh.hostname);
    for (const r of vh.routes) problems.push(...checkRoute(s, `${l.name} ${vh.hostname}`, r));
  }
  if (l.maxConnections !== undefined && !(Number.isInteger(l.maxConnections) && l.maxConnections > 0))
    problems.push(`${l.name}: maxConnections ${l.maxConnections} is not a positive integer`);
  const names = new Set<string>();
  for (const r of l.sniRoutes ?? []) {
    if (names.has(r.hostname)) problems.push(`${l.name}: SNI route ${r.hostname} appears twice`);
    names.add(r.hostname);
    for (const b of r.backends) {
      if (!s.pools[b.pool])
        problems.push(`${l.name} SNI route ${r.name}: pool ${JSON.stringify(b.pool)} does not exist`);
    }
  }
  return problems;
}

/** checkRoute checks a route's pool references, path and statuses. */
function checkRoute(s: EngineSnapshot, where: string, r: Route): string[] {
  const problems: string[] = [];
  const at = `${where} route ${r.name}`;
  const { type, value } = r.match.path;
  if (type !== "RegularExpression" && !value.startsWith("/"))
    problems.push(`${at}: path ${JSON.stringify(value)} must start with "/"`);
  if (type === "RegularExpression") {
    try {
      new RegExp(value);
    } catch {
      problems.push(`${at}: invalid regular expression ${JSON.stringify(value)}`);
    }
  }
  if (r.action.type === "Forward") {
    const invalid = r.action.invalid ?? [];
    if (r.action.backends.length === 0 && invalid.length === 0)
      problems.push(`${at}: Forward without backends`);
    for (const b of invalid) {
      if (!(b.weight > 0))
        problems.push(`${at}: invalid backend ${JSON.stringify(b.ref)} needs a positive weight`);
    }
    for (const b of r.action.backends) {
      if (!s.pools[b.pool]) problems.push(`${at}: pool ${JSON.stringify(b.pool)} does not exist`);
    }
  } else if (r.action.status < 100 || r.action.status > 599) {
    problems.push(`${at}: status ${r.action.status} out of range`);
  }
  if (
    r.requestBodyBufferBytes !== undefined &&
    !(Number.isInteger(r.requestBodyBufferBytes) && r.requestBodyBufferBytes >= 0)
  )
    problems.push(`${at}: requestBodyBufferBytes ${r.requestBodyBufferBytes} is not a non-negative integer`);
  if (
    r.requestBodyTimeoutMs !== undefined &&
    !(Number.isInteger(r.requestBodyTimeoutMs) && r.requestBodyTimeoutMs > 0)
  )
    problems.push(`${at}: requestBodyTimeoutMs ${r.requestBodyTimeoutMs} is not a positive integer`);
  problems.push(...checkNginxFields(at, r));
  if (r.waf) problems.push(...checkWaf(at, r.waf));
  if (r.access) problems.push(...checkAccess(at, r.access));
  for (const a of r.extraAccess ?? []) problems.push(...checkAccess(at, a));
  if (r.affinity) problems.push(...checkAffinity(at, r.affinity));
  if (r.auth) problems.push(...checkAuth(s, at, r.auth));
  if (r.errorPages) problems.push(...checkErrorPages(s, at, r.errorPages));
  for (const f of r.filters ?? []) {
    if (f.type === "RequestMirror" && !s.pools[f.pool])
      problems.push(`${at}: mirror pool ${JSON.stringify(f.pool)} does not exist`);
    if (f.type === "RequestRedirect" && f.port !== undefined && !validPort(f.port))
      problems.push(`${at}: redirect port ${f.port} out of range`);
    if (f.type === "CORS") {
      for (const o of f.allowOrigins)
        if (o !== "*" && !/^https?:\/\/[^/]+$/.test(o))
          problems.push(`${at}: CORS origin ${JSON.stringify(o)} is not "*" or scheme://host[:port]`);
      if (f.maxAgeSeconds !== undefined && !(Number.isInteger(f.maxAgeSeconds) && f.maxAgeSeconds >= 0))
        problems.push(`${at}: CORS maxAgeSeconds ${f.maxAgeSeconds} is not a non-negative integer`);
    }
  }
  return problems;
}

/** checkNginxFields checks the route fields of issue 20's ingress-nginx annotations (ir.ts). */
function checkNginxFields(at: string, r: Route): string[] {
  const problems: string[] = [];
  const positive = (n: number | undefined) => n === undefined || (Number.isInteger(n) && n > 0);
  if (
    r.maxRequestBodyBytes !== undefined &&
    !(Number.isInteger(r.maxRequestBodyBytes) && r.maxRequestBodyBytes >= 0)
  )
    problems.push(`${at}: maxRequestBodyBytes ${r.maxRequestBodyBytes} is not a non-negative integer`);
  if (!positive(r.connectTimeoutMs))
    problems.push(`${at}: connectTimeoutMs ${r.connectTimeoutMs} is not a positive integer`);
  if (!positive(r.maxAttempts))
    problems.push(`${at}: maxAttempts ${r.maxAttempts} is not a positive integer`);
  for (const f of r.filters ?? []) {
    if (f.type === "RegexRewrite") {
      if (!validRegex(f.pattern))
        problems.push(`${at}: invalid rewrite pattern ${JSON.stringify(f.pattern)}`);
      if (f.replacement === "" || /[?\s]/.test(f.replacement))
        problems.push(
          `${at}: rewrite replacement ${JSON.stringify(f.replacement)} must be a path without "?" or spaces`,
        );
    } else if (f.type === "StaticRedirect") {
      if (!(Number.isInteger(f.statusCode) && f.statusCode >= 300 && f.statusCode <= 308))
        problems.push(`${at}: redirect status ${f.statusCode} is not 300–308`);
      if (f.location === "" || /[\s]/.test(f.location))
        problems.push(`${at}: redirect location ${JSON.stringify(f.location)} is empty or holds spaces`);
    }
  }
  return problems;
}

function validRegex(pattern: string): boolean {
  try {
    new RegExp(pattern);
    return true;
  } catch {
    return false;
  }
}

// DNS_LABEL is one lower-case label of a host name (letters, digits, "-" inside, "_" for service names).
const DNS_LABEL = /^(?:[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?)$/;

/** validDnsName tells whether name is a lower-case DNS name (wildcard first label allowed when wild). */
function validDnsName(name: string, wild: boolean): boolean {
  if (name.length === 0 || name.length > 253) return false;
  const labels = name.split(".");
  return labels.every((l, i) => DNS_LABEL.test(l) || (wild && i === 0 && l === "*"));
}

function validTtl(n: number): boolean {
  return Number.isInteger(n) && n >= 0 && n <= 0x7fffffff;
}

/** checkDns checks one DNS server: names, values and TTLs, records inside their zone, CNAMEs alone. */
function checkDns(d: DnsServer): string[] {
  const problems: string[] = [];
  const zones = new Set<string>();
  for (const z of d.zones) {
    const where = `${d.name}: zone ${JSON.stringify(z.name)}`;
    if (!validDnsName(z.name, false)) problems.push(`${where}: not a lower-case DNS name`);
    if (zones.has(z.name)) problems.push(`${where}: listed twice`);
    zones.add(z.name);
    const soa = z.soa;
    for (const n of [soa.mname, soa.rname, ...z.ns])
      if (!validDnsName(n, false))
        problems.push(`${where}: ${JSON.stringify(n)} is not a lower-case DNS name`);
    // The serial is a 32-bit sequence number (RFC 1982), not a TTL: past 2^31 is fine.
    if (!(Number.isInteger(soa.serial) && soa.serial >= 0 && soa.serial <= 0xffffffff))
      problems.push(`${where}: soa.serial ${soa.serial} is not an integer in 0..4294967295`);
    for (const [k, v] of Object.entries(soa))
      if (k !== "mname" && k !== "rname" && k !== "serial" && !validTtl(v as number))
        problems.push(`${where}: soa.${k} ${v} is not an integer in 0..2147483647`);
    if (!validTtl(z.nsTtl)) problems.push(`${where}: nsTtl ${z.nsTtl} is not a valid TTL`);
    const types = new Map<string, Set<string>>();
    for (const r of z.records) {
      const at = `${where}: ${r.type} ${JSON.stringify(r.name)}`;
      if (!validDnsName(r.name, true)) problems.push(`${at}: not a lower-case DNS name`);
      else if (r.name !== z.name && !r.name.endsWith(`.${z.name}`)) problems.push(`${at}: outside the zone`);
      if (!validTtl(r.ttl)) problems.push(`${at}: ttl ${r.ttl} is not valid`);
      const bad =
        (r.type === "A" && !isIPv4(r.value)) ||
        (r.type === "AAAA" && !isIPv6(r.value)) ||
        (r.type === "CNAME" && !validDnsName(r.value, false)) ||
        (r.type === "TXT" && Buffer.byteLength(r.value) > 4000);
      if (bad) problems.push(`${at}: value ${JSON.stringify(r.value)} is not valid for ${r.type}`);
      let set = types.get(r.name);
      if (set === undefined) types.set(r.name, (set = new Set()));
      set.add(r.type);
    }
    // A CNAME owns its name alone (RFC 1034 3.6.2), and the apex has SOA and NS.
    for (const [name, set] of types) {
      if (!set.has("CNAME")) continue;
      if (name === z.name) problems.push(`${where}: a CNAME at the apex`);
      else if (set.size > 1) problems.push(`${where}: ${JSON.stringify(name)} has a CNAME and other records`);
    }
    const cnames = z.records.filter((r) => r.type === "CNAME").map((r) => r.name);
    if (new Set(cnames).size !== cnames.length) problems.push(`${where}: a name has several CNAME records`);
  }
  const rl = d.rateLimit;
  if (rl && !(rl.responsesPerSecond >= 0 && Number.isInteger(rl.slip) && rl.slip >= 0))
    problems.push(`${d.name}: rateLimit needs responsesPerSecond >= 0 and an integer slip >= 0`);
  for (const f of d.forward ?? []) {
    const m = /^(?:\[([^\]]+)\]|([^:]+|[0-9a-f:]+))(?::(\d+))?$/i.exec(f);
    const addr = m?.[1] ?? m?.[2] ?? "";
    if (!isIP(addr) && !isIP(f))
      problems.push(`${d.name}: forward ${JSON.stringify(f)} is not "ip" or "ip:port"`);
  }
  return problems;
}
