import assert from "node:assert/strict";
import { test } from "node:test";
import type { EngineLoad } from "../link/protocol.ts";
import { combineLoads, idleLoad, LoadQueue } from "./load.ts";

function load(over: Partial<EngineLoad>): EngineLoad {
  return { ...idleLoad(1000, 1000), ...over };
}

test("combineLoads: no samples, no load", () => {
  assert.equal(combineLoads([]), undefined);
  assert.equal(combineLoads([[], []]), undefined);
});

test("combineLoads: one worker's samples fold over time, weighted by interval", () => {
  const out = combineLoads([
    [
      load({ at: 1000, intervalMs: 1000, requestsPerSecond: 100, eventLoopUtilization: 0.2, lagP99Ms: 5 }),
      load({ at: 4000, intervalMs: 3000, requestsPerSecond: 500, eventLoopUtilization: 0.6, lagP99Ms: 2 }),
    ],
  ])!;
  // 100 + 1500 requests over 4 s; ELU (0.2·1 + 0.6·3)/4; the worst lag; the latest gauges.
  assert.equal(out.requestsPerSecond, 400);
  assert.equal(out.intervalMs, 4000);
  assert.ok(Math.abs(out.eventLoopUtilization - 0.5) < 1e-9);
  assert.equal(out.lagP99Ms, 5);
  assert.equal(out.at, 4000);
});

test("combineLoads: across workers CPU, rates, connections and RSS add; ELU and lag are the busiest's", () => {
  const out = combineLoads([
    [
      load({
        cpuCores: 0.5,
        requestsPerSecond: 10,
        connectionsOpen: 3,
        rssBytes: 100,
        eventLoopUtilization: 0.3,
        lagP99Ms: 1,
      }),
    ],
    [
      load({
        cpuCores: 0.25,
        requestsPerSecond: 30,
        connectionsOpen: 4,
        rssBytes: 50,
        eventLoopUtilization: 0.9,
        lagP99Ms: 7,
        tlsHandshakesPerSecond: 2,
      }),
    ],
    [],
  ])!;
  assert.equal(out.cpuCores, 0.75);
  assert.equal(out.requestsPerSecond, 40);
  assert.equal(out.tlsHandshakesPerSecond, 2);
  assert.equal(out.connectionsOpen, 7);
  assert.equal(out.rssBytes, 150);
  assert.equal(out.eventLoopUtilization, 0.9);
  assert.equal(out.lagP99Ms, 7);
});

test("combineLoads does not change its input", () => {
  const a = [load({ requestsPerSecond: 1 }), load({ requestsPerSecond: 3 })];
  const copy = structuredClone(a);
  combineLoads([a, a]);
  assert.deepEqual(a, copy);
});

test("LoadQueue: take returns the reports since the last take, else the latest again, bounded", () => {
  const q = new LoadQueue();
  assert.deepEqual(q.take(), []);
  q.push(load({ at: 1 }));
  q.push(load({ at: 2 }));
  assert.deepEqual(
    q.take().map((l) => l.at),
    [1, 2],
  );
  assert.deepEqual(
    q.take().map((l) => l.at),
    [2],
    "no new report: the latest rate is still the best known",
  );
  for (let k = 0; k < 500; k++) q.push(load({ at: 10 + k }));
  const all = q.take();
  assert.equal(all.length, 120);
  assert.equal(all[all.length - 1]!.at, 509);
  q.clear();
  assert.deepEqual(q.take(), []);
});
