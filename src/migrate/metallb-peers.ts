// metallb-peers.ts: MetalLB's BGPPeer objects → one EngineGroup's spec.bgp (Portico's engines of a
// group speak one ASN to a list of peers; docs/networking.md). A TCP-MD5 password written in the
// BGPPeer moves into a Secret the peer references, as Portico takes passwords only from Secrets.
import type { EngineGroupBgp } from "../k8s/engine-group.ts";
import { isObject } from "./workspace.ts";
import type { Src } from "./metallb-common.ts";
import { seconds } from "./metallb-common.ts";

type Peer = EngineGroupBgp["peers"][number];

/** HOSTNAME_LABEL is the node label whose values Portico's peers.nodes can take directly. */
const HOSTNAME_LABEL = "kubernetes.io/hostname";

/** PeerResult is one BGPPeer converted (peer absent: not convertible, reported) plus a Secret to write. */
export interface PeerResult {
  peer?: Peer;
  myASN?: number;
  routerId?: string;
  secret?: Record<string, unknown>;
  /** password is the secret value in secret, so printed output can hide it. */
  password?: string;
}

/** peerOf converts one BGPPeer; bfdProfiles are the BFDProfile names present in the input. */
export function peerOf(src: Src, bfdProfiles: Set<string>): PeerResult {
  const out: PeerResult = {};
  const myASN = src.get("myASN");
  if (typeof myASN === "number") out.myASN = myASN;
  const address = src.get("peerAddress");
  const asn = src.get("peerASN");
  src.lost(
    "interface",
    "unnumbered BGP (peering over an interface without an address) is not supported; give the peer an address",
  );
  src.lost("dynamicASN", "Portico's peers name their ASN; set peerASN");
  const problems: string[] = [];
  if (typeof address !== "string" || address === "") problems.push("it has no peerAddress");
  if (typeof asn !== "number" || asn === 0) problems.push("it has no peerASN");
  if (typeof myASN !== "number") problems.push("it has no myASN");
  const peer: Peer = { name: src.name, address: String(address ?? ""), asn: Number(asn ?? 0) };
  const port = src.get("peerPort");
  if (typeof port === "number" && port !== 179) peer.port = port;
  const hold = src.get("holdTime");
  if (hold !== undefined) {
    const s = seconds(hold);
    if (s === undefined || !Number.isInteger(s) || s < 3 || s > 65535)
      src.note(
        "lost",
        "holdTime",
        `${JSON.stringify(hold)} not carried: Portico's holdTimeSeconds is whole seconds from 3 to 65535 (default 9)`,
      );
    else peer.holdTimeSeconds = s;
  }
  const keep = src.get("keepaliveTime");
  if (keep !== undefined) {
    const s = seconds(keep);
    if (s === undefined || !Number.isInteger(s) || s < 1)
      src.note(
        "lost",
        "keepaliveTime",
        `${JSON.stringify(keep)} not carried: Portico's keepaliveSeconds is whole seconds (default a third of the hold time)`,
      );
    else peer.keepaliveSeconds = s;
  }
  const routerId = src.get("routerID");
  if (typeof routerId === "string" && routerId !== "") out.routerId = routerId;
  nodesOf(src, peer);
  passwordOf(src, peer, out);
  const bfd = src.get("bfdProfile");
  if (typeof bfd === "string" && bfd !== "") {
    peer.bfd = true;
    src.note(
      "carried",
      "bfdProfile",
      `${JSON.stringify(bfd)}: BFD is on for the peer, with BIRD's default timers (${bfdProfiles.has(bfd) ? "the BFDProfile's timers are not carried" : "no BFDProfile of that name in the input"})`,
    );
  }
  if (src.get("ebgpMultiHop") === true) {
    peer.ebgpMultihop = 255;
    src.note("carried", "ebgpMultiHop", "true: ebgpMultihop 255 (FRR's `ebgp-multihop` without a count)");
  }
  src.lost(
    "sourceAddress",
    "BIRD picks the source address from the route to the peer; Portico has no per-peer source address",
  );
  src.lost("connectTime", "BIRD's connect retry timer is not configurable in Portico");
  src.lost(
    "enableGracefulRestart",
    "Portico's engines withdraw and re-announce on restart (docs/networking.md); graceful restart is not offered",
  );
  src.lost("vrf", "Portico's BGP sessions run in the engine's network namespace, not in a VRF");
  src.lost("disableMP", "BIRD opens one session per peer address family as Portico configures it");
  src.lost(
    "dualStackAddressFamily",
    "BIRD opens one session per peer address family as Portico configures it",
  );
  src.rest();
  if (problems.length > 0) {
    src.note("error", "", `not converted: ${problems.join(", ")}`);
    return out;
  }
  out.peer = peer;
  return out;
}

// nodesOf turns nodeSelectors on kubernetes.io/hostname into peers.nodes; any other selector is reported.
function nodesOf(src: Src, peer: Peer) {
  const sels = src.get("nodeSelectors");
  if (!Array.isArray(sels) || sels.length === 0) return;
  const nodes: string[] = [];
  for (const s of sels) {
    const labels = isObject(s) && isObject(s.matchLabels) ? Object.entries(s.matchLabels) : [];
    const exprs = isObject(s) && Array.isArray(s.matchExpressions) ? s.matchExpressions : [];
    const byName =
      labels.every(([k]) => k === HOSTNAME_LABEL) &&
      exprs.every((e) => isObject(e) && e.key === HOSTNAME_LABEL && e.operator === "In") &&
      labels.length + exprs.length === 1;
    if (!byName) {
      src.note(
        "lost",
        "nodeSelectors",
        `${JSON.stringify(s)} not carried: Portico's peers.nodes lists node names (a selector on ${HOSTNAME_LABEL} converts); place the engines with the EngineGroup's placement.nodeSelector instead`,
      );
      continue;
    }
    for (const [, v] of labels) nodes.push(String(v));
    for (const e of exprs)
      nodes.push(...(isObject(e) && Array.isArray(e.values) ? e.values.map(String) : []));
  }
  if (nodes.length > 0) peer.nodes = [...new Set(nodes)];
}

// passwordOf: a passwordSecret becomes passwordSecretRef; a plain password moves into a new Secret.
function passwordOf(src: Src, peer: Peer, out: PeerResult) {
  const ref = src.get("passwordSecret");
  const plain = src.get("password");
  if (isObject(ref) && typeof ref.name === "string" && ref.name !== "") {
    const namespace =
      typeof ref.namespace === "string" && ref.namespace !== "" ? ref.namespace : src.namespace;
    peer.passwordSecretRef = { name: ref.name, ...(namespace ? { namespace } : {}), key: "password" };
    if (typeof plain === "string" && plain !== "")
      src.note(
        "lost",
        "password",
        "not carried: passwordSecret is set too, and MetalLB refuses both; the Secret is used",
      );
    return;
  }
  if (typeof plain !== "string" || plain === "") return;
  const name = `${src.name}-bgp-password`;
  out.secret = {
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name, ...(src.namespace ? { namespace: src.namespace } : {}) },
    type: "kubernetes.io/basic-auth",
    stringData: { password: plain },
  };
  out.password = plain;
  peer.passwordSecretRef = { name, ...(src.namespace ? { namespace: src.namespace } : {}), key: "password" };
  src.note(
    "carried",
    "password",
    `moved into Secret ${src.namespace ? `${src.namespace}/` : ""}${name} (key password), which the peer's passwordSecretRef names; in a cluster the Secret must be in the controller's namespace`,
  );
}
