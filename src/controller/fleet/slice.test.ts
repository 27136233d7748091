import { test } from "node:test";
import assert from "node:assert/strict";
import { validateSnapshot } from "../../model/validate.ts";
import { announceFor, groupVips, sliceFor } from "./slice.ts";
import { place } from "./placement.ts";
import { fixtureSnapshot, fixtureZone } from "./testing.ts";

const engines = (...names: string[]) => names.map((name) => ({ name, node: name, ready: true }));

test("an engine of the default group gets the default group's listeners with only the pools and certificates they name", () => {
  const full = fixtureSnapshot(7);
  assert.deepEqual(validateSnapshot(full), []);
  const vips = groupVips(full);
  assert.deepEqual(
    [...vips],
    [
      ["default", ["10.0.0.1", "10.0.0.2"]],
      ["edge", ["10.0.0.3"]],
    ],
  );
  const placement = place({
    mode: "ActiveActive",
    spares: 0,
    engines: engines("a"),
    vips: vips.get("default")!,
    previous: {},
  });
  const s = sliceFor(full, { name: "a", group: "default" }, placement);
  assert.equal(s.version, 7);
  assert.deepEqual(
    s.l4.map((l) => l.name),
    ["Service/default/dns:53/UDP"],
  );
  assert.deepEqual(
    s.http.map((l) => l.name),
    ["Ingress/default/web:443"],
  );
  assert.deepEqual(Object.keys(s.pools).sort(), ["default/dns:53", "default/mirror:80", "default/web:80"]);
  assert.deepEqual(Object.keys(s.certificates), ["default/web-tls"]);
  assert.deepEqual(validateSnapshot(s), [], "a slice is a valid snapshot on its own");
  assert.equal(Object.keys(full.pools).length, 5, "the full snapshot is not mutated");
});

test("an engine of another group, or one placement does not name, gets nothing of the default group", () => {
  const full = fixtureSnapshot();
  const vips = groupVips(full);
  const edge = place({
    mode: "ActiveActive",
    spares: 0,
    engines: engines("e1"),
    vips: vips.get("edge")!,
    previous: {},
  });
  const s = sliceFor(full, { name: "e1", group: "edge" }, edge);
  assert.deepEqual(
    s.http.map((l) => l.name),
    ["Service/default/edge:80"],
  );
  assert.deepEqual(s.l4, []);
  assert.deepEqual(Object.keys(s.pools), ["default/edge:80"]);
  assert.deepEqual(s.certificates, {});
  // Placement for the default group that does not list engine "b" (not ready) gives it nothing.
  const def = place({
    mode: "ActiveActive",
    spares: 0,
    engines: [{ name: "b", node: "b", ready: false }],
    vips: vips.get("default")!,
    previous: {},
  });
  const none = sliceFor(full, { name: "b", group: "default" }, def);
  assert.deepEqual([none.l4, none.http, none.pools, none.certificates], [[], [], {}, {}]);
  assert.deepEqual(validateSnapshot(none), []);
});

test("a DNS server goes to the engines its VIP is placed on, with the pools its records watch", () => {
  const full = fixtureSnapshot(3);
  const zone = fixtureZone("example.com", [
    ["www.example.com", "A", "10.0.0.3", { pools: ["default/edge:80"] }],
  ]);
  full.dns = [{ name: "DnsZone/example.com", group: "edge", address: "10.0.0.53", port: 53, zones: [zone] }];
  const vips = groupVips(full);
  assert.deepEqual(vips.get("edge"), ["10.0.0.3", "10.0.0.53"]);
  const edge = place({
    mode: "ActiveActive",
    spares: 0,
    engines: engines("e1"),
    vips: vips.get("edge")!,
    previous: {},
  });
  const s = sliceFor(full, { name: "e1", group: "edge" }, edge);
  assert.deepEqual(
    s.dns?.map((d) => d.name),
    ["DnsZone/example.com"],
  );
  assert.ok("default/edge:80" in s.pools);
  assert.deepEqual(validateSnapshot(s), []);
  // The default group's engine does not get it.
  const def = place({
    mode: "ActiveActive",
    spares: 0,
    engines: engines("a"),
    vips: vips.get("default")!,
    previous: {},
  });
  assert.deepEqual(sliceFor(full, { name: "a", group: "default" }, def).dns, []);
});

test("a health-aware DNS record whose VIP no engine serves is withdrawn from the slice (Fallback ones stay)", () => {
  const full = fixtureSnapshot(3);
  const pools = { pools: ["default/edge:80"] };
  const zone = fixtureZone("a.test", [
    ["edge.a.test", "A", "10.0.0.3", pools],
    ["web.a.test", "A", "10.0.0.1", pools],
    ["kept.a.test", "A", "10.0.0.1", { ...pools, fallback: true }],
    ["static.a.test", "A", "10.0.0.1"],
  ]);
  full.dns = [{ name: "DnsZone/a", group: "edge", address: "10.0.0.53", port: 53, zones: [zone] }];
  const edge = place({
    mode: "ActiveActive",
    spares: 0,
    engines: engines("e1"),
    vips: groupVips(full).get("edge")!,
    previous: {},
  });
  // The default group has no engine: 10.0.0.1 is served by nobody.
  const served = new Set(Object.keys(edge).filter((vip) => edge[vip]!.active.length > 0));
  const names = (s: ReturnType<typeof sliceFor>) => s.dns![0]!.zones[0]!.records.map((r) => r.name);
  assert.deepEqual(names(sliceFor(full, { name: "e1", group: "edge" }, edge, undefined, served)), [
    "edge.a.test",
    "kept.a.test",
    "static.a.test",
  ]);
  // Once an engine serves 10.0.0.1, the record is back; without `served`, nothing is dropped.
  assert.equal(
    names(sliceFor(full, { name: "e1", group: "edge" }, edge, undefined, new Set([...served, "10.0.0.1"])))
      .length,
    4,
  );
  assert.equal(names(sliceFor(full, { name: "e1", group: "edge" }, edge)).length, 4);
  assert.equal(full.dns[0]!.zones[0]!.records.length, 4, "the full snapshot is not changed");
});

test("announceFor: an engine's announce slice is its group's lease, the VIPs it announces (no group) and the peers of its node", () => {
  const full = {
    leaseMs: 3000,
    vips: [
      { address: "192.0.2.10", group: "edge", pool: "p", mode: "L2" as const, interfaces: ["eth1"] },
      { address: "192.0.2.11", group: "edge", pool: "p", mode: "L2" as const },
      { address: "198.51.100.10", group: "other", pool: "q", mode: "BGP" as const },
    ],
  };
  const settings = {
    haMode: "ActiveActive" as const,
    spares: 0,
    announcement: { leaseMs: 5000, withdrawDelayMs: 1000 },
    bgp: {
      asn: 64512,
      routerId: "192.0.2.200",
      peers: [
        { name: "r1", address: "198.51.100.1", asn: 64500, holdTimeSeconds: 9, bfd: true, nodes: ["n1"] },
        { name: "r2", address: "198.51.100.2", asn: 64500, holdTimeSeconds: 9, bfd: false, password: "pw" },
      ],
    },
  };
  const owners = { "192.0.2.10": ["e1"], "192.0.2.11": ["e2"] };
  assert.deepEqual(announceFor(full, { name: "e1", group: "edge", node: "n1" }, owners, settings), {
    leaseMs: 5000,
    withdrawDelayMs: 1000,
    vips: [{ address: "192.0.2.10", pool: "p", mode: "L2", interfaces: ["eth1"] }],
    bgp: {
      asn: 64512,
      routerId: "192.0.2.200",
      peers: [
        { name: "r1", address: "198.51.100.1", asn: 64500, holdTimeSeconds: 9, bfd: true },
        { name: "r2", address: "198.51.100.2", asn: 64500, holdTimeSeconds: 9, bfd: false, password: "pw" },
      ],
    },
  });
  // Another node: only the peer without nodes; no VIP but a peer keeps the announce.
  assert.deepEqual(
    announceFor(full, { name: "e3", group: "edge", node: "n3" }, owners, settings)?.bgp?.peers.map(
      (p) => p.name,
    ),
    ["r2"],
  );
  assert.deepEqual(announceFor(full, { name: "e3", group: "edge", node: "n3" }, owners, settings)?.vips, []);
  // Nothing to announce and no peers: absent, and the defaults when the group sets no timings.
  assert.equal(
    announceFor(full, { name: "e3", group: "edge", node: "n3" }, owners, {
      haMode: "ActiveActive",
      spares: 0,
    }),
    undefined,
  );
  assert.deepEqual(announceFor(full, { name: "e2", group: "edge", node: "n2" }, owners, undefined), {
    leaseMs: 3000,
    withdrawDelayMs: 2000,
    vips: [{ address: "192.0.2.11", pool: "p", mode: "L2" }],
  });
  // The slice carries it.
  const s = sliceFor(
    fixtureSnapshot(1),
    { name: "e2", group: "edge" },
    {},
    announceFor(full, { name: "e2", group: "edge", node: "n2" }, owners, undefined),
  );
  assert.equal(s.announce?.vips[0]?.address, "192.0.2.11");
});

test("an L2 VIP's listeners go only to the engine that announces it; BGP and unannounced VIPs to every placed engine", () => {
  const base = fixtureSnapshot(1);
  // 10.0.0.3 (group edge) announced by L2: its address is only on its owner's node.
  const full = {
    ...base,
    announce: {
      leaseMs: 3000,
      vips: [{ address: "10.0.0.3", group: "edge", pool: "p", mode: "L2" as const }],
    },
  };
  const placement = place({
    mode: "ActiveActive",
    spares: 0,
    engines: engines("e1", "e2"),
    vips: ["10.0.0.3"],
    previous: {},
  });
  const owners = { "10.0.0.3": ["e2"] };
  const slice = (name: string) =>
    sliceFor(
      full,
      { name, group: "edge" },
      placement,
      announceFor(full.announce, { name, group: "edge", node: name }, owners, undefined),
    );
  assert.deepEqual(
    slice("e2").http.map((l) => l.address),
    ["10.0.0.3"],
    "the owner serves it",
  );
  assert.deepEqual(
    slice("e1").http,
    [],
    "a placed engine that does not own it gets no listener it could not bind",
  );
  assert.deepEqual(slice("e1").pools, {});
  // The same VIP by BGP: every placed engine serves it (ECMP).
  const bgp = {
    ...full,
    announce: { ...full.announce, vips: [{ ...full.announce.vips[0]!, mode: "BGP" as const }] },
  };
  const both = announceFor(
    bgp.announce,
    { name: "e1", group: "edge", node: "e1" },
    { "10.0.0.3": ["e1", "e2"] },
    undefined,
  );
  assert.deepEqual(
    sliceFor(bgp, { name: "e1", group: "edge" }, placement, both).http.map((l) => l.address),
    ["10.0.0.3"],
  );
});
