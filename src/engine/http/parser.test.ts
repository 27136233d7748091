// Pins the behaviour of Node's internal llhttp binding that the proxy relies on.
import { test } from "node:test";
import assert from "node:assert/strict";
import { setImmediate as nextTurn } from "node:timers/promises";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { HttpParser, type MessageHead, type ParseError } from "./parser.ts";

function collect(kind: "request" | "response", input: string | Buffer, max = 16384, skipBody = false) {
  const heads: MessageHead[] = [];
  const bodies: string[] = [];
  const trailers: string[][] = [];
  const done = { n: 0 };
  const p = new HttpParser(
    kind,
    {
      onBegin: () => {},
      onHead: (h) => (heads.push(h), skipBody),
      onBody: (b) => bodies.push(b.toString("latin1")),
      onTrailers: (t) => trailers.push(t),
      onComplete: () => done.n++,
    },
    max,
  );
  const r = p.execute(typeof input === "string" ? Buffer.from(input, "latin1") : input);
  return {
    heads,
    bodies,
    trailers,
    get complete() {
      return done.n;
    },
    r,
    p,
  };
}

function code(r: number | ParseError): string {
  return typeof r === "number" ? `ok:${r}` : r.code;
}

test("parses pipelined requests with Content-Length and chunked bodies", () => {
  const { heads, bodies, complete, r } = collect(
    "request",
    "POST /a?x=1 HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc" +
      "PUT /b HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nde\r\n1;ext=1\r\nf\r\n0\r\nX-T: 1\r\n\r\n" +
      "GET /c HTTP/1.0\r\n\r\n",
  );
  assert.equal(typeof r, "number");
  assert.equal(complete, 3);
  assert.deepEqual(
    heads.map((h) => [h.method, h.url, h.versionMinor, h.keepAlive]),
    [
      ["POST", "/a?x=1", 1, true],
      ["PUT", "/b", 1, true],
      ["GET", "/c", 0, false],
    ],
  );
  assert.deepEqual(heads[0]!.headers, ["Host", "h", "Content-Length", "3"]);
  assert.deepEqual(bodies, ["abc", "de", "f"]);
});

test("more than 32 headers arrive in one list, in order, and trailers are reported", () => {
  let head = "GET / HTTP/1.1\r\n";
  for (let i = 0; i < 70; i++) head += `X-${i}: ${i}\r\n`;
  const { heads, r } = collect("request", head + "\r\n");
  assert.equal(typeof r, "number");
  assert.equal(heads[0]!.headers.length, 140);
  assert.equal(heads[0]!.headers[138], "X-69");
  assert.equal(heads[0]!.url, "/");
  const resp = collect(
    "response",
    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n0\r\nGrpc-Status: 0\r\n\r\n",
  );
  assert.deepEqual(resp.trailers, [["Grpc-Status", "0"]]);
  assert.equal(resp.heads[0]!.statusCode, 200);
});

test("strict mode rejects smuggling vectors", () => {
  const cases: [string, string][] = [
    [
      "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
      "HPE_INVALID_TRANSFER_ENCODING",
    ],
    [
      "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
      "HPE_UNEXPECTED_CONTENT_LENGTH",
    ],
    ["GET / HTTP/1.1\nHost: h\n\n", "HPE_INVALID_VERSION"],
    ["GET / HTTP/1.1\r\nHost: h\nX: y\r\n\r\n", "HPE_CR_EXPECTED"],
    ["GET / HTTP/1.1\r\nHost: h\r\nX: a\r\n b\r\n\r\n", "HPE_INVALID_HEADER_TOKEN"],
    ["POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "HPE_INVALID_CHUNK_SIZE"],
    ["GET / HTTP/1.1\r\nHo st: h\r\n\r\n", "HPE_INVALID_HEADER_TOKEN"],
    ["GET / HTTP/1.1\r\nHost : h\r\n\r\n", "HPE_INVALID_HEADER_TOKEN"],
  ];
  for (const [input, want] of cases) {
    const got = code(collect("request", input).r);
    assert.equal(got, want, JSON.stringify(input));
    assert.notEqual(got.slice(0, 3), "ok:", JSON.stringify(input));
  }
});

test("header size limit covers request line and headers", () => {
  assert.equal(
    code(collect("request", `GET /${"a".repeat(300)} HTTP/1.1\r\n`, 256).r),
    "HPE_HEADER_OVERFLOW",
  );
  assert.equal(
    code(collect("request", `GET / HTTP/1.1\r\nX: ${"a".repeat(300)}\r\n`, 256).r),
    "HPE_HEADER_OVERFLOW",
  );
});

test("upgrade stops parsing at the end of the head and reports the offset", () => {
  const head = "GET /ws HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n";
  const { heads, r } = collect("request", head + "\x81\x00");
  assert.equal(r, head.length);
  assert.equal(heads[0]!.upgrade, true);
});

test("a response to HEAD can skip its body; close-delimited bodies end at finish()", () => {
  const skipped = collect(
    "response",
    "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n",
    0,
    true,
  );
  assert.equal(skipped.complete, 2);
  const eof = collect("response", "HTTP/1.1 200 OK\r\n\r\nabc");
  assert.equal(eof.complete, 0);
  assert.equal(eof.p.finish(), undefined);
  assert.equal(eof.complete, 1);
  const cut = collect("response", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nabc");
  assert.ok(cut.p.finish() !== undefined, "truncated body is an error at finish");
});

test("a detached parser (waiting in a pool) no longer keeps its last connection alive", async () => {
  setFlagsFromString("--expose-gc");
  const gc = runInNewContext("gc") as () => void;
  const sink = () => ({ onBegin() {}, onHead: () => false, onBody() {}, onTrailers() {}, onComplete() {} });
  // Each sink is reachable only through its parser.
  const withSink = (): [HttpParser, WeakRef<object>] => {
    const s = sink();
    return [new HttpParser("request", s, 0), new WeakRef(s)];
  };
  const request = Buffer.from("GET / HTTP/1.1\r\nHost: a\r\n\r\n", "latin1");
  const [kept, keptRef] = withSink();
  const [pooled, pooledRef] = withSink();
  assert.equal(kept.execute(request), request.length);
  assert.equal(pooled.execute(request), request.length);
  pooled.detach();
  await nextTurn(); // WeakRef targets stay alive until the job that made the ref ends
  gc();
  assert.ok(keptRef.deref() !== undefined, "control: a parser keeps its sink");
  assert.equal(pooledRef.deref(), undefined);
  // A detached parser serves its next connection as a fresh one would.
  let heads = 0;
  pooled.reuse({ ...sink(), onHead: () => (heads++, false) }, 0);
  assert.equal(pooled.execute(request), request.length);
  assert.equal(heads, 1);
});
