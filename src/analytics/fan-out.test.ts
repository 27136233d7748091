import { test } from "node:test";
import assert from "node:assert/strict";
import { fanOut } from "./fan-out.ts";
import type { AnalyticsBatch } from "./types.ts";

const batch: AnalyticsBatch = { engine: "e", at: 0, intervalMs: 5000, services: {}, logs: [], dropped: 0 };

test("fanOut gives every sink each batch, even after one throws, then rethrows the first error", () => {
  const seen: string[] = [];
  const sink = fanOut(
    { ingest: () => void seen.push("a") },
    {
      ingest: () => {
        seen.push("b");
        throw new Error("disk full");
      },
    },
    { ingest: () => void seen.push("c") },
  );
  assert.throws(() => sink.ingest(batch), /disk full/);
  assert.deepEqual(seen, ["a", "b", "c"]);
});
