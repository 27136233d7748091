// view.test.ts: what `portico explain vippool/NAME` reads — who holds each address, what is free,
// who waits — from allocate()'s real output.
import { test } from "node:test";
import assert from "node:assert/strict";
import { allocate } from "./allocate.ts";
import { pool, req, tcp } from "./testing.ts";
import { poolView, waitingOn } from "./view.ts";

test("poolView: holders, free ranges around them, and the requests waiting on an exhausted pool", () => {
  const pools = [pool("small", ["192.0.2.1-192.0.2.4"])];
  const requests = [
    req("a", { requested: ["192.0.2.2"] }),
    req("b"),
    req("c", { sharingKey: "k", ports: [tcp(53)] }),
    req("d", { sharingKey: "k", ports: [tcp(80)], requested: ["192.0.2.1"] }),
    req("e"),
    req("f"),
  ];
  const out = allocate({ requests, pools, namespaces: [], previous: {} });
  const v = poolView("small", pools, out, requests)!;
  // a asked for .2; b took .1; c .3; d asked for .1 under a sharing key b does not have: waits.
  assert.deepEqual(
    v.held.map((h) => [h.address, h.holders.map((x) => x.key)]),
    [
      ["192.0.2.1", ["Service/default/b"]],
      ["192.0.2.2", ["Service/default/a"]],
      ["192.0.2.3", ["Service/default/c"]],
      ["192.0.2.4", ["Service/default/e"]],
    ],
  );
  assert.equal(v.held[2]!.holders[0]!.sharingKey, "k");
  assert.deepEqual(v.free.IPv4, { count: "0", ranges: [], more: false });
  assert.deepEqual(
    v.waiting.map((w) => [w.key, w.reason]),
    [
      ["Service/default/d", "RequestedIPTaken"],
      ["Service/default/f", "Exhausted"],
    ],
  );
  assert.deepEqual(waitingOn("small", out, requests), v.waiting);
  assert.equal(poolView("nope", pools, out, requests), undefined);
});

test("poolView: free ranges skip held and (with avoidBuggyIPs) .0/.255 addresses; counts stay exact", () => {
  const pools = [pool("p", ["10.0.0.0/23"], { avoidBuggyIPs: true }), pool("v6", ["2001:db8::/120"])];
  const requests = [req("a", { requested: ["10.0.0.7"] })];
  const out = allocate({ requests, pools, namespaces: [], previous: {} });
  const v = poolView("p", pools, out, requests)!;
  assert.deepEqual(v.free.IPv4, {
    count: String(512 - 4 - 1),
    ranges: ["10.0.0.1-10.0.0.6", "10.0.0.8-10.0.0.254", "10.0.1.1-10.0.1.254"],
    more: false,
  });
  assert.deepEqual(v.free.IPv6, { count: "0", ranges: [], more: false });
  const v6 = poolView("v6", pools, out, requests)!;
  assert.deepEqual(v6.free.IPv6, { count: "256", ranges: ["2001:db8::-2001:db8::ff"], more: false });
});
