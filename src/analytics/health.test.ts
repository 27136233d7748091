import { test } from "node:test";
import assert from "node:assert/strict";
import { groupHealth, poolHealth, serviceHealth, type ServiceHealthInput } from "./health.ts";
import type { Health } from "./types.ts";

const OK: ServiceHealthInput = {
  requests: 1000,
  errors: 0,
  apdex: 1,
  targetMs: 500,
  backendsDown: 0,
  backendsTotal: 3,
  attacks: 0,
};

// Each row: figures → the score's range and the reason kinds, largest penalty first.
const SERVICE_ROWS: {
  name: string;
  input: Partial<ServiceHealthInput>;
  min: number;
  max: number;
  kinds: string[];
}[] = [
  { name: "all well", input: {}, min: 100, max: 100, kinds: [] },
  { name: "no traffic, nothing to blame", input: { requests: 0, apdex: 1 }, min: 100, max: 100, kinds: [] },
  { name: "Apdex 0.995 costs nothing", input: { apdex: 0.995 }, min: 99, max: 100, kinds: [] },
  { name: "Apdex 0.71", input: { apdex: 0.71, p99Ms: 1200 }, min: 80, max: 90, kinds: ["latency"] },
  { name: "Apdex 0: every request frustrated", input: { apdex: 0 }, min: 50, max: 50, kinds: ["latency"] },
  { name: "1% errors", input: { errors: 10 }, min: 88, max: 92, kinds: ["errors"] },
  { name: "every request fails", input: { errors: 1000 }, min: 0, max: 0, kinds: ["errors"] },
  { name: "1 of 3 backends down", input: { backendsDown: 1 }, min: 75, max: 85, kinds: ["backends"] },
  { name: "all backends down", input: { backendsDown: 3, requests: 0 }, min: 0, max: 5, kinds: ["backends"] },
  { name: "engine at 90% ELU", input: { saturation: 0.9 }, min: 80, max: 90, kinds: ["saturation"] },
  { name: "engine at 70% ELU is fine", input: { saturation: 0.7 }, min: 100, max: 100, kinds: [] },
  { name: "a few attacks", input: { attacks: 5 }, min: 90, max: 96, kinds: ["attacks"] },
  { name: "attacks are capped", input: { attacks: 1000 }, min: 75, max: 75, kinds: ["attacks"] },
  {
    name: "slow and failing",
    input: { apdex: 0.5, errors: 40, saturation: 1 },
    min: 20,
    max: 35,
    kinds: ["saturation", "latency", "errors"],
  },
];

for (const row of SERVICE_ROWS)
  test(`serviceHealth: ${row.name}`, () => {
    const h = serviceHealth({ ...OK, ...row.input });
    assert.ok(h.score >= row.min && h.score <= row.max, `score ${h.score} not in ${row.min}..${row.max}`);
    assert.deepEqual(
      h.reasons.map((r) => r.kind),
      row.kinds,
    );
    assert.equal(h.score, Math.max(0, 100 - h.reasons.reduce((s, r) => s + r.penalty, 0)));
    for (const r of h.reasons) assert.ok(Number.isInteger(r.penalty) && r.penalty >= 1, r.message);
  });

test("serviceHealth messages say what and how much", () => {
  const h = serviceHealth({
    ...OK,
    apdex: 0.71,
    p99Ms: 1200,
    errors: 10,
    backendsDown: 2,
    downBackends: ["10.0.0.5:80", "10.0.0.6:80"],
  });
  const msg = (kind: string) => h.reasons.find((r) => r.kind === kind)?.message;
  assert.equal(msg("latency"), "p99 1.2 s against a 500 ms target: Apdex 0.71");
  assert.equal(msg("errors"), "10 of 1000 requests failed (5xx or broken): 1.0%");
  assert.equal(msg("backends"), "2 of 3 backends down: 10.0.0.5:80, 10.0.0.6:80");
  const noP99 = serviceHealth({ ...OK, apdex: 0.5, targetMs: 250 });
  assert.equal(noP99.reasons[0]!.message, "a 250 ms target: Apdex 0.50");
});

test("serviceHealth survives figures that make no sense (NaN, apdex above 1, errors above requests)", () => {
  assert.equal(serviceHealth({ ...OK, apdex: Number.NaN }).score, 50);
  assert.equal(serviceHealth({ ...OK, apdex: 3 }).score, 100);
  assert.equal(serviceHealth({ ...OK, errors: 5000 }).score, 0);
});

test("groupHealth: engines not ready, the busiest engine, the worst service", () => {
  assert.deepEqual(groupHealth({ group: "default", vips: 2 }), { score: 100, reasons: [] });
  const none = groupHealth({ group: "edge", vips: 3, engines: [] });
  assert.equal(none.score, 0);
  assert.match(none.reasons[0]!.message, /no engine serves group edge \(3 VIPs\)/);
  assert.equal(groupHealth({ group: "idle", vips: 0, engines: [] }).score, 100);

  const h = groupHealth({
    group: "edge",
    vips: 2,
    engines: [
      { name: "e1", ready: true, eventLoopUtilization: 0.96 },
      { name: "e2", ready: false, eventLoopUtilization: 0.2 },
    ],
  });
  assert.deepEqual(
    h.reasons.map((r) => [r.kind, r.penalty]),
    [
      ["engines", 30],
      ["saturation", 24],
    ],
  );
  assert.match(h.reasons[0]!.message, /1 of 2 engines not ready: e2/);
  assert.match(h.reasons[1]!.message, /engine e1: event loop 96% busy/);

  const bad: Health = serviceHealth({ ...OK, errors: 1000 });
  const withSvc = groupHealth({
    group: "g",
    vips: 1,
    engines: [{ name: "e1", ready: true }],
    services: { "a 1": { score: 100, reasons: [] }, "b 2": bad },
  });
  assert.equal(withSvc.score, 50);
  assert.equal(withSvc.reasons[0]!.kind, "errors");
  assert.match(withSvc.reasons[0]!.message, /virtual service b 2 scores 0/);
  assert.equal(groupHealth({ group: "g", vips: 1, engines: [{ name: "a", ready: false }] }).score, 0);
});

test("poolHealth: waiting requests, addresses running out, a pool not Ready", () => {
  const fam = (used: number, free: number) => [{ family: "IPv4" as const, used, free }];
  assert.deepEqual(poolHealth({ pool: "p", families: fam(2, 8), waiting: [] }), { score: 100, reasons: [] });
  assert.deepEqual(poolHealth({ pool: "p", families: fam(0, 0), waiting: [] }).score, 100);
  const nine = poolHealth({ pool: "p", families: fam(9, 1), waiting: [] });
  assert.equal(nine.score, 80);
  assert.equal(nine.reasons[0]!.message, "IPv4: 1 of 10 addresses free (90% used)");
  const full = poolHealth({ pool: "p", families: fam(10, 0), waiting: ["Service/default/web"] });
  assert.equal(full.score, 0);
  assert.deepEqual(
    full.reasons.map((r) => [r.kind, r.penalty]),
    [
      ["addresses", 60],
      ["addresses", 40],
    ],
  );
  assert.equal(full.reasons[0]!.message, "1 VIP request could not get an address: Service/default/web");
  const invalid = poolHealth({
    pool: "p",
    families: [],
    waiting: [],
    notReady: "InvalidAddresses: 10.0.0.300 is not an address",
  });
  assert.equal(invalid.score, 0);
  const many = poolHealth({ pool: "p", families: fam(4, 0), waiting: ["a", "b", "c", "d", "e"] });
  assert.match(many.reasons[0]!.message, /5 VIP requests could not get an address: a, b, c and 2 more/);
});
