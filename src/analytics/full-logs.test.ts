import { test } from "node:test";
import assert from "node:assert/strict";
import { FullLogs } from "./full-logs.ts";
import type { EngineSnapshot } from "../model/ir.ts";

const T0 = Date.UTC(2026, 11, 7, 6, 0, 0);
const snap = (analytics?: EngineSnapshot["analytics"]): EngineSnapshot => ({
  version: 1,
  l4: [],
  http: [],
  pools: {},
  certificates: {},
  ...(analytics ? { analytics } : {}),
});

test("a switch lasts its minutes, is listed until then, and 0 turns it off", () => {
  let now = T0;
  const f = new FullLogs(() => now);
  let changes = 0;
  f.onChange(() => changes++);
  assert.equal(f.set("L a.example.com", 10), T0 + 600_000);
  assert.equal(f.set("L b.example.com", 1), T0 + 60_000);
  assert.equal(changes, 2, "each set asks for a push");
  assert.deepEqual(f.active(), [
    { vs: "L b.example.com", until: T0 + 60_000 },
    { vs: "L a.example.com", until: T0 + 600_000 },
  ]);
  now = T0 + 60_000;
  assert.deepEqual(f.active(), [{ vs: "L a.example.com", until: T0 + 600_000 }], "b expired, with no push");
  assert.equal(changes, 2);
  assert.equal(f.set("L a.example.com", 0), undefined);
  assert.deepEqual(f.active(), []);
  assert.equal(changes, 3);
});

test("minutes outside 0..60 or not whole are refused, naming the range", () => {
  const f = new FullLogs(() => T0);
  for (const m of [-1, 61, 1.5, Number.NaN])
    assert.throws(() => f.set("x", m), /from 1 to 60 \(0 turns full logs off\)/);
  assert.deepEqual(f.active(), []);
});

test("decorate writes the live switches into the snapshot, keeps the latency targets, drops expired ones", () => {
  let now = T0;
  const f = new FullLogs(() => now);
  const s = snap({ targetsMs: { "L a.example.com": 250 } });
  f.decorate(s);
  assert.deepEqual(s.analytics, { targetsMs: { "L a.example.com": 250 } }, "none active: no fullLogsUntil");
  f.set("L a.example.com", 5);
  f.decorate(s);
  assert.deepEqual(s.analytics, {
    targetsMs: { "L a.example.com": 250 },
    fullLogsUntil: { "L a.example.com": T0 + 300_000 },
  });
  now = T0 + 300_000;
  const next = snap();
  f.decorate(next);
  assert.equal(next.analytics, undefined, "the expired switch is left out of the next push");
});
