// zone.test.ts: rdata encoders and record-set canonicalisation.
import assert from "node:assert/strict";
import { test } from "node:test";
import { compileZones, ipv6Bytes, txtBytes } from "./zone.ts";
import { TYPE } from "./wire.ts";

test("zone: IPv6 literals in every spelling", () => {
  assert.equal(ipv6Bytes("2001:db8::1").toString("hex"), "20010db8000000000000000000000001");
  assert.equal(ipv6Bytes("::").toString("hex"), "0".repeat(32));
  assert.equal(ipv6Bytes("::ffff:192.0.2.1").toString("hex"), "00000000000000000000ffffc0000201");
  assert.equal(ipv6Bytes("1:2:3:4:5:6:7:8").toString("hex"), "00010002000300040005000600070008");
  assert.equal(ipv6Bytes("fe80::1:2").toString("hex"), "fe800000000000000000000000010002");
  assert.throws(() => ipv6Bytes("192.0.2.1"));
});

test("zone: TXT values split in 255-byte strings; the empty value is one empty string", () => {
  assert.deepEqual([...txtBytes("")], [0]);
  const b = txtBytes("z".repeat(256));
  assert.deepEqual([b[0], b[256], b.length], [255, 1, 258]);
});

test("zone: a set is sorted, duplicates merged (pools united), one TTL (the lowest)", () => {
  const [z] = [
    ...compileZones([
      {
        name: "example.com",
        soa: {
          mname: "ns.example.com",
          rname: "h.example.com",
          serial: 1,
          refresh: 1,
          retry: 1,
          expire: 1,
          minimum: 5,
          ttl: 9,
        },
        ns: ["ns.example.com"],
        nsTtl: 60,
        records: [
          { name: "a.example.com", type: "A", value: "192.0.2.9", ttl: 30, pools: ["p1"] },
          { name: "a.example.com", type: "A", value: "192.0.2.1", ttl: 60 },
          { name: "a.example.com", type: "A", value: "192.0.2.9", ttl: 40, pools: ["p2"] },
        ],
      },
    ]).values(),
  ];
  const set = z!.nodes.get("a.example.com")!.sets.get(TYPE.A)!;
  assert.deepEqual(
    set.map((rr) => [[...rr.rdata!].join("."), rr.ttl, rr.pools]),
    [
      ["192.0.2.1", 30, undefined],
      ["192.0.2.9", 30, ["p1", "p2"]],
    ],
  );
  // The empty non-terminals up to the apex exist; the negative TTL is min(SOA TTL, minimum).
  assert.equal(z!.negativeTtl, 5);
  assert.ok(z!.nodes.has("example.com"));
});
