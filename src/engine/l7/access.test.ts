import { test } from "node:test";
import assert from "node:assert/strict";
import { subscribe, unsubscribe } from "node:diagnostics_channel";
import type { AccessConfig, Route } from "../../model/ir.ts";
import { AccessConfigError, compileAccess, retryAfterSeconds, sharedBuckets } from "./access.ts";
import { ACCESS_DENIED_CHANNEL, type AccessDeniedEvent } from "./events.ts";
import { compilePhases, type PhaseRequest, type SyncRequestHeadersStep } from "./phases.ts";
import type { ListenerRuntime } from "./runtime.ts";

// request is a GET from client with headers, on listener "web".
function request(client: string, headers: Record<string, string> = {}): PhaseRequest {
  return {
    rt: { proto: "http", listener: { name: "web" } } as ListenerRuntime,
    method: "GET",
    path: "/",
    query: "",
    host: "h",
    prefixLength: 1,
    edits: undefined,
    header: (n) => headers[n],
    clientIp: () => client,
  };
}

function step(a: Omit<AccessConfig, "policy">, policy = "AccessPolicy/ns/p"): SyncRequestHeadersStep {
  const s = compileAccess({ policy, ...a }, "HTTPRoute/ns/r#0");
  assert.ok(s !== undefined);
  return s;
}

// events records the access-denied events published while fn runs.
function events(fn: () => void): AccessDeniedEvent[] {
  const seen: AccessDeniedEvent[] = [];
  const on = (m: unknown) => seen.push(m as AccessDeniedEvent);
  subscribe(ACCESS_DENIED_CHANNEL, on);
  try {
    fn();
  } finally {
    unsubscribe(ACCESS_DENIED_CHANNEL, on);
  }
  return seen;
}

test("deny wins over allow; a non-empty allow list refuses every other client with 403", () => {
  const s = step({ allow: ["10.0.0.0/8", "2001:db8::/32"], deny: ["10.9.0.0/16"] });
  assert.equal(s(request("10.1.2.3")), undefined);
  assert.equal(s(request("::ffff:10.1.2.3")), undefined, "IPv4-mapped is the IPv4 address");
  assert.equal(s(request("2001:db8::5")), undefined);
  const seen = events(() => {
    const denied = s(request("10.9.1.1"));
    assert.equal(denied?.status, 403);
    assert.equal(denied?.error, "denied by AccessPolicy/ns/p: client 10.9.1.1 is in the deny list");
    assert.doesNotMatch(denied!.body, /10\.9|AccessPolicy/, "the client reads no detail");
    const other = s(request("192.0.2.1"));
    assert.equal(other?.status, 403);
    assert.equal(other?.error, "denied by AccessPolicy/ns/p: client 192.0.2.1 not allowed");
    assert.equal(s(request(""))?.status, 403, "an allow list fails closed on an address it cannot read");
  });
  assert.deepEqual(seen, [
    { listener: "web", policy: "AccessPolicy/ns/p", reason: "deny" },
    { listener: "web", policy: "AccessPolicy/ns/p", reason: "not_allowed" },
    { listener: "web", policy: "AccessPolicy/ns/p", reason: "not_allowed" },
  ]);
  // The verdict memo does not stick to the previous client.
  assert.equal(s(request("10.1.2.3")), undefined);
  assert.equal(s(request("10.9.1.1"))?.status, 403);
});

test("a deny list alone lets everything else through, an unreadable address included", () => {
  const s = step({ deny: ["0.0.0.0/0"], allow: [] });
  assert.equal(s(request("1.2.3.4"))?.status, 403);
  assert.equal(s(request("::1")), undefined, "0.0.0.0/0 holds no IPv6 client");
  assert.equal(s(request("")), undefined);
});

test("rate limit per client address: 429 with Retry-After, a bucket per address, mapped = IPv4", () => {
  const s = step(
    { rateLimit: { requests: 2, periodMs: 60_000, burst: 2, key: { type: "ClientAddress" } } },
    "AccessPolicy/ns/rl1",
  );
  assert.equal(s(request("10.0.0.1")), undefined);
  assert.equal(s(request("::ffff:10.0.0.1")), undefined);
  const seen = events(() => {
    const limited = s(request("10.0.0.1"));
    assert.equal(limited?.status, 429);
    // One token per 30 s; none yet: retry in 30 s.
    assert.deepEqual(limited?.headers, [{ name: "Retry-After", value: "30" }]);
    assert.equal(
      limited?.error,
      "rate limited by AccessPolicy/ns/rl1: over 2 requests per 60000 ms (burst 2) for client 10.0.0.1",
    );
  });
  assert.deepEqual(seen, [{ listener: "web", policy: "AccessPolicy/ns/rl1", reason: "rate_limited" }]);
  assert.equal(s(request("10.0.0.2")), undefined, "another client has its own bucket");
});

test("rate limit per header: a bucket per value, one shared by requests without it; values stay out of logs", () => {
  const s = step(
    { rateLimit: { requests: 1, periodMs: 3_600_000, burst: 1, key: { type: "Header", name: "X-Api-Key" } } },
    "AccessPolicy/ns/rl2",
  );
  assert.equal(s(request("10.0.0.1", { "x-api-key": "secret-a" })), undefined);
  const a = s(request("10.0.0.2", { "x-api-key": "secret-a" }));
  assert.equal(a?.status, 429, "the key is the header, not the address");
  assert.doesNotMatch(a!.error!, /secret/);
  assert.match(a!.error!, /for header x-api-key$/);
  assert.equal(s(request("10.0.0.1", { "x-api-key": "secret-b" })), undefined);
  assert.equal(s(request("10.0.0.1")), undefined);
  const absent = s(request("10.0.0.3"));
  assert.equal(absent?.status, 429, "leaving the header out is no way around the limit");
  assert.match(absent!.error!, /for requests without header x-api-key$/);
  assert.deepEqual(absent?.headers, [{ name: "Retry-After", value: "3600" }]);
  // Values past 128 characters count by their first 128.
  const long = "k".repeat(128);
  assert.equal(s(request("10.0.0.1", { "x-api-key": long + "1" })), undefined);
  assert.equal(s(request("10.0.0.1", { "x-api-key": long + "2" }))?.status, 429);
});

test("a denied client spends no token", () => {
  const s = step(
    {
      deny: ["10.0.0.9/32"],
      rateLimit: { requests: 1, periodMs: 3_600_000, burst: 1, key: { type: "Header", name: "k" } },
    },
    "AccessPolicy/ns/rl3",
  );
  assert.equal(s(request("10.0.0.9", { k: "v" }))?.status, 403);
  assert.equal(s(request("10.0.0.1", { k: "v" })), undefined);
  assert.equal(s(request("10.0.0.1", { k: "v" }))?.status, 429);
});

test("buckets are shared by policy and limit: a snapshot that keeps the limit keeps them", () => {
  const rl = { requests: 5, periodMs: 1000, burst: 5, key: { type: "ClientAddress" as const } };
  const a = sharedBuckets("AccessPolicy/ns/shared", rl);
  assert.equal(sharedBuckets("AccessPolicy/ns/shared", { ...rl, key: { type: "ClientAddress" } }), a);
  assert.notEqual(sharedBuckets("AccessPolicy/ns/shared", { ...rl, burst: 6 }), a);
  assert.notEqual(sharedBuckets("AccessPolicy/ns/other", rl), a);
  assert.notEqual(sharedBuckets("AccessPolicy/ns/shared", { ...rl, key: { type: "Header", name: "k" } }), a);
  // Two compilations of one policy (two routes, or the next snapshot) count together.
  const cfg: AccessConfig = {
    policy: "AccessPolicy/ns/twice",
    rateLimit: { requests: 1, periodMs: 3_600_000, burst: 1, key: { type: "ClientAddress" } },
  };
  const first = compileAccess(cfg, "r1")!;
  const second = compileAccess(structuredClone(cfg), "r2")!;
  assert.equal(first(request("10.0.0.1")), undefined);
  assert.equal(second(request("10.0.0.1"))?.status, 429);
});

test("Retry-After is whole seconds, rounded up, at least 1", () => {
  assert.equal(retryAfterSeconds(1), 1);
  assert.equal(retryAfterSeconds(999), 1);
  assert.equal(retryAfterSeconds(1000), 1);
  assert.equal(retryAfterSeconds(1001), 2);
  assert.equal(retryAfterSeconds(0.2), 1);
});

test("a policy that asks for nothing compiles to no step; bad policies name route, policy and field", () => {
  assert.equal(compileAccess({ policy: "AccessPolicy/ns/empty", allow: [], deny: [] }, "r"), undefined);
  const bad: [Omit<AccessConfig, "policy">, RegExp][] = [
    [{ allow: ["10.0.0.0/33"] }, /^route HTTPRoute\/ns\/r#0: AccessPolicy\/ns\/bad: allow: "10.0.0.0\/33"/],
    [{ deny: ["nope"] }, /deny: "nope" is not a CIDR/],
    [
      { rateLimit: { requests: 0, periodMs: 1000, burst: 1, key: { type: "ClientAddress" } } },
      /rateLimit.requests must be at least 1, got 0/,
    ],
    [
      { rateLimit: { requests: 1, periodMs: 1000, burst: 0, key: { type: "ClientAddress" } } },
      /rateLimit.burst/,
    ],
    [
      { rateLimit: { requests: 1, periodMs: Number.NaN, burst: 1, key: { type: "ClientAddress" } } },
      /rateLimit.periodMs/,
    ],
    [
      { rateLimit: { requests: 1, periodMs: 1000, burst: 1, key: { type: "Header", name: "bad name" } } },
      /not a header name/,
    ],
  ];
  for (const [cfg, says] of bad)
    assert.throws(
      () => compileAccess({ policy: "AccessPolicy/ns/bad", ...cfg }, "HTTPRoute/ns/r#0"),
      (e: unknown) => e instanceof AccessConfigError && says.test(e.message),
      String(says),
    );
});

test("phases: the access step runs ahead of the filters; a route with neither has no phases", () => {
  const route: Route = {
    name: "r",
    match: { path: { type: "Prefix", value: "/" } },
    filters: [{ type: "RequestRedirect", scheme: "https", statusCode: 301 }],
    action: { type: "Forward", backends: [{ pool: "p", weight: 1 }] },
    access: { policy: "AccessPolicy/ns/p", deny: ["10.0.0.0/8"] },
  };
  const p = compilePhases(route);
  assert.equal(p?.requestHeaders?.length, 2);
  const refused = p!.requestHeaders![0]!(request("10.0.0.1"));
  assert.ok(!(refused instanceof Promise));
  assert.equal(refused?.status, 403, "refused before the redirect");
  assert.equal(p!.requestHeaders![0]!(request("192.0.2.1")), undefined);
  const accessOnly = compilePhases({ ...route, filters: undefined });
  assert.equal(accessOnly?.requestHeaders?.length, 1);
  assert.equal(accessOnly?.responseHeaders, undefined);
  assert.equal(compilePhases({ ...route, filters: undefined, access: undefined }), undefined);
  assert.equal(compilePhases({ ...route, filters: [], access: { policy: "AccessPolicy/ns/e" } }), undefined);
});
