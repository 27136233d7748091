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
  // What would reach an HTTP/1.1 backend's head as another request (nghttp2 refuses each).
  ["absolute-form :path", [":method", "GET", ":scheme", "https", ":path", "http://admin.internal/secret"]],
  ["space in :path", [":method", "GET", ":scheme", "https", ":path", "/public /admin"]],
  ["tab in :path", [":method", "GET", ":scheme", "https", ":path", "/a\tb"]],
  ["non-ASCII in :path", [":method", "GET", ":scheme", "https", ":path", "/\u00e9"]],
  [":path * for GET", [":method", "GET", ":scheme", "https", ":path", "*"]],
  ["space in :method", [":method", "GET /admin", ":scheme", "https", ":path", "/"]],
  ["empty :method", [":method", "", ":scheme", "https", ":path", "/"]],
  ["bad :scheme", [":method", "GET", ":scheme", "ht tp", ":path", "/"]],
  ["quote in :authority", [...base.slice(0, 6), ":authority", 'x";for=10.0.0.1;by="y']],
  ["slash in :authority", [...base.slice(0, 6), ":authority", "admin.internal/secret"]],
  ["backslash in :authority", [...base.slice(0, 6), ":authority", "a\\b"]],
  ["space in :authority", [...base.slice(0, 6), ":authority", "a b"]],
  ["userinfo in :authority", [...base.slice(0, 6), ":authority", "user@x.test"]],
  ["empty :authority", [...base.slice(0, 6), ":authority", ""]],
  ["CONNECT to an empty :authority", [":method", "CONNECT", ":authority", ""]],
  ["bad host", [...base, "host", "a b"]],
  ["repeated host", [...base, "host", "a", "host", "a"]],
  ["two equal content-lengths", [...base, "content-length", "5", "content-length", "05"]],
  ["two identical content-lengths", [...base, "content-length", "5", "content-length", "5"]],
  ["value with 0x01", [...base, "x-a", "a\u0001b"]],
  ["value with VT", [...base, "x-a", "a\u000bb"]],
  ["value with FF", [...base, "x-a", "a\u000cb"]],
  ["value with 0x1f", [...base, "x-a", "a\u001fb"]],
  ["value with DEL", [...base, "x-a", "a\u007fb"]],
  ["name with a quote", [...base, 'x"a', "b"]],
  ["name with a slash", [...base, "x/a", "b"]],
  ["name with a colon inside", [...base, "x:a", "b"]],
];
for (const [what, fields] of malformed) {
  test(`malformed: ${what}`, () => assert.notEqual(checkRequest(fields, head()), ""));
}

test("well-formed heads nghttp2 accepts stay accepted", () => {
  const ok: string[][] = [
    [":method", "OPTIONS", ":scheme", "https", ":path", "*", ":authority", "x.test"],
    [":method", "M-SEARCH", ":scheme", "http", ":path", "/a/b?c=d&e=%20#f", ":authority", "[::1]:8443"],
    [...base, "x-tab", "a\tb", "x-latin1", "caf\u00e9", "x-t~", "1", "host", "x.test:443"],
    [":method", "GET", ":scheme", "https", ":path", "/", "host", "x.test"],
  ];
  for (const f of ok) assert.equal(checkRequest(f, head()), "", f.join(" "));
});

test("trailers: no pseudo-headers, lower-case names", () => {
  assert.equal(checkTrailers(["grpc-status", "0"]), "");
  assert.notEqual(checkTrailers([":path", "/"]), "");
  assert.notEqual(checkTrailers(["Grpc-Status", "0"]), "");
});
