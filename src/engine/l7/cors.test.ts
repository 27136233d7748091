import { test } from "node:test";
import assert from "node:assert/strict";
import type { CorsPolicy, Header, Route } from "../../model/ir.ts";
import { headerLines, originAllowed, preflightAnswer, withCors } from "./cors.ts";

function routeWith(policy: Omit<CorsPolicy, "type">): Route {
  return {
    name: "r",
    match: { path: { type: "Prefix", value: "/" } },
    filters: [{ type: "CORS", ...policy }],
    action: { type: "Forward", backends: [{ pool: "p", weight: 1 }] },
  };
}

function req(h: Record<string, string>) {
  return { header: (n: string) => h[n] };
}

function asMap(hs: readonly Header[] | undefined): Record<string, string> {
  return Object.fromEntries((hs ?? []).map((h) => [h.name.toLowerCase(), h.value]));
}

// The conformance test's first route (HTTPRouteCORS, cors-multiple-origins-methods-headers).
const full = routeWith({
  allowOrigins: ["https://www.foo.com", "https://*.bar.com"],
  allowMethods: ["GET", "OPTIONS"],
  allowHeaders: ["x-header-1", "x-header-2"],
  exposeHeaders: ["x-header-3", "x-header-4"],
  allowCredentials: true,
  maxAgeSeconds: 3600,
});
const policy = full.filters![0] as CorsPolicy;

test("originAllowed matches exact origins, left-greedy wildcards and default ports", () => {
  assert.equal(originAllowed(policy, "https://www.foo.com"), true);
  assert.equal(originAllowed(policy, "https://www.foo.com:443"), true);
  assert.equal(originAllowed(policy, "https://WWW.FOO.COM"), true);
  assert.equal(originAllowed(policy, "https://www.bar.com"), true);
  assert.equal(originAllowed(policy, "https://xpto.www.bar.com"), true);
  assert.equal(originAllowed(policy, "https://bar.com"), false, "the wildcard stands for at least one label");
  assert.equal(originAllowed(policy, "https://www.foo.com:8443"), false);
  assert.equal(originAllowed(policy, "http://www.foo.com"), false);
  assert.equal(originAllowed(policy, "https://foobar.com"), false);
  assert.equal(originAllowed(policy, "https://evil.com.bar.com.evil"), false);
  assert.equal(originAllowed(policy, "null"), false);
  const any = routeWith({ allowOrigins: ["*"] }).filters![0] as CorsPolicy;
  assert.equal(originAllowed(any, "https://foobar.com:12345"), true);
  const anyHost = routeWith({ allowOrigins: ["http://*:8080"] }).filters![0] as CorsPolicy;
  assert.equal(originAllowed(anyHost, "http://a.b:8080"), true);
  assert.equal(originAllowed(anyHost, "http://a.b"), false);
});

test("preflightAnswer answers an allowed preflight with every configured header", () => {
  const h = preflightAnswer(
    full,
    "OPTIONS",
    req({
      origin: "https://www.bar.com",
      "access-control-request-method": "GET",
      "access-control-request-headers": "x-header-1, x-header-2",
    }),
  );
  assert.deepEqual(asMap(h), {
    vary: "Origin",
    "access-control-allow-origin": "https://www.bar.com",
    "access-control-allow-credentials": "true",
    "access-control-allow-methods": "GET, OPTIONS",
    "access-control-allow-headers": "x-header-1, x-header-2",
    "access-control-expose-headers": "x-header-3, x-header-4",
    "access-control-max-age": "3600",
  });
});

test("preflightAnswer leaves out every Access-Control-* header for a disallowed origin", () => {
  const h = preflightAnswer(
    full,
    "OPTIONS",
    req({ origin: "https://foobar.com", "access-control-request-method": "GET" }),
  );
  assert.deepEqual(h, [{ name: "Vary", value: "Origin" }]);
});

test("preflightAnswer passes what is not a preflight, or a route without CORS", () => {
  const pre = { origin: "https://www.foo.com", "access-control-request-method": "GET" };
  assert.equal(preflightAnswer(full, "GET", req(pre)), undefined);
  assert.equal(preflightAnswer(full, "OPTIONS", req({ origin: "https://www.foo.com" })), undefined);
  assert.equal(preflightAnswer(full, "OPTIONS", req({ "access-control-request-method": "GET" })), undefined);
  const plain: Route = { ...full, filters: [] };
  assert.equal(preflightAnswer(plain, "OPTIONS", req(pre)), undefined);
});

test("preflightAnswer echoes the requested method and headers for wildcards, never '*' with credentials", () => {
  const r = routeWith({
    allowOrigins: ["https://other.foo.com"],
    allowMethods: ["*"],
    allowHeaders: ["*"],
    exposeHeaders: ["*"],
    allowCredentials: true,
  });
  const h = asMap(
    preflightAnswer(
      r,
      "OPTIONS",
      req({
        origin: "https://other.foo.com",
        "access-control-request-method": "PUT",
        "access-control-request-headers": "x-header-1, x-header-2",
      }),
    ),
  );
  assert.equal(h["access-control-allow-methods"], "PUT");
  assert.equal(h["access-control-allow-headers"], "x-header-1, x-header-2");
  assert.equal(h["access-control-allow-credentials"], "true");
  assert.equal(h["access-control-expose-headers"], undefined, "'*' cannot be sent with credentials");
  assert.equal(h["access-control-max-age"], undefined);
  // Without Access-Control-Request-Headers, no Allow-Headers.
  const h2 = asMap(
    preflightAnswer(
      r,
      "OPTIONS",
      req({ origin: "https://other.foo.com", "access-control-request-method": "PUT" }),
    ),
  );
  assert.equal(h2["access-control-allow-headers"], undefined);
});

test("withCors adds Allow-Origin, Credentials and Expose-Headers for an allowed origin, Vary always", () => {
  const e = withCors(undefined, full, req({ origin: "https://www.foo.com" }));
  assert.deepEqual(e, {
    set: [
      { name: "Access-Control-Allow-Origin", value: "https://www.foo.com" },
      { name: "Access-Control-Allow-Credentials", value: "true" },
      { name: "Access-Control-Expose-Headers", value: "x-header-3, x-header-4" },
    ],
    add: [{ name: "Vary", value: "Origin" }],
  });
  assert.deepEqual(withCors(undefined, full, req({ origin: "https://foobar.com" })), {
    set: [],
    add: [{ name: "Vary", value: "Origin" }],
  });
  assert.deepEqual(withCors(undefined, full, req({})), { set: [], add: [{ name: "Vary", value: "Origin" }] });
});

test("withCors keeps the route's ResponseHeaderModifier edits and is a no-op without a policy", () => {
  const edits = { set: [{ name: "X-A", value: "1" }], add: [{ name: "X-B", value: "2" }], remove: ["X-C"] };
  const e = withCors(edits, full, req({ origin: "https://www.foo.com" }))!;
  assert.deepEqual(e.set![0], { name: "X-A", value: "1" });
  assert.deepEqual(e.add, [
    { name: "X-B", value: "2" },
    { name: "Vary", value: "Origin" },
  ]);
  assert.deepEqual(e.remove, ["X-C"]);
  const plain: Route = { ...full, filters: [] };
  assert.equal(withCors(edits, plain, req({ origin: "https://www.foo.com" })), edits);
  assert.equal(withCors(undefined, plain, req({})), undefined);
});

test("withCors without credentials sends '*' for wildcard exposeHeaders and no Allow-Credentials", () => {
  const r = routeWith({ allowOrigins: ["*"], exposeHeaders: ["*"] });
  const e = withCors(undefined, r, req({ origin: "https://foobar.com:12345" }))!;
  assert.deepEqual(asMap(e.set), {
    "access-control-allow-origin": "https://foobar.com:12345",
    "access-control-expose-headers": "*",
  });
});

test("headerLines renders HTTP/1.1 head lines", () => {
  assert.equal(
    headerLines([
      { name: "A", value: "1" },
      { name: "B", value: "2" },
    ]),
    "A: 1\r\nB: 2\r\n",
  );
});
