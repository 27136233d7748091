// allocate.test.ts: story tables for the core allocator — pools, exhaustion, release, stickiness,
// requested addresses, autoAssign, priority, invalid and overlapping pools, determinism.
import assert from "node:assert/strict";
import { test } from "node:test";
import { allocate } from "./allocate.ts";
import { deepFreeze, mulberry32, pool, req, runStory, shuffle } from "./testing.ts";
import type { AllocationResult, VipRequest } from "./types.ts";

const failed = (r: AllocationResult | undefined) => {
  assert.ok(r && !r.ok, "expected a failure");
  return r;
};

test("CIDR pool: lowest free first, exhaustion, release, pending request gets the freed address", () => {
  runStory(
    [pool("blue", ["192.0.2.0/30"])],
    [
      { desc: "first", set: [req("a")], want: { "Service/default/a": ["192.0.2.0"] } },
      { desc: "second", set: [req("b")], want: { "Service/default/b": ["192.0.2.1"] } },
      {
        desc: "fill",
        set: [req("c"), req("d")],
        want: { "Service/default/c": ["192.0.2.2"], "Service/default/d": ["192.0.2.3"] },
      },
      {
        desc: "exhausted",
        set: [req("e")],
        want: { "Service/default/e": 'Exhausted: no address: pool "blue" exhausted (4/4 assigned)' },
        check: (out) => {
          const r = failed(out.results["Service/default/e"]);
          assert.deepEqual(r.verdicts, [
            { pool: "blue", chosen: false, reason: "Exhausted", detail: "exhausted: 4/4 addresses assigned" },
          ]);
          assert.equal(out.poolStatus.blue?.assignedIPv4, 4);
          assert.equal(out.poolStatus.blue?.availableIPv4, 0);
        },
      },
      {
        desc: "b deleted: its address goes to the pending request in the same call",
        del: ["Service/default/b"],
        want: {
          "Service/default/e": ["192.0.2.1"],
          "Service/default/a": ["192.0.2.0"],
          "Service/default/d": ["192.0.2.3"],
        },
      },
      {
        desc: "stable on repeat",
        want: { "Service/default/e": ["192.0.2.1"], "Service/default/c": ["192.0.2.2"] },
      },
    ],
  );
});

test("ranges, IPv6 and avoidBuggyIPs", () => {
  runStory(
    [
      pool("range", ["192.0.2.254-192.0.3.1"], { avoidBuggyIPs: true }),
      pool("six", ["2001:db8::/64"], { priority: 5 }),
    ],
    [
      {
        desc: "avoidBuggyIPs skips .255 and .0",
        set: [req("a"), req("b")],
        want: { "Service/default/a": ["192.0.2.254"], "Service/default/b": ["192.0.3.1"] },
        check: (out) => assert.equal(out.poolStatus.range?.availableIPv4, 0),
      },
      { desc: "range exhausted", set: [req("c")], want: { "Service/default/c": "Exhausted" } },
      {
        desc: "IPv6 from a /64 (never materialised)",
        set: [req("v6", { families: ["IPv6"] }), req("v6b", { families: ["IPv6"] })],
        want: { "Service/default/v6": ["2001:db8::"], "Service/default/v6b": ["2001:db8::1"] },
        check: (out) => {
          assert.equal(out.poolStatus.six?.assignedIPv6, 2);
          assert.equal(out.poolStatus.six?.availableIPv6, Number.MAX_SAFE_INTEGER);
          assert.equal(
            failed(out.results["Service/default/c"]).verdicts.find((v) => v.pool === "six")?.reason,
            "FamilyMismatch",
          );
        },
      },
      {
        desc: "requested IPv6 in non-canonical text is canonicalised",
        set: [req("v6c", { families: ["IPv6"], requested: ["2001:DB8:0:0::00ff"] })],
        want: { "Service/default/v6c": ["2001:db8::ff"] },
      },
    ],
  );
});

test("dual stack: SingleStack, PreferDualStack, RequireDualStack", () => {
  const v4only = pool("v4", ["192.0.2.0/31"]);
  const six = pool("v6", ["2001:db8::/126"]);
  const dual = { families: ["IPv4", "IPv6"] as VipRequest["families"] };
  runStory(
    [v4only, six],
    [
      {
        desc: "all three policies",
        set: [
          req("single", { ...dual, familyPolicy: "SingleStack", order: "1" }),
          req("prefer", { ...dual, familyPolicy: "PreferDualStack", order: "2" }),
          req("require", { ...dual, familyPolicy: "RequireDualStack", order: "3" }),
        ],
        want: {
          "Service/default/single": ["192.0.2.0"],
          "Service/default/prefer": ["192.0.2.1", "2001:db8::"],
          "Service/default/require": "Exhausted",
        },
        check: (out) => {
          const r = failed(out.results["Service/default/require"]);
          assert.match(r.message, /^no IPv4 address: pool "v4" exhausted \(2\/2 assigned\)/);
          // The IPv6 address it briefly took was given back.
          assert.equal(out.poolStatus.v6?.assignedIPv6, 1);
        },
      },
      {
        desc: "prefer without IPv4 room takes IPv6 only",
        set: [req("prefer2", { ...dual, familyPolicy: "PreferDualStack" })],
        want: { "Service/default/prefer2": ["2001:db8::1"] },
      },
      {
        desc: "single deleted: require (older than prefer2) now fits, prefer2 keeps its address",
        del: ["Service/default/single"],
        want: {
          "Service/default/require": ["192.0.2.0", "2001:db8::2"],
          "Service/default/prefer2": ["2001:db8::1"],
        },
      },
    ],
  );
});

test("sticky: previous assignments survive a better pool appearing and a restart", () => {
  runStory(
    [pool("late", ["198.51.100.0/29"], { priority: 10 })],
    [
      { desc: "only pool", set: [req("a")], want: { "Service/default/a": ["198.51.100.0"] } },
      {
        desc: "a higher-priority pool appears: a keeps its address, newcomers get the new pool",
        pools: [
          pool("late", ["198.51.100.0/29"], { priority: 10 }),
          pool("early", ["192.0.2.0/29"], { priority: 1 }),
        ],
        set: [req("b")],
        want: { "Service/default/a": ["198.51.100.0"], "Service/default/b": ["192.0.2.0"] },
        check: (out) => {
          const r = out.results["Service/default/a"];
          assert.ok(r?.ok);
          assert.deepEqual(r.verdicts[0], {
            pool: "late",
            chosen: true,
            detail: "198.51.100.0 kept from the previous assignment",
          });
        },
      },
      {
        desc: "restart from persisted state",
        restart: true,
        want: { "Service/default/a": ["198.51.100.0"], "Service/default/b": ["192.0.2.0"] },
      },
      {
        desc: "an older request arriving later does not take a's address",
        set: [req("z", { order: "0000/z" })],
        want: { "Service/default/a": ["198.51.100.0"], "Service/default/z": ["192.0.2.1"] },
      },
      {
        desc: "late is renamed: a keeps its address under the new name",
        pools: [
          pool("renamed", ["198.51.100.0/29"], { priority: 10 }),
          pool("early", ["192.0.2.0/29"], { priority: 1 }),
        ],
        want: { "Service/default/a": ["198.51.100.0"] },
        check: (out) => assert.deepEqual(out.state["Service/default/a"]?.pools, ["renamed"]),
      },
      {
        desc: "pool shrinks away from a's address: a is re-IP'd",
        pools: [
          pool("late", ["198.51.100.4/30"], { priority: 10 }),
          pool("early", ["192.0.2.0/29"], { priority: 1 }),
        ],
        want: { "Service/default/a": ["192.0.2.2"] },
      },
    ],
  );
});

test("requested addresses: inside a pool, outside every pool, taken, changed", () => {
  runStory(
    [pool("blue", ["192.0.2.0/29"]), pool("red", ["198.51.100.0/29"])],
    [
      {
        desc: "requested",
        set: [req("a", { requested: ["192.0.2.5"] })],
        want: { "Service/default/a": ["192.0.2.5"] },
      },
      {
        desc: "outside every pool",
        set: [req("b", { requested: ["203.0.113.1"] })],
        want: {
          "Service/default/b":
            'RequestedIPOutsidePool: no address: pools "blue", "red": 203.0.113.1 is outside every eligible pool (tried "blue", "red")',
        },
      },
      {
        desc: "taken",
        set: [req("b", { requested: ["192.0.2.5"] })],
        want: {
          "Service/default/b":
            'RequestedIPTaken: no address: pool "blue": 192.0.2.5 is held by Service/default/a',
        },
      },
      {
        desc: "a changes its requested address; b gets the old one",
        set: [req("a", { requested: ["198.51.100.3"] })],
        want: { "Service/default/a": ["198.51.100.3"], "Service/default/b": ["192.0.2.5"] },
      },
      {
        desc: "invalid request",
        set: [req("c", { requested: ["not-an-ip"] }), req("d", { families: [] })],
        want: { "Service/default/c": "InvalidRequest", "Service/default/d": "InvalidRequest" },
      },
    ],
  );
});

test("autoAssign false, named pools, priority order", () => {
  runStory(
    [
      pool("costly", ["203.0.113.0/30"], { autoAssign: false }),
      pool("b-cheap", ["192.0.2.0/31"], { priority: 1 }),
      pool("a-cheap", ["198.51.100.0/31"], { priority: 1 }),
      pool("last", ["10.9.0.0/31"], { priority: 9 }),
    ],
    [
      {
        desc: "priority tie broken by name",
        set: [req("a")],
        want: { "Service/default/a": ["198.51.100.0"] },
      },
      {
        desc: "costly used only when named or requested into",
        set: [req("named", { pool: "costly" }), req("ip", { requested: ["203.0.113.3"] })],
        want: { "Service/default/named": ["203.0.113.0"], "Service/default/ip": ["203.0.113.3"] },
      },
      {
        desc: "fill the cheap pools, then the last one by priority",
        set: [req("b"), req("c"), req("d"), req("e")],
        want: {
          "Service/default/b": ["198.51.100.1"],
          "Service/default/c": ["192.0.2.0"],
          "Service/default/d": ["192.0.2.1"],
          "Service/default/e": ["10.9.0.0"],
        },
      },
      {
        desc: "naming a missing pool",
        set: [req("ghost", { pool: "nope" })],
        want: { "Service/default/ghost": 'NoPools: no address: pool "nope" does not exist' },
      },
      {
        desc: "auto requests never land in costly",
        set: [req("f"), req("g")],
        want: { "Service/default/f": ["10.9.0.1"], "Service/default/g": "Exhausted" },
        check: (out) => {
          const v = failed(out.results["Service/default/g"]).verdicts.find((x) => x.pool === "costly");
          assert.equal(v?.reason, "NotAutoAssign");
        },
      },
    ],
  );
});

test("invalid pools are refused with a condition naming the entry", () => {
  for (const bad of [
    "192.0.2.0/33",
    "192.0.2.9-192.0.2.1",
    "192.0.2.1-2001:db8::1",
    "300.1.1.1/24",
    "banana",
    "01.2.3.4/32",
  ]) {
    const out = allocate(
      deepFreeze({
        requests: [req("a")],
        pools: [pool("bad", ["192.0.2.0/30", bad])],
        namespaces: [],
        previous: {},
      }),
    );
    const r = failed(out.results["Service/default/a"]);
    assert.equal(r.reason, "PoolInvalid", bad);
    const ready = out.poolStatus.bad?.conditions?.[0];
    assert.equal(ready?.status, "False");
    assert.equal(ready?.reason, "InvalidAddresses");
    assert.ok(ready?.message?.includes(`"${bad}"`), `${bad}: ${ready?.message}`);
  }
  const none = allocate({ requests: [req("a")], pools: [], namespaces: [], previous: {} });
  assert.equal(failed(none.results["Service/default/a"]).reason, "NoPools");
});

test("a pool that turns invalid keeps what it handed out; new requests wait; the fix changes nothing", () => {
  const good = [pool("blue", ["127.0.40.1-127.0.40.3"])];
  const typo = [pool("blue", ["127.0.40.1-127.0.40.600"])];
  const held = { "Service/default/a": ["127.0.40.1"], "Service/default/b": ["127.0.40.2"] };
  runStory(good, [
    { desc: "two Services served", set: [req("a"), req("b")], want: held },
    {
      desc: "typo in the pool: both keep their addresses, a newcomer is refused",
      pools: typo,
      set: [req("c")],
      want: { ...held, "Service/default/c": "PoolInvalid" },
      check: (out) => {
        const v = out.results["Service/default/a"];
        assert.ok(v?.ok);
        assert.match(v.verdicts[0]?.detail ?? "", /kept from the previous assignment \(spec\.addresses/);
        assert.equal(out.poolStatus.blue?.conditions?.[0]?.reason, "InvalidAddresses");
        assert.equal(out.poolStatus.blue?.assignedIPv4, 2);
      },
    },
    { desc: "a restart while the typo stands", restart: true, want: held },
    {
      desc: "a request naming another pool is a deliberate move, not held",
      set: [req("b", { pool: "green" })],
      want: { "Service/default/a": ["127.0.40.1"], "Service/default/b": "NoPools" },
    },
    {
      desc: "fixed: nothing moves, the waiting request is served",
      pools: good,
      set: [req("b")],
      want: {
        "Service/default/a": ["127.0.40.1"],
        "Service/default/b": ["127.0.40.2"],
        "Service/default/c": ["127.0.40.3"],
      },
    },
    {
      desc: "only deleting the holder frees its address",
      del: ["Service/default/a"],
      set: [req("d")],
      want: { "Service/default/d": ["127.0.40.1"] },
    },
  ]);
});

test("overlapping pools: both flagged, each address assigned once", () => {
  const out = runStory(
    [pool("one", ["192.0.2.0/30"]), pool("two", ["192.0.2.2-192.0.2.5"], { priority: -1 })],
    [
      {
        desc: "fill everything",
        set: ["a", "b", "c", "d", "e", "f", "g"].map((n) => req(n)),
        want: {
          "Service/default/a": ["192.0.2.2"],
          "Service/default/d": ["192.0.2.5"],
          "Service/default/e": ["192.0.2.0"],
          "Service/default/f": ["192.0.2.1"],
          "Service/default/g": "Exhausted",
        },
      },
    ],
  );
  assert.equal(out.poolStatus.one?.conditions?.[1]?.type, "Overlapping");
  assert.match(
    out.poolStatus.one?.conditions?.[1]?.message ?? "",
    /192\.0\.2\.2-192\.0\.2\.3 with pool "two"/,
  );
  assert.match(out.poolStatus.two?.conditions?.[1]?.message ?? "", /pool "one"/);
  assert.equal(out.poolStatus.one?.availableIPv4, 0);
  assert.equal(out.poolStatus.one?.assignedIPv4, 2);
});

test("determinism: seeded permutations of a busy input give identical output", () => {
  const pools = [pool("p1", ["192.0.2.0/28"]), pool("p2", ["2001:db8::/120"], { priority: 2 })];
  const requests: VipRequest[] = Array.from({ length: 40 }, (_, i) =>
    req(`s${i}`, {
      order: `2026-01-${String((i * 7) % 28).padStart(2, "0")}/s${i}`,
      families: i % 3 === 0 ? ["IPv4", "IPv6"] : ["IPv4"],
      familyPolicy: i % 3 === 0 ? "PreferDualStack" : "SingleStack",
      ...(i % 5 === 0 ? { sharingKey: "k", ports: [{ port: 1000 + i, protocol: "TCP" as const }] } : {}),
    }),
  );
  const base = allocate({ requests, pools, namespaces: [], previous: {} });
  const rand = mulberry32(42);
  for (let i = 0; i < 30; i++) {
    assert.deepEqual(
      allocate({
        requests: shuffle(requests, rand),
        pools: shuffle(pools, rand),
        namespaces: [],
        previous: {},
      }),
      base,
    );
  }
  assert.equal(Object.keys(base.state).length > 16, true);
});
