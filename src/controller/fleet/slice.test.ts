import { test } from "node:test";
import assert from "node:assert/strict";
import { validateSnapshot } from "../../model/validate.ts";
import { groupVips, sliceFor } from "./slice.ts";
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
  const zone = {
    name: "example.com",
    soa: {
      mname: "ns.example.com",
      rname: "h.example.com",
      serial: 1,
      refresh: 1,
      retry: 1,
      expire: 1,
      minimum: 1,
      ttl: 1,
    },
    ns: ["ns.example.com"],
    nsTtl: 60,
    records: [
      { name: "www.example.com", type: "A" as const, value: "10.0.0.3", ttl: 30, pools: ["default/edge:80"] },
    ],
  };
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
  assert.deepEqual(names(sliceFor(full, { name: "e1", group: "edge" }, edge, served)), [
    "edge.a.test",
    "kept.a.test",
    "static.a.test",
  ]);
  // Once an engine serves 10.0.0.1, the record is back; without `served`, nothing is dropped.
  assert.equal(
    names(sliceFor(full, { name: "e1", group: "edge" }, edge, new Set([...served, "10.0.0.1"]))).length,
    4,
  );
  assert.equal(names(sliceFor(full, { name: "e1", group: "edge" }, edge)).length, 4);
  assert.equal(full.dns[0]!.zones[0]!.records.length, 4, "the full snapshot is not changed");
});
