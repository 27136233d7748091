// config.ts: the BIRD 2 configuration of one engine's BGP speaker, generated from the IR (pure;
// golden files in testdata/, each also parsed by `bird -p`). BIRD reads this file at start and on
// `birdc configure`, which reloads it in place: a changed export filter re-feeds the sessions
// without resetting them, so only peers whose own settings changed are restarted.
//
// What is exported, and why it ends with the lease. `protocol direct` turns every address on
// `lo` into a route of its prefix in the tables portico4/portico6, and the BGP sessions export
// from those tables only (no kernel protocol, no static routes): a route exists exactly while an
// address on lo produces it. The export filter then lets through only the prefixes of the
// BgpRoutes given, and only routes from the direct protocol (`source = RTS_DEVICE`), adding each
// route's communities and local preference. The announcer adds a VIP to lo with the lease
// (valid_lft), so when an engine freezes, the kernel deletes the address, BIRD's direct protocol
// withdraws its route, and the sessions withdraw the prefix — nobody has to be alive to clean up.
//
// Aggregation: BIRD 2.0 cannot build an aggregate from other routes (no aggregator protocol before
// 2.14), and a covering prefix that no address produces would outlive the lease. So a BgpRoute
// with a covering prefix (192.0.2.0/24) is backed by the VIP added to lo *with that prefix
// length* and `noprefixroute` (`ip addr add 192.0.2.10/24 dev lo noprefixroute valid_lft …`):
// the direct protocol's route for it is then 192.0.2.0/24 itself, living as long as the address.
// noprefixroute matters: without it the kernel makes the whole /24 local on lo and this engine
// would answer for its neighbours' addresses. A VIP added as /32 produces only 192.0.2.10/32, so
// a /24 BgpRoute with only /32 addresses behind it is never exported (fail-safe, not a leak).
// Caveats for the announcer when two VIPs of one engine share a covering prefix (measured on
// BIRD 2.0.12, Linux): IPv4 needs net.ipv4.conf.lo.promote_secondaries=1, else deleting the first
// address makes the kernel delete the second too; IPv6 has no promotion, and BIRD withdraws the
// covering route when either address goes and does not bring it back for the one left, so an
// IPv6 aggregate should be backed by one /N address per engine.
import { createHash } from "node:crypto";
import { isIPv4, isIPv6 } from "node:net";
import type { BgpPeer, BgpSpeaker } from "../../model/ir.ts";
import type { BgpRoute } from "../types.ts";

/** BirdConfigError rejects a setting BIRD cannot be given safely; code is stable for status and logs. */
export class BirdConfigError extends Error {
  readonly code: string;
  /** object names what is wrong: `peer "edge/r1"`, `route 192.0.2.0/24`, `speaker`. */
  readonly object: string;
  constructor(code: string, object: string, message: string) {
    super(`${object}: ${message}`);
    this.code = code;
    this.object = object;
  }
}

/**
 * BGP_TIMERS are the session timers every peer gets, in seconds. BIRD's defaults (connect delay
 * 5, connect retry 120, error wait 60–300) would leave an engine up to 5 minutes without a session
 * after a router restart; with these a restarted router is re-peered within about connectRetry +
 * errorWaitMin seconds of it listening again, and a flapping one backs off to errorWaitMax.
 */
export const BGP_TIMERS = {
  /** connectDelay: first connect attempt this long after (re)start of the session. */
  connectDelay: 1,
  /** connectRetry: retry a failed TCP connect (router down, refused) this often. */
  connectRetry: 2,
  /** errorWait: restart a session this long after an error, doubling on repeated errors up to the max. */
  errorWaitMin: 1,
  errorWaitMax: 10,
  /** errorForget: errors further apart than this do not count as one sequence (the wait resets). */
  errorForget: 30,
} as const;

/** BirdConfig is the configuration text and which BIRD protocol carries which peer. */
export interface BirdConfig {
  text: string;
  /** protocols maps the BIRD protocol name (`show protocols`) to the peer's name. */
  protocols: Map<string, string>;
}

/** birdConfig renders the whole configuration; it throws BirdConfigError for unsafe or impossible input. */
export function birdConfig(speaker: BgpSpeaker, routes: readonly BgpRoute[]): BirdConfig {
  checkAsn(speaker.asn, "speaker");
  if (speaker.routerId !== undefined && !isIPv4(speaker.routerId)) {
    throw new BirdConfigError(
      "InvalidRouterId",
      "speaker",
      `routerId ${JSON.stringify(speaker.routerId)} is not an IPv4 address`,
    );
  }
  const parsed = routes.map(checkRoute);
  const seen = new Set<string>();
  for (const r of parsed) {
    if (seen.has(r.prefix))
      throw new BirdConfigError("DuplicateRoute", `route ${r.prefix}`, "listed twice; give each prefix once");
    seen.add(r.prefix);
  }
  const peers = [...speaker.peers].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const protocols = new Map<string, string>();
  for (const p of peers) {
    checkPeer(p, speaker.asn);
    const name = protocolName(p.name);
    if (protocols.has(name))
      throw new BirdConfigError(
        "DuplicatePeer",
        `peer ${JSON.stringify(p.name)}`,
        "two peers have this name",
      );
    protocols.set(name, p.name);
  }
  // A route goes to the peers of its own address family (an IPv6 prefix over an IPv4 session needs
  // a local IPv6 next hop we cannot know); a family with routes but no peer is reported, not dropped.
  for (const fam of [4, 6] as const) {
    const r = parsed.find((x) => x.family === fam);
    if (r && !peers.some((p) => family(p.address) === fam)) {
      throw new BirdConfigError(
        "NoPeerForFamily",
        `route ${r.prefix}`,
        `no BGP peer has an IPv${fam} address; add one or remove the IPv${fam} VIP from the BGP pool`,
      );
    }
  }

  const out: string[] = [
    "# Generated by Portico (src/announce/bird/config.ts); rewritten on every change. Holds peer passwords: mode 0600.",
    "log stderr { warning, error, fatal, bug, auth, remote };",
    'timeformat protocol "%s";',
  ];
  if (speaker.routerId !== undefined) out.push(`router id ${speaker.routerId};`);
  out.push(
    "",
    "ipv4 table portico4;",
    "ipv6 table portico6;",
    "",
    "# Interface and address changes come from netlink at once; the scan only repairs missed events.",
    "protocol device {",
    "  scan time 10;",
    "}",
    "",
    "# The lease-held VIP addresses on lo become routes here, and only while they exist (see config.ts).",
    "protocol direct portico_lo {",
    "  ipv4 { table portico4; };",
    "  ipv6 { table portico6; };",
    '  interface "lo";',
    "}",
  );
  for (const fam of [4, 6] as const)
    out.push(
      "",
      ...exportFilter(
        fam,
        parsed.filter((r) => r.family === fam),
      ),
    );
  if (peers.some((p) => p.bfd)) {
    out.push(
      "",
      "# 100 ms × 3: a dead link or router is noticed in 300 ms, well before the hold time.",
      "protocol bfd portico_bfd {",
      '  interface "*" { interval 100 ms; multiplier 3; };',
      "}",
    );
  }
  for (const p of peers) out.push("", ...peerProtocol(p, speaker.asn, protocolName(p.name)));
  return { text: out.join("\n") + "\n", protocols };
}

interface ParsedRoute {
  prefix: string;
  family: 4 | 6;
  communities: [number, number][];
  localPref: number | undefined;
}

function exportFilter(fam: 4 | 6, routes: ParsedRoute[]): string[] {
  const out = [`filter portico_export${fam}`, "{", "  if source != RTS_DEVICE then reject;"];
  for (const r of routes) {
    out.push(`  if net = ${r.prefix} then {`);
    for (const [a, b] of r.communities) out.push(`    bgp_community.add((${a}, ${b}));`);
    if (r.localPref !== undefined) out.push(`    bgp_local_pref = ${r.localPref};`);
    out.push("    accept;", "  }");
  }
  out.push("  reject;", "}");
  return out;
}

function peerProtocol(p: BgpPeer, localAs: number, name: string): string[] {
  const fam = family(p.address);
  const t = BGP_TIMERS;
  const out = [
    `protocol bgp ${name} {`,
    `  description "${p.name}";`,
    `  local as ${localAs};`,
    `  neighbor ${p.address} port ${p.port ?? 179} as ${p.asn};`,
    `  hold time ${p.holdTimeSeconds};`,
    `  startup hold time ${p.holdTimeSeconds};`,
  ];
  if (p.keepaliveSeconds !== undefined) out.push(`  keepalive time ${p.keepaliveSeconds};`);
  out.push(
    `  connect delay time ${t.connectDelay};`,
    `  connect retry time ${t.connectRetry};`,
    `  error wait time ${t.errorWaitMin}, ${t.errorWaitMax};`,
    `  error forget time ${t.errorForget};`,
    "  # The router must drop this engine's routes the moment the session ends, not keep them as stale.",
    "  graceful restart off;",
  );
  if (p.ebgpMultihop !== undefined) out.push(`  multihop ${p.ebgpMultihop};`);
  // BIRD runs iBGP as multihop by default, and multihop BFD needs a local address the IR does not
  // carry: an iBGP peer with BFD is taken as directly connected (the usual ToR), single-hop BFD.
  if (p.bfd && p.asn === localAs) out.push("  direct;");
  if (p.password !== undefined) out.push(`  password "${p.password}";`);
  if (p.bfd) out.push("  bfd on;");
  out.push(
    `  ipv${fam} {`,
    `    table portico${fam};`,
    "    import none;",
    `    export filter portico_export${fam};`,
    "    next hop self;",
    "  };",
    "}",
  );
  return out;
}

/** protocolName is the BIRD identifier for a peer: readable, and stable while the peer's name is. */
export function protocolName(peer: string): string {
  const hash = createHash("sha256").update(peer).digest("hex").slice(0, 8);
  return `peer_${peer.replace(/[^A-Za-z0-9]/g, "_").slice(0, 32)}_${hash}`;
}

// Strings end up inside "…" in the configuration: a quote, backslash or line break would let a
// value close the string and add configuration of its own.
const unsafeText = /["\\\p{Cc}]/u;

function checkPeer(p: BgpPeer, localAs: number): void {
  const obj = `peer ${JSON.stringify(p.name)}`;
  if (p.name === "" || p.name.length > 200 || unsafeText.test(p.name)) {
    throw new BirdConfigError(
      "InvalidPeerName",
      obj,
      "name must be 1–200 characters without quotes, backslashes or control characters",
    );
  }
  if (!isIPv4(p.address) && !isIPv6(p.address)) {
    throw new BirdConfigError(
      "InvalidPeerAddress",
      obj,
      `address ${JSON.stringify(p.address)} is not an IP address`,
    );
  }
  if (p.address.includes("%") || /^fe[89ab]/i.test(p.address)) {
    throw new BirdConfigError(
      "InvalidPeerAddress",
      obj,
      `link-local address ${p.address} is not supported; use a global address`,
    );
  }
  checkAsn(p.asn, obj);
  if (p.port !== undefined) checkInt(p.port, 1, 65535, obj, "port");
  checkInt(p.holdTimeSeconds, 3, 65535, obj, "holdTimeSeconds");
  if (p.keepaliveSeconds !== undefined) {
    checkInt(p.keepaliveSeconds, 1, 65535, obj, "keepaliveSeconds");
    if (p.keepaliveSeconds >= p.holdTimeSeconds) {
      throw new BirdConfigError(
        "InvalidTimer",
        obj,
        `keepaliveSeconds ${p.keepaliveSeconds} must be below holdTimeSeconds ${p.holdTimeSeconds}`,
      );
    }
  }
  if (p.ebgpMultihop !== undefined) {
    checkInt(p.ebgpMultihop, 1, 255, obj, "ebgpMultihop");
    if (p.asn === localAs)
      throw new BirdConfigError(
        "InvalidMultihop",
        obj,
        "ebgpMultihop applies to eBGP only; this peer has the speaker's ASN (iBGP)",
      );
    if (p.bfd) {
      throw new BirdConfigError(
        "BfdMultihop",
        obj,
        "BFD on a multihop session needs a local address Portico does not configure; set bfd false for this peer or peer with a directly connected router",
      );
    }
  }
  if (p.password !== undefined) {
    // Linux keeps at most 80 bytes of TCP-MD5 key (TCP_MD5SIG_MAXKEYLEN). The value is never echoed.
    if (p.password === "" || Buffer.byteLength(p.password) > 80 || unsafeText.test(p.password)) {
      throw new BirdConfigError(
        "InvalidPassword",
        obj,
        "password must be 1–80 bytes without quotes, backslashes or control characters (line breaks); fix the Secret it comes from",
      );
    }
  }
}

function checkRoute(r: BgpRoute): ParsedRoute {
  const obj = `route ${JSON.stringify(r.prefix)}`;
  const prefix = canonicalPrefix(r.prefix);
  if (prefix === undefined) {
    throw new BirdConfigError(
      "InvalidPrefix",
      obj,
      "not a prefix with its host bits zero (like 192.0.2.0/24 or 2001:db8::10/128)",
    );
  }
  const communities = r.communities.map((c): [number, number] => {
    const m = /^(\d{1,5}):(\d{1,5})$/.exec(c);
    const a = Number(m?.[1]);
    const b = Number(m?.[2]);
    if (!m || a > 65535 || b > 65535) {
      throw new BirdConfigError(
        "InvalidCommunity",
        obj,
        `community ${JSON.stringify(c)} is not ASN:value with both parts 0–65535`,
      );
    }
    return [a, b];
  });
  if (r.localPref !== undefined) checkInt(r.localPref, 0, 4294967295, obj, "localPref");
  return { prefix, family: prefix.includes(":") ? 6 : 4, communities, localPref: r.localPref };
}

function checkAsn(asn: number, obj: string): void {
  checkInt(asn, 1, 4294967294, obj, "asn");
}

function checkInt(v: number, min: number, max: number, obj: string, field: string): void {
  if (!Number.isInteger(v) || v < min || v > max) {
    throw new BirdConfigError("InvalidValue", obj, `${field} ${v} must be an integer from ${min} to ${max}`);
  }
}

function family(address: string): 4 | 6 {
  return isIPv4(address) ? 4 : 6;
}

/** canonicalPrefix returns "addr/len" when text is a prefix with no host bits set, else undefined. */
export function canonicalPrefix(text: string): string | undefined {
  const m = /^([^/]+)\/(\d{1,3})$/.exec(text);
  if (!m) return undefined;
  const [, addr, lenText] = m as unknown as [string, string, string];
  const len = Number(lenText);
  const v4 = isIPv4(addr);
  if (!v4 && (!isIPv6(addr) || addr.includes("%") || addr.includes("."))) return undefined;
  const bits = v4 ? 32 : 128;
  if (len > bits) return undefined;
  const value = v4 ? v4Value(addr) : v6Value(addr);
  const hostMask = (1n << BigInt(bits - len)) - 1n;
  if ((value & hostMask) !== 0n) return undefined;
  return `${addr.toLowerCase()}/${len}`;
}

function v4Value(addr: string): bigint {
  return addr.split(".").reduce((acc, part) => (acc << 8n) | BigInt(Number(part)), 0n);
}

function v6Value(addr: string): bigint {
  const [head = "", tail] = addr.split("::") as [string, string | undefined];
  const h = head === "" ? [] : head.split(":");
  const t = tail === undefined || tail === "" ? [] : tail.split(":");
  const groups = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill("0"), ...t];
  return groups.reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g, 16)), 0n);
}
