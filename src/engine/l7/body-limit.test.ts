// Route.maxRequestBodyBytes on a body without Content-Length, counted as it streams: every front
// and backend protocol answers 413 and the backend never gets the whole over-limit body.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import http2 from "node:http2";
import { once } from "node:events";
import net from "node:net";
import type { Pool, Route } from "../../model/ir.ts";
import { poolOf, proxyRoute, rawExchange } from "./testing.ts";

const closers: (() => void)[] = [];
after(() => closers.forEach((c) => c()));

const LIMIT = 10;
const BODY = "x".repeat(64);

// proxyTo listens with one route (limit LIMIT, one request in flight per client) to pool.
async function proxyTo(pool: Pool): Promise<number> {
  const route: Route = {
    name: "r",
    match: { path: { type: "Prefix", value: "/" } },
    maxRequestBodyBytes: LIMIT,
    access: { policy: "AccessPolicy/t/one-at-a-time", concurrency: 1 },
    action: { type: "Forward", backends: [{ pool: pool.name, weight: 1 }] },
  };
  const { server, port } = await proxyRoute(route, { [pool.name]: pool });
  closers.push(() => server.close());
  return port;
}

// h2cBackend starts an HTTP/2 cleartext backend that answers 200 once a stream's body ended,
// recording each such request's path and body size in seen.
async function h2cBackend(): Promise<{ pool: Pool; seen: { path: string; bytes: number }[] }> {
  const seen: { path: string; bytes: number }[] = [];
  const backend = http2.createServer();
  backend.on("stream", (stream, headers) => {
    let bytes = 0;
    stream.on("error", () => {});
    stream.on("data", (d: Buffer) => (bytes += d.length));
    stream.on("end", () => {
      seen.push({ path: String(headers[":path"]), bytes });
      stream.respond({ ":status": 200 });
      stream.end();
    });
  });
  backend.listen(0, "127.0.0.1");
  await once(backend, "listening");
  closers.push(() => backend.close());
  return { pool: poolOf("g", [(backend.address() as net.AddressInfo).port], "h2c"), seen };
}

// h2Post sends body in pieces without content-length over HTTP/2 and resolves the response status.
function h2Post(session: http2.ClientHttp2Session, body: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = session.request({ ":method": "POST", ":path": "/up" });
    let status = 0;
    req.on("response", (h) => (status = Number(h[":status"])));
    req.on("data", () => {});
    req.on("end", () => resolve(status));
    req.on("error", reject);
    for (let i = 0; i < body.length; i += 8) req.write(body.slice(i, i + 8));
    req.end();
  });
}

test("HTTP/2 client to an h2c pool: a streamed body past the route's limit gets 413, not forwarded whole", async () => {
  const { pool, seen } = await h2cBackend();
  const port = await proxyTo(pool);
  const session = http2.connect(`http://127.0.0.1:${port}`);
  closers.push(() => session.close());
  assert.equal(await h2Post(session, BODY), 413);
  assert.deepEqual(seen, [], "the backend never got the whole over-limit body");
  // The 413 gave the client's concurrency slot back: the next request is served, not refused 503.
  assert.equal(await h2Post(session, "small"), 200);
  assert.deepEqual(seen, [{ path: "/up", bytes: 5 }]);
});

test("HTTP/1.1 chunked body past the route's limit: 413 with Connection: close, backend gets no complete request", async () => {
  const { pool, seen } = await h2cBackend();
  const port = await proxyTo(pool);
  // A second, pipelined request behind the over-limit body must not be parsed out of its rest.
  const res = await rawExchange(
    port,
    "POST /up HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n" +
      `40\r\n${BODY}\r\n0\r\n\r\n` +
      "GET /next HTTP/1.1\r\nHost: a\r\n\r\n",
  );
  assert.match(res, /^HTTP\/1\.1 413 /);
  assert.match(res, /\r\nConnection: close\r\n/i);
  assert.equal(res.match(/HTTP\/1\.1 /g)?.length, 1, "one answer, then the connection closed");
  assert.deepEqual(seen, []);
});

test("HTTP/1.1 body past the limit after the exchange began: a request pipelined behind it in the same read is not forwarded", async () => {
  const { pool, seen } = await h2cBackend();
  const port = await proxyTo(pool);
  const s = net.connect(port, "127.0.0.1");
  closers.push(() => s.destroy());
  let got = "";
  s.on("data", (d: Buffer) => (got += d.toString("latin1")));
  s.write("POST /up HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nExpect: 100-continue\r\n\r\n");
  // The proxy's own 100 Continue says the exchange began (it holds the body before connecting).
  while (!got.includes("100 Continue")) await once(s, "data");
  s.write(`40\r\n${BODY}\r\n0\r\n\r\nGET /next HTTP/1.1\r\nHost: a\r\n\r\n`);
  await once(s, "close");
  assert.match(got, /HTTP\/1\.1 413 /);
  assert.equal(got.match(/HTTP\/1\.1 [2-5]/g)?.length, 1, "one answer, then the connection closed");
  assert.deepEqual(seen, [], "GET /next never reached the backend");
});

test("HTTP/1.1 Content-Length past the limit with Expect: 100-continue: 413 and the connection closes, no wait for a body the client holds back", async () => {
  const { pool, seen } = await h2cBackend();
  const port = await proxyTo(pool);
  const res = await rawExchange(
    port,
    "POST /up HTTP/1.1\r\nHost: a\r\nContent-Length: 1000\r\nExpect: 100-continue\r\n\r\n",
    undefined,
    3000,
  );
  assert.match(res, /^HTTP\/1\.1 413 /);
  assert.match(res, /\r\nConnection: close\r\n/i);
  assert.deepEqual(seen, []);
});

test("HTTP/2 body past the limit, client still sending: 413, then RST_STREAM(NO_ERROR) tells it to stop (RFC 9113 §8.1)", async () => {
  const { pool, seen } = await h2cBackend();
  const port = await proxyTo(pool);
  const session = http2.connect(`http://127.0.0.1:${port}`);
  closers.push(() => session.close());
  // Counted as it streams, and refused by its Content-Length before any of it is read.
  for (const length of [undefined, "1000"]) {
    const req = session.request({
      ":method": "POST",
      ":path": "/up",
      ...(length === undefined ? {} : { "content-length": length }),
    });
    req.on("error", () => {});
    req.resume();
    req.write(BODY); // past the limit, and the request goes on (no end)
    const [headers] = (await once(req, "response")) as [http2.IncomingHttpHeaders];
    assert.equal(headers[":status"], 413);
    // A deadline, not a wait: a stream left open never closes, and the test must fail, not hang.
    await Promise.race([
      once(req, "close"),
      new Promise((_, reject) => setTimeout(() => reject(new Error("the stream stayed open")), 5000).unref()),
    ]);
    assert.equal(req.rstCode, http2.constants.NGHTTP2_NO_ERROR, `content-length ${length}`);
  }
  assert.deepEqual(seen, []);
});
