// traffic-access.test.ts: the access pieces the ingress-nginx traffic annotations added —
// AccessConfig.exempt, AccessConfig.concurrency (slots held until the exchange ends), and
// Route.extraAccess layered after Route.access (both must allow); and the cookie affinity's
// Set-Cookie (affinity.ts).
import { test } from "node:test";
import assert from "node:assert/strict";
import type { CookieAffinity, Route } from "../../model/ir.ts";
import { stickyToken } from "../lb/sticky.ts";
import { compileAccess, sharedSlots } from "./access.ts";
import { stickyCookieFor, withStickyCookie } from "./affinity.ts";
import { compilePhases, responseEdits, type PhaseRequest } from "./phases.ts";
import type { ListenerRuntime } from "./runtime.ts";

function request(client: string): PhaseRequest {
  return {
    rt: { proto: "http", listener: { name: "web" } } as ListenerRuntime,
    method: "GET",
    path: "/",
    query: "",
    host: "h",
    prefixLength: 1,
    edits: undefined,
    header: () => undefined,
    clientIp: () => client,
  };
}

test("concurrency: a slot per request in flight per client; 503 past it; atEnd gives it back", () => {
  const s = compileAccess({ policy: "Ingress/d/a (limit-connections)", concurrency: 2 }, "r")!;
  const a = request("127.0.0.2");
  const b = request("127.0.0.2");
  assert.equal(s(a), undefined);
  assert.equal(s(b), undefined);
  const c = request("127.0.0.2");
  const refused = s(c);
  assert.equal(refused?.status, 503);
  assert.match(refused!.error!, /client 127\.0\.0\.2 has 2 requests in flight already/);
  assert.equal(c.atEnd, undefined, "a refused request holds nothing");
  assert.equal(s(request("127.0.0.3")), undefined, "another client has its own slots");
  a.atEnd!();
  assert.equal(s(request("::ffff:127.0.0.2")), undefined, "a slot came back; IPv4-mapped is the same client");
  assert.equal(sharedSlots("Ingress/d/a (limit-connections)", 2).held("127.0.0.2"), 2);
});

test("exempt clients skip the rate limit and the concurrency limit, not the allow list", () => {
  const s = compileAccess(
    {
      policy: "Ingress/d/e",
      allow: ["127.0.0.0/8"],
      rateLimit: { requests: 1, periodMs: 60_000, burst: 1, key: { type: "ClientAddress" } },
      concurrency: 1,
      exempt: ["127.0.0.9/32"],
    },
    "r",
  )!;
  for (let i = 0; i < 5; i++) assert.equal(s(request("127.0.0.9")), undefined, `exempt request ${i}`);
  assert.equal(s(request("127.0.0.4")), undefined);
  assert.equal(s(request("127.0.0.4"))?.status, 429, "one request per minute");
  assert.equal(s(request("10.0.0.1"))?.status, 403, "exempt from limits is not allowed in");
});

test("extraAccess runs after access, each must allow; it alone makes phases", () => {
  const base: Route = {
    name: "Ingress/d/x#0.0",
    match: { path: { type: "Prefix", value: "/" } },
    action: { type: "DirectResponse", status: 200, body: "" },
  };
  const only = compilePhases({
    ...base,
    extraAccess: [{ policy: "Ingress/d/x (source ranges)", allow: ["127.0.0.2/32"] }],
  });
  assert.equal(only?.requestHeaders?.length, 1);
  const both = compilePhases({
    ...base,
    access: { policy: "AccessPolicy/d/p", allow: ["127.0.0.0/8"] },
    extraAccess: [{ policy: "Ingress/d/x (source ranges)", deny: ["127.0.0.3/32"] }],
  })!;
  const verdict = (ip: string) => {
    for (const step of both.requestHeaders!) {
      const a = step(request(ip));
      // Access steps never wait (only external authentication does).
      if (a instanceof Promise) throw new Error("an access step returned a promise");
      if (a !== undefined) return a.error;
    }
    return "allowed";
  };
  assert.equal(verdict("127.0.0.2"), "allowed");
  assert.match(
    verdict("127.0.0.3")!,
    /Ingress\/d\/x \(source ranges\): client 127\.0\.0\.3 is in the deny list/,
  );
  assert.match(verdict("10.0.0.1")!, /AccessPolicy\/d\/p: client 10\.0\.0\.1 not allowed/);
  assert.equal(compilePhases(base), undefined, "a plain route still has no phases");
});

const aff: CookieAffinity = { cookie: "INGRESSCOOKIE", path: "/app", changeOnFailure: false };

test("stickyCookieFor: a cookie naming the backend unless the client's already does; attributes as asked", () => {
  const t = stickyToken("127.0.0.1:8080");
  assert.match(t, /^[0-9a-f]{16}$/);
  assert.equal(stickyCookieFor(aff, "127.0.0.1:8080", t, false, false), undefined, "the cookie stands");
  assert.equal(
    stickyCookieFor(aff, "127.0.0.1:8080", undefined, false, false),
    `INGRESSCOOKIE=${t}; Path=/app; HttpOnly`,
  );
  assert.equal(
    stickyCookieFor(aff, "127.0.0.1:8080", undefined, true, false),
    `INGRESSCOOKIE=${t}; Path=/app; Secure; HttpOnly`,
    "Secure on HTTPS",
  );
  const full: CookieAffinity = {
    ...aff,
    domain: "example.com",
    maxAgeSeconds: 60,
    expiresSeconds: 120,
    sameSite: "None",
    changeOnFailure: true,
  };
  assert.equal(
    stickyCookieFor(full, "127.0.0.1:8080", "0000", false, true, () => Date.UTC(2026, 0, 1)),
    `INGRESSCOOKIE=${t}; Path=/app; Domain=example.com; Expires=Thu, 01 Jan 2026 00:02:00 GMT; Max-Age=60; Secure; HttpOnly; SameSite=None`,
  );
  assert.equal(
    stickyCookieFor(aff, "127.0.0.1:8080", "0000", false, true),
    undefined,
    "no change on failure",
  );
  assert.deepEqual(withStickyCookie({ set: [{ name: "A", value: "1" }] }, { stickyCookie: "c=1" }), {
    set: [{ name: "A", value: "1" }],
    add: [{ name: "Set-Cookie", value: "c=1" }],
  });
});

test("a route with affinity gets a responseHeaders step that adds the pick's Set-Cookie", () => {
  const phases = compilePhases({
    name: "r",
    match: { path: { type: "Prefix", value: "/" } },
    action: { type: "Forward", backends: [{ pool: "p", weight: 1 }] },
    affinity: aff,
  })!;
  const steps = phases.responseHeaders!;
  assert.equal(responseEdits(steps, { header: () => undefined, stickyCookie: undefined }), undefined);
  assert.deepEqual(responseEdits(steps, { header: () => undefined, stickyCookie: "INGRESSCOOKIE=ab" }), {
    add: [{ name: "Set-Cookie", value: "INGRESSCOOKIE=ab" }],
  });
});

// The "Shared" rate-limit key and concurrencyKey (a tenant's requestsPerSecond and connections
// quotas): every client counts against one bucket and one in-flight counter.
test("a Shared rate limit counts every client in one bucket, across routes of the same policy", () => {
  const config = {
    policy: "Tenant/t (requestsPerSecond)",
    rateLimit: { requests: 2, periodMs: 60_000, burst: 2, key: { type: "Shared" as const } },
  };
  const one = compileAccess(config, "Ingress/t/x#0")!;
  const two = compileAccess(config, "Ingress/t/y#0")!;
  assert.equal(one(request("127.0.0.2")), undefined);
  assert.equal(two(request("127.0.0.3")), undefined, "another client, another route: the same bucket");
  const refused = one(request("127.0.0.4"));
  assert.equal(refused?.status, 429);
  assert.match(
    refused!.error!,
    /rate limited by Tenant\/t \(requestsPerSecond\): .* for all requests of its routes/,
  );
});

test("a Shared concurrency counts every client's requests in flight together; atEnd gives a slot back", () => {
  const s = compileAccess(
    { policy: "Tenant/t (connections)", concurrency: 2, concurrencyKey: "Shared" },
    "Ingress/t/x#0",
  )!;
  const a = request("127.0.0.2");
  assert.equal(s(a), undefined);
  assert.equal(s(request("127.0.0.3")), undefined);
  const refused = s(request("127.0.0.4"));
  assert.equal(refused?.status, 503);
  assert.match(
    refused!.error!,
    /limited by Tenant\/t \(connections\): its routes have 2 requests in flight already/,
  );
  a.atEnd!();
  assert.equal(s(request("127.0.0.5")), undefined, "a slot came back");
});
