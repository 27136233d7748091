// abuse.test.ts: the cut rules of abuse.ts as story rows — each row acts on the counters the rows
// before it left (the rules of h2-guard.ts, docs/http2.md).
import { test } from "node:test";
import assert from "node:assert/strict";
import { Abuse, defaultAbuseLimits } from "./abuse.ts";

test("rapid reset: 100 early resets that are half the streams cut; late resets and a busy connection do not", () => {
  const a = new Abuse(defaultAbuseLimits);
  for (let i = 0; i < 300; i++) a.opened();
  // 99 early resets of 300 streams: not yet.
  for (let i = 0; i < 99; i++) assert.equal(a.reset(10), undefined);
  // A reset after 1 s is not premature.
  assert.equal(a.reset(1500), undefined);
  // The 100th early reset: 100 of 300 is under half.
  assert.equal(a.reset(10), undefined);
  assert.equal(a.suspect(), false);
  for (let i = 0; i < 49; i++) assert.equal(a.reset(10), undefined);
  // 150 of 300: half.
  assert.equal(a.reset(10), "rapid_reset");
  assert.match(a.detail("rapid_reset"), /150 of 300/);
});

test("suspect once 10 early resets are half the streams", () => {
  const a = new Abuse(defaultAbuseLimits);
  for (let i = 0; i < 20; i++) a.opened();
  for (let i = 0; i < 9; i++) a.reset(1);
  assert.equal(a.suspect(), false);
  a.reset(1);
  assert.equal(a.suspect(), true);
});

test("SETTINGS and PING floods are counted per window; a new window starts afresh", () => {
  const a = new Abuse(defaultAbuseLimits);
  a.tick(100_000);
  for (let i = 0; i < 100; i++) assert.equal(a.ping(), undefined);
  assert.equal(a.ping(), "ping_flood");
  a.tick(100_000 + defaultAbuseLimits.windowMs + 1);
  for (let i = 0; i < 100; i++) assert.equal(a.settingsFrame(), undefined);
  assert.equal(a.settingsFrame(), "settings_flood");
  assert.equal(a.ping(), undefined);
});

test("a PING after HEADERS or DATA went out is not counted (gRPC's BDP pings); one with none is", () => {
  const a = new Abuse(defaultAbuseLimits);
  a.tick(200_000);
  // grpc-go pings each time it received DATA with no PING outstanding: thousands in a window.
  for (let i = 0; i < 10_000; i++) {
    a.sent();
    assert.equal(a.ping(), undefined, `ping ${i} answered our DATA`);
  }
  // Two PINGs after one response: the second answers nothing of ours.
  a.sent();
  assert.equal(a.ping(), undefined);
  for (let i = 0; i < 100; i++) assert.equal(a.ping(), undefined);
  assert.equal(a.ping(), "ping_flood", "the 101st PING that followed no response of ours");
  assert.match(a.detail("ping_flood"), /^101 PING frames with no response sent/);
});

test("frame bytes beyond the allowance cut; each stream opened adds to it", () => {
  const a = new Abuse({ ...defaultAbuseLimits, maxFrameBytes: 1000, streamAllowance: 500 });
  a.tick(50_000);
  assert.equal(a.overhead(1000), undefined);
  a.opened();
  assert.equal(a.overhead(500), undefined);
  assert.equal(a.overhead(1), "frame_flood");
});

test("CONTINUATION count, refused streams and invalid frames each have a bound", () => {
  const a = new Abuse(defaultAbuseLimits);
  assert.equal(a.continuation(16), undefined);
  assert.equal(a.continuation(17), "frame_flood");
  for (let i = 0; i < 100; i++) assert.equal(a.rejectedStream(), undefined);
  assert.equal(a.rejectedStream(), "frame_flood");
  for (let i = 0; i < 100; i++) assert.equal(a.invalidFrame(), undefined);
  assert.equal(a.invalidFrame(), "frame_flood");
});
