// validate.test.ts: validateSnapshot finds each kind of inconsistency, and passes a sound snapshot.
import { test } from "node:test";
import assert from "node:assert/strict";
import type { EngineSnapshot, WafConfig } from "./ir.ts";
import { validateSnapshot } from "./validate.ts";

function sound(): EngineSnapshot {
  return {
    version: 1,
    l4: [
      {
        name: "Service/a/dns:53/UDP",
        address: "192.0.2.1",
        port: 53,
        protocol: "UDP",
        pool: "a/dns:53/UDP",
        idleTimeoutMs: 60000,
        connectTimeoutMs: 5000,
      },
      // Same address and port, other protocol: allowed.
      {
        name: "Service/a/dns:53/TCP",
        address: "192.0.2.1",
        port: 53,
        protocol: "TCP",
        pool: "a/dns:53/UDP",
        idleTimeoutMs: 1,
        connectTimeoutMs: 1,
      },
    ],
    http: [
      {
        name: "IngressClass/p:443",
        address: "2001:db8::1",
        port: 443,
        tls: { sni: [{ hostname: "a.example", certificate: "a/tls" }] },
        virtualHosts: [
          {
            hostname: "a.example",
            routes: [
              {
                name: "Ingress/a/x#0.0",
                match: { path: { type: "Prefix", value: "/" } },
                action: { type: "Forward", backends: [{ pool: "a/web:80", weight: 1 }] },
              },
            ],
          },
        ],
        requestTimeoutMs: 1000,
        idleTimeoutMs: 1000,
      },
    ],
    pools: {
      "a/dns:53/UDP": { name: "a/dns:53/UDP", algorithm: { type: "RoundRobin" }, endpoints: [] },
      "a/web:80": {
        name: "a/web:80",
        algorithm: { type: "RoundRobin" },
        endpoints: [
          { address: "10.0.0.1", port: 8080, weight: 1, ready: true, serving: true, terminating: false },
        ],
      },
    },
    certificates: {
      "a/tls": { certPem: "-----BEGIN CERTIFICATE-----", keyPem: "-----BEGIN PRIVATE KEY-----" },
    },
  };
}

test("validateSnapshot: a sound snapshot has no problems", () => {
  assert.deepEqual(validateSnapshot(sound()), []);
});

test("validateSnapshot: dangling pool and certificate references", () => {
  const s = sound();
  s.l4[0]!.pool = "missing";
  s.http[0]!.tls!.defaultCertificate = "a/nope";
  const route = s.http[0]!.virtualHosts[0]!.routes[0]!;
  route.action = { type: "Forward", backends: [{ pool: "gone", weight: 1 }] };
  const problems = validateSnapshot(s).join("\n");
  assert.match(problems, /Service\/a\/dns:53\/UDP: pool "missing" does not exist/);
  assert.match(problems, /certificate "a\/nope" does not exist/);
  assert.match(problems, /pool "gone" does not exist/);
});

test("validateSnapshot: ports out of range, bad addresses, duplicate binds", () => {
  const s = sound();
  s.l4[0]!.port = 70000;
  s.l4[1]!.address = "not-an-ip";
  s.http.push({ ...s.http[0]!, name: "IngressClass/q:443" });
  s.pools["a/web:80"]!.endpoints[0]!.port = 0;
  const problems = validateSnapshot(s).join("\n");
  assert.match(problems, /port 70000 out of range/);
  assert.match(problems, /"not-an-ip" is not an IP literal/);
  assert.match(
    problems,
    /IngressClass\/q:443: \[?2001:db8::1\]?:443\/TCP is also bound by IngressClass\/p:443/,
  );
  assert.match(problems, /endpoint 10.0.0.1 port 0 out of range/);
});

test("validateSnapshot: pool key mismatch, duplicate virtual host, bad regex", () => {
  const s = sound();
  s.pools["a/web:80"]!.name = "other";
  const vh = s.http[0]!.virtualHosts[0]!;
  s.http[0]!.virtualHosts.push({ ...vh });
  vh.routes[0]!.match.path = { type: "RegularExpression", value: "(" };
  const problems = validateSnapshot(s).join("\n");
  assert.match(problems, /name "other" differs from its key/);
  assert.match(problems, /virtual host a.example appears twice/);
  assert.match(problems, /invalid regular expression/);
});

test("validateSnapshot: invalid backend shares need no pool but a positive weight", () => {
  const s = sound();
  const route = s.http[0]!.virtualHosts[0]!.routes[0]!;
  route.action = {
    type: "Forward",
    backends: [{ pool: "a/web:80", weight: 1 }],
    invalid: [{ ref: "Service a/missing:80", weight: 1 }],
  };
  assert.deepEqual(validateSnapshot(s), []);
  // Invalid shares alone (a GRPCRoute whose refs all failed) are a usable Forward.
  route.action = { type: "Forward", backends: [], invalid: [{ ref: "Service a/missing:80", weight: 1 }] };
  assert.deepEqual(validateSnapshot(s), []);
  route.action = { type: "Forward", backends: [], invalid: [{ ref: "Service a/zero:80", weight: 0 }] };
  const problems = validateSnapshot(s).join("\n");
  assert.match(problems, /invalid backend "Service a\/zero:80" needs a positive weight/);
  route.action = { type: "Forward", backends: [] };
  assert.match(validateSnapshot(s).join("\n"), /Forward without backends/);
});

test("validateSnapshot: request-body limits are whole numbers, the timeout positive", () => {
  const s = sound();
  const route = s.http[0]!.virtualHosts[0]!.routes[0]!;
  route.requestBodyBufferBytes = 0;
  route.requestBodyTimeoutMs = 1000;
  assert.deepEqual(validateSnapshot(s), []);
  route.requestBodyBufferBytes = -1;
  route.requestBodyTimeoutMs = 0;
  const problems = validateSnapshot(s).join("\n");
  assert.match(problems, /requestBodyBufferBytes -1 is not a non-negative integer/);
  assert.match(problems, /requestBodyTimeoutMs 0 is not a positive integer/);
});

test("validateSnapshot: DNS servers: names, values, records in their zone, CNAMEs alone, binds", () => {
  const s = sound();
  const soa = {
    mname: "ns.example.com",
    rname: "h.example.com",
    serial: 1,
    refresh: 1,
    retry: 1,
    expire: 1,
    minimum: 1,
    ttl: 1,
  };
  s.dns = [
    {
      name: "DnsZone/example.com",
      address: s.l4[0]!.address,
      port: s.l4[0]!.port,
      zones: [
        {
          name: "example.com",
          soa,
          ns: ["ns.example.com"],
          nsTtl: 60,
          records: [
            { name: "ok.example.com", type: "A", value: "192.0.2.1", ttl: 30 },
            { name: "*.w.example.com", type: "TXT", value: "fine", ttl: 30 },
            { name: "Upper.example.com", type: "A", value: "192.0.2.1", ttl: 30 },
            { name: "x.example.org", type: "A", value: "192.0.2.1", ttl: 30 },
            { name: "v6.example.com", type: "AAAA", value: "192.0.2.1", ttl: 30 },
            { name: "c.example.com", type: "CNAME", value: "ok.example.com", ttl: 30 },
            { name: "c.example.com", type: "TXT", value: "clash", ttl: 30 },
            { name: "example.com", type: "CNAME", value: "ok.example.com", ttl: 30 },
          ],
        },
      ],
      rateLimit: { responsesPerSecond: 10, slip: -1 },
      forward: ["127.0.0.1:53", "resolver.example"],
    },
  ];
  const problems = validateSnapshot(s).join("\n");
  for (const want of [
    /"Upper\.example\.com": not a lower-case DNS name/,
    /"x\.example\.org": outside the zone/,
    /AAAA "v6\.example\.com": value "192\.0\.2\.1" is not valid/,
    /"c\.example\.com" has a CNAME and other records/,
    /a CNAME at the apex/,
    /rateLimit needs/,
    /forward "resolver\.example"/,
    /is also bound by/,
  ])
    assert.match(problems, want);
  assert.doesNotMatch(problems, /ok\.example\.com|\*\.w\.example\.com|127\.0\.0\.1:53/);
  // A serial is a 32-bit sequence number (RFC 1982): 2^31 and above are valid, 2^32 is not.
  soa.serial = 0xfffffffe;
  assert.doesNotMatch(validateSnapshot(s).join("\n"), /soa\.serial/);
  soa.serial = 2 ** 32;
  assert.match(validateSnapshot(s).join("\n"), /soa\.serial 4294967296 is not an integer in 0\.\.4294967295/);
});

test("validateSnapshot: WafConfig, AccessConfig and maxConnections are checked; one key, one config", () => {
  const s = sound();
  const waf: WafConfig = {
    key: "k1",
    policy: "WafPolicy/a/p",
    mode: "Enforcement",
    paranoiaLevel: 1,
    inboundAnomalyThreshold: 5,
    outboundAnomalyThreshold: 4,
    exclusions: [{ ruleIds: [{ from: 942100, to: 942199 }] }],
    requestBodyLimitBytes: 131072,
    requestBodyLimitAction: "Reject",
    inspectResponseBody: false,
    responseBodyLimitBytes: 524288,
    budgetMs: 50,
    failurePolicy: "FailOpen",
  };
  const route = s.http[0]!.virtualHosts[0]!.routes[0]!;
  route.waf = waf;
  route.access = { policy: "AccessPolicy/a/q", allow: ["192.0.2.0/24"], deny: ["2001:db8::/32"] };
  s.http[0]!.maxConnections = 10;
  assert.deepEqual(validateSnapshot(s), []);
  route.waf = {
    ...waf,
    paranoiaLevel: 5,
    detectionParanoiaLevel: 2,
    exclusions: [{}],
    allowlist: { clientCidrs: ["10.0.0.0/40"] },
  };
  route.access = {
    policy: "AccessPolicy/a/q",
    deny: ["192.0.2.1"],
    rateLimit: { requests: 0, periodMs: 1000, burst: 1, key: { type: "Header", name: "X-Key" } },
  };
  s.http[0]!.maxConnections = 0;
  s.http[0]!.virtualHosts[0]!.routes.push({ ...route, name: "Ingress/a/x#1.0", waf, access: undefined });
  const where = "IngressClass/p:443 a.example route Ingress/a/x#0.0";
  assert.deepEqual(validateSnapshot(s), [
    `${where}: waf WafPolicy/a/p: paranoiaLevel 5 is not 1-4`,
    `${where}: waf WafPolicy/a/p: detectionParanoiaLevel 2 is not from paranoiaLevel to 4`,
    `${where}: waf WafPolicy/a/p: an exclusion names neither rule ids nor tags`,
    `${where}: waf WafPolicy/a/p: allowlist CIDR "10.0.0.0/40" is not a CIDR`,
    `${where}: access AccessPolicy/a/q: "192.0.2.1" is not a CIDR`,
    `${where}: access AccessPolicy/a/q: rateLimit requests, periodMs and burst must be positive integers`,
    `${where}: access AccessPolicy/a/q: rateLimit header "X-Key" is not a lower-case header name`,
    "IngressClass/p:443: maxConnections 0 is not a positive integer",
    "waf key k1 names two different configurations",
  ]);
});

test("validateSnapshot: issue 20's route fields — rewrite pattern and replacement, fixed redirects, body limit, attempts", () => {
  const s = sound();
  const route = s.http[0]!.virtualHosts[0]!.routes[0]!;
  route.match.path = { type: "RegularExpression", value: "/a(/|$)(.*)", ignoreCase: true, startOnly: true };
  route.filters = [
    { type: "RegexRewrite", pattern: "/a(/|$)(.*)", ignoreCase: true, replacement: "/$2" },
    { type: "StaticRedirect", statusCode: 302, location: "/app", onlyPath: "/" },
  ];
  route.maxRequestBodyBytes = 0;
  route.connectTimeoutMs = 1000;
  route.maxAttempts = 1;
  assert.deepEqual(validateSnapshot(s), []);
  route.filters = [
    { type: "RegexRewrite", pattern: "(", replacement: "/x?y" },
    { type: "StaticRedirect", statusCode: 309, location: "" },
  ];
  route.maxRequestBodyBytes = -1;
  route.connectTimeoutMs = 0;
  route.maxAttempts = 1.5;
  const problems = validateSnapshot(s).join("\n");
  assert.match(problems, /invalid rewrite pattern "\("/);
  assert.match(problems, /rewrite replacement "\/x\?y" must be a path without "\?"/);
  assert.match(problems, /redirect status 309 is not 300–308/);
  assert.match(problems, /redirect location "" is empty/);
  assert.match(problems, /maxRequestBodyBytes -1/);
  assert.match(problems, /connectTimeoutMs 0/);
  assert.match(problems, /maxAttempts 1.5/);
});

test("validateSnapshot: a cookie affinity's SameSite is None, Lax or Strict (the engine writes it into Set-Cookie)", () => {
  const s = sound();
  const route = s.http[0]!.virtualHosts[0]!.routes[0]!;
  route.affinity = { cookie: "route", path: "/", sameSite: "Lax", changeOnFailure: false };
  assert.deepEqual(validateSnapshot(s), []);
  route.affinity.sameSite = "Lax\r\nX-Injected: 1" as "Lax";
  assert.match(
    validateSnapshot(s).join("\n"),
    /affinity: SameSite "Lax\\r\\nX-Injected: 1" is not None, Lax or Strict/,
  );
});
