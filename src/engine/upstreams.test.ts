import assert from "node:assert/strict";
import { test } from "node:test";
import type { Endpoint, Pool } from "../model/ir.ts";
import { HealthRegistry } from "./health/registry.ts";
import { stickyToken } from "./lb/sticky.ts";
import { InFlight, UpstreamSet } from "./upstreams.ts";

function ep(port: number, over: Partial<Endpoint> = {}): Endpoint {
  return { address: "127.0.0.1", port, weight: 1, ready: true, serving: true, terminating: false, ...over };
}

function setup(endpoints: Endpoint[], algorithm: Pool["algorithm"] = { type: "RoundRobin" }) {
  const health = new HealthRegistry({ passiveFailures: 2 });
  const inflight = new InFlight();
  const pools: Record<string, Pool> = { p: { name: "p", algorithm, endpoints } };
  return { health, inflight, up: new UpstreamSet(pools, { health, inflight }) };
}

test("not-ready endpoints are never used; terminating+serving only as last resort", () => {
  const { up, health } = setup([
    ep(1),
    ep(2, { ready: false, serving: false }),
    ep(3, { ready: false, serving: true, terminating: true }),
  ]);
  for (let i = 0; i < 10; i++) assert.equal(up.pick("p", { sourceIp: "1.1.1.1" })?.port, 1);
  health.active("p", "127.0.0.1:1", false, 1, 1);
  for (let i = 0; i < 10; i++) assert.equal(up.pick("p", { sourceIp: "1.1.1.1" })?.port, 3);
  assert.equal(up.pick("p", { sourceIp: "1.1.1.1", exclude: new Set(["127.0.0.1:3"]) }), undefined);
  assert.equal(up.pick("nope", { sourceIp: "1.1.1.1" }), undefined);
});

test("end(ok=false) ejects after consecutive failures; begin/end count in-flight", () => {
  const { up, inflight } = setup([ep(1), ep(2)], { type: "LeastRequest" });
  const b1 = up.backends("p")[0]!;
  up.begin("p", b1);
  assert.equal(inflight.get("p|127.0.0.1:1"), 1);
  let busy = 0;
  for (let i = 0; i < 200; i++) if (up.pick("p", { sourceIp: "x" })?.port === 1) busy++;
  assert.ok(busy < 90, `least request avoids the busy one (${busy}/200)`);
  up.end("p", b1, false);
  assert.equal(inflight.get("p|127.0.0.1:1"), 0);
  up.begin("p", b1);
  up.end("p", b1, false);
  for (let i = 0; i < 20; i++) assert.equal(up.pick("p", { sourceIp: "x" })?.port, 2);
  assert.deepEqual([...up.keys()].sort(), ["p|127.0.0.1:1", "p|127.0.0.1:2"]);
});

test("unchanged pools keep their balancer state across sets; changed ones start fresh", () => {
  const health = new HealthRegistry();
  const inflight = new InFlight();
  const pools: Record<string, Pool> = {
    p: { name: "p", algorithm: { type: "RoundRobin" }, endpoints: [ep(1), ep(2), ep(3)] },
    q: { name: "q", algorithm: { type: "RoundRobin" }, endpoints: [ep(1), ep(2), ep(3)] },
  };
  const v1 = new UpstreamSet(pools, { health, inflight });
  const ctx = { sourceIp: "x" };
  assert.equal(v1.pick("p", ctx)?.port, 1);
  assert.equal(v1.pick("q", ctx)?.port, 1);
  const v2 = new UpstreamSet(
    { ...pools, q: { ...pools.q!, endpoints: [ep(1), ep(2), ep(4)] } },
    { health, inflight, previous: v1 },
  );
  assert.equal(v2.pick("p", ctx)?.port, 2, "p continues its rotation");
  assert.equal(v2.pick("q", ctx)?.port, 1, "q starts over");
});

test("prefer (cookie affinity): the token's backend while ready and usable, else the pool's pick", () => {
  const { up, health } = setup([ep(1), ep(2), ep(3, { ready: false, serving: true, terminating: true })]);
  const t2 = stickyToken("127.0.0.1:2");
  for (let i = 0; i < 10; i++) assert.equal(up.pick("p", { sourceIp: "x", prefer: t2 })?.port, 2);
  assert.equal(up.pick("p", { sourceIp: "x", prefer: t2, exclude: new Set(["127.0.0.1:2"]) })?.port, 1);
  health.active("p", "127.0.0.1:2", false, 1, 1);
  assert.equal(up.pick("p", { sourceIp: "x", prefer: t2 })?.port, 1, "an unhealthy backend is left");
  const t3 = stickyToken("127.0.0.1:3");
  const picks = new Set<number>();
  for (let i = 0; i < 4; i++) picks.add(up.pick("p", { sourceIp: "x", prefer: t3 })!.port);
  assert.deepEqual([...picks], [1], "a terminating backend is no sticky target while a ready one serves");
  assert.equal(up.pick("p", { sourceIp: "x", prefer: "0123456789abcdef" })?.port, 1, "unknown token");
});
