// Hostile HTTP/1.1 (RFC 9112/9110 edge cases beyond l7-bad-traffic.test.ts): raw bytes on a real
// socket, the status RFC 9112 asks for, and a backend — a raw TCP server counting connections and
// bytes — that sees nothing of a refused request.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import { once } from "node:events";
import { RecordingBackend, proxyAll, rawExchange } from "../../src/engine/l7/testing.ts";

// The backend answers each request head it sees; a head with Expect: 100-continue gets the interim
// 100 first (as a real origin would), and the final answer once the body arrived.
const backend = await new RecordingBackend((data, s) => {
  if (/\r\nexpect: 100-continue\r\n/i.test(data) && data.endsWith("\r\n\r\n")) {
    s.write("HTTP/1.1 100 Continue\r\n\r\n");
    return;
  }
  s.write(
    data.startsWith("HEAD ")
      ? "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n"
      : "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
  );
}).start();
const { server, port } = await proxyAll("hostile:80", backend.port, { headerTimeoutMs: 1000 });
after(() => {
  server.close();
  backend.close();
});

const chunked = "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n";
const cases: [name: string, request: string, status: number][] = [
  // Framing (request smuggling).
  [
    "Transfer-Encoding with an unknown coding",
    "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
    501,
  ],
  [
    "an unknown coding in a Transfer-Encoding field of its own",
    "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    501,
  ],
  // The last coding is not chunked: the request has no framing (RFC 9112 §6.3).
  ["Transfer-Encoding: gzip", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip\r\n\r\nabc", 400],
  [
    "Transfer-Encoding: chunked, gzip",
    "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked, gzip\r\n\r\nabc",
    400,
  ],
  // llhttp itself refuses these codings (400); 501 would do as well.
  ["Transfer-Encoding: identity", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: identity\r\n\r\n", 400],
  [
    "Transfer-Encoding: chunked twice",
    "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n",
    400,
  ],
  [
    "two Transfer-Encoding headers",
    "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    400,
  ],
  ["Transfer-Encoding: xchunked", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: xchunked\r\n\r\n", 400],
  [
    "Transfer-Encoding on HTTP/1.0",
    "POST / HTTP/1.0\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    400,
  ],
  [
    "CL then TE",
    "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n0\r\n\r\n",
    400,
  ],
  ["Content-Length list", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 2, 2\r\n\r\nab", 400],
  ["Content-Length with a sign", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: +2\r\n\r\nab", 400],
  ["negative Content-Length", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: -1\r\n\r\n", 400],
  ["hex Content-Length", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 0x2\r\n\r\nab", 400],
  [
    "overflowing Content-Length",
    "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 99999999999999999999999\r\n\r\n",
    400,
  ],
  ["empty Content-Length", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: \r\n\r\n", 400],
  ["oversized chunk-size line", chunked + "1".repeat(64) + "\r\n", 400],
  ["overflowing chunk size", chunked + "fffffffffffffffffff\r\n", 400],
  ["chunk-size with a sign", chunked + "+5\r\nabcde\r\n0\r\n\r\n", 400],
  ["chunk extension with a bare LF", chunked + "5;a=b\nabcde\r\n0\r\n\r\n", 400],
  ["chunk data longer than its size", chunked + "2\r\nabcde\r\n0\r\n\r\n", 400],
  ["chunk without CRLF after data", chunked + "2\r\nab0\r\n\r\n", 400],
  // Framing fields in trailers (RFC 9110 §6.5.1): forwarded in the last chunk, they would reach a
  // backend that merges trailers into the header section.
  ["Content-Length in the trailers", chunked + "1\r\na\r\n0\r\nContent-Length: 5\r\n\r\n", 400],
  ["Transfer-Encoding in the trailers", chunked + "1\r\na\r\n0\r\nTransfer-Encoding: chunked\r\n\r\n", 400],
  // Line syntax.
  ["bare CR in the request line", "GET / HTTP/1.1\rHost: h\r\n\r\n", 400],
  ["bare CR in a header value", "GET / HTTP/1.1\r\nHost: h\r\nX-A: a\rb\r\n\r\n", 400],
  ["NUL in a header value", "GET / HTTP/1.1\r\nHost: h\r\nX-A: a\x00b\r\n\r\n", 400],
  ["NUL in the target", "GET /a\x00b HTTP/1.1\r\nHost: h\r\n\r\n", 400],
  ["NUL in a header name", "GET / HTTP/1.1\r\nHost: h\r\nX\x00A: 1\r\n\r\n", 400],
  ["tab before colon", "GET / HTTP/1.1\r\nHost: h\r\nX-A\t: x\r\n\r\n", 400],
  ["header line without colon", "GET / HTTP/1.1\r\nHost: h\r\nX-A x\r\n\r\n", 400],
  ["empty header name", "GET / HTTP/1.1\r\nHost: h\r\n: x\r\n\r\n", 400],
  ["header name with a slash", "GET / HTTP/1.1\r\nHost: h\r\nX/A: x\r\n\r\n", 400],
  [
    "obs-fold of Transfer-Encoding",
    "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding:\r\n chunked\r\n\r\n0\r\n\r\n",
    400,
  ],
  ["leading whitespace before the first header", "GET / HTTP/1.1\r\n Host: h\r\n\r\n", 400],
  ["tab as request-line separator", "GET\t/ HTTP/1.1\r\nHost: h\r\n\r\n", 400],
  ["no version (HTTP/0.9)", "GET /\r\nHost: h\r\n\r\n", 505],
  ["lower-case version", "GET / http/1.1\r\nHost: h\r\n\r\n", 400],
  ["HTTP/2.0 in HTTP/1 syntax", "GET / HTTP/2.0\r\nHost: h\r\n\r\n", 505],
  ["unknown HTTP/1 minor version", "GET / HTTP/1.2\r\nHost: h\r\n\r\n", 400],
  ["HTTP/3.0 in HTTP/1 syntax", "GET / HTTP/3.0\r\nHost: h\r\n\r\n", 505],
  ["HTTP/0.9 version", "GET / HTTP/0.9\r\nHost: h\r\n\r\n", 505],
  ["very long method", `${"A".repeat(20 * 1024)} / HTTP/1.1\r\nHost: h\r\n\r\n`, 501],
  ["unknown method", "FOO / HTTP/1.1\r\nHost: h\r\n\r\n", 501],
  ["lower-case method", "get / HTTP/1.1\r\nHost: h\r\n\r\n", 501],
  // Targets and Host.
  ["absolute-form with userinfo", "GET http://user:pw@h/ HTTP/1.1\r\nHost: h\r\n\r\n", 400],
  ["absolute-form with an empty host", "GET http:///x HTTP/1.1\r\nHost: h\r\n\r\n", 400],
  ["absolute-form with another scheme", "GET ftp://h/ HTTP/1.1\r\nHost: h\r\n\r\n", 400],
  ["Host with userinfo", "GET / HTTP/1.1\r\nHost: user@h\r\n\r\n", 400],
  ["empty Host on HTTP/1.1", "GET / HTTP/1.1\r\nHost: \r\n\r\n", 400],
  ["asterisk-form with GET", "GET * HTTP/1.1\r\nHost: h\r\n\r\n", 400],
  ["authority-form with GET", "GET h:80 HTTP/1.1\r\nHost: h\r\n\r\n", 400],
  ["target with a fragment", "GET /a#b HTTP/1.1\r\nHost: h\r\n\r\n", 400],
  ["target with a backslash", "GET /a\\..\\b HTTP/1.1\r\nHost: h\r\n\r\n", 400],
  ["target with a space-escaped version", "GET /a HTTP/1.1 HTTP/1.1\r\nHost: h\r\n\r\n", 400],
  // Expectations.
  [
    "Expect with an unknown expectation",
    "POST / HTTP/1.1\r\nHost: h\r\nExpect: teapot\r\nContent-Length: 2\r\n\r\nab",
    417,
  ],
];

for (const [name, request, status] of cases) {
  test(`${name} → ${status}, backend sees nothing`, async () => {
    const before = backend.received.length;
    const conns = backend.connections;
    const out = await rawExchange(port, request);
    assert.match(out, new RegExp(`^HTTP/1\\.1 ${status} `), JSON.stringify(out.slice(0, 200)));
    assert.equal(
      backend.received.length,
      before,
      `backend received ${JSON.stringify(backend.received.slice(before))}`,
    );
    assert.ok(backend.connections <= conns + 1);
  });
}

/** seen returns what the backend received during fn. */
async function seen(fn: () => Promise<string>): Promise<{ out: string; got: string }> {
  const before = backend.received.length;
  const out = await fn();
  return { out, got: backend.received.slice(before) };
}

test("OPTIONS * is forwarded (asterisk-form is refused only for other methods)", async () => {
  const { out, got } = await seen(() =>
    rawExchange(port, "OPTIONS * HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"),
  );
  assert.match(out, /^HTTP\/1\.1 200 /);
  assert.match(got, /^OPTIONS \* HTTP\/1\.1\r\n/);
});

test("absolute-form: its authority and path reach the backend, Host is replaced", async () => {
  const { out, got } = await seen(() =>
    rawExchange(port, "GET http://a.example:80?q=1 HTTP/1.1\r\nHost: other\r\nConnection: close\r\n\r\n"),
  );
  assert.match(out, /^HTTP\/1\.1 200 /);
  assert.match(got, /^GET \/\?q=1 HTTP\/1\.1\r\n/);
  assert.match(got, /\r\nHost: a\.example:80\r\n/i);
  assert.doesNotMatch(got, /other/);
});

test("extra spaces in the request line (RFC 9112 §3 MAY) reach the backend as a clean line", async () => {
  const { out, got } = await seen(() =>
    rawExchange(port, "GET  /x  HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"),
  );
  assert.match(out, /^HTTP\/1\.1 200 /);
  assert.match(got, /^GET \/x HTTP\/1\.1\r\n/);
});

test("Expect: 100-continue: the proxy answers 100 while it holds the body, then forwards it whole; one 100 only", async () => {
  const before = backend.received.length;
  const s = net.connect(port, "127.0.0.1");
  let out = "";
  s.on("data", (d) => (out += d.toString("latin1")));
  s.write(
    "POST / HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 2\r\nConnection: close\r\n\r\n",
  );
  while (!out.includes("\r\n\r\n")) await once(s, "data");
  assert.match(out, /^HTTP\/1\.1 100 Continue\r\n\r\n$/);
  // The body is held (docs/limits.md): the backend sees nothing until it is complete.
  assert.equal(backend.received.slice(before), "");
  s.write("ab");
  await once(s, "close");
  assert.match(out, /^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 200 /);
  assert.equal(out.match(/ 100 Continue/g)?.length, 1, "the backend's own 100 is not repeated");
  assert.match(backend.received.slice(before), /\r\nExpect: 100-continue\r\n[^]*\r\n\r\nab$/i);
});

test("Connection: close, upgrade without a WebSocket: forwarded as a plain request, no Upgrade, then close", async () => {
  const { out, got } = await seen(() =>
    rawExchange(port, "GET / HTTP/1.1\r\nHost: h\r\nConnection: close, upgrade\r\nUpgrade: h2c\r\n\r\n"),
  );
  assert.match(out, /^HTTP\/1\.1 200 [^]*Connection: close\r\n/);
  assert.match(got, /^GET \/ HTTP\/1\.1\r\n/);
  assert.doesNotMatch(got, /upgrade: h2c/i);
});

test("GET and HEAD with a body: the body is forwarded framed, the next request is not smuggled", async () => {
  const { out, got } = await seen(() =>
    rawExchange(
      port,
      "GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nGET /" +
        "HEAD / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nConnection: close\r\n\r\nxyz",
    ),
  );
  assert.match(out, /^HTTP\/1\.1 200 [^]*HTTP\/1\.1 200 /);
  assert.equal(got.match(/ HTTP\/1\.1\r\n/g)?.length, 2, got);
  assert.match(got, /^GET \/ HTTP\/1\.1\r\n[^]*Content-Length: 5\r\n\r\nGET \/HEAD \/ HTTP\/1\.1\r\n/);
  assert.match(got, /\r\n\r\nGET \/HEAD \/ HTTP\/1\.1\r\n[^]*Content-Length: 3\r\n\r\nxyz$/);
});

test("a good request pipelined after a bad one never reaches the backend", async () => {
  const { out, got } = await seen(() =>
    rawExchange(port, "GET http://u@h/ HTTP/1.1\r\nHost: h\r\n\r\nGET /after HTTP/1.1\r\nHost: h\r\n\r\n"),
  );
  assert.match(out, /^HTTP\/1\.1 400 /);
  assert.equal(out.match(/HTTP\/1\.1 /g)?.length, 1, out);
  assert.equal(got, "");
});

test("a broken HTTP/2 preface is closed as HTTP/2 (no HTTP/1.1 answer), backend sees nothing", async () => {
  const { out, got } = await seen(() => rawExchange(port, "PRI * HTTP/2.0\r\n\r\nINVALID\r\n\r\n"));
  assert.doesNotMatch(out, /^HTTP\/1\.1/, JSON.stringify(out));
  assert.equal(got, "");
});
