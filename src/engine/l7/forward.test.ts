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
