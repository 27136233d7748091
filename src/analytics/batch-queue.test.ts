// batch-queue.test.ts: after an outage (nothing takes the engine's batches: the controller
// unreachable), every interval still counts in the store's bucket of its own end, not the whole
// outage in one; past the queue's bound the oldest intervals merge and nothing is lost.
import assert from "node:assert/strict";
import { channel } from "node:diagnostics_channel";
import { test } from "node:test";
import { HTTP_RESPONSE_CHANNEL } from "../engine/l7/events.ts";
import { BatchQueue } from "./batch-queue.ts";
import { Collector, Shipper } from "./collector.ts";
import { httpEvent } from "./event-testing.ts";
import { AnalyticsStore } from "./store.ts";
import type { AnalyticsBatch } from "./types.ts";

const http = channel(HTTP_RESPONSE_CHANNEL);

test("an outage's intervals land in the store's buckets of their own ends", (t) => {
  // A 5 s boundary, so the cuts below are the collector's own (multiples of the interval).
  const clock = { now: 1_796_600_000_000 };
  const shipper = new Shipper(new Collector({ now: () => clock.now, settings: () => undefined }).subscribe());
  t.after(() => shipper.close());
  // Three intervals of 1, 2 and 3 requests while the controller cannot be reached.
  for (let n = 1; n <= 3; n++) {
    for (let i = 0; i < n; i++) http.publish(httpEvent());
    clock.now += 5000;
    shipper.cut(clock.now);
  }
  // The way is back: reports take the held batches, one per report, into the store.
  const store = new AnalyticsStore({ now: () => clock.now + 3000 });
  for (let b = shipper.take(); b !== undefined; b = shipper.take()) store.ingest(b);
  const points = store.series("L a.example", "5m")!.points.filter((p) => p.requests > 0);
  assert.deepEqual(
    points.map((p) => [p.t, p.requests]),
    [
      [clock.now - 15_000, 1],
      [clock.now - 10_000, 2],
      [clock.now - 5000, 3],
    ],
  );
});

test("BatchQueue: apart up to its bound, then the two oldest merge; counts are kept", () => {
  const q = new BatchQueue(undefined, 3);
  const batch = (at: number, requests: number): AnalyticsBatch => ({
    engine: "e",
    at,
    intervalMs: 5000,
    services: {},
    logs: [],
    dropped: requests,
  });
  for (let i = 1; i <= 5; i++) q.push(batch(i * 5000, i));
  assert.equal(q.size, 3);
  const first = q.shift()!;
  // Intervals 1-3 merged into one ending at the third's end.
  assert.deepEqual([first.at, first.intervalMs, first.dropped], [15_000, 15_000, 6]);
  assert.deepEqual([q.shift()!.at, q.shift()!.at, q.shift()], [20_000, 25_000, undefined]);
  // A batch ending where the newest does joins it.
  q.push(batch(30_000, 1));
  q.push(batch(30_000, 2));
  assert.equal(q.size, 1);
  assert.equal(q.shift()!.dropped, 3);
});
