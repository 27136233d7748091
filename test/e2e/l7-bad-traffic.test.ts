// Bad traffic (RFC 9112 strictness): each case goes over a raw socket, gets the right 4xx (or a
// closed connection), and the backend — a raw TCP server recording every byte — receives nothing.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import { RecordingBackend, proxyAll, rawExchange } from "../../src/engine/l7/testing.ts";

const backend = await new RecordingBackend((_data, s) => {
  s.write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
}).start();
const { server, port } = await proxyAll("bad:80", backend.port, { headerTimeoutMs: 300 });
after(() => {
  server.close();
  backend.close();
});

const cases: [name: string, request: string, status: number][] = [
  [
    "Content-Length with Transfer-Encoding",
    "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    400,
  ],
  [
    "two different Content-Length",
    "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
    400,
  ],
  [
    "duplicate Content-Length",
    "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nab",
    400,
  ],
  ["bare LF line endings", "GET / HTTP/1.1\nHost: h\n\n", 400],
  ["bare LF after a header", "GET / HTTP/1.1\r\nHost: h\nX: 1\r\n\r\n", 400],
  ["obs-fold", "GET / HTTP/1.1\r\nHost: h\r\nX-A: 1\r\n  folded\r\n\r\n", 400],
  [
    "invalid chunk size",
    "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\nxyz\r\nabc\r\n0\r\n\r\n",
    400,
  ],
  [
    "Transfer-Encoding not ending in chunked",
    "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked, gzip\r\n\r\n",
    400,
  ],
  ["oversized request line", `GET /${"a".repeat(17 * 1024)} HTTP/1.1\r\nHost: h\r\n\r\n`, 414],
  ["oversized headers", `GET / HTTP/1.1\r\nHost: h\r\nX-Big: ${"b".repeat(17 * 1024)}\r\n\r\n`, 431],
  [
    "too many headers",
    `GET / HTTP/1.1\r\nHost: h\r\n${Array.from({ length: 101 }, (_, i) => `X-${i}: ${i}\r\n`).join("")}\r\n`,
    431,
  ],
  ["missing Host on HTTP/1.1", "GET / HTTP/1.1\r\nUser-Agent: x\r\n\r\n", 400],
  ["two Host headers", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400],
  ["invalid header name", "GET / HTTP/1.1\r\nHost: h\r\nBad Name: x\r\n\r\n", 400],
  ["space before colon", "GET / HTTP/1.1\r\nHost: h\r\nX-A : x\r\n\r\n", 400],
  ["control character in header value", "GET / HTTP/1.1\r\nHost: h\r\nX-A: a\x01b\r\n\r\n", 400],
  ["invalid Host value", "GET / HTTP/1.1\r\nHost: a b/c\r\n\r\n", 400],
  ["unknown HTTP version", "GET / HTTP/1.7\r\nHost: h\r\n\r\n", 400],
];

for (const [name, request, status] of cases) {
  test(`${name} → ${status}, backend gets nothing`, async () => {
    const before = backend.received.length;
    const out = await rawExchange(port, request);
    assert.match(out, new RegExp(`^HTTP/1\\.1 ${status} `), JSON.stringify(out.slice(0, 200)));
    assert.match(out, /Connection: close\r\n/);
    assert.equal(
      backend.received.length,
      before,
      `backend received ${JSON.stringify(backend.received.slice(before))}`,
    );
  });
}

test("slow headers (slowloris) → 408 and close, backend gets nothing", async () => {
  const before = backend.received.length;
  const s = net.connect(port, "127.0.0.1");
  let got = "";
  s.on("data", (d) => (got += d.toString("latin1")));
  s.write("GET / HTTP/1.1\r\nHost: h\r\n");
  // Keep trickling bytes: an inactivity timer alone would never fire.
  const trickle = setInterval(() => s.writable && s.write("X-A: 1\r\n"), 50);
  await new Promise((resolve) => s.on("close", resolve));
  clearInterval(trickle);
  assert.match(got, /^HTTP\/1\.1 408 /);
  assert.equal(backend.received.length, before);
});

test("a good request on the same listener still reaches the backend (the harness can see traffic)", async () => {
  const before = backend.received.length;
  const out = await rawExchange(port, "GET /ok HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n");
  assert.match(out, /^HTTP\/1\.1 200 /);
  assert.match(backend.received.slice(before), /^GET \/ok HTTP\/1\.1\r\n/);
});

test("a bad request pipelined after a good one: the good one is served, then 400 and close", async () => {
  const before = backend.received.length;
  const out = await rawExchange(
    port,
    "GET /first HTTP/1.1\r\nHost: h\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
  );
  assert.match(out, /^HTTP\/1\.1 200 [^]*HTTP\/1\.1 400 /);
  const seen = backend.received.slice(before);
  assert.equal(seen.match(/HTTP\/1\.1\r\n/g)?.length, 1, seen);
});
