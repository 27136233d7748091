// pipeline-announce.test.ts: the full snapshot's announce list and the announcement problems the
// pipeline reports (translate/announce.ts), on ResourceSets built in code.
import { test } from "node:test";
import assert from "node:assert/strict";
import { buildResourceSet } from "../k8s/resource-set.ts";
import type { AnyObject } from "../k8s/types.ts";
import { buildSnapshot } from "./pipeline.ts";
import { validateSnapshot } from "../model/validate.ts";
import { explain, renderExplanation } from "./explain/index.ts";

const opts = { serveClasslessServices: false, ingressHttpPort: 80, ingressHttpsPort: 443 };

function pool(name: string, addresses: string[], extra: Record<string, unknown> = {}): AnyObject {
  return {
    apiVersion: "portico.dev/v1alpha1",
    kind: "VipPool",
    metadata: { name },
    spec: { addresses, ...extra },
  };
}

function service(name: string, ts: string, annotations: Record<string, string> = {}): AnyObject {
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name, namespace: "default", creationTimestamp: ts, annotations },
    spec: { type: "LoadBalancer", loadBalancerClass: "portico.dev/lb", ports: [{ name: "http", port: 80 }] },
  };
}

function group(name: string, spec: Record<string, unknown>): AnyObject {
  return { apiVersion: "portico.dev/v1alpha1", kind: "EngineGroup", metadata: { name }, spec };
}

function secret(name: string, data: Record<string, string>): AnyObject {
  return {
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name, namespace: "default" },
    type: "Opaque",
    data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v).toString("base64")])),
  };
}

const set = (...objects: AnyObject[]) => buildResourceSet(objects, new Map(), []);
const cond = (out: ReturnType<typeof buildSnapshot>, key: string, type: string) =>
  out.statuses
    .find((s) => `${s.kind}/${s.namespace ? s.namespace + "/" : ""}${s.name}` === key)
    ?.status.conditions?.find((c) => c.type === type);

test("announce: L2 and BGP pools are listed with group, pool, mode and options; None and unset are not", () => {
  const objects = set(
    pool("l2", ["192.0.2.10/32"], { announce: { mode: "L2", l2: { interfaces: ["eth1", "eth0"] } } }),
    pool("bgp", ["198.51.100.10/31", "2001:db8::10/127"], {
      engineGroup: "edge",
      announce: {
        mode: "BGP",
        bgp: { communities: ["65000:100"], localPref: 200, aggregationLength: 31, aggregationLengthV6: 127 },
      },
    }),
    pool("plain", ["203.0.113.10/32"], { announce: { mode: "None" } }),
    group("edge", { bgp: { asn: 64512, peers: [{ address: "198.51.100.1", asn: 64500, nodes: ["n1"] }] } }),
    service("a", "2026-01-01T00:00:00Z", { "portico.dev/vip-pool": "l2" }),
    {
      ...service("b", "2026-01-02T00:00:00Z", { "portico.dev/vip-pool": "bgp" }),
      spec: {
        type: "LoadBalancer",
        loadBalancerClass: "portico.dev/lb",
        ipFamilyPolicy: "RequireDualStack",
        ipFamilies: ["IPv4", "IPv6"],
        ports: [{ name: "http", port: 80 }],
      },
    },
    service("c", "2026-01-03T00:00:00Z", { "portico.dev/vip-pool": "plain" }),
  );
  const out = buildSnapshot(objects, opts, {}, 1);
  assert.deepEqual(out.snapshot.announce, {
    leaseMs: 3000,
    vips: [
      { address: "192.0.2.10", group: "default", pool: "l2", mode: "L2", interfaces: ["eth1", "eth0"] },
      ...["198.51.100.10", "198.51.100.11"].map((address) => ({
        address,
        group: "edge",
        pool: "bgp",
        mode: "BGP",
        communities: ["65000:100"],
        localPref: 200,
        aggregationLength: 31,
      })),
      {
        address: "2001:db8::10",
        group: "edge",
        pool: "bgp",
        mode: "BGP",
        communities: ["65000:100"],
        localPref: 200,
        aggregationLength: 127,
      },
    ],
  });
  assert.deepEqual(out.groups.edge!.bgp, {
    asn: 64512,
    peers: [
      { name: "peer-0", address: "198.51.100.1", asn: 64500, holdTimeSeconds: 9, bfd: false, nodes: ["n1"] },
    ],
  });
  assert.deepEqual(out.groups.edge!.spec.announcement, { leaseSeconds: 3, withdrawDelaySeconds: 2 });
  const text = (kind: "VipPool" | "EngineGroup", name: string) =>
    renderExplanation(explain(objects, out, { kind, namespace: "", name }));
  assert.match(
    text("VipPool", "bgp"),
    /announce: BGP, to the peers of the serving EngineGroup's spec\.bgp \(communities 65000:100, LOCAL_PREF 200, IPv4 as \/31, IPv6 as \/127\)/,
  );
  assert.match(
    text("VipPool", "l2"),
    /announce: L2, by each VIP's owning engine on the first present of eth1, eth0/,
  );
  assert.match(text("VipPool", "plain"), /announce: None/);
  assert.match(
    text("EngineGroup", "edge"),
    /Announcement: lease 3 s, withdraw 2 s .*\n {2}BGP: AS 64512, 1 usable peer\(s\)\n {4}peer-0: 198\.51\.100\.1 AS 64500, hold 9 s, nodes n1/,
  );
  assert.deepEqual(validateSnapshot(out.snapshot), []);
});

test("announce: nothing announced leaves the snapshot without announce", () => {
  const out = buildSnapshot(
    set(pool("p", ["192.0.2.7/32"]), service("a", "2026-01-01T00:00:00Z")),
    opts,
    {},
    1,
  );
  assert.equal(out.snapshot.announce, undefined);
});

test("announce: a BGP pool in a group without spec.bgp is not announced, and the pool and Service say NoBgpPeers", () => {
  const out = buildSnapshot(
    set(
      pool("bgp", ["198.51.100.10/32"], { announce: { mode: "BGP" } }),
      service("a", "2026-01-01T00:00:00Z"),
    ),
    opts,
    {},
    1,
  );
  assert.equal(out.snapshot.announce, undefined);
  const onPool = cond(out, "VipPool/bgp", "portico.dev/Announced")!;
  assert.equal(onPool.status, "False");
  assert.equal(onPool.reason, "NoBgpPeers");
  assert.match(
    onPool.message!,
    /198\.51\.100\.10 not announced: EngineGroup default has no spec\.bgp; add spec\.bgp/,
  );
  const onSvc = cond(out, "Service/default/a", "portico.dev/Announced")!;
  assert.equal(onSvc.reason, "NoBgpPeers");
  assert.match(onSvc.message!, /198\.51\.100\.10 \(pool bgp, mode BGP\) is not announced/);
});

test("announce: a peer whose password Secret or key is missing is left out and the EngineGroup says which", () => {
  const objects = (withSecret: AnyObject[]) =>
    set(
      pool("bgp", ["198.51.100.10/32"], { engineGroup: "edge", announce: { mode: "BGP" } }),
      group("edge", {
        bgp: {
          asn: 64512,
          peers: [
            { name: "r1", address: "198.51.100.1", asn: 64500, passwordSecretRef: { name: "bgp-auth" } },
            {
              name: "r2",
              address: "198.51.100.2",
              asn: 64500,
              passwordSecretRef: { name: "bgp-auth", key: "r2" },
            },
          ],
        },
      }),
      service("a", "2026-01-01T00:00:00Z"),
      ...withSecret,
    );
  const none = buildSnapshot(objects([]), opts, {}, 1);
  assert.deepEqual(none.groups.edge!.bgp!.peers, []);
  const c = cond(none, "EngineGroup/edge", "portico.dev/BgpPeers")!;
  assert.equal(c.status, "False");
  assert.equal(c.reason, "SecretNotFound");
  assert.match(c.message!, /peer r1 \(198\.51\.100\.1\): Secret default\/bgp-auth not found; peer r2/);
  // No usable peer: the pool's VIPs cannot be announced either.
  assert.equal(cond(none, "VipPool/bgp", "portico.dev/Announced")!.reason, "NoBgpPeers");
  assert.equal(none.snapshot.announce, undefined);

  const partly = buildSnapshot(objects([secret("bgp-auth", { password: "s3cret" })]), opts, {}, 1);
  assert.deepEqual(
    partly.groups.edge!.bgp!.peers.map((p) => [p.name, p.password]),
    [["r1", "s3cret"]],
  );
  const m = cond(partly, "EngineGroup/edge", "portico.dev/BgpPeers")!.message!;
  assert.match(m, /peer r2 \(198\.51\.100\.2\): Secret default\/bgp-auth has no key "r2"/);
  assert.doesNotMatch(m, /s3cret/);
  assert.deepEqual(
    partly.snapshot.announce!.vips.map((v) => v.address),
    ["198.51.100.10"],
  );
});

test("announce: a bad community holds the pool's last valid version (InputValid=False names it)", () => {
  const good = pool("bgp", ["198.51.100.10/32"], {
    engineGroup: "edge",
    announce: { mode: "BGP", bgp: { communities: ["65000:100"] } },
  });
  const edge = group("edge", { bgp: { asn: 64512, peers: [{ address: "198.51.100.1", asn: 64500 }] } });
  const first = buildSnapshot(set(good, edge, service("a", "2026-01-01T00:00:00Z")), opts, {}, 1);
  const bad = pool("bgp", ["198.51.100.10/32"], {
    engineGroup: "edge",
    announce: { mode: "BGP", bgp: { communities: ["65000:700000"] } },
  });
  const second = buildSnapshot(
    set(bad, edge, service("a", "2026-01-01T00:00:00Z")),
    opts,
    first.allocations.state,
    2,
    first.lastValid,
  );
  assert.deepEqual(second.snapshot.announce!.vips[0]!.communities, ["65000:100"]);
  const c = cond(second, "VipPool/bgp", "portico.dev/InputValid")!;
  assert.equal(c.reason, "InvalidAnnounce");
  assert.match(c.message!, /"65000:700000" is not a standard community/);
});

test("announce: an EngineGroup with a bad BGP spec is refused with the field named", () => {
  const out = buildSnapshot(
    set(
      group("edge", {
        announcement: { leaseSeconds: 0 },
        bgp: { asn: 64512, peers: [{ address: "router", asn: 1 }] },
      }),
    ),
    opts,
    {},
    1,
  );
  const c = cond(out, "EngineGroup/edge", "Accepted")!;
  assert.equal(c.status, "False");
  assert.match(c.message!, /spec\.announcement\.leaseSeconds: 0 is not a whole number from 1 to 60/);
  assert.match(c.message!, /spec\.bgp\.peers\[0\]\.address: "router" is not an IP address/);
});

test("announce: aggregationLength wider than the pool's blocks is refused, and a pool invalid from the start announces nothing", () => {
  const objects = set(
    // First read invalid: no last valid version to hold, so the pool serves as read — but its
    // aggregate (0: a default route) must never reach an engine.
    pool("wide", ["198.51.100.0/28"], { announce: { mode: "BGP", bgp: { aggregationLength: 0 } } }),
    pool("range", ["203.0.113.10-203.0.113.19"], {
      announce: { mode: "BGP", bgp: { aggregationLength: 28 } },
    }),
    group("default", { bgp: { asn: 64512, peers: [{ address: "198.51.100.1", asn: 64500 }] } }),
    service("a", "2026-01-01T00:00:00Z", { "portico.dev/vip-pool": "wide" }),
    service("b", "2026-01-02T00:00:00Z", { "portico.dev/vip-pool": "range" }),
  );
  const out = buildSnapshot(objects, opts, {}, 1);
  assert.deepEqual(
    out.invalid.map((o) => [o.name, o.reason, o.message.split(";")[0]]),
    [
      [
        "range",
        "InvalidAnnounce",
        // 203.0.113.10-19 is .10/31, .12/30, .16/30: a /28 would announce .0-.15 too.
        `spec.announce.bgp.aggregationLength: 28 is shorter than /31, a block of the pool's "203.0.113.10-203.0.113.19": the aggregate would announce addresses that are not the pool's`,
      ],
      [
        "wide",
        "InvalidAnnounce",
        `spec.announce.bgp.aggregationLength: 0 is shorter than /28, a block of the pool's "198.51.100.0/28": the aggregate would announce addresses that are not the pool's`,
      ],
    ],
  );
  assert.equal(out.snapshot.announce, undefined, JSON.stringify(out.snapshot.announce));
});

test("announce: settings of the other mode are refused rather than ignored", () => {
  const out = buildSnapshot(
    set(
      pool("a", ["192.0.2.0/28"], { announce: { mode: "L2", bgp: { communities: ["65000:1"] } } }),
      pool("b", ["198.51.100.0/28"], { announce: { mode: "None", l2: { interfaces: ["eth1"] } } }),
    ),
    opts,
    {},
    1,
  );
  assert.deepEqual(
    out.invalid.map((o) => [o.name, o.message.split(";")[0]]),
    [
      ["a", "spec.announce.bgp: only read when spec.announce.mode is BGP (it is L2)"],
      ["b", "spec.announce.l2: only read when spec.announce.mode is L2 (it is None)"],
    ],
  );
});
