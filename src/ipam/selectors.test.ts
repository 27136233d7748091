// selectors.test.ts: pool eligibility by namespace and service selectors, and the trial order
// (selector-matched pools first, by priority, then unrestricted pools by priority, ties by name).
import assert from "node:assert/strict";
import { test } from "node:test";
import { allocate } from "./allocate.ts";
import { matchesSelector } from "./selector.ts";
import { namespace, pool, req, runStory } from "./testing.ts";

test("matchesSelector follows Kubernetes semantics", () => {
  const labels = { tier: "gold", team: "shop" };
  assert.equal(matchesSelector({}, labels), true);
  assert.equal(matchesSelector({ matchLabels: { tier: "gold" } }, labels), true);
  assert.equal(matchesSelector({ matchLabels: { tier: "gold", team: "x" } }, labels), false);
  assert.equal(
    matchesSelector(
      { matchExpressions: [{ key: "tier", operator: "In", values: ["gold", "silver"] }] },
      labels,
    ),
    true,
  );
  assert.equal(
    matchesSelector({ matchExpressions: [{ key: "tier", operator: "NotIn", values: ["gold"] }] }, labels),
    false,
  );
  assert.equal(
    matchesSelector({ matchExpressions: [{ key: "zone", operator: "NotIn", values: ["a"] }] }, labels),
    true,
  );
  assert.equal(matchesSelector({ matchExpressions: [{ key: "zone", operator: "Exists" }] }, labels), false);
  assert.equal(
    matchesSelector({ matchExpressions: [{ key: "zone", operator: "DoesNotExist" }] }, labels),
    true,
  );
  assert.equal(
    matchesSelector(
      { matchLabels: { tier: "gold" }, matchExpressions: [{ key: "team", operator: "Exists" }] },
      labels,
    ),
    true,
  );
});

test("namespace lists, namespace selectors and service selectors", () => {
  const pools = [
    pool("shop-only", ["192.0.2.0/31"], { serviceAllocation: { namespaces: ["shop"] } }),
    pool("prod", ["192.0.2.8/31"], {
      serviceAllocation: { namespaceSelectors: [{ matchLabels: { env: "prod" } }] },
    }),
    pool("gold", ["192.0.2.16/31"], {
      serviceAllocation: { serviceSelectors: [{ matchLabels: { tier: "gold" } }] },
    }),
  ];
  const namespaces = [
    namespace("shop"),
    namespace("payments", { env: "prod" }),
    namespace("dev", { env: "dev" }),
  ];
  runStory(
    pools,
    [
      {
        desc: "each request lands in the pool that selects it",
        set: [
          req("shop/a"),
          req("payments/b"),
          req("dev/c", { labels: { tier: "gold" } }),
          req("unlisted/d", { labels: { tier: "gold" } }),
        ],
        want: {
          "Service/shop/a": ["192.0.2.0"],
          "Service/payments/b": ["192.0.2.8"],
          "Service/dev/c": ["192.0.2.16"],
          "Service/unlisted/d": ["192.0.2.17"],
        },
      },
      {
        desc: "nobody selects dev without the label",
        set: [req("dev/e")],
        want: {
          "Service/dev/e":
            'SelectorMismatch: no address: pool "gold": labels do not match serviceSelectors; pools "prod", "shop-only": namespace "dev" not selected',
        },
      },
      {
        desc: "a namespace that gains the label becomes eligible",
        namespaces: [
          namespace("shop"),
          namespace("payments", { env: "prod" }),
          namespace("dev", { env: "prod" }),
        ],
        want: { "Service/dev/e": ["192.0.2.9"] },
      },
      {
        desc: "naming a pool does not bypass its selectors",
        set: [req("dev/f", { pool: "shop-only" })],
        want: {
          "Service/dev/f": 'NamespaceMismatch: no address: pool "shop-only": namespace "dev" not selected',
        },
      },
    ],
    namespaces,
  );
});

test("order: matched selector pools first by priority, then open pools by priority, ties by name", () => {
  const pools = [
    pool("open-low", ["10.0.0.0/32"], { priority: -5 }),
    pool("open-b", ["10.0.1.0/32"], { priority: 1 }),
    pool("open-a", ["10.0.2.0/32"], { priority: 1 }),
    pool("sel-late", ["10.1.0.0/32"], { priority: 9, serviceAllocation: { namespaces: ["team"] } }),
    pool("sel-early", ["10.1.1.0/32"], { priority: 3, serviceAllocation: { namespaces: ["team"] } }),
    pool("sel-other", ["10.2.0.0/32"], { priority: 0, serviceAllocation: { namespaces: ["elsewhere"] } }),
  ];
  const requests = ["a", "b", "c", "d", "e", "f"].map((n) => req(`team/${n}`));
  const out = allocate({ requests, pools, namespaces: [], previous: {} });
  const got = requests.map((r) => {
    const res = out.results[r.key];
    return res?.ok ? res.pools[0] : res?.reason;
  });
  assert.deepEqual(got, ["sel-early", "sel-late", "open-low", "open-a", "open-b", "Exhausted"]);
  const f = out.results["Service/team/f"];
  assert.ok(f && !f.ok);
  assert.deepEqual(
    f.verdicts.map((v) => `${v.pool}:${v.reason}`),
    [
      "sel-early:Exhausted",
      "sel-late:Exhausted",
      "open-low:Exhausted",
      "open-a:Exhausted",
      "open-b:Exhausted",
      "sel-other:NamespaceMismatch",
    ],
  );
  assert.match(f.message, /^no address: pool "sel-early" exhausted \(1\/1 assigned\); /);
});
