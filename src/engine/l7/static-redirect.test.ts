// StaticRedirect (ingress-nginx permanent-redirect, temporal-redirect, app-root) over real
// sockets: a Location the annotation wrote with characters a header cannot carry as they are.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import http2 from "node:http2";
import type { Route } from "../../model/ir.ts";
import { proxyRoute, rawExchange } from "./testing.ts";

const closers: (() => void)[] = [];
after(() => closers.forEach((c) => c()));

test("a StaticRedirect location with non-ASCII and control characters goes out percent-encoded (UTF-8) on HTTP/1.1 and HTTP/2", async () => {
  const route: Route = {
    name: "r",
    match: { path: { type: "Prefix", value: "/" } },
    filters: [
      { type: "StaticRedirect", statusCode: 301, location: "https://n.example/caf\u00e9/\u20ac\u0001x" },
    ],
    action: { type: "Forward", backends: [{ pool: "none", weight: 1 }] },
  };
  const { server, port } = await proxyRoute(route, {});
  closers.push(() => server.close());
  const want = "https://n.example/caf%C3%A9/%E2%82%AC%01x";
  const h1 = await rawExchange(port, "GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
  assert.match(h1, /^HTTP\/1\.1 301 /);
  assert.ok(h1.includes(`\r\nLocation: ${want}\r\n`), h1);
  const session = http2.connect(`http://127.0.0.1:${port}`);
  closers.push(() => session.close());
  const req = session.request({ ":path": "/" });
  req.resume();
  const [headers] = (await Promise.race([
    new Promise((resolve) => req.once("response", (h) => resolve([h]))),
    new Promise((_, reject) =>
      req.once("close", () => reject(new Error(`stream closed, rst ${req.rstCode}`))),
    ),
  ])) as [http2.IncomingHttpHeaders];
  assert.equal(headers[":status"], 301);
  assert.equal(headers.location, want);
});
