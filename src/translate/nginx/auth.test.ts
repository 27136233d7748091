// auth.test.ts: ingress-nginx's auth and error-page annotations become the route's auth and
// errorPages; only hashes reach the IR; whatever cannot be honoured fails closed (503) with a
// condition, and no hash appears in a message.
import assert from "node:assert/strict";
import { test } from "node:test";
import { buildResourceSet } from "../../k8s/resource-set.ts";
import type { AnyObject } from "../../k8s/types.ts";
import type { EngineSnapshot, Route } from "../../model/ir.ts";
import { checkAuth, checkErrorPages } from "../../model/validate-auth.ts";
import { translate } from "../translate.ts";
import { nginxDuration } from "./auth.ts";

const opts = { serveClasslessServices: true, ingressHttpPort: 80, ingressHttpsPort: 443 };
const N = "nginx.ingress.kubernetes.io/";
const b64 = (s: string) => Buffer.from(s).toString("base64");
const BCRYPT = "$2y$05$wO4AyEaHB8PKw5mkJdmTmeMYjkEzpSjNIpIGgZ6E4Yd1FPNGKHSoe";
const APR1 = "$apr1$M6.gwv17$bvsrHTKU3aQIpsQqrSiqE1";
const DES = "PjUcXtTSu2HaA";

function ingress(name: string, annotations: Record<string, string>, service = "app"): AnyObject {
  return {
    apiVersion: "networking.k8s.io/v1",
    kind: "Ingress",
    metadata: { name, namespace: "d", annotations },
    spec: {
      ingressClassName: "c",
      rules: [
        {
          host: `${name}.example`,
          http: {
            paths: [
              {
                path: "/",
                pathType: "Prefix",
                backend: { service: { name: service, port: { number: 80 } } },
              },
            ],
          },
        },
      ],
    },
  };
}

function service(name: string, endpoints: string[]): AnyObject[] {
  return [
    {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name, namespace: "d" },
      spec: { ports: [{ name: "http", port: 80 }] },
    },
    {
      apiVersion: "discovery.k8s.io/v1",
      kind: "EndpointSlice",
      metadata: { name: `${name}-1`, namespace: "d", labels: { "kubernetes.io/service-name": name } },
      addressType: "IPv4",
      ports: [{ name: "http", port: 8080, protocol: "TCP" }],
      endpoints: endpoints.map((a) => ({ addresses: [a], conditions: { ready: true } })),
    },
  ];
}

const base: AnyObject[] = [
  {
    apiVersion: "networking.k8s.io/v1",
    kind: "IngressClass",
    metadata: { name: "c" },
    spec: { controller: "portico.dev/ingress-controller" },
  },
  ...service("app", ["10.0.0.1"]),
  ...service("auth", ["10.0.0.2"]),
  ...service("pages", ["10.0.0.3"]),
  ...service("empty", []),
  {
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name: "users", namespace: "d" },
    data: { auth: b64(`alice:${BCRYPT}\n# a comment\n\nbob:${APR1}\ndave:${DES}\n`) },
  },
  { apiVersion: "v1", kind: "Secret", metadata: { name: "map", namespace: "d" }, data: { carol: b64(APR1) } },
  {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name: "auth-headers", namespace: "d" },
    data: { "X-Tenant": "t1" },
  },
];

// valid runs the IR checks of a route's auth and error pages against the translated pools.
function valid(out: { pools: EngineSnapshot["pools"] }, r: Route): string[] {
  const s = { pools: out.pools } as EngineSnapshot;
  return [
    ...(r.auth ? checkAuth(s, r.name, r.auth) : []),
    ...(r.errorPages ? checkErrorPages(s, r.name, r.errorPages) : []),
  ];
}

function run(objects: AnyObject[]) {
  const out = translate(buildResourceSet([...base, ...objects], new Map(), []), opts);
  const routeOf = (name: string): Route =>
    out.http[0]!.virtualHosts.find((v) => v.hostname === `${name}.example`)!.routes[0]!;
  const messages = (name: string) =>
    (out.statuses.find((s) => s.kind === "Ingress" && s.name === name)?.status.conditions ?? [])
      .map((c) => c.message)
      .join("\n");
  return { out, routeOf, messages };
}

test("basic auth: users and hashes from auth-file and auth-map; unsupported hashes refuse that user, reported", () => {
  const { out, routeOf, messages } = run([
    ingress("file", {
      [`${N}auth-type`]: "basic",
      [`${N}auth-secret`]: "users",
      [`${N}auth-realm`]: "Staff",
    }),
    ingress("map", {
      [`${N}auth-type`]: "basic",
      [`${N}auth-secret`]: "d/map",
      [`${N}auth-secret-type`]: "auth-map",
    }),
  ]);
  assert.deepEqual(routeOf("file").auth, {
    basic: {
      realm: "Staff",
      source: "Secret/d/users",
      users: [
        { user: "alice", hash: BCRYPT },
        { user: "bob", hash: APR1 },
      ],
    },
  });
  assert.deepEqual(routeOf("map").auth?.basic?.users, [{ user: "carol", hash: APR1 }]);
  assert.match(messages("file"), /user "dave" has a password hash Portico cannot check/);
  const said = JSON.stringify(out.statuses) + out.notices.join("\n");
  for (const hash of [BCRYPT, APR1, DES]) assert.ok(!said.includes(hash), "no hash in a message");
  assert.deepEqual(valid(out, routeOf("file")), []);
});

test("auth that cannot be honoured fails closed with 503 and a condition", () => {
  const { routeOf, messages } = run([
    ingress("missing", { [`${N}auth-type`]: "basic", [`${N}auth-secret`]: "nope" }),
    ingress("nosecret", { [`${N}auth-type`]: "basic" }),
    ingress("digest", { [`${N}auth-type`]: "digest", [`${N}auth-secret`]: "users" }),
    ingress("badtype", {
      [`${N}auth-secret`]: "users",
      [`${N}auth-type`]: "basic",
      [`${N}auth-secret-type`]: "ldap",
    }),
    ingress("badurl", { [`${N}auth-url`]: "ftp://auth/check" }),
    ingress("nosvc", { [`${N}auth-url`]: "http://gone.d.svc.cluster.local/check" }),
    ingress("badmethod", { [`${N}auth-url`]: "http://auth.d.svc/check", [`${N}auth-method`]: "GE T" }),
    ingress("badheaders", {
      [`${N}auth-url`]: "http://auth.d.svc/check",
      [`${N}auth-response-headers`]: "X-Ok, bad header",
    }),
  ]);
  for (const name of [
    "missing",
    "nosecret",
    "digest",
    "badtype",
    "badurl",
    "nosvc",
    "badmethod",
    "badheaders",
  ]) {
    assert.equal(routeOf(name).auth?.deny?.status, 503, name);
    assert.match(messages(name), /answering 503/, name);
  }
  assert.match(messages("missing"), /Secret d\/nope not found/);
  assert.match(messages("digest"), /digest is not supported/);
  assert.match(messages("nosvc"), /Service d\/gone not found/);
});

test("external auth: a cluster Service URL resolves to its pool; options reach the IR", () => {
  const { out, routeOf } = run([
    ingress("ext", {
      [`${N}auth-url`]: "http://auth.d.svc.cluster.local/check",
      [`${N}auth-method`]: "post",
      [`${N}auth-signin`]: "https://login.example/start",
      [`${N}auth-signin-redirect-param`]: "next",
      [`${N}auth-response-headers`]: "X-User, X-Email",
      [`${N}auth-request-redirect`]: "https://app.example/",
      [`${N}auth-always-set-cookie`]: "true",
      [`${N}auth-cache-key`]: "$http_authorization",
      [`${N}auth-cache-duration`]: "200 202 401 30s",
      [`${N}auth-proxy-set-headers`]: "d/auth-headers",
    }),
    ingress("outside", { [`${N}auth-url`]: "https://auth.example.com/check" }),
    ingress("vars", { [`${N}auth-url`]: "https://$host/oauth2/auth" }),
  ]);
  const ext = routeOf("ext").auth?.external;
  assert.deepEqual(ext, {
    url: "http://auth.d.svc.cluster.local/check",
    pool: ext?.pool,
    method: "POST",
    signin: "https://login.example/start",
    signinRedirectParam: "next",
    responseHeaders: ["X-User", "X-Email"],
    requestRedirect: "https://app.example/",
    alwaysSetCookie: true,
    cacheKey: "$http_authorization",
    cacheDurationMs: 30_000,
    proxySetHeaders: [{ name: "X-Tenant", value: "t1" }],
    timeoutMs: 60_000,
  });
  assert.deepEqual(
    out.pools[ext!.pool!]!.endpoints.map((e) => e.address),
    ["10.0.0.2"],
  );
  assert.equal(routeOf("outside").auth?.external?.pool, undefined, "dialled as given");
  assert.equal(routeOf("vars").auth?.external?.pool, undefined);
  assert.deepEqual(valid(out, routeOf("ext")), []);
});

test("custom-http-errors with default-backend, and default-backend for a Service without endpoints", () => {
  const { out, routeOf, messages } = run([
    ingress("errs", { [`${N}custom-http-errors`]: "404, 503,abc", [`${N}default-backend`]: "pages" }),
    ingress("empty", { [`${N}default-backend`]: "pages" }, "empty"),
    ingress("orphan", { [`${N}custom-http-errors`]: "404" }),
  ]);
  const ep = routeOf("errs").errorPages!;
  assert.deepEqual(
    { ...ep, pool: "" },
    {
      codes: [404, 503],
      pool: "",
      namespace: "d",
      ingress: "errs",
      service: "app",
      port: "80",
    },
  );
  assert.deepEqual(
    out.pools[ep.pool!]!.endpoints.map((e) => e.address),
    ["10.0.0.3"],
  );
  assert.match(messages("errs"), /"abc" is not an HTTP code/);
  const empty = routeOf("empty").action;
  assert.equal(empty.type === "Forward" && empty.backends[0]!.pool, ep.pool, "served by the default backend");
  assert.equal(routeOf("orphan").errorPages, undefined);
  assert.match(
    messages("orphan"),
    /custom-http-errors needs .*default-backend or spec.defaultBackend; not applied/,
  );
  assert.deepEqual(valid(out, routeOf("errs")), []);
});

test("nginxDuration reads nginx times", () => {
  assert.equal(nginxDuration("5m"), 300_000);
  assert.equal(nginxDuration("30"), 30_000);
  assert.equal(nginxDuration("250ms"), 250);
  assert.equal(nginxDuration("1h"), 3_600_000);
  assert.equal(nginxDuration("soon"), undefined);
});
