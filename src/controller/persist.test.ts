// persist.test.ts: a failing store never reaches the caller; the problem is logged once when it
// starts and once when it clears, and the retry saves the latest allocations.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { AllocationState } from "../ipam/types.ts";
import type { LogLevel } from "./log.ts";
import { Persister } from "./persist.ts";

/** waitFor polls check every 5 ms until it is true, failing after 10 s. */
async function waitFor(what: string, check: () => boolean): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

const a: AllocationState = { "Service/x/a": { addresses: ["10.0.0.1"], pools: ["p"], ports: [] } };
const b: AllocationState = { ...a, "Service/x/b": { addresses: ["10.0.0.2"], pools: ["p"], ports: [] } };

test("a failing save is logged once, retried, and logged once more when it recovers", async () => {
  const lines: { level: LogLevel; msg: string }[] = [];
  let full = true;
  const saved: AllocationState[] = [];
  let attempts = 0;
  const store = {
    saveAllocations(state: AllocationState) {
      attempts++;
      if (full)
        throw Object.assign(new Error("cannot save: database or disk is full"), {
          code: "PORTICO_STATE_WRITE",
        });
      saved.push(state);
    },
  };
  const reported: (string | undefined)[] = [];
  const p = new Persister(
    store,
    (level, msg) => lines.push({ level, msg }),
    (problem) => reported.push(problem?.code),
    10,
  );
  p.save(a);
  p.save(b);
  assert.equal(p.problem()?.code, "PORTICO_STATE_WRITE");
  assert.match(p.problem()!.error, /disk is full/);
  await waitFor("a few retries", () => attempts >= 5);
  assert.equal(lines.length, 1, "one error line, not one per retry");
  full = false;
  await waitFor("the retry succeeds", () => saved.length > 0);
  assert.deepEqual(saved.at(-1), b, "the retry saves the latest allocations");
  assert.equal(p.problem(), undefined);
  assert.deepEqual(
    lines.map((l) => l.level),
    ["error", "info"],
  );
  assert.equal(reported.at(-1), undefined, "the last report clears the problem");
  assert.ok(reported.slice(0, -1).every((c) => c === "PORTICO_STATE_WRITE"));
  p.close();
});

test("no store: nothing to save, no problem", () => {
  const p = new Persister(undefined, () => assert.fail("no log"));
  p.save(a);
  assert.equal(p.problem(), undefined);
});
