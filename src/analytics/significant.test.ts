import assert from "node:assert/strict";
import { test } from "node:test";
import { reasonsOf, toLogRecord, wafBlocked, withoutQueryValues } from "./significant.ts";
import { httpEvent } from "./event-testing.ts";

const ctx = { targetMs: 500, fullUntil: 0, now: 1000, policyDenied: false };

test("a quick 2xx is not kept", () => {
  assert.deepEqual(reasonsOf(httpEvent(), ctx), []);
  assert.deepEqual(reasonsOf(httpEvent({ status: 404, durationMs: 1999 }), ctx), []);
});

test("5xx, reset, timeout, slow (> 4 × target), policy, waf, full are each a reason, in order", () => {
  assert.deepEqual(reasonsOf(httpEvent({ status: 503 }), ctx), ["5xx"]);
  assert.deepEqual(reasonsOf(httpEvent({ status: 0, outcome: "reset" }), ctx), ["reset"]);
  assert.deepEqual(reasonsOf(httpEvent({ status: 504, outcome: "timeout" }), ctx), ["5xx", "timeout"]);
  assert.deepEqual(reasonsOf(httpEvent({ durationMs: 2001 }), ctx), ["slow"]);
  assert.deepEqual(reasonsOf(httpEvent({ durationMs: 81 }), { ...ctx, targetMs: 20 }), ["slow"]);
  assert.deepEqual(reasonsOf(httpEvent({ status: 403 }), { ...ctx, policyDenied: true }), ["policy"]);
  const waf = {
    policy: "WafPolicy/default/w",
    ruleIds: [942100],
    hits: [],
    inbound: 5,
    outbound: 0,
    elapsedMs: 1,
  };
  assert.deepEqual(reasonsOf(httpEvent({ status: 403, waf: { ...waf, action: "block" } }), ctx), ["waf"]);
  assert.deepEqual(reasonsOf(httpEvent({ waf: { ...waf, action: "detect", wouldBlock: 949110 } }), ctx), [
    "waf",
  ]);
  assert.deepEqual(reasonsOf(httpEvent({ waf: { ...waf, action: "pass" } }), ctx), []);
  assert.deepEqual(reasonsOf(httpEvent(), { ...ctx, fullUntil: 1001 }), ["full"]);
  assert.deepEqual(reasonsOf(httpEvent(), { ...ctx, fullUntil: 1000 }), [], "the deadline is exclusive");
  assert.deepEqual(reasonsOf(httpEvent({ status: 500, durationMs: 5000 }), { ...ctx, fullUntil: 2000 }), [
    "5xx",
    "slow",
    "full",
  ]);
  assert.equal(wafBlocked(httpEvent({ waf: { ...waf, action: "drop" } })), true);
});

test("toLogRecord: timings with total, pool-qualified backend, truncated path and user agent", () => {
  const r = toLogRecord(
    httpEvent({
      status: 502,
      error: "backend refused",
      path: "/" + "p".repeat(2000),
      userAgent: "curl/8" + "x".repeat(500),
      timings: { request: 1, connect: 2, ttfb: 3 },
    }),
    "L a.example",
    ["5xx"],
    "local",
    1234,
  );
  assert.equal(r.at, 1234);
  assert.equal(r.vs, "L a.example");
  assert.equal(r.backend, "default/web:80 127.0.0.2:8080");
  assert.equal(r.path.length, 1024);
  assert.equal(r.userAgent.length, 256);
  assert.deepEqual(r.timings, { total: 10, request: 1, connect: 2, ttfb: 3 });
  assert.equal(r.error, "backend refused");
  assert.equal(toLogRecord(httpEvent({ backend: "" }), "v", ["5xx"], "e", 1).backend, "");
});

test("toLogRecord keeps the query's parameter names, never its values (tokens, codes)", () => {
  const r = toLogRecord(httpEvent({ path: "/cb?code=abc&access_token=s3cret&flag" }), "v", ["5xx"], "e", 1);
  assert.equal(r.path, "/cb?code&access_token&flag");
  assert.equal(withoutQueryValues("/plain"), "/plain");
  assert.equal(withoutQueryValues("/x?"), "/x?");
  assert.equal(withoutQueryValues("/x?token=a=b"), "/x?token");
});
