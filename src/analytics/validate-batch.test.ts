import { test } from "node:test";
import assert from "node:assert/strict";
import { Collector } from "./collector.ts";
import { httpEvent } from "./event-testing.ts";
import { logRecord } from "./log-testing.ts";
import { MAX_BIN, MIN_BIN } from "./sketch.ts";
import { batch, measures, service, VS } from "./testing.ts";
import type { AnalyticsBatch } from "./types.ts";
import { BATCH_LIMITS, validateBatch } from "./validate-batch.ts";

// Any is a batch as JSON the tests break on purpose (any shape goes).
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Any = any;

const good = (): AnalyticsBatch => {
  const b = batch("e1", 10_000, {
    [VS]: service(
      measures({ "200": 3 }, { total: [1, 2, 3] }),
      { r: measures({ "200": 3 }) },
      {},
      { urls: { "/": 3 } },
    ),
  });
  b.logs = [logRecord(9_000, VS)];
  return b;
};

// mutated answers a good batch with fn applied to a deep copy (JSON: what crosses the link).
const mutated = (fn: (b: Any) => void): unknown => {
  const b = JSON.parse(JSON.stringify(good()));
  fn(b);
  return b;
};

test("a well-formed batch, and a real collector's, pass unchanged", () => {
  const b = good();
  const check = validateBatch(JSON.parse(JSON.stringify(b)));
  assert.ok(check.ok);
  assert.deepEqual(check.batch, b);
  const c = new Collector({ now: () => 5_000 });
  c.onHttp(httpEvent({ status: 503 }));
  const real = c.take(10_000);
  const again = validateBatch(JSON.parse(JSON.stringify(real)));
  assert.ok(again.ok, again.ok ? "" : again.error);
  assert.deepEqual(again.batch, JSON.parse(JSON.stringify(real)));
});

test("every malformed part refuses the whole batch with a reason, never a throw", () => {
  const cases: [string, (b: Any) => void, RegExp][] = [
    ["not an object", (b) => (b.services = null), /services is not an object/],
    ["a null log", (b) => (b.logs = [null]), /log 0 is not an object/],
    [
      "a service without total",
      (b) => (b.services.x = { kind: "http", listener: "L" }),
      /total is not an object/,
    ],
    ["an unknown kind", (b) => (b.services[VS].kind = "udp"), /kind/],
    ["a numeric listener", (b) => (b.services[VS].listener = 7), /listener is not a string/],
    ["a string counter", (b) => (b.services[VS].total.requests = "3"), /requests is not a finite number/],
    ["a negative counter", (b) => (b.services[VS].routes.r.bytesIn = -1), /bytesIn is negative/],
    ["a code map of strings", (b) => (b.services[VS].total.codes["200"] = "x"), /codes/],
    ["odd bins", (b) => b.services[VS].total.latency.total.bins.push(1), /even-length/],
    [
      "a bin index below any latency's",
      (b) => (b.services[VS].total.latency.total.bins[0] = MIN_BIN - 1),
      /latency total: bin index -?\d+ is outside/,
    ],
    [
      "a bin index past the largest double's",
      (b) => (b.services[VS].total.latency.total.bins[0] = MAX_BIN + 1),
      /latency total: bin index \d+ is outside/,
    ],
    ["count not the bins' sum", (b) => (b.services[VS].total.latency.total.count = 99), /not the sum/],
    [
      "an unknown timing part",
      (b) => (b.services[VS].total.latency.dns = b.services[VS].total.latency.total),
      /unknown/,
    ],
    [
      "too many bins",
      (b) =>
        (b.services[VS].total.latency.total = {
          count: 0,
          sum: 0,
          min: 0,
          max: 0,
          zero: 0,
          bins: Array(8194).fill(0),
        }),
      /more than 4096 bins/,
    ],
    [
      "a long top list",
      (b) =>
        (b.services[VS].top.urls = Object.fromEntries(
          Array.from({ length: BATCH_LIMITS.top + 1 }, (_, i) => [`/${i}`, 1]),
        )),
      /at most 40/,
    ],
    ["too many logs", (b) => (b.logs = Array(BATCH_LIMITS.logs + 1).fill(b.logs[0])), /at most 200/],
    ["a log path of another type", (b) => (b.logs[0].path = 1), /log 0: path is not a string/],
    ["a log status as text", (b) => (b.logs[0].status = "503"), /status/],
    [
      "too many services",
      (b) => {
        for (let i = 0; i <= BATCH_LIMITS.services; i++) b.services[`s${i}`] = b.services[VS];
      },
      /services has/,
    ],
  ];
  for (const [name, fn, why] of cases) {
    const check = validateBatch(mutated(fn));
    assert.equal(check.ok, false, name);
    assert.match(check.ok ? "" : check.error, why, name);
  }
});

test("a record's unknown timing parts and fields are left out, not stored", () => {
  const check = validateBatch(
    mutated((b) => {
      b.logs[0].timings.dnsLookup = 3;
      b.logs[0].secret = "x";
    }),
  );
  assert.ok(check.ok);
  assert.deepEqual(check.batch.logs[0]!.timings, { total: 12.5, ttfb: 10 });
  assert.equal((check.batch.logs[0] as unknown as Record<string, unknown>).secret, undefined);
});
