// Security review of parser.ts: each case pins a framing decision a backend could read otherwise.
// Regressions are named after what they would let through.
import { test } from "node:test";
import assert from "node:assert/strict";
import { HttpParser, type MessageSink, type ParseError } from "./parser.ts";

type Kind = "request" | "response";

// trace feeds pieces to a fresh parser and returns its events, one line each; after an upgrade
// the remaining byte count is reported and parsing goes on, as ClientConn does for non-WebSocket.
function trace(kind: Kind, pieces: Buffer[]): string[] {
  const out: string[] = [];
  const sink: MessageSink = {
    onBegin: () => {},
    onHead: (h) => (
      out.push(`head ${h.method}${h.statusCode || ""} ${h.url} ${JSON.stringify(h.headers)}`),
      false
    ),
    onBody: (b) => out.push(`body ${b.toString("latin1")}`),
    onTrailers: (t) => out.push(`trailers ${JSON.stringify(t)}`),
    onComplete: () => out.push("complete"),
  };
  const p = new HttpParser(kind, sink, 1024);
  for (let piece of pieces) {
    for (;;) {
      const r: number | ParseError = p.execute(piece);
      if (typeof r !== "number") {
        out.push(`error ${r.code}`);
        return out;
      }
      if (r === piece.length) break;
      out.push(`rest ${piece.length - r}`);
      piece = piece.subarray(r);
    }
  }
  return out;
}

const whole = (s: string) => [Buffer.from(s, "latin1")];
const bytes = (s: string) => [...Buffer.from(s, "latin1")].map((b) => Buffer.from([b]));
// Body events merge across reads: compare what the message is, not how it arrived.
const merged = (events: string[]) =>
  events.reduce<string[]>((acc, e) => {
    const last = acc[acc.length - 1];
    if (e.startsWith("body ") && last?.startsWith("body ")) acc[acc.length - 1] = last + e.slice(5);
    else acc.push(e);
    return acc;
  }, []);

const chunkedPost = "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n0\r\n";

test("regression: Content-Length or Transfer-Encoding in request trailers is refused, not forwarded", () => {
  // Before the fix both went to the backend in the last chunk; llhttp (the reference) refuses them.
  for (const [field, code] of [
    ["Content-Length: 5", "HPE_INVALID_CONTENT_LENGTH"],
    ["content-length: 0", "HPE_INVALID_CONTENT_LENGTH"],
    ["Transfer-Encoding: chunked", "HPE_INVALID_TRANSFER_ENCODING"],
    ["TRANSFER-ENCODING: gzip", "HPE_INVALID_TRANSFER_ENCODING"],
  ]) {
    const input = `${chunkedPost}X-Ok: 1\r\n${field}\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: h\r\n\r\n`;
    for (const pieces of [whole(input), bytes(input)]) {
      const events = merged(trace("request", pieces));
      assert.equal(events[events.length - 1], `error ${code}`, field);
      assert.ok(!events.some((e) => e.startsWith("trailers") || e === "complete"), events.join("\n"));
      assert.ok(!events.some((e) => e.includes("/smuggled")), events.join("\n"));
    }
  }
});

test("other request trailers still pass, and a response may carry Transfer-Encoding but not Content-Length there", () => {
  assert.deepEqual(merged(trace("request", bytes(`${chunkedPost}X-T: 1\r\n\r\n`))).slice(1), [
    "body a",
    'trailers ["X-T","1"]',
    "complete",
  ]);
  const resp = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n0\r\n";
  assert.equal(
    trace("response", whole(`${resp}Content-Length: 1\r\n\r\n`)).pop(),
    "error HPE_INVALID_CONTENT_LENGTH",
  );
  // As llhttp: a response's trailer Transfer-Encoding changes nothing (the body already ended).
  assert.equal(trace("response", whole(`${resp}Transfer-Encoding: chunked\r\n\r\n`)).pop(), "complete");
});

test("a chunk size of more than 13 hex digits is refused even when its value is small (stricter than llhttp)", () => {
  // Fail-closed: a value the parser cannot bound cheaply is never forwarded as something else.
  const base = "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n";
  assert.equal(
    trace("request", whole(`${base}${"0".repeat(13)}1\r\na\r\n0\r\n\r\n`)).pop(),
    "error HPE_INVALID_CHUNK_SIZE",
  );
  assert.equal(trace("request", whole(`${base}${"0".repeat(12)}1\r\na\r\n0\r\n\r\n`)).pop(), "complete");
});

test("Transfer-Encoding: chunked with trailing HTAB (OWS) frames as chunked (llhttp refuses it)", () => {
  // RFC 9110 §5.6.1 allows OWS around list members; the backend gets a re-serialised head, so
  // both sides frame alike. A chunked request is never read as bodiless.
  const ev = merged(
    trace("request", whole("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\t\r\n\r\n1\r\nx\r\n0\r\n\r\n")),
  );
  assert.deepEqual(ev.slice(1), ["body x", "complete"]);
});

test("an Upgrade request that ends exactly at a read's end: the next read is reported as the new protocol's", () => {
  // ClientConn relies on execute returning less than the input to stop parsing after an upgrade.
  const head = "GET /ws HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n";
  const ev = trace("request", [
    Buffer.from(head, "latin1"),
    Buffer.from("GET /x HTTP/1.1\r\n\r\n", "latin1"),
  ]);
  assert.equal(ev[1], "complete");
  assert.equal(ev[2], "rest 19");
});

test("a pipelined head split over three reads (acc, origin, headSoFar) parses as in one read", () => {
  const input =
    "GET / HTTP/1.1\r\nHost: a\r\n\r\nPOST /x HTTP/1.1\r\nHost: b\r\nTransfer-Encoding: chunked\r\n\r\n" +
    '3;x="y"\r\nabc\r\n0\r\nT: 1\r\n\r\nGET /z HTTP/1.1\r\nContent-Length: 1\r\n\r\nq';
  const b = Buffer.from(input, "latin1");
  const want = merged(trace("request", [b]));
  for (let i = 1; i < b.length; i += 3)
    for (let j = i + 1; j < b.length; j += 5) {
      const got = merged(trace("request", [b.subarray(0, i), b.subarray(i, j), b.subarray(j)]));
      assert.deepEqual(got, want, `split at ${i}, ${j}`);
    }
});
