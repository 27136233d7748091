// request.test.ts: the malformed-request rules of RFC 9113 §8.2-§8.3 (the ones h2spec's section 8
// cases send) and trailers, as a table.
import { test } from "node:test";
import assert from "node:assert/strict";
import { checkRequest, checkTrailers, type RequestHead } from "./request.ts";

const base = [":method", "GET", ":scheme", "https", ":path", "/a", ":authority", "x.test"];
const head = (): RequestHead => ({ method: "", scheme: "", path: "", authority: "", contentLength: -1 });

test("a well-formed request fills the head", () => {
  const h = head();
  assert.equal(checkRequest([...base, "content-length", "12", "accept", "*/*"], h), "");
  assert.deepEqual(h, { method: "GET", scheme: "https", path: "/a", authority: "x.test", contentLength: 12 });
  assert.equal(checkRequest([":method", "CONNECT", ":authority", "x.test:443"], head()), "");
  assert.equal(checkRequest([...base, "te", "trailers"], head()), "");
});

const malformed: [string, string[]][] = [
  ["upper-case name", [...base, "Accept", "*/*"]],
  ["pseudo after regular", [":method", "GET", ":scheme", "https", "accept", "*/*", ":path", "/"]],
  ["unknown pseudo", [...base, ":foo", "bar"]],
  ["response pseudo", [...base, ":status", "200"]],
  ["repeated :path", [...base, ":path", "/b"]],
  ["missing :method", [":scheme", "https", ":path", "/"]],
  ["missing :scheme", [":method", "GET", ":path", "/"]],
  ["missing :path", [":method", "GET", ":scheme", "https"]],
  ["empty :path", [":method", "GET", ":scheme", "https", ":path", ""]],
  ["connection", [...base, "connection", "keep-alive"]],
  ["transfer-encoding", [...base, "transfer-encoding", "chunked"]],
  ["upgrade", [...base, "upgrade", "h2c"]],
  ["te other than trailers", [...base, "te", "gzip"]],
  ["content-length not a number", [...base, "content-length", "1x"]],
  ["two content-lengths that differ", [...base, "content-length", "1", "content-length", "2"]],
  ["value with LF", [...base, "x-a", "a\nb"]],
  ["value with a leading space", [...base, "x-a", " a"]],
  ["name with a space", [...base, "x a", "b"]],
  ["CONNECT with :path", [":method", "CONNECT", ":authority", "x.test:443", ":path", "/"]],
];
for (const [what, fields] of malformed) {
  test(`malformed: ${what}`, () => assert.notEqual(checkRequest(fields, head()), ""));
}

test("trailers: no pseudo-headers, lower-case names", () => {
  assert.equal(checkTrailers(["grpc-status", "0"]), "");
  assert.notEqual(checkTrailers([":path", "/"]), "");
  assert.notEqual(checkTrailers(["Grpc-Status", "0"]), "");
});
