import assert from "node:assert/strict";
import { test } from "node:test";
import { waitFor } from "../../test/e2e/harness.ts";
import type { AnalyticsBatch } from "../analytics/types.ts";
import { feedAnalytics } from "./analytics-feed.ts";
import type { EnginePort } from "./standalone.ts";

const batch = (at: number): AnalyticsBatch => ({
  engine: "local",
  at,
  intervalMs: 5000,
  services: {},
  logs: [],
  dropped: 0,
});
const noLog = () => {};
const port = (over: Partial<EnginePort>): EnginePort => ({
  apply: () => ({ ok: true }),
  metrics: () => "",
  status: () => undefined,
  close() {},
  ...over,
});

test("feedAnalytics: a pushing engine's batches go straight through; an in-process engine is asked each second, each batch once", async () => {
  let push: ((b: AnalyticsBatch) => void) | undefined;
  const pushed: AnalyticsBatch[] = [];
  feedAnalytics(port({ onAnalytics: (fn) => (push = fn) }), { ingest: (b) => pushed.push(b) }, noLog);
  push!(batch(1));
  assert.deepEqual(pushed, [batch(1)]);

  const queue = [batch(5000), undefined, batch(10000)];
  const polled: AnalyticsBatch[] = [];
  const stop = feedAnalytics(
    port({ analytics: () => queue.shift() }),
    { ingest: (b) => polled.push(b) },
    noLog,
  );
  await waitFor("two batches", () => polled.length === 2, 10_000);
  stop();
  assert.deepEqual(polled, [batch(5000), batch(10000)]);
  assert.equal(
    typeof feedAnalytics(port({}), { ingest: () => {} }, noLog),
    "function",
    "an engine without analytics: nothing to feed",
  );
});
