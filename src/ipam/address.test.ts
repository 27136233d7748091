// address.test.ts: address parsing/formatting and range arithmetic, including pools far too big to list.
import assert from "node:assert/strict";
import { test } from "node:test";
import { canonicalIp, parseIp } from "./address.ts";
import { lowestFree, mergeRanges, parseEntry, rangeSize, type IpRange } from "./ranges.ts";

test("parseIp and canonical text", () => {
  const cases: [string, string | undefined][] = [
    ["192.0.2.1", "192.0.2.1"],
    ["0.0.0.0", "0.0.0.0"],
    ["255.255.255.255", "255.255.255.255"],
    ["256.0.0.1", undefined],
    ["192.0.2", undefined],
    ["192.0.2.01", undefined],
    ["2001:DB8::1", "2001:db8::1"],
    ["2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"],
    ["2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::1"],
    ["::", "::"],
    ["::1", "::1"],
    ["1::", "1::"],
    ["2001:db8:1:2:3:4:5:6", "2001:db8:1:2:3:4:5:6"],
    ["2001:db8::0:1:0:0", "2001:db8::1:0:0"],
    ["::ffff:192.0.2.1", "::ffff:c000:201"],
    ["1:2:3:4:5:6:7::", "1:2:3:4:5:6:7:0"],
    ["1::2::3", undefined],
    ["12345::", undefined],
    ["1:2:3:4:5:6:7:8:9", undefined],
    ["fe80::1%eth0", undefined],
  ];
  for (const [input, want] of cases) assert.equal(canonicalIp(input), want, input);
  assert.deepEqual(parseIp("10.0.0.1"), { family: "IPv4", value: 0x0a000001n });
});

test("parseEntry: CIDRs and ranges", () => {
  assert.deepEqual(parseEntry("192.0.2.7/30"), { family: "IPv4", start: 0xc0000204n, end: 0xc0000207n });
  assert.deepEqual(parseEntry(" 192.0.2.10 - 192.0.2.20 "), {
    family: "IPv4",
    start: 0xc000020an,
    end: 0xc0000214n,
  });
  assert.deepEqual(parseEntry("2001:db8::/127"), {
    family: "IPv6",
    start: 0x20010db8n << 96n,
    end: (0x20010db8n << 96n) + 1n,
  });
  assert.deepEqual(parseEntry("0.0.0.0/0"), { family: "IPv4", start: 0n, end: 0xffffffffn });
  for (const bad of [
    "192.0.2.0/33",
    "2001:db8::/129",
    "192.0.2.0/",
    "1.2.3.4-1.2.3.1",
    "1.2.3.4-::1",
    "x-y",
    "1.2.3.4",
  ]) {
    assert.equal(typeof parseEntry(bad), "string", bad);
  }
});

test("rangeSize counts, skipping .0/.255 when asked, without listing", () => {
  const v4 = (e: string) => parseEntry(e) as IpRange;
  assert.equal(rangeSize(v4("192.0.2.0/24"), false), 256n);
  assert.equal(rangeSize(v4("192.0.2.0/24"), true), 254n);
  assert.equal(rangeSize(v4("10.0.0.0/8"), true), 16777216n - 2n * 65536n);
  assert.equal(rangeSize(v4("192.0.2.255-192.0.3.0"), true), 0n);
  assert.equal(rangeSize(v4("192.0.2.1-192.0.2.254"), true), 254n);
  assert.equal(rangeSize(v4("2001:db8::/32"), true), 1n << 96n);
  assert.equal(rangeSize(v4("::/0"), false), 1n << 128n);
});

test("mergeRanges joins overlapping and touching ranges per family", () => {
  const merged = mergeRanges(
    ["192.0.2.8/29", "192.0.2.0/29", "192.0.2.4-192.0.2.9", "::/127", "::2/127"].map(
      (e) => parseEntry(e) as IpRange,
    ),
  );
  assert.deepEqual(merged, [
    { family: "IPv4", start: 0xc0000200n, end: 0xc000020fn },
    { family: "IPv6", start: 0n, end: 3n },
  ]);
});

test("lowestFree walks lazily, even in a /32 of IPv6 with a crowded start", () => {
  const ranges = [parseEntry("2001:db8::/32") as IpRange];
  const base = ranges[0]?.start ?? 0n;
  const taken = new Set([base, base + 1n, base + 2n]);
  let calls = 0;
  const v = lowestFree(ranges, false, "IPv6", (x) => (calls++, taken.has(x)));
  assert.equal(v, base + 3n);
  assert.equal(calls, 4);
  assert.equal(
    lowestFree([parseEntry("192.0.2.255/32") as IpRange], true, "IPv4", () => false),
    undefined,
  );
});

test("lowestFree with a cursor walks each range once over many allocations (regression: O(n²) first build)", () => {
  const range = parseEntry("10.0.0.0/16");
  assert.ok(typeof range !== "string");
  const held = new Set<bigint>();
  const cursor = new Map<IpRange, bigint>();
  let steps = 0;
  const taken = (v: bigint) => {
    steps++;
    return held.has(v);
  };
  for (let i = 0; i < 2000; i++) held.add(lowestFree([range], false, "IPv4", taken, cursor)!);
  assert.equal(held.size, 2000);
  assert.ok(steps < 2 * 2000, `walked ${steps} steps for 2000 allocations`);
  // Without the cursor the same work costs n²/2 steps: the bound above would fail.
  held.clear();
  steps = 0;
  for (let i = 0; i < 200; i++) held.add(lowestFree([range], false, "IPv4", taken)!);
  assert.ok(steps > 200 * 100);
});
