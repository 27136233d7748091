import assert from "node:assert/strict";
import { test } from "node:test";
import type { Calibration } from "../../k8s/engine-group.ts";
import type { EngineLoad } from "../../link/protocol.ts";
import { idleLoad } from "../../engine/load.ts";
import {
  loadSummary,
  sizingStatus,
  demandCores,
  durationWords,
  groupPoints,
  rateWords,
  saturation,
  sizeGroup,
  type SizingEngine,
} from "./sizing.ts";

const NOW = 100_000_000;
const CAL: Calibration = {
  measuredAt: "2026-12-06T17:00:00Z",
  how: "test",
  perCore: { httpRequestsPerSecond: 40_000, httpsRequestsPerSecond: 22_600, tlsHandshakesPerSecond: 2_000 },
};

function load(over: Partial<EngineLoad>): EngineLoad {
  return { ...idleLoad(NOW, 2000), ...over };
}

/** steady makes an engine reporting the same load every 2 s for `minutes` up to NOW. */
function steady(name: string, vcpu: number, over: Partial<EngineLoad>, minutes = 10): SizingEngine {
  const history = Array.from({ length: minutes * 30 }, (_, k) =>
    load({ ...over, at: NOW - k * 2000 }),
  ).reverse();
  return { name, vcpu, history };
}

test("demandCores prices plain and TLS requests and each handshake's extra cost", () => {
  assert.equal(demandCores(load({ requestsPerSecond: 20_000 }), CAL), 0.5);
  assert.ok(
    Math.abs(demandCores(load({ requestsPerSecond: 11_300, tlsRequestsPerSecond: 11_300 }), CAL) - 0.5) <
      1e-9,
  );
  // A request with a new handshake costs 1/2000 core-seconds in all: the request part is not counted twice.
  const hs = load({ requestsPerSecond: 1000, tlsRequestsPerSecond: 1000, tlsHandshakesPerSecond: 1000 });
  assert.ok(Math.abs(demandCores(hs, CAL) - 0.5) < 1e-9);
  // CPU used wins when it is higher (work the calibration does not price), and alone without calibration.
  assert.equal(demandCores(load({ requestsPerSecond: 4000, cpuCores: 0.8 }), CAL), 0.8);
  assert.equal(demandCores(load({ requestsPerSecond: 4000, cpuCores: 0.3 }), undefined), 0.3);
  assert.equal(saturation(load({ requestsPerSecond: 20_000 }), 2, CAL), 0.25);
});

test("the issue's example: 38k req/s HTTPS on 2 × 1 vCPU is 84%; 30% headroom needs 3 engines or 2 × 2 vCPU", () => {
  const engines = [
    steady("web-a", 1, { requestsPerSecond: 19_000, tlsRequestsPerSecond: 19_000, cpuCores: 0.7 }),
    steady("web-b", 1, { requestsPerSecond: 19_000, tlsRequestsPerSecond: 19_000, cpuCores: 0.7 }),
  ];
  const s = sizeGroup("web", engines, CAL, { now: NOW });
  assert.equal(
    s.advice,
    "group web: peak 38k req/s HTTPS over the last hour on 2 engines × 1 vCPU, 84% of measured capacity; for 30% headroom run 3 engines or 2 × 2 vCPU",
  );
  assert.ok(Math.abs(s.peak!.utilization - 0.8407) < 0.001);
  assert.deepEqual(
    s.perEngine.map((e) => [e.name, Math.round(e.saturation! * 100)]),
    [
      ["web-a", 84],
      ["web-b", 84],
    ],
  );
});

test("the peak is the busiest bucket of the window, summed over engines, each counted once", () => {
  const a = steady("a", 1, { requestsPerSecond: 4000 });
  const b = steady("b", 1, { requestsPerSecond: 4000 });
  // One busy minute on both, 5 minutes ago; a busier one 2 hours ago, outside the window.
  for (const e of [a, b])
    e.history.forEach((l) => {
      if (l.at > NOW - 6 * 60_000 && l.at <= NOW - 5 * 60_000) (l as EngineLoad).requestsPerSecond = 16_000;
    });
  const old = { ...load({ at: NOW - 2 * 3_600_000, requestsPerSecond: 80_000 }) };
  const s = sizeGroup("g", [{ ...a, history: [old, ...a.history] }, b], CAL, { now: NOW });
  assert.equal(s.peak!.requestsPerSecond, 32_000);
  assert.equal(s.peak!.engines, 2);
  assert.equal(Math.round(s.peak!.utilization * 100), 40);
  assert.match(
    s.advice,
    /peak 32k req\/s HTTP over the last hour on 2 engines × 1 vCPU, 40% of measured capacity; 30% headroom holds$/,
  );
  // Buckets add engines' rates; five reports of one engine in a bucket count once (time-weighted).
  const points = groupPoints([a, b], CAL, NOW - 60_000);
  assert.ok(points.every((p) => p.engines === 2 && p.requestsPerSecond === 8000));
});

test("without calibration: CPU only, and the advice says how to get one", () => {
  const s = sizeGroup("default", [steady("local", 2, { requestsPerSecond: 900, cpuCores: 1.8 })], undefined, {
    now: NOW,
    windowMs: 15 * 60_000,
    headroom: 0.2,
  });
  assert.equal(s.calibrated, false);
  assert.equal(
    s.advice,
    "group default: peak 900 req/s HTTP over the last 15 min on 1 engine × 2 vCPU, 90% CPU of 2 vCPU; for 20% headroom run 2 engines or 1 × 4 vCPU (no calibration: this is CPU use only; run `portico size --calibrate` to measure per-core capacity)",
  );
});

test("mixed traffic, mixed sizes, no reports, no engines", () => {
  const mixed = sizeGroup(
    "m",
    [
      steady("a", 1, { requestsPerSecond: 1000, tlsRequestsPerSecond: 400 }),
      steady("b", 2, { requestsPerSecond: 1000, tlsRequestsPerSecond: 400 }),
    ],
    CAL,
    { now: NOW },
  );
  assert.match(
    mixed.advice,
    /peak 2k req\/s \(40% HTTPS\) over the last hour on 2 engines, 3 vCPU in all, 2% of measured capacity; 30% headroom holds; 1 × 1.5 vCPU would do$/,
  );
  const quiet = sizeGroup("q", [{ name: "a", vcpu: 1, history: [] }], CAL, { now: NOW });
  assert.equal(quiet.advice, "group q: no load reports over the last hour on 1 engine × 1 vCPU");
  assert.equal(quiet.peak, undefined);
  assert.equal(quiet.perEngine[0]!.saturation, undefined);
  assert.equal(sizeGroup("e", [], CAL, { now: NOW }).advice, "group e: no engines");
});

test("words: rates and durations", () => {
  assert.deepEqual([950, 1234, 38_400, 2_500_000, 4.25].map(rateWords), [
    "950",
    "1.2k",
    "38k",
    "2.5M",
    "4.3",
  ]);
  assert.deepEqual([3_600_000, 7_200_000, 900_000, 45_000].map(durationWords), [
    "hour",
    "2 h",
    "15 min",
    "45 s",
  ]);
});

test("the EngineGroup status shapes: status.sizing and an engine's load summary", () => {
  const engines = [steady("web-a", 1, { requestsPerSecond: 19_000, tlsRequestsPerSecond: 19_000 })];
  const s = sizeGroup("web", engines, CAL, { now: NOW });
  assert.deepEqual(sizingStatus(s, NOW), {
    saturation: 84,
    peak: "19k req/s HTTPS",
    advice: s.advice,
    at: new Date(NOW).toISOString(),
  });
  assert.equal(sizingStatus(sizeGroup("q", [], CAL, { now: NOW }), NOW).peak, "no load reports");
  const l = load({
    requestsPerSecond: 19_000.4,
    tlsRequestsPerSecond: 19_000,
    connectionsOpen: 12,
    cpuCores: 0.6789,
  });
  assert.deepEqual(loadSummary(l, 1, CAL), {
    requestsPerSecond: 19_000,
    connectionsOpen: 12,
    cpuCores: 0.68,
    saturationPercent: 84,
  });
});
