// ext-auth.test.ts: the external-auth step against a real auth server on 127.0.0.1 — the cache of
// 2xx verdicts (auth-cache-key), headers set from auth-proxy-set-headers with nginx variables, and
// the signin URL ingress-nginx builds.
import assert from "node:assert/strict";
import { once } from "node:events";
import { createServer, type IncomingHttpHeaders } from "node:http";
import { after, test } from "node:test";
import type { ExternalAuth } from "../../model/ir.ts";
import { extAuthStep, signinLocation } from "./ext-auth.ts";
import type { PhaseRequest } from "./phases.ts";
import type { ListenerRuntime } from "./runtime.ts";

const seen: IncomingHttpHeaders[] = [];
const server = createServer((req, res) => {
  seen.push(req.headers);
  req.resume();
  res.writeHead(req.headers.authorization === "Bearer ok" ? 200 : 401, { "x-user": "u1" }).end();
});
server.listen(0, "127.0.0.1");
await once(server, "listening");
const port = (server.address() as { port: number }).port;
after(() => {
  server.close();
  server.closeAllConnections();
});

function request(headers: Record<string, string>): PhaseRequest {
  return {
    rt: { proto: "https" } as ListenerRuntime,
    method: "GET",
    path: "/p",
    query: "a=1",
    host: "app.example",
    prefixLength: 1,
    edits: undefined,
    header: (n) => headers[n],
    headerPairs: () => Object.entries(headers),
    clientIp: () => "192.0.2.7",
  };
}

test("a 2xx verdict is reused for the cache key's duration; refusals are asked every time", async () => {
  const a: ExternalAuth = {
    url: `http://127.0.0.1:${port}/check`,
    timeoutMs: 5_000,
    responseHeaders: ["X-User"],
    cacheKey: "$http_authorization",
    cacheDurationMs: 60_000,
    proxySetHeaders: [{ name: "X-Host-Seen", value: "$host$request_uri" }],
  };
  const step = extAuthStep(a, "r");
  seen.length = 0;
  for (let i = 0; i < 3; i++) {
    const req = request({ authorization: "Bearer ok" });
    assert.equal(await step(req), undefined);
    assert.deepEqual(
      req.edits?.headers?.set,
      [{ name: "x-user", value: "u1" }],
      "headers also from a cached verdict",
    );
  }
  assert.equal(seen.length, 1, "asked once for three requests with the same key");
  assert.equal(seen[0]!["x-host-seen"], "app.example/p?a=1");
  assert.equal(seen[0]!["x-original-url"], "https://app.example/p?a=1");
  assert.equal(seen[0]!["x-forwarded-for"], "192.0.2.7");
  for (let i = 0; i < 2; i++)
    assert.equal((await step(request({ authorization: "Bearer no" })))?.status, 401);
  assert.equal(seen.length, 3, "refusals are not cached");
});

test("signinLocation appends rd (or the configured name) unless the signin URL sets it", () => {
  const vars = {
    scheme: "https",
    host: "app.example",
    request_uri: "/a b?x=1",
    escaped_request_uri: encodeURIComponent("/a b?x=1"),
    uri: "/a b",
    remote_addr: "192.0.2.7",
  };
  assert.equal(
    signinLocation("https://login.example/start", "rd", vars),
    "https://login.example/start?rd=https://app.example%2Fa%20b%3Fx%3D1",
  );
  assert.equal(
    signinLocation("https://login.example/start?client=1", "next", vars),
    "https://login.example/start?client=1&next=https://app.example%2Fa%20b%3Fx%3D1",
  );
  assert.equal(
    signinLocation("https://login.example/start?rd=/home", "rd", vars),
    "https://login.example/start?rd=/home",
  );
});
