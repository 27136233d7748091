// traffic.test.ts: ingress-nginx's traffic annotations (canary, affinity, CORS, source ranges,
// limits, balancing) through translate(): what each one puts on the routes, the defaults, the
// precedence, and that every value Portico cannot honour is reported (access ones fail closed).
import { test } from "node:test";
import assert from "node:assert/strict";
import { buildResourceSet } from "../../k8s/resource-set.ts";
import type { AnyObject } from "../../k8s/types.ts";
import type { Route } from "../../model/ir.ts";
import { validateSnapshot } from "../../model/validate.ts";
import { translate } from "../translate.ts";
import { readAffinity } from "./affinity.ts";
import { cookieIs, readCanary } from "./canary.ts";
import { hashAlgorithm } from "./balance.ts";
import { CORS_DEFAULTS } from "./cors.ts";

const opts = { serveClasslessServices: true, ingressHttpPort: 80, ingressHttpsPort: 443 };
const N = "nginx.ingress.kubernetes.io/";

function service(name: string, addresses: string[]): AnyObject[] {
  return [
    {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name, namespace: "d" },
      spec: { ports: [{ port: 80, targetPort: 8080 }] },
    },
    {
      apiVersion: "discovery.k8s.io/v1",
      kind: "EndpointSlice",
      metadata: { name: `${name}-1`, namespace: "d", labels: { "kubernetes.io/service-name": name } },
      addressType: "IPv4",
      ports: [{ port: 8080 }],
      endpoints: addresses.map((a) => ({ addresses: [a], conditions: { ready: true } })),
    },
  ];
}

function ingress(
  name: string,
  annotations: Record<string, string>,
  opt: { host?: string; svc?: string; path?: string; created?: string } = {},
): AnyObject {
  const ann: Record<string, string> = {};
  for (const [k, v] of Object.entries(annotations)) ann[k.includes("/") ? k : N + k] = v;
  return {
    apiVersion: "networking.k8s.io/v1",
    kind: "Ingress",
    metadata: {
      name,
      namespace: "d",
      annotations: ann,
      creationTimestamp: opt.created ?? "2026-01-01T00:00:00Z",
    },
    spec: {
      ingressClassName: "c",
      rules: [
        {
          host: opt.host ?? `${name}.example`,
          http: {
            paths: [
              {
                path: opt.path ?? "/",
                pathType: "Prefix",
                backend: { service: { name: opt.svc ?? "main", port: { number: 80 } } },
              },
            ],
          },
        },
      ],
    },
  };
}

const CLASS: AnyObject = {
  apiVersion: "networking.k8s.io/v1",
  kind: "IngressClass",
  metadata: { name: "c" },
  spec: { controller: "portico.dev/ingress-controller" },
};

function run(objects: AnyObject[]) {
  const out = translate(
    buildResourceSet(
      [CLASS, ...service("main", ["10.0.0.1", "10.0.0.2"]), ...service("canary", ["10.0.1.1"]), ...objects],
      new Map(),
      [],
    ),
    opts,
  );
  const routes = (host: string): Route[] =>
    out.http[0]!.virtualHosts.find((v) => v.hostname === host)?.routes ?? [];
  const accepted = (name: string) =>
    out.statuses
      .find((s) => s.kind === "Ingress" && s.name === name)
      ?.status.conditions?.find((c) => c.type === "portico.dev/Accepted");
  return { out, routes, accepted };
}

test("source ranges: allow and deny lists (bare addresses as /32, /128) become an access config after any AccessPolicy", () => {
  const { out, routes } = run([
    ingress("a", { "whitelist-source-range": "127.0.0.2, 10.0.0.0/8,2001:db8::1" }),
    ingress("b", { "allowlist-source-range": "127.0.0.0/8", "denylist-source-range": "127.0.0.3" }),
    ingress("none", {}),
  ]);
  assert.deepEqual(routes("a.example")[0]!.extraAccess, [
    { policy: "Ingress/d/a (source ranges)", allow: ["127.0.0.2/32", "10.0.0.0/8", "2001:db8::1/128"] },
  ]);
  assert.deepEqual(routes("b.example")[0]!.extraAccess, [
    { policy: "Ingress/d/b (source ranges)", allow: ["127.0.0.0/8"], deny: ["127.0.0.3/32"] },
  ]);
  assert.equal(routes("none.example")[0]!.extraAccess, undefined, "nothing without annotations");
  // The engine's validation accepts what translate made (the VIP address comes from IPAM later).
  const http = out.http.map((l) => ({ ...l, address: "192.0.2.1" }));
  assert.deepEqual(validateSnapshot({ version: 1, l4: [], http, pools: out.pools, certificates: {} }), []);
});

test("source ranges: an unreadable CIDR fails closed — every client refused, with the reason on the Ingress", () => {
  const { routes, accepted } = run([
    ingress("bad", { "whitelist-source-range": "10.0.0.0/8, 10.0.0.300" }),
    ingress("empty", { "denylist-source-range": " , " }),
  ]);
  for (const host of ["bad.example", "empty.example"]) {
    const a = routes(host)[0]!.extraAccess!;
    assert.equal(a.length, 1);
    assert.deepEqual(a[0]!.deny, ["0.0.0.0/0", "::/0"], host);
    assert.equal(a[0]!.allow, undefined);
  }
  assert.equal(accepted("bad")!.reason, "InvalidAnnotation");
  assert.match(
    accepted("bad")!.message,
    /nginx\.ingress\.kubernetes\.io\/whitelist-source-range: "10\.0\.0\.300" is not a CIDR.*refused \(403\)/,
  );
});

test("limits: rps and rpm with ingress-nginx's burst (rate × multiplier, default 5, +1), connections, whitelist", () => {
  const { routes, accepted } = run([
    ingress("rps", { "limit-rps": "2" }),
    ingress("all", {
      "limit-rps": "10",
      "limit-rpm": "100",
      "limit-connections": "3",
      "limit-burst-multiplier": "2",
      "limit-whitelist": "127.0.0.9, 10.1.0.0/16",
    }),
    ingress("off", { "limit-rps": "0", "limit-rate": "100" }),
  ]);
  assert.deepEqual(routes("rps.example")[0]!.extraAccess, [
    {
      policy: "Ingress/d/rps (limit-rps)",
      rateLimit: { requests: 2, periodMs: 1000, burst: 11, key: { type: "ClientAddress" } },
    },
  ]);
  const exempt = ["127.0.0.9/32", "10.1.0.0/16"];
  assert.deepEqual(routes("all.example")[0]!.extraAccess, [
    { policy: "Ingress/d/all (limit-connections)", concurrency: 3, exempt },
    {
      policy: "Ingress/d/all (limit-rpm)",
      rateLimit: { requests: 100, periodMs: 60_000, burst: 201, key: { type: "ClientAddress" } },
      exempt,
    },
    {
      policy: "Ingress/d/all (limit-rps)",
      rateLimit: { requests: 10, periodMs: 1000, burst: 21, key: { type: "ClientAddress" } },
      exempt,
    },
  ]);
  assert.equal(routes("off.example")[0]!.extraAccess, undefined, '"0" leaves the limit off');
  assert.match(accepted("off")!.message, /limit-rate: bandwidth limits are not implemented/);
});

test("limits: an unreadable limit fails closed; an unreadable whitelist exempts no one", () => {
  const { routes, accepted } = run([
    ingress("bad", { "limit-rps": "ten" }),
    ingress("wl", { "limit-rps": "5", "limit-whitelist": "nope" }),
  ]);
  assert.deepEqual(routes("bad.example")[0]!.extraAccess![0]!.deny, ["0.0.0.0/0", "::/0"]);
  assert.match(accepted("bad")!.message, /limit-rps: "ten" is not a whole number; every client .* refused/);
  const wl = routes("wl.example")[0]!.extraAccess!;
  assert.equal(wl.length, 1);
  assert.equal(wl[0]!.exempt, undefined);
  assert.match(accepted("wl")!.message, /limit-whitelist: "nope" is not a CIDR/);
});

test("CORS: ingress-nginx's defaults (any origin, credentials, 20 days) and each option", () => {
  const { routes, accepted } = run([
    ingress("def", { "enable-cors": "true" }),
    ingress("set", {
      "enable-cors": "true",
      "cors-allow-origin": "https://a.example, http://*.b.example:8080, ftp://x, https://bad/path",
      "cors-allow-methods": "get, POST",
      "cors-allow-headers": "X-One, X-Two",
      "cors-expose-headers": "*, X-Out",
      "cors-allow-credentials": "false",
      "cors-max-age": "600",
    }),
    ingress("off", { "cors-allow-origin": "https://a.example" }),
  ]);
  assert.deepEqual(routes("def.example")[0]!.filters, [
    {
      type: "CORS",
      allowOrigins: ["*"],
      allowMethods: ["GET", "PUT", "POST", "DELETE", "PATCH", "OPTIONS"],
      allowHeaders: CORS_DEFAULTS.allowHeaders.split(","),
      allowCredentials: true,
      maxAgeSeconds: 1728000,
    },
  ]);
  assert.deepEqual(routes("set.example")[0]!.filters, [
    {
      type: "CORS",
      allowOrigins: ["https://a.example", "http://*.b.example:8080"],
      allowMethods: ["GET", "POST"],
      allowHeaders: ["X-One", "X-Two"],
      exposeHeaders: ["*", "X-Out"],
      allowCredentials: false,
      maxAgeSeconds: 600,
    },
  ]);
  assert.match(accepted("set")!.message, /cors-allow-origin: "ftp:\/\/x" is not valid here/);
  assert.match(accepted("set")!.message, /cors-allow-origin: "https:\/\/bad\/path" is not "\*"/);
  assert.equal(routes("off.example")[0]!.filters, undefined, "cors-* without enable-cors do nothing");
});

test("affinity: cookie with ingress-nginx's defaults, each session-cookie option, and what is reported", () => {
  const { routes, accepted } = run([
    ingress("def", { affinity: "cookie" }, { path: "/app" }),
    ingress("set", {
      affinity: "cookie",
      "affinity-mode": "persistent",
      "session-cookie-name": "route",
      "session-cookie-path": "/",
      "session-cookie-domain": "example.com",
      "session-cookie-max-age": "3600",
      "session-cookie-expires": "7200",
      "session-cookie-secure": "true",
      "session-cookie-samesite": "lax",
      "session-cookie-change-on-failure": "true",
    }),
    ingress("bad", { affinity: "ip", "session-cookie-name": "x" }),
  ]);
  assert.deepEqual(routes("def.example")[0]!.affinity, {
    cookie: "INGRESSCOOKIE",
    path: "/app",
    changeOnFailure: false,
  });
  assert.deepEqual(routes("set.example")[0]!.affinity, {
    cookie: "route",
    path: "/",
    domain: "example.com",
    maxAgeSeconds: 3600,
    expiresSeconds: 7200,
    secure: true,
    sameSite: "Lax",
    changeOnFailure: true,
  });
  assert.equal(routes("bad.example")[0]!.affinity, undefined);
  assert.match(accepted("bad")!.message, /affinity: "ip" is not "cookie"/);
});

test("load-balance and upstream-hash-by: a pool of the route's own with the algorithm; the rest reported", () => {
  const { out, routes, accepted } = run([
    ingress("ewma", { "load-balance": "ewma" }),
    ingress("uri", { "upstream-hash-by": "$request_uri", "load-balance": "ewma" }),
    ingress("combo", { "upstream-hash-by": "$host$request_uri", "upstream-hash-by-subset": "true" }),
    ingress("plain", {}),
  ]);
  const poolOf = (h: string) => (routes(h)[0]!.action as { backends: { pool: string }[] }).backends[0]!.pool;
  assert.equal(poolOf("ewma.example"), "d/main:80~LeastRequest");
  assert.deepEqual(out.pools["d/main:80~LeastRequest"]!.algorithm, { type: "LeastRequest" });
  assert.equal(out.pools["d/main:80~LeastRequest"]!.endpoints.length, 2);
  assert.equal(poolOf("uri.example"), "d/main:80~hash-RequestUri", "upstream-hash-by wins over load-balance");
  assert.equal(poolOf("combo.example"), "d/main:80");
  assert.equal(poolOf("plain.example"), "d/main:80");
  assert.match(accepted("combo")!.message, /upstream-hash-by: "\$host\$request_uri" combines variables/);
  assert.match(accepted("combo")!.message, /upstream-hash-by-subset: not implemented/);
  assert.deepEqual(hashAlgorithm("$remote_addr"), { type: "ConsistentHash", on: "SourceIP" });
  assert.deepEqual(hashAlgorithm("${http_x_user_id}"), {
    type: "ConsistentHash",
    on: "Header",
    name: "x-user-id",
  });
  assert.deepEqual(hashAlgorithm("$cookie_Sess"), { type: "ConsistentHash", on: "Cookie", name: "Sess" });
  assert.equal(typeof hashAlgorithm("$args"), "string");
});

test("canary: header, cookie and weight routes ahead of the main one, in ingress-nginx's precedence; no RouteConflict", () => {
  const { routes, accepted } = run([
    ingress("main", { "enable-cors": "true" }, { host: "app.example", created: "2026-01-02T00:00:00Z" }),
    // Older than main: a canary claims no path, so its age does not matter.
    ingress(
      "can",
      { canary: "true", "canary-by-header": "X-Canary", "canary-by-cookie": "cnry", "canary-weight": "20" },
      { host: "app.example", svc: "canary", created: "2026-01-01T00:00:00Z" },
    ),
  ]);
  const r = routes("app.example");
  const summary = r.map((x) => [
    x.name,
    (x.match.headers ?? []).map((h) => `${h.name}:${h.type}:${h.value}`).join(),
    JSON.stringify(x.action),
  ]);
  const main = JSON.stringify({ type: "Forward", backends: [{ pool: "d/main:80", weight: 1 }] });
  const canary = JSON.stringify({ type: "Forward", backends: [{ pool: "d/canary:80", weight: 1 }] });
  assert.deepEqual(summary, [
    ["Ingress/d/can#0.0.0", "X-Canary:Exact:always", canary],
    ["Ingress/d/can#0.0.1", "X-Canary:Exact:never", main],
    ["Ingress/d/can#0.0.2", `cookie:RegularExpression:${cookieIs("cnry", "always")}`, canary],
    ["Ingress/d/can#0.0.3", `cookie:RegularExpression:${cookieIs("cnry", "never")}`, main],
    [
      "Ingress/d/main#0.0",
      "",
      JSON.stringify({
        type: "Forward",
        backends: [
          { pool: "d/main:80", weight: 80 },
          { pool: "d/canary:80", weight: 20 },
        ],
      }),
    ],
  ]);
  // The canary routes carry the main route's filters (ingress-nginx ignores a canary's own).
  for (const x of r) assert.equal(x.filters?.[0]?.type, "CORS", x.name);
  assert.equal(accepted("can")!.reason, "Accepted", "a canary is not a RouteConflict");
  assert.equal(accepted("main")!.reason, "Accepted");
});

test("canary: a canary without a main Ingress, and a second canary on a path, are reported and not served", () => {
  const { routes, accepted } = run([
    ingress("lonely", { canary: "true", "canary-weight": "50" }, { host: "x.example", svc: "canary" }),
    ingress("main", {}, { host: "app.example" }),
    ingress("c1", { canary: "true", "canary-weight": "10" }, { host: "app.example", svc: "canary" }),
    ingress(
      "c2",
      { canary: "true", "canary-weight": "90" },
      { host: "app.example", svc: "canary", created: "2026-01-03T00:00:00Z" },
    ),
  ]);
  assert.deepEqual(routes("x.example"), []);
  const notCanary = run([
    ingress("yes", { canary: "yes", "canary-weight": "50" }, { host: "y.example" }),
    ingress("opts", { "canary-by-header": "X" }, { host: "o.example" }),
  ]);
  assert.equal(notCanary.routes("y.example").length, 1, "served as a plain Ingress");
  assert.match(notCanary.accepted("yes")!.message, /canary: "yes" is not "true" or "false"/);
  assert.match(notCanary.accepted("opts")!.message, /canary-\* options do nothing without canary: "true"/);
  assert.match(accepted("lonely")!.message, /canary: rule 0 path 0 .*no Ingress serves this host and path/);
  assert.match(accepted("c2")!.message, /already has a canary/);
  const action = routes("app.example")[0]!.action as { backends: { weight: number }[] };
  assert.deepEqual(
    action.backends.map((b) => b.weight),
    [90, 10],
  );
});

test("canary rules: header value and pattern, weight total, bad values reported", () => {
  const ann = (m: Record<string, string>) => (n: string) => m[n];
  const byValue = readCanary(
    ann({ "canary-by-header": "X-Env", "canary-by-header-value": "beta", "canary-by-header-pattern": "b.*" }),
  );
  assert.deepEqual(byValue.matches, [
    { header: { name: "X-Env", type: "Exact", value: "beta" }, to: "canary" },
  ]);
  const byPattern = readCanary(
    ann({ "canary-by-header": "X-Env", "canary-by-header-pattern": "^(beta|rc)$" }),
  );
  assert.deepEqual(byPattern.matches, [
    { header: { name: "X-Env", type: "RegularExpression", value: ".*(?:^(beta|rc)$).*" }, to: "canary" },
  ]);
  const bad = readCanary(
    ann({
      "canary-by-header": "X-Env",
      "canary-by-header-pattern": "(",
      "canary-weight": "300",
      "canary-weight-total": "1000",
    }),
  );
  assert.deepEqual(bad.matches, []);
  assert.equal(bad.weight, 300);
  assert.equal(bad.total, 1000);
  assert.match(bad.problems.join(), /canary-by-header-pattern: "\(" is not a regular expression/);
  const over = readCanary(ann({ "canary-weight": "101" }));
  assert.equal(over.weight, 0);
  assert.match(over.problems.join(), /canary-weight: "101" is not a whole number from 0 to 100/);
});

test("cookieIs matches the first cookie of the name only, as nginx's $cookie_ does", () => {
  const re = new RegExp(`^(?:${cookieIs("cnry", "always")})$`);
  for (const yes of ["cnry=always", "a=1; cnry=always", "a=1;cnry=always; b=2", "xcnry=1; cnry=always"])
    assert.ok(re.test(yes), yes);
  for (const no of ["cnry=never", "cnry=alwaysx", "cnry=never; cnry=always", "xcnry=always", "a=cnry=always"])
    assert.ok(!re.test(no), no);
});

test("canary: a main route that does not forward (failed closed) keeps its answer for every request; the canary is not served", () => {
  for (const [why, ann, status] of [
    ["unhonoured access annotation", { "auth-tls-match-cn": "CN=admin" }, 403],
    ["refused rewrite", { "rewrite-target": "http://elsewhere/" }, 500],
  ] as const) {
    const { routes, accepted } = run([
      ingress("main", ann, { host: "app.example", created: "2026-01-02T00:00:00Z" }),
      ingress(
        "can",
        { canary: "true", "canary-by-header": "X-Canary", "canary-by-cookie": "c", "canary-weight": "50" },
        { host: "app.example", svc: "canary" },
      ),
    ]);
    const r = routes("app.example");
    for (const x of r)
      assert.deepEqual(
        [x.name, x.action.type, (x.action as { status?: number }).status],
        [x.name, "DirectResponse", status],
        `${why}: a canary header or cookie must not reach a backend the main route refuses`,
      );
    assert.match(accepted("can")!.message, /does not forward.*the canary is not served/);
  }
});

test("canary: the canary's backend is spoken in the main Ingress's backend-protocol (ingress-nginx: a canary inherits it)", () => {
  for (const [proto, pool] of [
    ["GRPC", "d/canary:80|h2c"],
    ["HTTPS", "d/canary:80|https"],
  ] as const) {
    const { out, routes } = run([
      ingress(
        "main",
        { "backend-protocol": proto },
        { host: "app.example", created: "2026-01-02T00:00:00Z" },
      ),
      ingress(
        "can",
        { canary: "true", "canary-by-header": "X-Canary", "canary-weight": "10" },
        { host: "app.example", svc: "canary" },
      ),
    ]);
    const pools = routes("app.example").flatMap((x) =>
      x.action.type === "Forward" ? x.action.backends.map((b) => b.pool) : [],
    );
    assert.ok(pools.includes(pool), `${proto}: ${pools.join(", ")}`);
    assert.ok(!pools.includes("d/canary:80"), `${proto}: no canary request is spoken to in plain HTTP/1.1`);
    const p = out.pools[pool];
    assert.ok(
      proto === "GRPC" ? p?.protocol === "h2c" : p?.tls !== undefined,
      `${proto}: ${JSON.stringify(p)}`,
    );
  }
});

test("canary: a canary's use-regex or rewrite-target does not put the main Ingress's host in regex mode (ingress-nginx ignores them on a canary)", () => {
  for (const ann of [{ "use-regex": "true" }, { "rewrite-target": "/$1" }] as Record<string, string>[]) {
    const { routes } = run([
      ingress("main", {}, { host: "app.example", path: "/api", created: "2026-01-02T00:00:00Z" }),
      ingress(
        "can",
        { canary: "true", "canary-by-header": "X-Canary", ...ann },
        { host: "app.example", svc: "canary", path: "/api" },
      ),
    ]);
    const r = routes("app.example");
    assert.deepEqual(
      r.map((x) => [x.match.path.type, x.match.path.value, x.filters]),
      [
        ["Prefix", "/api", undefined],
        ["Prefix", "/api", undefined],
        ["Prefix", "/api", undefined],
      ],
      JSON.stringify(ann),
    );
  }
});

test("limits: an unreadable limit-burst-multiplier uses the default and says so, without claiming clients are refused", () => {
  const { routes, out } = run([ingress("a", { "limit-rps": "10", "limit-burst-multiplier": "1.5" })]);
  const access = routes("a.example")[0]!.extraAccess ?? [];
  assert.deepEqual(
    access.map((a) => [a.policy, a.rateLimit?.burst, a.deny]),
    [["Ingress/d/a (limit-rps)", 51, undefined]],
  );
  const said = out.notices.filter((n) => n.includes("limit-burst-multiplier"));
  assert.ok(said.length > 0, "reported");
  for (const n of said) assert.doesNotMatch(n, /refused/, n);
});

test("canary: the canary's own other annotations (source ranges, affinity...) are reported as not applied, never silently dropped", () => {
  const { accepted, routes } = run([
    ingress("main", {}, { host: "app.example", created: "2026-01-02T00:00:00Z" }),
    ingress(
      "can",
      {
        canary: "true",
        "canary-by-header": "X-Canary",
        "load-balance": "ewma",
        "whitelist-source-range": "10.0.0.0/8",
        affinity: "cookie",
      },
      { host: "app.example", svc: "canary" },
    ),
  ]);
  assert.equal(routes("app.example").length, 3);
  const msg = accepted("can")!.message;
  assert.match(msg, /affinity, .*whitelist-source-range: not applied on a canary/);
  assert.doesNotMatch(msg, /load-balance[,:]/);
});

test("affinity: a session-cookie-samesite naming an Object property (constructor, __proto__) is reported, not written", () => {
  for (const v of ["constructor", "__proto__", "hasOwnProperty"]) {
    const ann = (n: string) =>
      n === "affinity" ? "cookie" : n === "session-cookie-samesite" ? v : undefined;
    const { affinity, problems } = readAffinity(ann, { type: "Prefix", value: "/" });
    assert.equal(affinity?.sameSite, undefined, v);
    assert.match(problems.join("\n"), /is not None, Lax or Strict; left out/, v);
  }
});
