import assert from "node:assert/strict";
import { test } from "node:test";
import { BACKOFF_MAX_MS, BACKOFF_MIN_MS, backoffMs, renewAt } from "./schedule.ts";

test("renewAt is two thirds into the lifetime, earlier by at most a twentieth of it", () => {
  assert.equal(renewAt(0, 90_000, 0), 60_000);
  assert.equal(renewAt(0, 90_000, 1), 60_000 - 4_500);
  assert.ok(renewAt(1000, 1000 + 90 * 86_400_000, 0.5) > 1000 + 55 * 86_400_000);
});

test("backoffMs doubles per failure from the minimum, with jitter, up to the cap", () => {
  assert.equal(backoffMs(1, 0), BACKOFF_MIN_MS);
  assert.equal(backoffMs(2, 0), BACKOFF_MIN_MS * 2);
  assert.equal(backoffMs(3, 1), BACKOFF_MIN_MS * 4 * 0.75);
  assert.equal(backoffMs(60, 0), BACKOFF_MAX_MS);
});
