// loadgen.test.ts: the load generator's record is right before anything is judged by it — every
// request counted once with its status and path, the schedule kept, quantiles by the sketch's rank
// rule, latencies no shorter than the backend's known delay — against the delay backend directly
// (no proxy), and HTTP/1.1 chunked bodies and HTTP/2 over TLS read whole.
import { test } from "node:test";
import assert from "node:assert/strict";
import { once } from "node:events";
import { createServer } from "node:http";
import { createSecureServer } from "node:http2";
import type { AddressInfo } from "node:net";
import { exactQuantiles, quantileOf, statusClass } from "./loadgen.ts";
import { runGoload, statusCounts } from "./goload.ts";
import { selfSigned } from "./certs.ts";
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

test("paced open loop against a 20 ms ± 2 ms backend: exact counts, schedule kept, latencies above the delay", async () => {
  const be = await startDelayBackend({ address: "127.0.0.1", delayMs: 20, jitterMs: 2, seed: 42 });
  try {
    const r = await runGoload("direct", {
      address: `127.0.0.1:${be.port}`,
      connections: 8,
      requests: 200,
      rate: 200,
      targets: [
        ...Array.from({ length: 9 }, () => ({ authority: "be.test", path: "/x" })),
        { authority: "be.test", path: "/x?status=503" },
      ],
      warm: { authority: "warm.test", path: "/w" },
    });
    assert.deepEqual(statusCounts(r.load), { "200": 180, "503": 20 });
    assert.deepEqual(
      r.load.map((x) => x.i),
      Array.from({ length: 200 }, (_, i) => i),
    );
    // Every request carries its index (the key to a proxy's access log), warm-ups theirs.
    assert.ok(r.load.every((x) => x.path === (x.i % 10 === 9 ? `/x?status=503&n=${x.i}` : `/x?n=${x.i}`)));
    assert.deepEqual(
      r.warm.map((x) => [x.authority, x.path, x.status]),
      Array.from({ length: 8 }, (_, k) => ["warm.test", `/w?n=${k}`, 200]),
    );
    // The last request is due at 199/200 s: an open loop cannot finish sooner.
    assert.ok(r.elapsedMs >= 995, `elapsed ${r.elapsedMs} ms`);
    // Every latency is at least the smallest delay drawn (18 ms), less 1 ms: Node's timers count
    // from the event loop's cached clock, which can lag the real one by up to a millisecond.
    const ms = r.load.map((x) => x.ns / 1e6);
    const q = exactQuantiles(ms);
    assert.ok(Math.min(...ms) >= 17, `min ${Math.min(...ms)} ${JSON.stringify(q)}`);
    // Loose upper bound (shared 2-core machine); the figures are printed for the report.
    assert.ok(q.p50 < 60, JSON.stringify(q));
    assert.ok(r.load.every((x) => x.endUs - x.startUs >= 17_000 && x.bytes > 0));
    console.log(`direct to backend: ${JSON.stringify(q)}; left late ${JSON.stringify(r.lateness)}`);
  } finally {
    await be.close();
  }
});

test("HTTP/1.1 chunked bodies and HTTP/2 over TLS streams are read whole, headers kept", async () => {
  const h1 = createServer((req, res) => {
    res.setHeader("x-who", "h1");
    res.write("part one,"); // no content-length: chunked
    res.end("part two");
  });
  const h2 = createSecureServer({ ...tlsPair(), allowHTTP1: false }, (req, res) => {
    res.setHeader("x-who", `h2 ${req.headers[":authority"]}`);
    res.statusCode = 204;
    res.end();
  });
  const listen = async (s: { listen(p: number, h: string): unknown; address(): unknown }) => {
    s.listen(0, "127.0.0.1");
    await once(s as unknown as NodeJS.EventEmitter, "listening");
    return (s.address() as AddressInfo).port;
  };
  const [p1, p2] = [await listen(h1), await listen(h2)];
  try {
    const a = await runGoload("chunked", {
      address: `127.0.0.1:${p1}`,
      connections: 2,
      requests: 40,
      rate: 400,
      keepHeader: "x-who",
      targets: [{ authority: "t", path: "/" }],
    });
    assert.deepEqual(statusCounts(a.load), { "200": 40 });
    assert.ok(a.load.every((r) => r.header === "h1" && r.bytes === "part one,part two".length));
    const b = await runGoload("h2", {
      address: `127.0.0.1:${p2}`,
      tls: true,
      serverName: "t.test",
      http2: true,
      connections: 2,
      requests: 40,
      rate: 400,
      keepHeader: "x-who",
      targets: [{ authority: "t.test", path: "/" }],
    });
    assert.deepEqual(statusCounts(b.load), { "204": 40 });
    assert.ok(b.load.every((r) => r.header === "h2 t.test"));
  } finally {
    h1.close();
    h1.closeAllConnections();
    h2.close();
  }
});

/** tlsPair is a self-signed certificate for t.test as node:tls options. */
function tlsPair(): { key: string; cert: string } {
  const c = selfSigned(["t.test"]);
  return { key: c.keyPem, cert: c.certPem };
}
