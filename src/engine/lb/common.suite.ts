// common.suite.ts: the behaviour every balancer must have. Each algorithm's test file calls
// runBalancerSuite with its factory; a skipped case states its reason there.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { Endpoint } from "../../model/ir.ts";
import type { Backend, PickContext } from "../contracts.ts";
import type { Balancer, PickInput } from "./balancer.ts";

/** backendsOf builds backends 127.0.0.1:8000+i with the given weights. */
export function backendsOf(weights: number[]): Backend[] {
  return weights.map((weight, i) => {
    const endpoint: Endpoint = {
      address: "127.0.0.1",
      port: 8000 + i,
      weight,
      ready: true,
      serving: true,
      terminating: false,
    };
    return { id: `127.0.0.1:${8000 + i}`, address: endpoint.address, port: endpoint.port, endpoint };
  });
}

/** seeded returns a deterministic random source (mulberry32). */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** inputOf builds a PickInput; clients vary by index so hash algorithms spread too. */
export function inputOf(
  i: number,
  usable: (b: Backend) => boolean = () => true,
  load: (b: Backend) => number = () => 0,
): PickInput {
  const ctx: PickContext = { sourceIp: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}` };
  return { ctx, usable, load };
}

/** runBalancerSuite registers the shared cases for one algorithm. */
export function runBalancerSuite(name: string, make: (backends: readonly Backend[]) => Balancer): void {
  const picks = 3000;

  test(`${name}: empty pool picks nothing`, () => {
    assert.equal(make([]).pick(inputOf(1)), undefined);
  });

  test(`${name}: spreads over all backends`, () => {
    const backends = backendsOf([1, 1, 1, 1, 1]);
    const lb = make(backends);
    const seen = new Map<string, number>();
    for (let i = 0; i < picks; i++) {
      const b = lb.pick(inputOf(i))!;
      seen.set(b.id, (seen.get(b.id) ?? 0) + 1);
    }
    assert.equal(seen.size, 5);
    for (const n of seen.values()) assert.ok(n > picks / 5 / 2, `uneven spread: ${[...seen.values()]}`);
  });

  test(`${name}: never returns an unusable backend`, () => {
    const backends = backendsOf([1, 1, 1, 1]);
    const lb = make(backends);
    const down = new Set([backends[0]!.id, backends[2]!.id]);
    const seen = new Set<string>();
    for (let i = 0; i < picks; i++) {
      const b = lb.pick(inputOf(i, (x) => !down.has(x.id)))!;
      assert.ok(!down.has(b.id), `picked down backend ${b.id}`);
      seen.add(b.id);
    }
    assert.deepEqual([...seen].sort(), [backends[1]!.id, backends[3]!.id]);
  });

  test(`${name}: all unusable picks nothing`, () => {
    const lb = make(backendsOf([1, 2, 3]));
    for (let i = 0; i < 50; i++) assert.equal(lb.pick(inputOf(i, () => false)), undefined);
  });

  test(`${name}: weight 0 never gets traffic`, () => {
    const backends = backendsOf([0, 1, 0, 1]);
    const lb = make(backends);
    for (let i = 0; i < picks; i++) {
      const b = lb.pick(inputOf(i))!;
      assert.ok(b.endpoint.weight > 0);
    }
    assert.equal(make(backendsOf([0, 0])).pick(inputOf(1)), undefined);
  });

  test(`${name}: heavier backends get more traffic`, () => {
    const backends = backendsOf([1, 4]);
    const lb = make(backends);
    let heavy = 0;
    for (let i = 0; i < picks; i++) if (lb.pick(inputOf(i))!.id === backends[1]!.id) heavy++;
    const share = heavy / picks;
    assert.ok(share > 0.7 && share < 0.9, `share of weight-4 backend: ${share}`);
  });
}
