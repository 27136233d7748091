// loadgen.test.ts: the load generator's record is right before anything is judged by it — every
// request counted once with its status, quantiles by the sketch's rank rule, latencies no shorter
// than the backend's known delay — against the delay backend directly (no proxy).
import { test } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { createServer as createH2Server } from "node:http2";
import type { AddressInfo } from "node:net";
import { exactQuantiles, quantileOf, runLoad, statusClass } from "./loadgen.ts";
import { hexAddr, mulberry32, startDelayBackend } from "./delay-backend.ts";

test("quantileOf takes the sample at floor(q × (n − 1)), as the sketch ranks", () => {
  const v = Array.from({ length: 101 }, (_, i) => i);
  assert.equal(quantileOf(v, 0.5), 50);
  assert.equal(quantileOf(v, 0.99), 99);
  assert.deepEqual(exactQuantiles([3, 1, 2, 4]), { count: 4, p50: 2, p90: 3, p99: 3, max: 4 });
  assert.equal(statusClass(503), "5xx");
  assert.equal(statusClass(0), "none");
});

test("the jitter generator is seeded and hexAddr matches /proc/net/tcp", () => {
  const a = mulberry32(7);
  const b = mulberry32(7);
  const xs = Array.from({ length: 5 }, () => a());
  assert.deepEqual(
    xs,
    Array.from({ length: 5 }, () => b()),
  );
  assert.ok(xs.every((x) => x >= 0 && x < 1));
  assert.equal(hexAddr("127.0.0.1", 8080), "0100007F:1F90");
});

test("closed loop against a 20 ms ± 2 ms backend: exact counts, latencies above the delay", async () => {
  const be = await startDelayBackend({ address: "127.0.0.1", delayMs: 20, jitterMs: 2, seed: 42 });
  try {
    const r = await runLoad({
      host: "127.0.0.1",
      port: be.port,
      connections: 4,
      requests: 200,
      request: (i) => ({ path: i % 10 === 9 ? "/x?status=503" : "/x", authority: "be.test" }),
    });
    assert.equal(r.records.length, 200);
    assert.deepEqual(r.byStatus, { "200": 180, "503": 20 });
    assert.deepEqual(
      r.records.map((x) => x.i),
      Array.from({ length: 200 }, (_, i) => i),
    );
    // Every latency is at least the smallest delay drawn (18 ms), less 1 ms: Node's timers count
    // from the event loop's cached clock, which can lag the real one by up to a millisecond.
    const min = Math.min(...r.records.map((x) => x.ms));
    assert.ok(r.latency.count === 200 && min >= 17, `min ${min} ${JSON.stringify(r.latency)}`);
    // Loose upper bound (shared 2-core machine); the figures are printed for the report.
    assert.ok(r.latency.p50 < 60, JSON.stringify(r.latency));
    console.log(`direct to backend: ${JSON.stringify(r.latency)} in ${r.elapsedMs.toFixed(0)} ms`);
  } finally {
    await be.close();
  }
});

test("HTTP/1.1 chunked bodies and HTTP/2 (h2c) streams are read whole, headers kept", async () => {
  const h1 = createServer((req, res) => {
    res.setHeader("x-who", "h1");
    res.write("part one,"); // no content-length: chunked
    res.end(req.url === "/close" ? "bye" : "part two");
  });
  const h2 = createH2Server((_req, res) => {
    res.setHeader("x-who", "h2");
    res.statusCode = 204;
    res.end();
  });
  const listen = async (s: { listen(p: number, h: string, cb: () => void): unknown; address(): unknown }) => {
    await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
    return (s.address() as AddressInfo).port;
  };
  const [p1, p2] = [await listen(h1), await listen(h2)];
  try {
    const a = await runLoad({
      host: "127.0.0.1",
      port: p1,
      connections: 2,
      requests: 40,
      keepHeader: "x-who",
      request: () => ({ path: "/", authority: "t" }),
    });
    assert.deepEqual(a.byStatus, { "200": 40 });
    assert.ok(a.records.every((r) => r.header === "h1"));
    const b = await runLoad({
      host: "127.0.0.1",
      port: p2,
      connections: 2,
      requests: 40,
      http2: true,
      keepHeader: "x-who",
      request: () => ({ path: "/", authority: "t" }),
    });
    assert.deepEqual(b.byStatus, { "204": 40 });
    assert.ok(b.records.every((r) => r.header === "h2"));
  } finally {
    h1.close();
    h1.closeAllConnections();
    h2.close();
  }
});
