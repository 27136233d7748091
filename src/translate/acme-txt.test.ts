// acme-txt.test.ts: where DNS-01 records go (the most specific served zone, the zone's namespace
// rules, a CNAME followed once, a name in no zone refused with the reason the order fails with),
// and that the pipeline publishes pending records in their zone with a low TTL, a new serial, and
// only to the engines of the DNS server's group.
/* eslint-disable no-restricted-imports -- runs the whole pipeline from files, as dns.test.ts does. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { assemble, nextState } from "../sources/file/assemble.ts";
import { parseManifests } from "../sources/file/parse.ts";
import { buildSnapshot } from "../controller/pipeline.ts";
import { sliceFor } from "../controller/fleet/slice.ts";
import { validateSnapshot } from "../model/validate.ts";
import { acmeTxtPlace, challengeName, servedZones, type AcmeTxt } from "./acme-txt.ts";

const opts = { serveClasslessServices: false, ingressHttpPort: 80, ingressHttpsPort: 443 };

const yaml = `
apiVersion: portico.dev/v1alpha1
kind: VipPool
metadata: {name: pool}
spec: {addresses: [192.0.2.0/28]}
---
apiVersion: v1
kind: Namespace
metadata: {name: team}
---
apiVersion: portico.dev/v1alpha1
kind: DnsZone
metadata: {name: outer, creationTimestamp: "2026-01-01T00:00:00Z"}
spec:
  zone: example.com
  ttl: 300
  soa: {minimum: 3600}
  listen: {address: 192.0.2.14}
  records:
    - {name: _acme-challenge.www.example.com, type: CNAME, value: www.acme.example.net}
    - {name: _acme-challenge.api.example.com, type: CNAME, value: api.elsewhere.test}
---
apiVersion: portico.dev/v1alpha1
kind: DnsZone
metadata: {name: inner}
spec: {zone: dev.example.com, namespaces: [team], listen: {address: 192.0.2.13}}
---
apiVersion: portico.dev/v1alpha1
kind: DnsZone
metadata: {name: delegated}
spec: {zone: acme.example.net, ttl: 5, listen: {address: 192.0.2.12}}
---
apiVersion: portico.dev/v1alpha1
kind: DnsZone
metadata: {name: younger-duplicate, creationTimestamp: "2026-06-01T00:00:00Z"}
spec: {zone: example.com, listen: {address: 192.0.2.11}}
`;

function set() {
  const s = assemble(new Map([["t.yaml", nextState(undefined, "t", parseManifests("t.yaml", yaml))]]), []);
  assert.deepEqual(s.errors, []);
  return s;
}

test("a challenge name goes to its most specific served zone, as the zone's namespace rules allow", () => {
  const zones = servedZones(set());
  assert.deepEqual(
    zones.map((z) => `${z.spec.zone} ${z.object}`).sort(),
    ["acme.example.net DnsZone/delegated", "dev.example.com DnsZone/inner", "example.com DnsZone/outer"],
    "the older of two zones for one apex serves",
  );
  assert.equal(challengeName("*.example.com"), "_acme-challenge.example.com");
  assert.equal(challengeName("shop.example.com"), "_acme-challenge.shop.example.com");
  // Negative TTL: min(zone ttl, SOA minimum), as the engine answers it (RFC 2308).
  assert.deepEqual(acmeTxtPlace(zones, "_acme-challenge.example.com", "default", {}), {
    name: "_acme-challenge.example.com",
    zone: "example.com",
    object: "DnsZone/outer",
    negativeTtl: 300,
  });
  assert.equal(
    (acmeTxtPlace(zones, "_acme-challenge.a.dev.example.com", "team", {}) as { zone: string }).zone,
    "dev.example.com",
  );
  assert.deepEqual(acmeTxtPlace(zones, "_acme-challenge.a.dev.example.com", "default", {}), {
    problem:
      "namespace default may not publish _acme-challenge.a.dev.example.com in zone dev.example.com (DnsZone/inner spec.namespaces/namespaceSelector)",
  });
  assert.match(
    (acmeTxtPlace(zones, "_acme-challenge.shop.other.test", "default", {}) as { problem: string }).problem,
    /^_acme-challenge\.shop\.other\.test is in no DnsZone Portico serves; DNS-01 is answered only by Portico's own DNS/,
  );
});

test("a CNAME at the challenge name is followed once, into another served zone", () => {
  const zones = servedZones(set());
  assert.deepEqual(acmeTxtPlace(zones, "_acme-challenge.www.example.com", "default", {}), {
    name: "www.acme.example.net",
    zone: "acme.example.net",
    object: "DnsZone/delegated",
    negativeTtl: 5,
  });
  assert.match(
    (acmeTxtPlace(zones, "_acme-challenge.api.example.com", "default", {}) as { problem: string }).problem,
    /^_acme-challenge\.api\.example\.com is a CNAME to api\.elsewhere\.test: api\.elsewhere\.test is in no DnsZone/,
  );
});

test("pending records are published in their zone (TTL ≤ 10 s, new serial) and sent only to that server's engines", () => {
  const txt: AcmeTxt[] = [
    { name: "_acme-challenge.example.com", value: "a".repeat(43) },
    { name: "_acme-challenge.example.com", value: "b".repeat(43) },
    { name: "www.acme.example.net", value: "c".repeat(43) },
    // Beside a CNAME the engine would refuse the whole snapshot: never placed.
    { name: "_acme-challenge.www.example.com", value: "d".repeat(43) },
  ];
  const before = buildSnapshot(set(), opts, {}, 1, new Map(), { nowSeconds: 1_800_000_000 });
  const out = buildSnapshot(set(), opts, {}, 2, new Map(), {
    nowSeconds: 1_800_000_100,
    serials: before.dns.serials,
    acmeTxt: txt,
  });
  assert.deepEqual(validateSnapshot(out.snapshot), []);
  const zone = (snap: typeof out.snapshot, name: string) =>
    snap.dns!.flatMap((s) => s.zones).find((z) => z.name === name)!;
  const records = (name: string) =>
    zone(out.snapshot, name)
      .records.filter((r) => r.type === "TXT")
      .map((r) => `${r.name} ${r.ttl} ${r.value[0]}`);
  assert.deepEqual(records("example.com"), [
    "_acme-challenge.example.com 10 a",
    "_acme-challenge.example.com 10 b",
  ]);
  assert.deepEqual(records("acme.example.net"), ["www.acme.example.net 5 c"]);
  assert.deepEqual(records("dev.example.com"), []);
  assert.equal(zone(out.snapshot, "example.com").soa.serial, 1_800_000_100, "the zone changed: new serial");
  assert.equal(zone(out.snapshot, "dev.example.com").soa.serial, 1_800_000_000, "untouched zone keeps it");
  // An engine gets the records with the DNS server its placement gives it, whatever its group.
  const server = out.snapshot.dns!.find((s) => s.address === "192.0.2.14")!;
  const slice = sliceFor(
    { ...out.snapshot, dns: out.snapshot.dns!.map((s) => (s === server ? { ...s, group: "edge" } : s)) },
    { name: "e1", group: "edge" },
    { "192.0.2.14": { active: ["e1"], standby: [] } } as never,
  );
  assert.deepEqual(
    slice.dns!.map((s) => s.address),
    ["192.0.2.14"],
  );
  assert.equal(slice.dns![0]!.zones[0]!.records.filter((r) => r.type === "TXT").length, 2);
});
