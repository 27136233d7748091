// transfer-codings.test.ts: a backend's body with a transfer coding besides chunked ("Transfer-
// Encoding: gzip, chunked", RFC 9112 §6.1) end to end on real sockets — a raw HTTP/1.1 backend,
// the compiled listener, raw HTTP/1.1 and HTTP/1.0 clients and node:http2. The engine takes the
// chunked framing off; it used to send the rest on as if plain (the gzip coding lost, the client
// handed gzip bytes as the body). Now an HTTP/1.1 client gets the codings in the Transfer-Encoding
// the body is re-chunked with; HTTP/1.0 and HTTP/2 clients, which cannot take a transfer coding
// (RFC 9113 §8.2.2), get 502 — as from HAProxy, Envoy and nginx.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import http2 from "node:http2";
import net from "node:net";
import { once } from "node:events";
import { gunzipSync, gzipSync } from "node:zlib";
import { bodyCodings } from "../http/head.ts";
import { HttpParser } from "../http/parser.ts";
import { answeringBackend, poolOf, proxyErrors, proxyRoute, type RawAnswer } from "./testing.ts";
import type { Route } from "../../model/ir.ts";

const closers: (() => void)[] = [];
after(() => closers.forEach((c) => c()));

const TEXT = "a body the backend gzipped as a transfer coding, ".repeat(20);
const gz = gzipSync(TEXT);
const half = gz.length >> 1;
const head = (te: string) => `HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n${te}\r\n`;
// answers are the backend's raw responses by path ("close": the backend closes after it).
const answers: Record<string, RawAnswer> = {
  "/gzip-chunked": {
    raw: Buffer.concat([
      Buffer.from(head("Transfer-Encoding: gzip, chunked\r\n") + `${half.toString(16)}\r\n`, "latin1"),
      gz.subarray(0, half),
      Buffer.from(`\r\n${(gz.length - half).toString(16)}\r\n`, "latin1"),
      gz.subarray(half),
      Buffer.from("\r\n0\r\n\r\n", "latin1"),
    ]),
  },
  // No chunked at the end: the body ends with the connection (RFC 9112 §6.3).
  "/gzip-close": {
    raw: Buffer.concat([Buffer.from(head("Transfer-Encoding: gzip\r\n"), "latin1"), gz]),
    close: true,
  },
  "/two-fields": {
    raw: Buffer.concat([
      Buffer.from(
        head("Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n") + `${gz.length.toString(16)}\r\n`,
        "latin1",
      ),
      gz,
      Buffer.from("\r\n0\r\n\r\n", "latin1"),
    ]),
  },
  // chunked not last: read to the close with no chunking undone, so nothing can describe it.
  "/chunked-first": {
    raw: Buffer.from(head("Transfer-Encoding: chunked, gzip\r\n") + "5\r\nhello\r\n0\r\n\r\n", "latin1"),
    close: true,
  },
  "/chunked": {
    raw: Buffer.from(head("Transfer-Encoding: chunked\r\n") + "5\r\nhello\r\n0\r\n\r\n", "latin1"),
  },
  // "chunked" and a NBSP (0xA0, which a field value may hold): not chunked to the parser, which
  // reads the body to the close, chunk framing and all; nor a token that could be passed on.
  "/chunked-nbsp": {
    raw: Buffer.from(head("Transfer-Encoding: chunked\xa0\r\n") + "5\r\nhello\r\n0\r\n\r\n", "latin1"),
    close: true,
  },
};

// backend answers each request head with answers[path] (a HEAD: the same head, no body).
async function backend(): Promise<number> {
  const b = await answeringBackend(answers);
  closers.push(() => b.close());
  return b.port;
}

async function proxy(): Promise<number> {
  const route: Route = {
    name: "r",
    match: { path: { type: "Prefix", value: "/" } },
    action: { type: "Forward", backends: [{ pool: "p", weight: 1 }] },
  };
  const { server, port } = await proxyRoute(route, { p: poolOf("p", [await backend()]) });
  closers.push(() => server.close());
  return port;
}
const port = await proxy();

// exchange sends requests on one connection (the last one closes it) and reads until the close.
async function exchange(reqs: string): Promise<Buffer> {
  const s = net.connect(port, "127.0.0.1");
  s.on("error", () => {});
  const got: Buffer[] = [];
  s.on("data", (d: Buffer) => got.push(d));
  s.write(reqs);
  await once(s, "close");
  return Buffer.concat(got);
}

interface Response {
  status: number;
  fields: Map<string, string>;
  body: Buffer;
}

// readResponse reads one HTTP/1.1 response from b at at, whose body is chunked or absent (status
// >= 300 with Content-Length); returns it and where the next one starts.
function readResponse(b: Buffer, at: number): [Response, number] {
  const end = b.indexOf("\r\n\r\n", at);
  assert.ok(end !== -1, `a head in ${JSON.stringify(b.subarray(at).toString("latin1"))}`);
  const lines = b.subarray(at, end).toString("latin1").split("\r\n");
  const status = Number(/^HTTP\/1\.1 (\d{3}) /.exec(lines[0]!)?.[1]);
  const fields = new Map<string, string>();
  for (const l of lines.slice(1)) {
    const c = l.indexOf(":");
    fields.set(l.slice(0, c).toLowerCase(), l.slice(c + 1).trim());
  }
  at = end + 4;
  const parts: Buffer[] = [];
  const length = fields.get("content-length");
  if (length !== undefined) {
    parts.push(b.subarray(at, at + Number(length)));
    at += Number(length);
  } else {
    for (;;) {
      const e = b.indexOf("\r\n", at);
      const size = parseInt(b.subarray(at, e).toString("latin1"), 16);
      assert.ok(Number.isInteger(size), "a chunk size");
      at = e + 2;
      if (size === 0) break;
      parts.push(b.subarray(at, at + size));
      at += size;
      assert.equal(b.subarray(at, at + 2).toString("latin1"), "\r\n", "a chunk ends in CRLF");
      at += 2;
    }
    assert.equal(b.subarray(at, at + 2).toString("latin1"), "\r\n", "no trailers");
    at += 2;
  }
  return [{ status, fields, body: Buffer.concat(parts) }, at];
}

test("bodyCodings: the codings left once the final chunked is taken off; null when chunked is elsewhere", () => {
  assert.equal(bodyCodings(["Content-Length", "5"]), "");
  assert.equal(bodyCodings(["Transfer-Encoding", "chunked"]), "");
  assert.equal(bodyCodings(["transfer-encoding", "gzip, Chunked"]), "gzip");
  assert.equal(bodyCodings(["Transfer-Encoding", "gzip"]), "gzip");
  assert.equal(bodyCodings(["Transfer-Encoding", "gzip", "X", "y", "Transfer-Encoding", "chunked"]), "gzip");
  assert.equal(bodyCodings(["Transfer-Encoding", "deflate ,gzip,chunked"]), "deflate, gzip");
  assert.equal(bodyCodings(["Transfer-Encoding", "chunked, gzip"]), null);
  assert.equal(bodyCodings(["Transfer-Encoding", "chunked, chunked"]), null);
  assert.equal(bodyCodings(["Transfer-Encoding", "gzip, chunked,"]), null);
});

// parsed gives a response head with Transfer-Encoding fields tes to the engine's parser, then a
// chunked body: whether the parser took the chunking off, and the head's fields.
function parsed(tes: string[]): { dechunked: boolean; headers: string[] } {
  let headers: string[] = [];
  let body = "";
  let complete = false;
  const p = new HttpParser(
    "response",
    {
      onBegin() {},
      onHead: (h) => ((headers = h.headers), false),
      onBody: (c) => void (body += c.toString("latin1")),
      onTrailers() {},
      onComplete: () => void (complete = true),
    },
    16384,
  );
  const fields = tes.map((v) => `Transfer-Encoding: ${v}\r\n`).join("");
  const r = p.execute(Buffer.from(`HTTP/1.1 200 OK\r\n${fields}\r\n5\r\nhello\r\n0\r\n\r\n`, "latin1"));
  assert.equal(typeof r, "number", `the parser takes ${JSON.stringify(tes)}`);
  return { dechunked: complete && body === "hello", headers };
}

test("bodyCodings takes chunked off exactly when the parser does; anything else is null (502)", () => {
  // [fields, the parser de-chunks, bodyCodings]
  const cases: [string[], boolean, string | null][] = [
    [["chunked"], true, ""],
    [["CHUNKED"], true, ""],
    [["gzip, chunked"], true, "gzip"],
    [["gzip", "chunked"], true, "gzip"],
    [["x-c;level=1 , chunked"], true, "x-c;level=1"],
    [["gzip"], false, "gzip"],
    [["chunked, gzip"], false, null],
    [["chunked, chunked"], false, null],
    [["chunked", "chunked"], false, null],
    [["gzip, chunked,"], false, null],
    // A field after the one that ended in chunked, empty or not: the parser reads to the close.
    [["chunked", ""], false, null],
    [["chunked", "gzip"], false, null],
    // The parser de-chunks, but chunked came twice: 502 all the same.
    [["chunked", "gzip", "chunked"], true, null],
    // NBSP is not OWS: "chunked\xa0" is not chunked to the parser, and no token.
    [["chunked\xa0"], false, null],
    [["gzip, chunked\xa0"], false, null],
    [["gzip,\xa0chunked"], false, null],
    [["gzip\xa0, chunked"], true, null],
  ];
  for (const [tes, dechunked, codings] of cases) {
    const p = parsed(tes);
    assert.equal(p.dechunked, dechunked, `the parser on ${JSON.stringify(tes)}`);
    assert.equal(bodyCodings(p.headers), codings, `bodyCodings of ${JSON.stringify(tes)}`);
  }
});

test("HTTP/1.1 client: the gzip coding stays in the Transfer-Encoding the body is re-chunked with", async () => {
  const text = await exchange(
    "GET /gzip-chunked HTTP/1.1\r\nHost: a\r\n\r\n" +
      "GET /two-fields HTTP/1.1\r\nHost: a\r\n\r\n" +
      "GET /chunked HTTP/1.1\r\nHost: a\r\n\r\n" +
      "GET /gzip-close HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
  );
  let at = 0;
  for (const path of ["/gzip-chunked", "/two-fields", "/chunked", "/gzip-close"]) {
    const [r, next] = readResponse(text, at);
    at = next;
    assert.equal(r.status, 200, path);
    assert.equal(r.fields.get("content-length"), undefined, path);
    if (path === "/chunked") {
      assert.equal(r.fields.get("transfer-encoding"), "chunked");
      assert.equal(r.body.toString(), "hello");
    } else {
      assert.equal(r.fields.get("transfer-encoding"), "gzip, chunked", path);
      assert.equal(gunzipSync(r.body).toString(), TEXT, `${path}: the client undoes gzip itself`);
    }
  }
  assert.equal(at, text.length, "nothing after the last response");
});

test("HTTP/1.1 client, chunked not the last coding or not a token: 502", async () => {
  for (const [path, te] of [
    ["/chunked-first", "chunked, gzip"],
    ["/chunked-nbsp", "chunked\xa0"],
  ]) {
    const errs = proxyErrors();
    const [r] = readResponse(
      await exchange(`GET ${path} HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n`),
      0,
    );
    await errs.stop();
    assert.equal(r.status, 502, path);
    assert.ok(
      errs.errors.some(
        (e) => e.includes(`Transfer-Encoding: ${te}`) && e.includes("chunked must be the last"),
      ),
      errs.errors.join("\n"),
    );
  }
});

test("HTTP/1.0 client: a transfer-coded body is a 502 (HTTP/1.0 has no Transfer-Encoding)", async () => {
  for (const path of ["/gzip-chunked", "/gzip-close"]) {
    const text = (await exchange(`GET ${path} HTTP/1.0\r\nHost: a\r\n\r\n`)).toString("latin1");
    assert.match(text, /^HTTP\/1\.1 502 /, `${path}: ${text}`);
    assert.ok(!text.includes("\x1f\x8b"), `${path}: no gzip bytes`);
  }
  // A plain chunked body is still sent, de-chunked, to the close.
  const text = (await exchange("GET /chunked HTTP/1.0\r\nHost: a\r\n\r\n")).toString("latin1");
  assert.match(text, /^HTTP\/1\.1 200 [^]*\r\n\r\nhello$/);
});

// h2 asks path over HTTP/2: the status, the field names, the body.
async function h2(session: http2.ClientHttp2Session, path: string, method = "GET") {
  const s = session.request({ ":path": path, ":method": method, ":authority": "a" });
  const chunks: Buffer[] = [];
  s.on("data", (c: Buffer) => chunks.push(c));
  const ended = once(s, "end");
  const [h] = (await once(s, "response")) as [http2.IncomingHttpHeaders];
  await ended;
  return { status: h[":status"], names: Object.keys(h), body: Buffer.concat(chunks) };
}

test("HTTP/2 client: a transfer-coded body is a 502; chunked alone and HEAD pass", async () => {
  const errs = proxyErrors();
  const session = http2.connect(`http://127.0.0.1:${port}`);
  closers.push(() => session.close());
  for (const path of ["/gzip-chunked", "/gzip-close", "/two-fields", "/chunked-first", "/chunked-nbsp"]) {
    const r = await h2(session, path);
    assert.equal(r.status, 502, path);
    assert.ok(!r.body.includes(Buffer.from([0x1f, 0x8b])), `${path}: no gzip bytes`);
  }
  await errs.stop();
  assert.ok(
    errs.errors.some((e) => e.includes("Transfer-Encoding: gzip, chunked") && e.includes("an HTTP/2 client")),
    errs.errors.join("\n"),
  );
  const plain = await h2(session, "/chunked");
  assert.equal(plain.status, 200);
  assert.equal(plain.body.toString(), "hello");
  // A HEAD response has no body to be coded: its head passes (without transfer-encoding).
  const head = await h2(session, "/gzip-chunked", "HEAD");
  assert.equal(head.status, 200);
  assert.ok(!head.names.includes("transfer-encoding"), head.names.join(" "));
});
