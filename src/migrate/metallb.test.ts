// metallb.test.ts: `portico migrate metallb`, a table per MetalLB kind and field: what each field
// becomes in the VipPool / EngineGroup, or the finding that says it was not carried and why.
import { test } from "node:test";
import assert from "node:assert/strict";
import { migrateMetallb } from "./metallb.ts";
import { byKind, convert } from "./testing.ts";

const run = (yaml: string) => convert(yaml, (ws, r) => migrateMetallb(ws, r));

const pool = (spec: string, name = "p", extra = "") => `apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata: { name: ${name}, namespace: metallb-system${extra} }
spec:
${spec}
`;

interface Row {
  name: string;
  yaml: string;
  /** want: a subset of the first VipPool's spec (or the EngineGroup's spec.bgp) expected. */
  want?: Record<string, unknown>;
  /** finding: severity and field of a finding expected, and a part of its message. */
  finding?: [string, string, RegExp];
}

function check(rows: Row[], pick: (c: ReturnType<typeof run>) => Record<string, unknown> | undefined) {
  for (const row of rows) {
    const c = run(row.yaml);
    if (row.want) {
      const got = pick(c) ?? {};
      for (const [k, v] of Object.entries(row.want)) assert.deepEqual(got[k], v, `${row.name}: ${k}`);
    }
    if (row.finding) {
      const [sev, field, msg] = row.finding;
      const f = c.findings.find((x) => x.severity === sev && x.field === field && msg.test(x.message));
      assert.ok(
        f,
        `${row.name}: a ${sev} finding on ${field} matching ${msg}; got ${JSON.stringify(c.findings)}`,
      );
    }
  }
}

const vipSpec = (c: ReturnType<typeof run>) => byKind(c, "VipPool")[0]?.spec as Record<string, unknown>;

test("IPAddressPool: each field → VipPool", () => {
  check(
    [
      { name: "CIDR", yaml: pool("  addresses: [192.0.2.0/28]"), want: { addresses: ["192.0.2.0/28"] } },
      {
        name: "range with spaces",
        yaml: pool("  addresses: ['192.0.2.10 - 192.0.2.20', '2001:db8::/120']"),
        want: { addresses: ["192.0.2.10-192.0.2.20", "2001:db8::/120"] },
      },
      {
        name: "autoAssign false",
        yaml: pool("  addresses: [192.0.2.0/28]\n  autoAssign: false"),
        want: { autoAssign: false },
      },
      {
        name: "autoAssign true is the default",
        yaml: pool("  addresses: [192.0.2.0/28]\n  autoAssign: true"),
        want: { autoAssign: undefined },
      },
      {
        name: "avoidBuggyIPs",
        yaml: pool("  addresses: [192.0.2.0/24]\n  avoidBuggyIPs: true"),
        want: { avoidBuggyIPs: true },
      },
      {
        name: "serviceAllocation",
        yaml: pool(`  addresses: [192.0.2.0/28]
  serviceAllocation:
    priority: 5
    namespaces: [a, b]
    namespaceSelectors: [{ matchLabels: { team: x } }]
    serviceSelectors: [{ matchExpressions: [{ key: tier, operator: In, values: [web] }] }]`),
        want: {
          priority: 5,
          serviceAllocation: {
            namespaces: ["a", "b"],
            namespaceSelectors: [{ matchLabels: { team: "x" } }],
            serviceSelectors: [{ matchExpressions: [{ key: "tier", operator: "In", values: ["web"] }] }],
          },
        },
      },
      {
        name: "unknown field is reported",
        yaml: pool("  addresses: [192.0.2.0/28]\n  futureKnob: 3"),
        finding: ["lost", "spec.futureKnob", /a field portico migrate does not know/],
      },
      {
        name: "no advertisement: not announced, said so",
        yaml: pool("  addresses: [192.0.2.0/28]"),
        want: { announce: undefined },
        finding: ["carried", "", /MetalLB did not announce it/],
      },
    ],
    vipSpec,
  );
});

test("IPAddressPool: names, labels and priorities across pools", () => {
  const c = run(
    pool(
      "  addresses: [192.0.2.0/28]\n  serviceAllocation: { priority: 3 }",
      "a",
      ", labels: { tier: web }",
    ) +
      "---\n" +
      pool("  addresses: [192.0.2.16/28]", "b") +
      "---\n" +
      pool("  addresses: [192.0.2.32/28]", "a").replace("metallb-system", "other"),
  );
  const pools = byKind(c, "VipPool");
  assert.deepEqual(
    pools.map((p) => [(p.metadata as { name: string }).name, (p.spec as { priority?: number }).priority]),
    [
      ["a", 3],
      ["b", 4], // unset: after every pool with a priority, as MetalLB orders them
      ["other-a", 4],
    ],
  );
  assert.deepEqual((pools[0]!.metadata as { labels: unknown }).labels, { tier: "web" });
  assert.equal(
    (pools[0]!.metadata as { namespace?: string }).namespace,
    undefined,
    "VipPools are cluster-scoped",
  );
  assert.ok(c.findings.some((f) => f.field === "metadata.name" && /other-a/.test(f.message)));
});

const l2 = (spec: string) => `---
apiVersion: metallb.io/v1beta1
kind: L2Advertisement
metadata: { name: l2, namespace: metallb-system }
spec:
${spec}
`;
const base = pool("  addresses: [192.0.2.0/28]", "p", ", labels: { zone: a }");

test("L2Advertisement: each field → spec.announce", () => {
  check(
    [
      { name: "empty selects every pool", yaml: base + l2("  {}"), want: { announce: { mode: "L2" } } },
      { name: "by name", yaml: base + l2("  ipAddressPools: [p]"), want: { announce: { mode: "L2" } } },
      {
        name: "by selector",
        yaml: base + l2("  ipAddressPoolSelectors: [{ matchLabels: { zone: a } }]"),
        want: { announce: { mode: "L2" } },
      },
      {
        name: "a selector matching nothing",
        yaml: base + l2("  ipAddressPoolSelectors: [{ matchLabels: { zone: b } }]"),
        want: { announce: undefined },
      },
      {
        name: "a name matching nothing",
        yaml: base + l2("  ipAddressPools: [nope]"),
        finding: ["lost", "spec.ipAddressPools", /"nope" names no IPAddressPool/],
      },
      {
        name: "interfaces",
        yaml: base + l2("  interfaces: [eth0, eth1]"),
        want: { announce: { mode: "L2", l2: { interfaces: ["eth0", "eth1"] } } },
      },
      {
        name: "nodeSelectors reported",
        yaml: base + l2("  nodeSelectors: [{ matchLabels: { edge: 'true' } }]"),
        finding: ["lost", "spec.nodeSelectors", /EngineGroup's \(its placement\.nodeSelector/],
      },
    ],
    vipSpec,
  );
});

const bgpAd = (spec: string, name = "b") => `---
apiVersion: metallb.io/v1beta1
kind: BGPAdvertisement
metadata: { name: ${name}, namespace: metallb-system }
spec:
${spec}
`;
const community = `---
apiVersion: metallb.io/v1beta1
kind: Community
metadata: { name: c, namespace: metallb-system }
spec:
  communities: [{ name: vpn-only, value: "1234:1" }, { name: big, value: "large:1:2:3" }]
`;

test("BGPAdvertisement and Community: each field → spec.announce.bgp", () => {
  check(
    [
      { name: "empty", yaml: base + bgpAd("  {}"), want: { announce: { mode: "BGP" } } },
      {
        name: "attributes",
        yaml: base + bgpAd("  aggregationLength: 24\n  aggregationLengthV6: 64\n  localPref: 50"),
        want: {
          announce: { mode: "BGP", bgp: { aggregationLength: 24, aggregationLengthV6: 64, localPref: 50 } },
        },
      },
      {
        name: "default lengths are not written",
        yaml: base + bgpAd("  aggregationLength: 32"),
        want: { announce: { mode: "BGP" } },
      },
      {
        name: "communities and aliases",
        yaml: base + community + bgpAd("  communities: [vpn-only, '65000:7']"),
        want: { announce: { mode: "BGP", bgp: { communities: ["1234:1", "65000:7"] } } },
      },
      {
        name: "large community reported",
        yaml: base + community + bgpAd("  communities: [big]"),
        finding: ["lost", "spec.communities", /standard communities/],
      },
      {
        name: "unknown alias reported",
        yaml: base + bgpAd("  communities: [nope]"),
        finding: ["lost", "spec.communities", /neither a community nor the name of one/],
      },
      {
        name: "peers reported",
        yaml: base + bgpAd("  peers: [tor-a]"),
        finding: ["lost", "spec.peers", /every peer of its EngineGroup/],
      },
      {
        name: "nodeSelectors reported",
        yaml: base + bgpAd("  nodeSelectors: [{ matchLabels: { a: b } }]"),
        finding: ["lost", "spec.nodeSelectors", /EngineGroup's/],
      },
      {
        name: "BGP and L2 on one pool: BGP kept, L2 reported",
        yaml: base + bgpAd("  {}") + l2("  {}"),
        want: { announce: { mode: "BGP" } },
        finding: ["lost", "", /L2Advertisement l2 also selects this pool/],
      },
      {
        name: "two BGPAdvertisements that disagree",
        yaml: base + bgpAd("  localPref: 10", "a") + bgpAd("  localPref: 20", "z"),
        want: { announce: { mode: "BGP", bgp: { localPref: 10 } } },
        finding: ["lost", "", /BGPAdvertisement z also selects this pool with other attributes/],
      },
    ],
    vipSpec,
  );
  // Communities and advertisements leave the output; their content lives on in the pool.
  const c = run(base + community + bgpAd("  communities: [vpn-only]"));
  assert.deepEqual(
    c.objects.map((o) => o.kind),
    ["VipPool"],
  );
});

const peer = (spec: string, name = "tor") => `---
apiVersion: metallb.io/v1beta2
kind: BGPPeer
metadata: { name: ${name}, namespace: metallb-system }
spec:
  myASN: 64512
  peerASN: 64500
  peerAddress: 192.0.2.1
${spec}
`;
const bgpOf = (c: ReturnType<typeof run>) =>
  (byKind(c, "EngineGroup")[0]?.spec as { bgp?: Record<string, unknown> })?.bgp;
const peerOf = (c: ReturnType<typeof run>) => (bgpOf(c)?.peers as Record<string, unknown>[] | undefined)?.[0];

test("BGPPeer: each field → EngineGroup spec.bgp", () => {
  check(
    [
      { name: "ASNs and address", yaml: peer(""), want: { name: "tor", address: "192.0.2.1", asn: 64500 } },
      { name: "port 179 is the default", yaml: peer("  peerPort: 179"), want: { port: undefined } },
      { name: "peerPort", yaml: peer("  peerPort: 1179"), want: { port: 1179 } },
      { name: "holdTime", yaml: peer("  holdTime: 1m30s"), want: { holdTimeSeconds: 90 } },
      { name: "keepaliveTime", yaml: peer("  keepaliveTime: 30s"), want: { keepaliveSeconds: 30 } },
      {
        name: "holdTime out of range",
        yaml: peer("  holdTime: 1s"),
        finding: ["lost", "spec.holdTime", /whole seconds from 3 to 65535/],
      },
      {
        name: "bfdProfile",
        yaml: peer("  bfdProfile: fast"),
        want: { bfd: true },
        finding: ["carried", "spec.bfdProfile", /BIRD's default timers/],
      },
      { name: "ebgpMultiHop", yaml: peer("  ebgpMultiHop: true"), want: { ebgpMultihop: 255 } },
      {
        name: "nodeSelectors by hostname",
        yaml: peer(
          "  nodeSelectors: [{ matchLabels: { kubernetes.io/hostname: n1 } }, { matchExpressions: [{ key: kubernetes.io/hostname, operator: In, values: [n2, n3] }] }]",
        ),
        want: { nodes: ["n1", "n2", "n3"] },
      },
      {
        name: "nodeSelectors on other labels",
        yaml: peer("  nodeSelectors: [{ matchLabels: { rack: r1 } }]"),
        finding: ["lost", "spec.nodeSelectors", /lists node names/],
      },
      {
        name: "passwordSecret",
        yaml: peer("  passwordSecret: { name: md5 }"),
        want: { passwordSecretRef: { name: "md5", namespace: "metallb-system", key: "password" } },
      },
      ...(
        [
          ["sourceAddress", "192.0.2.9"],
          ["connectTime", "5s"],
          ["enableGracefulRestart", "true"],
          ["vrf", "red"],
          ["disableMP", "true"],
          ["dualStackAddressFamily", "true"],
        ] as const
      ).map(([f, v]) => ({
        name: f,
        yaml: peer(`  ${f}: ${v}`),
        finding: ["lost", `spec.${f}`, /not carried: /] as [string, string, RegExp],
      })),
    ],
    (c) => peerOf(c),
  );
  check(
    [
      {
        name: "myASN and routerID",
        yaml: peer("  routerID: 10.0.0.1"),
        want: { asn: 64512, routerId: "10.0.0.1" },
      },
    ],
    bgpOf,
  );
});

test("BGPPeer: a plain password moves into a Secret; peers that cannot convert stay and are errors", () => {
  const c = run(peer("  password: s3cret"));
  const secret = byKind(c, "Secret")[0]!;
  assert.deepEqual(secret.stringData, { password: "s3cret" });
  assert.deepEqual(peerOf(c)?.passwordSecretRef, {
    name: "tor-bgp-password",
    namespace: "metallb-system",
    key: "password",
  });
  const bad = run(
    peer("", "a") +
      peer("", "b").replace("myASN: 64512", "myASN: 65001") +
      peer("", "c").replace("peerAddress: 192.0.2.1", "interface: eth0"),
  );
  assert.deepEqual(
    (bgpOf(bad)?.peers as { name: string }[]).map((p) => p.name),
    ["a"],
  );
  assert.deepEqual(
    byKind(bad, "BGPPeer").map((p) => (p.metadata as { name: string }).name),
    ["b", "c"],
    "left as they were",
  );
  assert.equal(bad.findings.filter((f) => f.severity === "error").length, 2);
});

test("an EngineGroup of that name in the input gets spec.bgp; other MetalLB kinds are errors, left in place", () => {
  const eg = `apiVersion: portico.dev/v1alpha1
kind: EngineGroup
metadata: { name: default }
spec: { replicas: 2 }
`;
  const c = run(eg + peer(""));
  const groups = byKind(c, "EngineGroup");
  assert.equal(groups.length, 1);
  assert.equal((groups[0]!.spec as { replicas: number }).replicas, 2);
  assert.equal((groups[0]!.spec as { bgp: { asn: number } }).bgp.asn, 64512);
  const other = run(`apiVersion: metallb.io/v1beta1
kind: ServiceL2Status
metadata: { name: x, namespace: metallb-system }
spec: {}
`);
  assert.equal(other.findings[0]?.severity, "error");
  assert.equal(byKind(other, "ServiceL2Status").length, 1);
});
