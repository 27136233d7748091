import assert from "node:assert/strict";
import { test } from "node:test";
import type { PickContext } from "../contracts.ts";
import { backendsOf, inputOf, runBalancerSuite } from "./common.suite.ts";
import { ConsistentHash, buildMaglevTable, hashKeyOf } from "./consistent-hash.ts";

runBalancerSuite("ConsistentHash", (b) => new ConsistentHash(b, { type: "ConsistentHash", on: "SourceIP" }));

const on = { type: "ConsistentHash", on: "SourceIP" } as const;

test("ConsistentHash: same key, same backend", () => {
  const lb = new ConsistentHash(backendsOf([1, 1, 1, 1]), on);
  for (let i = 0; i < 100; i++) assert.equal(lb.pick(inputOf(i)), lb.pick(inputOf(i)));
});

test("ConsistentHash: minimal disruption when a backend leaves", () => {
  const all = backendsOf([1, 1, 1, 1, 1, 1, 1, 1, 1, 1]);
  const before = new ConsistentHash(all, on);
  const after = new ConsistentHash(all.slice(0, 9), on);
  let moved = 0;
  let kept = 0;
  for (let i = 0; i < 5000; i++) {
    const a = before.pick(inputOf(i))!;
    if (a === all[9]) continue; // its keys must move
    kept++;
    if (after.pick(inputOf(i)) !== a) moved++;
  }
  // Maglev moves a little more than the theoretical minimum; a modulo hash would move ~90%.
  assert.ok(moved / kept < 0.05, `moved ${moved}/${kept}`);
});

test("ConsistentHash: keys of healthy backends stay put while one is down", () => {
  const all = backendsOf([1, 1, 1, 1]);
  const lb = new ConsistentHash(all, on);
  for (let i = 0; i < 2000; i++) {
    const a = lb.pick(inputOf(i))!;
    const b = lb.pick(inputOf(i, (x) => x !== all[2]))!;
    if (a !== all[2]) assert.equal(b, a);
    else assert.notEqual(b, all[2]);
  }
});

test("ConsistentHash: table shares follow weights", () => {
  const table = buildMaglevTable(backendsOf([1, 3]), 10007);
  let heavy = 0;
  for (const i of table) if (i === 1) heavy++;
  assert.ok(Math.abs(heavy / table.length - 0.75) < 0.02, `share ${heavy / table.length}`);
});

test("ConsistentHash: header and cookie keys, source IP fallback", () => {
  const ctx: PickContext = {
    sourceIp: "10.0.0.1",
    header: (n) => (n === "x-user" ? "alice" : undefined),
    cookie: (n) => (n === "sid" ? "s1" : undefined),
  };
  assert.equal(hashKeyOf({ type: "ConsistentHash", on: "Header", name: "X-User" }, ctx), "alice");
  assert.equal(hashKeyOf({ type: "ConsistentHash", on: "Cookie", name: "sid" }, ctx), "s1");
  assert.equal(hashKeyOf({ type: "ConsistentHash", on: "Cookie", name: "other" }, ctx), "10.0.0.1");
  const lb = new ConsistentHash(backendsOf([1, 1, 1, 1, 1]), {
    type: "ConsistentHash",
    on: "Header",
    name: "x-user",
  });
  const seen = new Set<string>();
  for (let i = 0; i < 50; i++) {
    const user = `u${i % 3}`;
    const b = lb.pick({
      ctx: { sourceIp: `10.0.0.${i}`, header: () => user },
      usable: () => true,
      load: () => 0,
    })!;
    seen.add(`${user}=${b.id}`);
  }
  assert.equal(seen.size, 3);
});

test("ConsistentHash on RequestUri: the request target keys the pick (upstream-hash-by $request_uri)", () => {
  const on = { type: "ConsistentHash", on: "RequestUri" } as const;
  assert.equal(hashKeyOf(on, { sourceIp: "10.0.0.1", uri: () => "/a?b=1" }), "/a?b=1");
  assert.equal(hashKeyOf(on, { sourceIp: "10.0.0.1" }), "10.0.0.1", "no target (L4): the source address");
  const lb = new ConsistentHash(backendsOf([1, 1, 1, 1]), on);
  const pick = (uri: string, ip: string) =>
    lb.pick({ ctx: { sourceIp: ip, uri: () => uri }, usable: () => true, load: () => 0 });
  for (let i = 0; i < 20; i++) assert.equal(pick("/x", `10.0.0.${i}`), pick("/x", "10.9.9.9"));
});
