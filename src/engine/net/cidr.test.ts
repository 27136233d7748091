import { test } from "node:test";
import assert from "node:assert/strict";
import { isIP } from "node:net";
import { CidrError, CidrSet, parseAddress } from "./cidr.ts";

const words = new Uint32Array(4);

// inSet parses address and asks set, as the access step does.
function inSet(set: CidrSet, address: string): boolean {
  return set.has(parseAddress(address, words), words);
}

test("parseAddress reads IPv4, IPv6 and IPv4-mapped IPv6 into words", () => {
  assert.equal(parseAddress("10.1.2.3", words), 4);
  assert.deepEqual([...words], [0, 0, 0, 0x0a010203]);
  assert.equal(parseAddress("2001:db8::1", words), 6);
  assert.deepEqual([...words], [0x20010db8, 0, 0, 1]);
  assert.equal(parseAddress("::", words), 6);
  assert.deepEqual([...words], [0, 0, 0, 0]);
  assert.equal(parseAddress("1::", words), 6);
  assert.deepEqual([...words], [0x00010000, 0, 0, 0]);
  assert.equal(parseAddress("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", words), 6);
  assert.deepEqual([...words], [0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff]);
  assert.equal(parseAddress("1:2:3:4:5:6:7:8", words), 6);
  assert.deepEqual([...words], [0x00010002, 0x00030004, 0x00050006, 0x00070008]);
  assert.equal(parseAddress("64:ff9b::192.0.2.33", words), 6);
  assert.deepEqual([...words], [0x0064ff9b, 0, 0, 0xc0000221]);
  // What a dual-stack socket reports for an IPv4 peer, in both spellings, is the IPv4 address.
  assert.equal(parseAddress("::ffff:127.0.0.2", words), 4);
  assert.equal(words[3], 0x7f000002);
  assert.equal(parseAddress("::FFFF:7f00:3", words), 4);
  assert.equal(words[3], 0x7f000003);
});

test("parseAddress refuses what is not exactly an address, as node:net does", () => {
  const bad = [
    "",
    "1.2.3",
    "1.2.3.4.5",
    "256.1.1.1",
    "01.2.3.4",
    "1.2.3.4 ",
    "1..2.3",
    ":",
    ":1",
    "1:",
    "1:::2",
    "1::2::3",
    "12345::",
    "1:2:3:4:5:6:7:8:9",
    "1:2:3:4:5:6:7",
    "::1:2:3:4:5:6:7:8",
    "fe80::1%eth0",
    "::ffff:1.2.3",
    "::g",
    "1:2:3:4:5:6:7:1.2.3.4",
  ];
  for (const s of bad) assert.equal(parseAddress(s, words), 0, s);
  // Agreement with node:net on the ones it accepts.
  for (const s of ["::1.2.3.4", "1:2:3:4:5:6:1.2.3.4", "::", "a:b::c:d", "1.2.3.4", "0.0.0.0"])
    assert.notEqual(isIP(s), 0, s);
  for (const s of bad) if (!s.includes("%") && !s.includes("01.")) assert.equal(isIP(s), 0, s);
});

test("CidrSet matches IPv4 prefixes at their edges, /0 and /32 included", () => {
  const s = CidrSet.of(["10.0.0.0/8", "192.0.2.7/32", "198.51.100.0/24"]);
  assert.ok(inSet(s, "10.0.0.0"));
  assert.ok(inSet(s, "10.255.255.255"));
  assert.ok(!inSet(s, "9.255.255.255"));
  assert.ok(!inSet(s, "11.0.0.0"));
  assert.ok(inSet(s, "192.0.2.7"));
  assert.ok(!inSet(s, "192.0.2.6"));
  assert.ok(!inSet(s, "192.0.2.8"));
  assert.ok(inSet(s, "198.51.100.255"));
  assert.ok(!inSet(s, "198.51.101.0"));
  assert.ok(!inSet(s, "2001:db8::1"), "an IPv4 list holds no IPv6 address");
  const all = CidrSet.of(["0.0.0.0/0"]);
  assert.ok(inSet(all, "0.0.0.0"));
  assert.ok(inSet(all, "255.255.255.255"));
  assert.ok(inSet(all, "::ffff:1.2.3.4"), "a mapped address is its IPv4 address");
  assert.ok(!inSet(all, "::1"), "0.0.0.0/0 is every IPv4 address, not every address");
  assert.ok(!inSet(all, "not an address"));
});

test("CidrSet matches IPv6 prefixes at their edges, /0 /64 /127 /128", () => {
  const s = CidrSet.of(["2001:db8:1::/48", "2001:db8:2:3::/64", "2001:db8::8/127", "2001:db8::ff/128"]);
  assert.ok(inSet(s, "2001:db8:1::"));
  assert.ok(inSet(s, "2001:db8:1:ffff:ffff:ffff:ffff:ffff"));
  assert.ok(!inSet(s, "2001:db8:0:ffff:ffff:ffff:ffff:ffff"));
  assert.ok(!inSet(s, "2001:db8:2::"));
  assert.ok(inSet(s, "2001:db8:2:3:ffff:ffff:ffff:ffff"));
  assert.ok(!inSet(s, "2001:db8:2:4::"));
  assert.ok(inSet(s, "2001:db8::8"));
  assert.ok(inSet(s, "2001:db8::9"));
  assert.ok(!inSet(s, "2001:db8::a"));
  assert.ok(!inSet(s, "2001:db8::7"));
  assert.ok(inSet(s, "2001:db8::ff"));
  assert.ok(!inSet(s, "2001:db8::fe"));
  assert.ok(!inSet(s, "2001:db8::100"));
  assert.ok(!inSet(s, "10.0.0.1"));
  const all = CidrSet.of(["::/0"]);
  assert.ok(inSet(all, "::"));
  assert.ok(inSet(all, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"));
  assert.ok(!inSet(all, "10.0.0.1"), "::/0 is every IPv6 address: IPv4 clients are not in it");
  assert.ok(!inSet(all, "::ffff:10.0.0.1"));
});

test("CidrSet: IPv4-mapped CIDRs are IPv4 prefixes; host bits are masked; bare addresses are hosts", () => {
  const s = CidrSet.of(["::ffff:10.0.0.0/104", "192.0.2.77/24", "203.0.113.9", "2001:db8::1"]);
  assert.ok(inSet(s, "10.9.9.9"));
  assert.ok(inSet(s, "::ffff:10.9.9.9"));
  assert.ok(!inSet(s, "11.0.0.0"));
  assert.ok(inSet(s, "192.0.2.0"), "192.0.2.77/24 means 192.0.2.0/24");
  assert.ok(inSet(s, "192.0.2.255"));
  assert.ok(inSet(s, "203.0.113.9"));
  assert.ok(!inSet(s, "203.0.113.10"));
  assert.ok(inSet(s, "2001:db8::1"));
  assert.ok(!inSet(s, "2001:db8::2"));
  assert.equal(CidrSet.of(["::ffff:0:0/96"]).has(parseAddress("1.2.3.4", words), words), true);
  // Shorter than /96 it is an IPv6 prefix: it holds no IPv4 client.
  const short = CidrSet.of(["::ffff:10.0.0.0/95"]);
  assert.ok(!inSet(short, "10.0.0.1"));
  assert.ok(inSet(short, "::fffe:0:1"));
});

test("CidrSet merges overlapping and touching ranges", () => {
  const s = CidrSet.of(["10.0.0.0/25", "10.0.0.128/25", "10.0.0.0/24", "10.0.1.0/24", "10.0.0.5/32"]);
  assert.equal(s.size, 1);
  assert.ok(inSet(s, "10.0.1.255"));
  assert.ok(!inSet(s, "10.0.2.0"));
  const v6 = CidrSet.of(["2001:db8::/33", "2001:db8:8000::/33"]);
  assert.equal(v6.size, 1);
  assert.ok(inSet(v6, "2001:db8:ffff::"));
});

test("CidrSet agrees with a linear scan on many random lists", () => {
  // A tiny LCG keeps the test deterministic.
  let seed = 7;
  const rand = (n: number) => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed % n;
  };
  for (let round = 0; round < 50; round++) {
    const cidrs: [number, number][] = [];
    for (let i = 0; i < 1 + rand(20); i++) cidrs.push([rand(2 ** 16) * 2 ** 16, 8 + rand(25)]);
    const text = cidrs.map(([v, p]) => `${v >>> 24}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}/${p}`);
    const set = CidrSet.of(text);
    for (let i = 0; i < 200; i++) {
      const x = cidrs[rand(cidrs.length)]![0] + rand(2 ** 20) - 2 ** 19;
      if (x < 0 || x >= 2 ** 32) continue;
      const want = cidrs.some(([v, p]) => {
        const size = 2 ** (32 - p);
        return Math.floor(x / size) === Math.floor(v / size);
      });
      const addr = `${x >>> 24}.${(x >>> 16) & 255}.${(x >>> 8) & 255}.${x & 255}`;
      assert.equal(inSet(set, addr), want, `${addr} in ${text.join(",")}`);
    }
  }
});

test("CidrSet.of names a bad entry", () => {
  for (const [entry, says] of [
    ["10.0.0.0/33", "prefix length (0 to 32)"],
    ["2001:db8::/129", "prefix length (0 to 128)"],
    ["10.0.0.0/", "prefix length"],
    ["10.0.0.0/08", "prefix length"],
    ["10.0.0/8", "is not a CIDR"],
    ["example.com", "is not a CIDR"],
  ] as const) {
    assert.throws(
      () => CidrSet.of(["10.0.0.0/8", entry]),
      (e: unknown) => e instanceof CidrError && e.message.includes(`"${entry}"`) && e.message.includes(says),
      entry,
    );
  }
});
