// announce.test.ts: an EngineGroup's BGP settings are refused by the controller when the engines'
// BIRD configuration would refuse them (else every engine of the group fails its whole speaker),
// and a peer whose password BIRD cannot take is left out, failing closed, without the value shown.
import { test } from "node:test";
import assert from "node:assert/strict";
import { birdConfig, BirdConfigError } from "../announce/bird/config.ts";
import type { EngineGroup, EngineGroupBgp } from "../k8s/engine-group.ts";
import type { Secret } from "../k8s/types.ts";
import type { VipPool } from "../k8s/vip-pool.ts";
import { bgpSpecProblems, resolveAnnounce } from "./announce.ts";

const peer = (extra: Partial<EngineGroupBgp["peers"][number]>): EngineGroupBgp["peers"][number] => ({
  name: "tor1",
  address: "198.51.100.1",
  asn: 64500,
  ...extra,
});

test("bgpSpecProblems refuses what the engines' BIRD configuration refuses, naming the field", () => {
  const cases: [string, EngineGroupBgp, string][] = [
    ["quote in a name", { asn: 64512, peers: [peer({ name: 'tor"1' })] }, "spec.bgp.peers[0].name"],
    ["reserved ASN", { asn: 4294967295, peers: [peer({})] }, "spec.bgp.asn"],
    ["reserved peer ASN", { asn: 64512, peers: [peer({ asn: 4294967295 })] }, "spec.bgp.peers[0].asn"],
    [
      "keepalive not below the default hold time",
      { asn: 64512, peers: [peer({ keepaliveSeconds: 9 })] },
      "spec.bgp.peers[0].keepaliveSeconds",
    ],
    [
      "multihop on iBGP",
      { asn: 64512, peers: [peer({ asn: 64512, ebgpMultihop: 2 })] },
      "spec.bgp.peers[0].ebgpMultihop",
    ],
    [
      "multihop with BFD",
      { asn: 64512, peers: [peer({ ebgpMultihop: 2, bfd: true })] },
      "spec.bgp.peers[0].bfd",
    ],
    [
      "link-local address",
      { asn: 64512, peers: [peer({ address: "fe80::1" })] },
      "spec.bgp.peers[0].address",
    ],
  ];
  for (const [what, bgp, field] of cases) {
    const problems = bgpSpecProblems({ bgp });
    assert.deepEqual(
      problems.map((p) => [p.reason, p.field]),
      [["InvalidBgp", field]],
      what,
    );
    // The same peer, as the engine would get it, is refused by the BIRD configuration too.
    const p = bgp.peers[0]!;
    assert.throws(
      () =>
        birdConfig(
          {
            asn: bgp.asn,
            peers: [{ ...p, name: p.name!, holdTimeSeconds: p.holdTimeSeconds ?? 9, bfd: p.bfd === true }],
          },
          [],
        ),
      BirdConfigError,
      what,
    );
  }
  // The CRD's pattern for a name, in standalone files too (BIRD itself would take this one).
  assert.deepEqual(
    bgpSpecProblems({ bgp: { asn: 64512, peers: [peer({ name: "Tor 1" })] } }).map((p) => p.field),
    ["spec.bgp.peers[0].name"],
  );
  // A valid peer passes both.
  assert.deepEqual(
    bgpSpecProblems({ bgp: { asn: 64512, peers: [peer({ keepaliveSeconds: 3, ebgpMultihop: 2 })] } }),
    [],
  );
});

test("a peer whose password BIRD cannot take is left out (fail closed), the value never shown", () => {
  const secret = (name: string, password: string): Secret => ({
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name, namespace: "portico" },
    type: "kubernetes.io/basic-auth",
    data: { password: Buffer.from(password).toString("base64") },
  });
  const group: EngineGroup = {
    apiVersion: "portico.dev/v1alpha1",
    kind: "EngineGroup",
    metadata: { name: "edge" },
    spec: {
      bgp: {
        asn: 64512,
        peers: [
          peer({ name: "good", passwordSecretRef: { name: "good" } }),
          peer({ name: "quote", address: "198.51.100.2", passwordSecretRef: { name: "quote" } }),
          peer({ name: "long", address: "198.51.100.3", passwordSecretRef: { name: "long" } }),
        ],
      },
    },
  };
  const pool: VipPool = {
    apiVersion: "portico.dev/v1alpha1",
    kind: "VipPool",
    metadata: { name: "bgp" },
    spec: { addresses: ["203.0.113.10-203.0.113.19"], announce: { mode: "BGP" } },
  };
  const r = resolveAnnounce({
    results: {},
    vipOf: {},
    pools: [pool],
    groupOf: {},
    groups: [group],
    secrets: [secret("good", "s3cret"), secret("quote", 'pa"ss\nword'), secret("long", "x".repeat(81))],
    secretNamespace: "portico",
  });
  assert.deepEqual(
    r.speakers.edge!.peers.map((p) => p.name),
    ["good"],
  );
  assert.equal(r.problems.length, 1);
  const [p] = r.problems;
  assert.equal(p!.object, "EngineGroup/edge");
  assert.equal(p!.reason, "InvalidPassword");
  assert.match(p!.message, /peer quote .*unusable/);
  assert.match(p!.message, /peer long .*unusable/);
  assert.doesNotMatch(p!.message, /pa"ss|xxxx|s3cret/);
  // What the engines get renders: one bad password no longer fails the good peer's session.
  assert.doesNotThrow(() => birdConfig(r.speakers.edge!, []));
});
