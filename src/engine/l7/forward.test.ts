import { test } from "node:test";
import assert from "node:assert/strict";
import type { Route } from "../../model/ir.ts";
import { buildUpstreamHead, type RequestFacts } from "./forward.ts";

const route: Route = {
  name: "r",
  match: { path: { type: "Prefix", value: "/" } },
  action: { type: "Forward", backends: [{ pool: "p", weight: 1 }] },
};

function head(headers: string[], extra: Partial<RequestFacts> = {}): string[] {
  const out = buildUpstreamHead({
    method: "GET",
    path: "/a",
    query: "",
    headers,
    host: "h",
    clientIp: "10.1.1.1",
    proto: "http",
    framing: "none",
    contentLength: "",
    websocket: false,
    route,
    prefixLength: 1,
    ...extra,
  });
  return out.split("\r\n");
}

test("buildUpstreamHead drops hop-by-hop and Connection-listed names in any case, keeps the rest", () => {
  const lines = head([
    "HOST",
    "h",
    "cOnNeCtIoN",
    "Keep-Alive, X-Secret, close",
    "X-SECRET",
    "s",
    "Close",
    "c",
    "Keep-Alive",
    "timeout=5",
    "Proxy-Connection",
    "keep-alive",
    "TE",
    "trailers",
    "Upgrade",
    "h2c",
    "Transfer-Encoding",
    "chunked",
    "Content-Length",
    "3",
    "X-Forwarded-Proto",
    "https",
    "X-Forwarded-Host",
    "evil",
    "User-Agent",
    "ua",
    "A-Very-Long-Header-Name-Beyond-Thirty-Two-Characters",
    "v",
    "X-Forwarded-For",
    "1.2.3.4",
  ]);
  assert.equal(lines[0], "GET /a HTTP/1.1");
  const names = lines
    .slice(1)
    .filter((l) => l !== "")
    .map((l) => l.slice(0, l.indexOf(":")));
  assert.deepEqual(names, [
    "User-Agent",
    "A-Very-Long-Header-Name-Beyond-Thirty-Two-Characters",
    "Host",
    "X-Forwarded-For",
    "X-Forwarded-Proto",
    "X-Forwarded-Host",
    "Forwarded",
  ]);
  assert.ok(lines.includes("X-Forwarded-For: 1.2.3.4, 10.1.1.1"));
  assert.ok(lines.includes("X-Forwarded-Proto: http"));
});

test("buildUpstreamHead: Connection: keep-alive drops nothing else", () => {
  const lines = head(["Host", "h", "Connection", "keep-alive", "Accept", "*/*", "Cookie", "a=b"]);
  assert.ok(lines.includes("Accept: */*"));
  assert.ok(lines.includes("Cookie: a=b"));
  assert.ok(!lines.some((l) => l.toLowerCase().startsWith("connection")));
});

test("buildUpstreamHead: each request's forwarding fields name its own client, host and scheme, in any order of requests", () => {
  // The fields of a client that sent none are remembered for the next request (forward.ts): a
  // change of client address, host or scheme, alone or together, must give that request's fields.
  const cases: Partial<RequestFacts>[] = [
    { clientIp: "10.0.0.1", host: "a", proto: "http" },
    { clientIp: "10.0.0.1", host: "a", proto: "http" },
    { clientIp: "10.0.0.2", host: "a", proto: "http" },
    { clientIp: "10.0.0.2", host: "b", proto: "http" },
    { clientIp: "10.0.0.2", host: "b", proto: "https" },
    { clientIp: "::1", host: "b", proto: "https" },
    { clientIp: "10.0.0.1", host: "a", proto: "http" },
  ];
  for (const c of cases) {
    const lines = head(["Accept", "*/*"], c);
    const forNode = c.clientIp!.includes(":") ? `"[${c.clientIp}]"` : c.clientIp;
    assert.deepEqual(lines.slice(2, 7), [
      `Host: ${c.host}`,
      `X-Forwarded-For: ${c.clientIp}`,
      `X-Forwarded-Proto: ${c.proto}`,
      `X-Forwarded-Host: ${c.host}`,
      `Forwarded: for=${forNode};host="${c.host}";proto=${c.proto}`,
    ]);
  }
  // A client's own X-Forwarded-For between two that sent none: its value first, and no memo mixed in.
  const own = head(["X-Forwarded-For", "1.2.3.4"], { clientIp: "10.0.0.1", host: "a", proto: "http" });
  assert.ok(own.includes("X-Forwarded-For: 1.2.3.4, 10.0.0.1"));
  const after = head([], { clientIp: "10.0.0.1", host: "a", proto: "http" });
  assert.ok(after.includes("X-Forwarded-For: 10.0.0.1"));
});

test("buildUpstreamHead: from skips the fields before it (HTTP/2's pseudo-headers in the decoded list)", () => {
  const lines = head([":method", "GET", ":path", "/a", "accept", "*/*", "x-a", "1"], { from: 4 });
  assert.deepEqual(lines.slice(1, 3), ["accept: */*", "x-a: 1"]);
  assert.ok(!lines.some((l) => l.startsWith(":")));
});

test("buildUpstreamHead: a route's header edits have the last word on the forwarding fields", () => {
  // RequestHeaderModifier remove: X-Forwarded-For means none reaches the backend — neither the
  // client's nor Portico's; set means exactly one field, the route's value. The other three
  // forwarding fields stay as Portico builds them unless named too.
  const sent = ["X-Forwarded-For", "1.2.3.4", "Forwarded", "for=1.2.3.4", "Accept", "*/*"];
  const removed = head(sent, { edits: { headers: { remove: ["x-forwarded-for", "Forwarded"] } } });
  assert.ok(!removed.some((l) => /^x-forwarded-for:/i.test(l)), removed.join("|"));
  assert.ok(!removed.some((l) => /^forwarded:/i.test(l)), removed.join("|"));
  assert.ok(removed.includes("X-Forwarded-Proto: http"));
  assert.ok(removed.includes("X-Forwarded-Host: h"));
  const set = head(sent, { edits: { headers: { set: [{ name: "X-Forwarded-For", value: "v" }] } } });
  assert.deepEqual(
    set.filter((l) => /^x-forwarded-for:/i.test(l)),
    ["X-Forwarded-For: v"],
  );
  assert.ok(set.includes('Forwarded: for=1.2.3.4, for=10.1.1.1;host="h";proto=http'));
  // Edits that name none of them leave the fields as without edits.
  const other = head(sent, { edits: { headers: { remove: ["accept"] } } });
  assert.ok(other.includes("X-Forwarded-For: 1.2.3.4, 10.1.1.1"));
});
