// ip.test.ts: the pure half of the announcer — batch text, ip's per-line errors, the L2 interface
// choice (from real `ip -j` output, trimmed), prefixes and the BGP export set.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  batchErrors,
  batchLines,
  chooseInterface,
  coveringPrefix,
  inPrefix,
  leaseSeconds,
  type IpLink,
} from "./ip.ts";
import { bgpAddress, bgpRoutes, needsPromoteSecondaries } from "./bgp-routes.ts";
import { l2Address } from "./l2.ts";
import type { AnnouncedVip } from "../model/ir.ts";

// `ip -j addr show` in a test namespace (fields the choice does not read left out).
const LINKS: IpLink[] = [
  {
    ifname: "lo",
    flags: ["LOOPBACK", "UP", "LOWER_UP"],
    addr_info: [
      { family: "inet", local: "127.0.0.1", prefixlen: 8 },
      { family: "inet6", local: "::1", prefixlen: 128 },
    ],
  },
  {
    ifname: "eth1",
    flags: ["BROADCAST", "MULTICAST", "UP", "LOWER_UP"],
    addr_info: [
      { family: "inet", local: "198.51.100.11", prefixlen: 24 },
      { family: "inet", local: "198.51.100.77", prefixlen: 32 },
      { family: "inet6", local: "2001:db8::11", prefixlen: 64 },
      { family: "inet6", local: "fe80::5c61:f8ff:feab:6172", prefixlen: 64 },
    ],
  },
  {
    ifname: "eth2",
    flags: ["BROADCAST", "MULTICAST", "UP", "LOWER_UP"],
    addr_info: [
      { family: "inet", local: "198.51.100.129", prefixlen: 25 },
      { family: "inet", local: "203.0.113.5", prefixlen: 24 },
    ],
  },
];
const DEFAULT = [{ dst: "default", gateway: "203.0.113.1", dev: "eth2" }];

test("leaseSeconds: whole seconds, rounded up, at least 1", () => {
  assert.equal(leaseSeconds(3000), 3);
  assert.equal(leaseSeconds(1500), 2);
  assert.equal(leaseSeconds(10), 1);
});

test("batchLines: replace renews every kept address with the lease; IPv6 off lo is nodad; del removes", () => {
  const lines = batchLines(
    [
      l2Address("198.51.100.10", "eth1"),
      l2Address("2001:db8::10", "eth1"),
      bgpAddress(bgp("198.51.100.40", 24)),
    ],
    [l2Address("198.51.100.9", "eth1")],
    3000,
  );
  assert.deepEqual(lines, [
    "address replace 198.51.100.10/32 dev eth1 valid_lft 3 preferred_lft 3",
    "address replace 2001:db8::10/128 dev eth1 nodad valid_lft 3 preferred_lft 3",
    "address replace 198.51.100.40/24 dev lo noprefixroute valid_lft 3 preferred_lft 3",
    "address del 198.51.100.9/32 dev eth1",
  ]);
});

test("batchErrors: each 'Command failed -:N' takes the lines printed since the previous one", () => {
  // Real stderr of `ip -force -batch -` with a missing device on line 2 and a gone address on line 3.
  const stderr =
    'Cannot find device "nosuch"\nCommand failed -:2\nError: ipv4: Address not found.\nCommand failed -:3\n';
  assert.deepEqual(
    [...batchErrors(stderr)],
    [
      [1, 'Cannot find device "nosuch"'],
      [2, "Error: ipv4: Address not found."],
    ],
  );
  assert.equal(batchErrors("").size, 0);
});

test("chooseInterface: the pool's interfaces first; the first one present wins", () => {
  assert.deepEqual(chooseInterface("198.51.100.10", "p", ["bond0", "eth2", "eth1"], LINKS, DEFAULT), {
    dev: "eth2",
    why: "VipPool p lists it",
  });
});

test("chooseInterface: none of the pool's interfaces present is InterfaceNotFound naming what to set", () => {
  const c = chooseInterface("198.51.100.10", "edge", ["bond0"], LINKS, DEFAULT);
  assert.equal(c.dev, undefined);
  assert.ok(c.dev === undefined && c.reason === "InterfaceNotFound");
  assert.match(
    c.dev === undefined ? c.message : "",
    /VipPool edge's spec\.announce\.l2\.interfaces \(bond0\).*eth1, eth2/,
  );
});

test("chooseInterface: without a list, the longest subnet holding the VIP, host addresses and lo left out", () => {
  assert.equal(chooseInterface("198.51.100.10", "p", [], LINKS, DEFAULT).dev, "eth1");
  assert.equal(chooseInterface("198.51.100.200", "p", undefined, LINKS, DEFAULT).dev, "eth2"); // /25 beats /24
  assert.equal(chooseInterface("2001:db8::10", "p", undefined, LINKS, []).dev, "eth1");
  // 198.51.100.77/32 on eth1 is a host address, not a subnet; 127.0.0.0/8 is lo's.
  assert.equal(chooseInterface("127.0.0.9", "p", undefined, LINKS, []).dev, undefined);
});

test("chooseInterface: else the default route's interface; no route is InterfaceNotFound", () => {
  assert.deepEqual(chooseInterface("192.0.2.50", "p", undefined, LINKS, DEFAULT), {
    dev: "eth2",
    why: "it carries the default route",
  });
  const c = chooseInterface("2001:db8:1::5", "p", undefined, LINKS, []);
  assert.ok(c.dev === undefined);
  assert.match(
    c.message,
    /no interface .* subnet holding 2001:db8:1::5 and there is no IPv6 default route; set VipPool p's/,
  );
});

test("coveringPrefix and inPrefix", () => {
  assert.equal(coveringPrefix("198.51.100.77", 24), "198.51.100.0/24");
  assert.equal(coveringPrefix("198.51.100.77", 32), "198.51.100.77/32");
  assert.equal(coveringPrefix("2001:db8:0:5::1:10", 64), "2001:db8:0:5::/64");
  assert.equal(coveringPrefix("2001:db8::10", 128), "2001:db8::10/128");
  assert.equal(coveringPrefix("10.1.2.3", 0), "0.0.0.0/0");
  assert.ok(inPrefix("198.51.100.200", "198.51.100.129", 25));
  assert.ok(!inPrefix("198.51.100.10", "198.51.100.129", 25));
  assert.ok(!inPrefix("2001:db8::1", "198.51.100.0", 24));
});

test("bgpAddress: host route /32 on lo; aggregated: VIP/len noprefixroute (no local route for the whole prefix)", () => {
  assert.deepEqual(bgpAddress(bgp("198.51.100.40")), { cidr: "198.51.100.40/32", dev: "lo" });
  assert.deepEqual(bgpAddress(bgp("2001:db8::40", 64)), {
    cidr: "2001:db8::40/64",
    dev: "lo",
    noPrefixRoute: true,
  });
});

test("bgpRoutes: one route per prefix, aggregated VIPs merged (communities union, highest LOCAL_PREF), L2 left out", () => {
  const vips: AnnouncedVip[] = [
    { ...bgp("198.51.100.41", 24), communities: ["65000:2"], localPref: 100 },
    { ...bgp("198.51.100.40", 24), communities: ["65000:1", "65000:2"], localPref: 200 },
    bgp("203.0.113.9"),
    { address: "198.51.100.10", pool: "p", mode: "L2" },
  ];
  assert.deepEqual(bgpRoutes(vips), [
    { prefix: "198.51.100.0/24", communities: ["65000:1", "65000:2"], localPref: 200 },
    { prefix: "203.0.113.9/32", communities: [] },
  ]);
  assert.ok(needsPromoteSecondaries(vips));
  assert.ok(!needsPromoteSecondaries([bgp("203.0.113.9"), bgp("2001:db8::1", 64)]));
});

function bgp(address: string, aggregationLength?: number): AnnouncedVip {
  return {
    address,
    pool: "p",
    mode: "BGP",
    ...(aggregationLength !== undefined ? { aggregationLength } : {}),
  };
}
