// http1-reads.test.ts: plain-TCP client connections read through one shared buffer (onread),
// so whatever outlives a read must be a copy: large pipelined bodies through a slow backend
// arrive intact (they wait in pending lists and in backend write queues while other reads reuse
// the buffer). Also the accept path without a peek: a silent client is closed unanswered after
// the header timeout, and bytes after a Connection: close request are read and dropped while the
// proxy waits for the client's FIN (reading must go on after the response, or it never comes).
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { once } from "node:events";
import http from "node:http";
import net from "node:net";
import { after, test } from "node:test";
import { proxyAll, rawExchange, RecordingBackend } from "./testing.ts";

// The backend reads each body slowly (paused 5 ms per chunk, so the proxy's writes queue up) and
// answers with its length and SHA-256.
const slow = http.createServer((req, res) => {
  const h = createHash("sha256");
  let n = 0;
  req.on("data", (d: Buffer) => {
    h.update(d);
    n += d.length;
    req.pause();
    setTimeout(() => req.resume(), 5);
  });
  req.on("end", () => {
    const body = `${req.url} ${n} ${h.digest("hex")}`;
    res.writeHead(200, { "content-length": Buffer.byteLength(body) }).end(body);
  });
});
slow.listen(0, "127.0.0.1");
await once(slow, "listening");
const proxy = await proxyAll("reads:80", (slow.address() as net.AddressInfo).port);
after(() => {
  proxy.server.close();
  slow.close();
});

const sha = (b: Buffer) => createHash("sha256").update(b).digest("hex");

test("large pipelined bodies (Content-Length and chunked) through a slow backend arrive intact", async () => {
  const a = randomBytes(300_000);
  const b = randomBytes(200_000);
  const c = randomBytes(100_000);
  const chunked = Buffer.concat([
    ...[0, 1, 2, 3].map((i) => {
      const part = b.subarray(i * 50_000, (i + 1) * 50_000);
      return Buffer.concat([Buffer.from(`${part.length.toString(16)}\r\n`), part, Buffer.from("\r\n")]);
    }),
    Buffer.from("0\r\n\r\n"),
  ]);
  const wire = Buffer.concat([
    Buffer.from(`POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: ${a.length}\r\n\r\n`),
    a,
    Buffer.from("POST /b HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"),
    chunked,
    Buffer.from(`POST /c HTTP/1.1\r\nHost: h\r\nContent-Length: ${c.length}\r\nConnection: close\r\n\r\n`),
    c,
  ]);
  const got = await rawExchange(proxy.port, wire, undefined, 20_000);
  const bodies = [...got.matchAll(/\r\n\r\n(\/\w \d+ [0-9a-f]{64})/g)].map((m) => m[1]);
  assert.deepEqual(bodies, [
    `/a ${a.length} ${sha(a)}`,
    `/b ${b.length} ${sha(b)}`,
    `/c ${c.length} ${sha(c)}`,
  ]);
});

test("a silent client is closed after the header timeout, unanswered; the backend sees nothing", async () => {
  const backend = await new RecordingBackend().start();
  const p = await proxyAll("silent:80", backend.port, { headerTimeoutMs: 150 });
  const s = net.connect(p.port, "127.0.0.1");
  let got = "";
  s.on("data", (d: Buffer) => (got += d.toString("latin1")));
  s.on("error", () => {});
  await once(s, "close");
  assert.equal(got, "");
  assert.equal(backend.connections, 0);
  p.server.close();
  backend.close();
});

/** okBackend answers every request head with a 200 and a 2-byte body. */
function okBackend(): Promise<RecordingBackend> {
  return new RecordingBackend((data, s) => {
    if (data.includes("\r\n\r\n")) s.write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
  }).start();
}

/** openConnections says how many client connections the proxy's server still holds. */
function openConnections(server: net.Server): Promise<number> {
  return new Promise<number>((r, j) => server.getConnections((e, n) => (e ? j(e) : r(n))));
}

test("bytes after a Connection: close request are read and dropped; one response, then close", async () => {
  const backend = await okBackend();
  const p = await proxyAll("close:80", backend.port);
  const got = await rawExchange(
    p.port,
    "GET /one HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\nGET /two HTTP/1.1\r\nHost: h\r\n\r\n",
  );
  assert.match(got, /^HTTP\/1\.1 200 OK\r\n[^]*\r\n\r\nok$/);
  assert.equal(got.match(/HTTP\/1\.1/g)?.length, 1);
  assert.doesNotMatch(backend.received, /\/two/);
  // The proxy reads on to the client's FIN and closes its side too, long before any timeout.
  const deadline = Date.now() + 2000;
  while ((await openConnections(p.server)) > 0) {
    assert.ok(Date.now() < deadline, "the proxy's side of the connection is still open");
    await new Promise((r) => setImmediate(r));
  }
  p.server.close();
  backend.close();
});

test("a client that asked to close gets its response, then the proxy closes at once (no lingering)", async () => {
  const backend = await okBackend();
  const p = await proxyAll("quick-close:80", backend.port);
  const s = net.connect(p.port, "127.0.0.1");
  after(() => {
    s.destroy();
    p.server.close();
    backend.close();
  });
  await once(s, "connect");
  let got = "";
  s.on("data", (d: Buffer) => (got += d.toString("latin1")));
  s.write("GET /one HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n");
  // The client keeps its side open: the proxy's FIN must come without waiting for the client's.
  await once(s, "end");
  assert.match(got, /^HTTP\/1\.1 200 OK\r\n[^]*Connection: close\r\n\r\nok$/);
  const open = await openConnections(p.server);
  assert.equal(open, 0, "the proxy's socket is closed while the client's side is still open");
});
