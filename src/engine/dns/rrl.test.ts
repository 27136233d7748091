// rrl.test.ts: response-rate limiting with an injected clock.
import assert from "node:assert/strict";
import { test } from "node:test";
import { clientNetwork, RateLimiter } from "./rrl.ts";

test("rrl: a network gets rate responses a second, then every slip-th limited one truncated", () => {
  let now = 1_000_000;
  const rl = new RateLimiter(4, 2, () => now);
  const seen = Array.from({ length: 10 }, () => rl.check("192.0.2.7"));
  assert.deepEqual(seen, ["send", "send", "send", "send", "drop", "slip", "drop", "slip", "drop", "slip"]);
  // Another address of the same /24 shares the bucket; another /24 does not.
  assert.equal(rl.check("192.0.2.200"), "drop");
  assert.equal(rl.check("192.0.3.7"), "send");
  // Tokens come back with time: a quarter second gives one at 4/s.
  now += 250;
  assert.equal(rl.check("192.0.2.7"), "send");
  assert.notEqual(rl.check("192.0.2.7"), "send");
  // A full second refills the bucket, never above one second's worth.
  now += 10_000;
  assert.deepEqual(
    Array.from({ length: 5 }, () => rl.check("192.0.2.1")).filter((v) => v === "send").length,
    4,
  );
});

test("rrl: slip 0 drops every limited response; slip 1 truncates every one", () => {
  const drop = new RateLimiter(1, 0, () => 0);
  assert.deepEqual([drop.check("::1"), drop.check("::1"), drop.check("::1")], ["send", "drop", "drop"]);
  const slip = new RateLimiter(1, 1, () => 0);
  assert.deepEqual([slip.check("::1"), slip.check("::1"), slip.check("::1")], ["send", "slip", "slip"]);
});

test("rrl: clients count by /24 (IPv4, also IPv4-mapped) and /56 (IPv6)", () => {
  assert.equal(clientNetwork("192.0.2.7"), clientNetwork("192.0.2.250"));
  assert.equal(clientNetwork("::ffff:192.0.2.7"), clientNetwork("192.0.2.9"));
  assert.notEqual(clientNetwork("192.0.2.7"), clientNetwork("192.0.3.7"));
  assert.equal(clientNetwork("2001:db8:0:ab00::1"), clientNetwork("2001:db8:0:abff:ffff::9"));
  assert.notEqual(clientNetwork("2001:db8:0:ab00::1"), clientNetwork("2001:db8:0:ac00::1"));
});
