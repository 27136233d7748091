// announce.ts: which VIP addresses are announced on the network, how, and with which BGP sessions
// (docs/engines.md, docs/networking.md). Pure, run by the pipeline after IPAM: only then is the
// pool, and so the announce mode, of each address known. The spec checks (announceProblem,
// bgpSpecProblems) run earlier, in hold.ts's checks, so a typo keeps the last valid pool or group
// serving; what this file reports are problems between objects: a BGP pool whose addresses land in a
// group without spec.bgp (NoBgpPeers), a peer whose password Secret is missing (SecretNotFound).
import { BITS, parseIp } from "../ipam/address.ts";
import { parseEntry } from "../ipam/ranges.ts";
import type { AllocationResult } from "../ipam/types.ts";
import type { EngineGroup, EngineGroupBgp } from "../k8s/engine-group.ts";
import type { Secret } from "../k8s/types.ts";
import type { VipPool, VipPoolAnnounce } from "../k8s/vip-pool.ts";
import type { AnnouncedVip, BgpPeer, BgpSpeaker } from "../model/ir.ts";

/** ANNOUNCED is the condition about a VIP's announcement (Service, Gateway, VipPool). */
export const ANNOUNCED = "portico.dev/Announced";
/** BGP_PEERS is the condition an EngineGroup carries when a BGP peer of its spec cannot be used. */
export const BGP_PEERS = "portico.dev/BgpPeers";
/** DEFAULT_LEASE_SECONDS is spec.announcement.leaseSeconds when unset. */
export const DEFAULT_LEASE_SECONDS = 3;
/** DEFAULT_WITHDRAW_DELAY_SECONDS is spec.announcement.withdrawDelaySeconds when unset. */
export const DEFAULT_WITHDRAW_DELAY_SECONDS = 2;
/** DEFAULT_HOLD_TIME_SECONDS is a peer's holdTimeSeconds when unset. */
export const DEFAULT_HOLD_TIME_SECONDS = 9;

/** GroupBgpPeer is a resolved peer with the nodes whose engines open it (absent: every node). */
export type GroupBgpPeer = BgpPeer & { nodes?: string[] };

/** GroupBgp is a group's BGP speaker with its passwords resolved; peers without one are left out. */
export interface GroupBgp extends Omit<BgpSpeaker, "peers"> {
  peers: GroupBgpPeer[];
}

/** AnnounceProblem is a condition to put on one object ("Kind/ns/name" or "Kind/name"). */
export interface AnnounceProblem {
  object: string;
  type: typeof ANNOUNCED | typeof BGP_PEERS;
  reason: string;
  message: string;
}

/** AnnounceResolution is resolveAnnounce's answer. */
export interface AnnounceResolution {
  /** vips are the announced addresses with their group, sorted by address. */
  vips: AnnouncedVip[];
  /** speakers are the groups with a usable spec.bgp, by name. */
  speakers: Record<string, GroupBgp>;
  problems: AnnounceProblem[];
}

const COMMUNITY = /^([0-9]{1,5}):([0-9]{1,5})$/;
/** PEER_NAME is the CRD's pattern for spec.bgp.peers[].name. */
const PEER_NAME = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
/** MAX_ASN is the highest usable ASN (4294967295 is reserved, RFC 7300). */
const MAX_ASN = 4294967294;
/** MAX_PASSWORD_BYTES is Linux's TCP-MD5 key limit (TCP_MD5SIG_MAXKEYLEN). */
const MAX_PASSWORD_BYTES = 80;
const MODES = ["None", "L2", "BGP"];

/** announceProblem says why a pool's spec.announce cannot be used, or undefined (hold.ts's pool check). */
export function announceProblem(pool: Pick<VipPool, "spec">): string | undefined {
  const a: unknown = pool.spec?.announce;
  if (a === undefined) return undefined;
  if (a === null || typeof a !== "object" || Array.isArray(a))
    return "spec.announce: must be a map of fields";
  const ann = a as VipPoolAnnounce;
  if (!MODES.includes(ann.mode))
    return `spec.announce.mode: ${JSON.stringify(ann.mode)} is not one of ${MODES.join(", ")}`;
  // Settings of the other mode would be silently ignored: say so instead.
  for (const [field, mode] of [
    ["l2", "L2"],
    ["bgp", "BGP"],
  ] as const)
    if (ann[field] !== undefined && ann.mode !== mode)
      return `spec.announce.${field}: only read when spec.announce.mode is ${mode} (it is ${ann.mode}); remove spec.announce.${field} or set the mode to ${mode}`;
  const ifs: unknown = ann.l2?.interfaces;
  if (ifs !== undefined) {
    if (!Array.isArray(ifs)) return "spec.announce.l2.interfaces: must be a list of interface names";
    const bad = ifs.find((i) => typeof i !== "string" || !/^[^\s/]{1,15}$/.test(i));
    if (bad !== undefined)
      return `spec.announce.l2.interfaces: ${JSON.stringify(bad)} is not an interface name (1-15 characters, no space or "/")`;
  }
  const bgp = ann.bgp;
  if (bgp === undefined) return undefined;
  const communities: unknown = bgp.communities ?? [];
  if (!Array.isArray(communities))
    return 'spec.announce.bgp.communities: must be a list of "ASN:VALUE" strings';
  for (const c of communities as unknown[]) {
    const m = typeof c === "string" ? COMMUNITY.exec(c) : null;
    if (!m || Number(m[1]) > 65535 || Number(m[2]) > 65535)
      return `spec.announce.bgp.communities: ${JSON.stringify(c)} is not a standard community "ASN:VALUE" (two numbers 0-65535, e.g. "65000:100")`;
  }
  const ranges = [
    ["localPref", bgp.localPref, 4294967295],
    ["aggregationLength", bgp.aggregationLength, 32],
    ["aggregationLengthV6", bgp.aggregationLengthV6, 128],
  ] as const;
  for (const [field, v, max] of ranges)
    if (v !== undefined && !(Number.isInteger(v) && v >= 0 && v <= max))
      return `spec.announce.bgp.${field}: ${JSON.stringify(v)} is not a whole number from 0 to ${max}`;
  // As MetalLB: the aggregate may not be wider than any CIDR block of the pool (a range counts as
  // the CIDR blocks it is made of). aggregationLength 0 would announce a default route, 8 a /8,
  // pulling traffic for addresses that are not the pool's.
  for (const [field, v, family] of [
    ["aggregationLength", bgp.aggregationLength, "IPv4"],
    ["aggregationLengthV6", bgp.aggregationLengthV6, "IPv6"],
  ] as const) {
    if (v === undefined) continue;
    const block = narrowestBlock(pool.spec?.addresses ?? [], family);
    if (block !== undefined && v < block.length)
      return `spec.announce.bgp.${field}: ${v} is shorter than /${block.length}, a block of the pool's ${JSON.stringify(block.entry)}: the aggregate would announce addresses that are not the pool's; use ${block.length} or more, or give the pool whole /${v} blocks`;
  }
  return undefined;
}

/** narrowestBlock is the longest prefix among the CIDR blocks the pool's entries of family are made of. */
function narrowestBlock(
  addresses: readonly unknown[],
  family: "IPv4" | "IPv6",
): { entry: string; length: number } | undefined {
  const w = BITS[family];
  let out: { entry: string; length: number } | undefined;
  for (const entry of addresses) {
    if (typeof entry !== "string") continue;
    const r = parseEntry(entry);
    if (typeof r === "string" || r.family !== family) continue;
    // Split [start, end] into aligned blocks, each the largest that fits, as a CIDR list would.
    for (let at = r.start; at <= r.end;) {
      let k = 0;
      while (k < w && at % (1n << BigInt(k + 1)) === 0n && at + (1n << BigInt(k + 1)) - 1n <= r.end) k++;
      if (out === undefined || w - k > out.length) out = { entry, length: w - k };
      at += 1n << BigInt(k);
    }
  }
  return out;
}

/** BgpSpecProblem is one problem of an EngineGroup's announcement or bgp fields. */
export interface BgpSpecProblem {
  reason: string;
  field: string;
  message: string;
}

/** bgpSpecProblems checks an EngineGroup's spec.announcement and spec.bgp, as the CRD's schema does. */
export function bgpSpecProblems(
  spec: Pick<NonNullable<EngineGroup["spec"]>, "announcement" | "bgp">,
): BgpSpecProblem[] {
  const out: BgpSpecProblem[] = [];
  const int = (field: string, v: unknown, min: number, max: number, required = false) => {
    if (v === undefined && !required) return;
    if (typeof v === "number" && Number.isInteger(v) && v >= min && v <= max) return;
    out.push({
      reason: field.startsWith("spec.bgp") ? "InvalidBgp" : "InvalidAnnouncement",
      field,
      message: `${field}: ${JSON.stringify(v ?? null)} is not a whole number from ${min} to ${max}`,
    });
  };
  int("spec.announcement.leaseSeconds", spec.announcement?.leaseSeconds, 1, 60);
  int("spec.announcement.withdrawDelaySeconds", spec.announcement?.withdrawDelaySeconds, 0, 300);
  const bgp = spec.bgp;
  if (bgp === undefined) return out;
  const bad = (field: string, message: string) => out.push({ reason: "InvalidBgp", field, message });
  // 4294967295 is reserved (RFC 7300) and refused by the engines' BIRD configuration.
  int("spec.bgp.asn", bgp.asn, 1, MAX_ASN, true);
  if (
    bgp.routerId !== undefined &&
    (typeof bgp.routerId !== "string" || parseIp(bgp.routerId)?.family !== "IPv4")
  )
    bad("spec.bgp.routerId", `spec.bgp.routerId: ${JSON.stringify(bgp.routerId)} is not an IPv4 address`);
  if (!Array.isArray(bgp.peers)) {
    bad("spec.bgp.peers", "spec.bgp.peers: must be a list of peers (address, asn)");
    return out;
  }
  const names = new Set<string>();
  bgp.peers.forEach((p, i) => {
    const f = `spec.bgp.peers[${i}]`;
    if (typeof p?.address !== "string" || parseIp(p.address) === undefined)
      bad(`${f}.address`, `${f}.address: ${JSON.stringify(p?.address ?? null)} is not an IP address`);
    else if (p.address.includes("%") || /^fe[89ab]/i.test(p.address))
      bad(`${f}.address`, `${f}.address: link-local ${p.address} is not supported; use a global address`);
    int(`${f}.asn`, p?.asn, 1, MAX_ASN, true);
    int(`${f}.port`, p?.port, 1, 65535);
    int(`${f}.holdTimeSeconds`, p?.holdTimeSeconds, 3, 65535);
    int(`${f}.keepaliveSeconds`, p?.keepaliveSeconds, 1, 21845);
    int(`${f}.ebgpMultihop`, p?.ebgpMultihop, 1, 255);
    // What the engines' BIRD configuration (announce/bird/config.ts) refuses is refused here, so
    // the group is held at its last valid version instead of every engine failing its speaker.
    if (p?.name !== undefined && (typeof p.name !== "string" || !PEER_NAME.test(p.name)))
      bad(
        `${f}.name`,
        `${f}.name: ${JSON.stringify(p.name)} is not a peer name (lower-case letters, digits and "-", 1-63 characters, starting and ending with a letter or digit)`,
      );
    const hold = p?.holdTimeSeconds ?? DEFAULT_HOLD_TIME_SECONDS;
    if (typeof p?.keepaliveSeconds === "number" && typeof hold === "number" && p.keepaliveSeconds >= hold)
      bad(
        `${f}.keepaliveSeconds`,
        `${f}.keepaliveSeconds: ${p.keepaliveSeconds} must be below the hold time (${hold} s)`,
      );
    if (p?.ebgpMultihop !== undefined && p.asn === bgp.asn)
      bad(
        `${f}.ebgpMultihop`,
        `${f}.ebgpMultihop: applies to eBGP only; this peer has the group's ASN ${bgp.asn} (iBGP)`,
      );
    if (p?.ebgpMultihop !== undefined && p.bfd === true)
      bad(
        `${f}.bfd`,
        `${f}.bfd: BFD on a multihop session is not supported; set bfd false or peer with a directly connected router`,
      );
    if (p?.passwordSecretRef !== undefined && !p.passwordSecretRef?.name)
      bad(`${f}.passwordSecretRef.name`, `${f}.passwordSecretRef.name: name the Secret holding the password`);
    const name = peerName(p ?? {}, i);
    if (names.has(name))
      bad(`${f}.name`, `${f}.name: ${JSON.stringify(name)} names two peers; give each peer its own name`);
    names.add(name);
  });
  return out;
}

/** peerName is a peer's name in status and metrics: its own, else "peer-N" by its position. */
function peerName(p: { name?: string }, i: number): string {
  return p.name?.trim() ? p.name.trim() : `peer-${i}`;
}

/** AnnounceInput is what resolveAnnounce reads. */
export interface AnnounceInput {
  /** results are IPAM's answers by VIP request key. */
  results: Readonly<Record<string, AllocationResult>>;
  /** vipOf maps an object key to its VIP request key (translation's vipOf). */
  vipOf: Readonly<Record<string, string>>;
  pools: readonly VipPool[];
  /** groupOf maps each served address to its EngineGroup. */
  groupOf: Readonly<Record<string, string>>;
  /** groups are the EngineGroup manifests in force (held at their last valid version). */
  groups: readonly EngineGroup[];
  secrets: readonly Secret[];
  /** secretNamespace is where a passwordSecretRef without a namespace is looked up (the controller's). */
  secretNamespace: string;
}

/** resolveAnnounce lists the announced addresses and each group's BGP speaker. Pure. */
export function resolveAnnounce(input: AnnounceInput): AnnounceResolution {
  const problems: AnnounceProblem[] = [];
  const speakers: Record<string, GroupBgp> = {};
  for (const g of [...input.groups].sort((a, b) => (a.metadata.name < b.metadata.name ? -1 : 1))) {
    const bgp = g.spec?.bgp;
    if (bgp === undefined) continue;
    speakers[g.metadata.name] = resolveSpeaker(g.metadata.name, bgp, input, problems);
  }
  const poolByName = new Map(input.pools.map((p) => [p.metadata.name, p]));
  const vips = new Map<string, AnnouncedVip>();
  // Which pools and objects could not be announced, by reason, to tell each once.
  const unannounced = new Map<string, { pool: string; group: string; address: string }>();
  const addressOwner = new Map<string, string[]>();
  for (const [object, vip] of Object.entries(input.vipOf)) {
    const r = input.results[vip];
    if (!r?.ok) continue;
    r.addresses.forEach((address) =>
      addressOwner.set(address, [...(addressOwner.get(address) ?? []), object]),
    );
  }
  for (const r of Object.values(input.results)) {
    if (!r.ok) continue;
    r.addresses.forEach((address, i) => {
      const poolName = r.pools[i] ?? "";
      const pool = poolByName.get(poolName);
      const ann = pool?.spec?.announce;
      if (ann === undefined || (ann.mode !== "L2" && ann.mode !== "BGP") || vips.has(address)) return;
      // A pool invalid since it was first read has no last valid version to hold (hold.ts) and
      // comes here as read: its announcement is not made (fail closed; InputValid=False says why)
      // rather than handing engines a default route (aggregationLength 0) or a bad community.
      if (announceProblem(pool!) !== undefined) return;
      const group = input.groupOf[address];
      if (group === undefined) return;
      if (ann.mode === "BGP" && (speakers[group]?.peers.length ?? 0) === 0) {
        unannounced.set(address, { pool: poolName, group, address });
        return;
      }
      vips.set(address, announced(address, group, poolName, ann));
    });
  }
  const byPool = new Map<string, { group: string; addresses: string[] }[]>();
  for (const u of [...unannounced.values()].sort((a, b) => (a.address < b.address ? -1 : 1))) {
    const why = noPeers(u.group, speakers[u.group] !== undefined);
    const list = byPool.get(u.pool) ?? [];
    const same = list.find((x) => x.group === u.group);
    if (same) same.addresses.push(u.address);
    else list.push({ group: u.group, addresses: [u.address] });
    byPool.set(u.pool, list);
    for (const object of addressOwner.get(u.address) ?? [])
      problems.push({
        object,
        type: ANNOUNCED,
        reason: "NoBgpPeers",
        message: `${u.address} (pool ${u.pool}, mode BGP) is not announced: ${why}`,
      });
  }
  for (const [pool, list] of byPool)
    problems.push({
      object: `VipPool/${pool}`,
      type: ANNOUNCED,
      reason: "NoBgpPeers",
      message: list
        .map(
          (x) =>
            `${x.addresses.join(", ")} not announced: ${noPeers(x.group, speakers[x.group] !== undefined)}`,
        )
        .join("; "),
    });
  return {
    vips: [...vips.values()].sort((a, b) => (a.address < b.address ? -1 : a.address > b.address ? 1 : 0)),
    speakers,
    problems: dedupe(problems),
  };
}

/** noPeers says why a group cannot announce by BGP and what to do. */
function noPeers(group: string, hasBgp: boolean): string {
  return hasBgp
    ? `EngineGroup ${group} has no usable BGP peer (see its ${BGP_PEERS} condition)`
    : `EngineGroup ${group} has no spec.bgp; add spec.bgp (asn, peers) to the group, or set the pool's spec.announce.mode to L2 or None`;
}

/** announced is one address as the full snapshot lists it, with its pool's options for its family. */
function announced(address: string, group: string, pool: string, ann: VipPoolAnnounce): AnnouncedVip {
  const out: AnnouncedVip = { address, group, pool, mode: ann.mode as "L2" | "BGP" };
  if (ann.mode === "L2") {
    if ((ann.l2?.interfaces?.length ?? 0) > 0) out.interfaces = [...ann.l2!.interfaces!];
    return out;
  }
  const b = ann.bgp ?? {};
  if ((b.communities?.length ?? 0) > 0) out.communities = [...b.communities!];
  if (b.localPref !== undefined) out.localPref = b.localPref;
  const agg = parseIp(address)?.family === "IPv6" ? b.aggregationLengthV6 : b.aggregationLength;
  if (agg !== undefined) out.aggregationLength = agg;
  return out;
}

/** resolveSpeaker resolves a group's spec.bgp; a peer whose password cannot be read is left out. */
function resolveSpeaker(
  group: string,
  bgp: EngineGroupBgp,
  input: AnnounceInput,
  problems: AnnounceProblem[],
): GroupBgp {
  const secrets = new Map(input.secrets.map((s) => [`${s.metadata.namespace ?? ""}/${s.metadata.name}`, s]));
  const peers: GroupBgpPeer[] = [];
  const missing: string[] = [];
  let notFound = false;
  (bgp.peers ?? []).forEach((p, i) => {
    const name = peerName(p, i);
    const peer: GroupBgpPeer = {
      name,
      address: p.address,
      asn: p.asn,
      holdTimeSeconds: p.holdTimeSeconds ?? DEFAULT_HOLD_TIME_SECONDS,
      bfd: p.bfd === true,
    };
    if (p.port !== undefined) peer.port = p.port;
    if (p.keepaliveSeconds !== undefined) peer.keepaliveSeconds = p.keepaliveSeconds;
    if (p.ebgpMultihop !== undefined) peer.ebgpMultihop = p.ebgpMultihop;
    if ((p.nodes?.length ?? 0) > 0) peer.nodes = [...p.nodes!];
    const ref = p.passwordSecretRef;
    if (ref !== undefined) {
      const ns = ref.namespace ?? input.secretNamespace;
      const key = ref.key ?? "password";
      const s = secrets.get(`${ns}/${ref.name}`);
      const value = s?.data?.[key];
      const password = value === undefined ? undefined : Buffer.from(value, "base64").toString("utf8");
      // Fail closed: a session the network expects to be signed is not opened unsigned.
      if (password === undefined || password === "") {
        notFound = true;
        missing.push(
          s === undefined
            ? `peer ${name} (${p.address}): Secret ${ns}/${ref.name} not found`
            : `peer ${name} (${p.address}): Secret ${ns}/${ref.name} has no key ${JSON.stringify(key)} (or it is empty)`,
        );
        return;
      }
      // A password BIRD cannot be given (it goes between quotes in its configuration) would fail
      // every session of the engine, not only this one: this peer is left out. Never echoed.
      if (Buffer.byteLength(password) > MAX_PASSWORD_BYTES || /["\\\p{Cc}]/u.test(password)) {
        missing.push(
          `peer ${name} (${p.address}): the password in Secret ${ns}/${ref.name} key ${JSON.stringify(key)} is unusable: it must be 1-${MAX_PASSWORD_BYTES} bytes without quotes, backslashes or control characters (line breaks)`,
        );
        return;
      }
      peer.password = password;
    }
    peers.push(peer);
  });
  if (missing.length > 0)
    problems.push({
      object: `EngineGroup/${group}`,
      type: BGP_PEERS,
      reason: notFound ? "SecretNotFound" : "InvalidPassword",
      message: `${missing.join("; ")}; no session is opened to these peers without their password: create the Secret with the key, of type kubernetes.io/basic-auth in a cluster (kubectl -n NAMESPACE create secret generic NAME --type=kubernetes.io/basic-auth --from-literal=password=...); a passwordSecretRef without a namespace names one in the controller's namespace`,
    });
  const out: GroupBgp = { asn: bgp.asn, peers };
  if (bgp.routerId !== undefined) out.routerId = bgp.routerId;
  return out;
}

/** dedupe keeps one problem per object and type, joining the messages of several. */
function dedupe(problems: AnnounceProblem[]): AnnounceProblem[] {
  const out = new Map<string, AnnounceProblem>();
  for (const p of problems) {
    const k = `${p.object}\n${p.type}`;
    const had = out.get(k);
    if (had) had.message = `${had.message}; ${p.message}`;
    else out.set(k, { ...p });
  }
  return [...out.values()].sort((a, b) => (a.object < b.object ? -1 : a.object > b.object ? 1 : 0));
}
