// gateway-http.test.ts: `portico run` on a Gateway and HTTPRoutes, real backends, real curl.
// VIP 127.0.30.1 (from a VipPool), listener port 18100. Covers the HTTPRoute matches, filters
// (header modifiers, redirect, rewrite, mirror), weighted split, ReferenceGrant allow/refuse,
// and the Gateway/route status shown at /api/v1/status.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { tempDir, writeManifest, startPortico, run, waitFor, removeDir, type Portico } from "./harness.ts";
import { httpBackend, pool, backendService, type HttpBackend } from "./fixtures.ts";
import { cond, gatewayClass, reason, statusOf } from "./gateway-helpers.ts";

const PORT = 18100;
const VIP = "127.0.30.1";
let dir: string, state: string;
let web: HttpBackend, api: HttpBackend, canary: HttpBackend, mirror: HttpBackend;
let shared: HttpBackend, other: HttpBackend;
let p: Portico;

const gateway = `${gatewayClass}---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: { name: gw, namespace: infra }
spec:
  gatewayClassName: portico
  listeners:
    - name: http
      port: ${PORT}
      protocol: HTTP
      allowedRoutes: { namespaces: { from: All } }
`;

const routes = `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: main, namespace: app }
spec:
  parentRefs: [{ name: gw, namespace: infra }]
  hostnames: [app.test]
  rules:
    - matches: [{ path: { type: Exact, value: /exact } }]
      backendRefs: [{ name: web, port: 80 }]
    - matches: [{ path: { type: PathPrefix, value: /api }, headers: [{ name: x-env, value: canary }] }]
      backendRefs: [{ name: canary, port: 80 }]
    - matches: [{ path: { type: PathPrefix, value: /api }, queryParams: [{ name: v, value: "2" }] }]
      backendRefs: [{ name: canary, port: 80 }]
    - matches: [{ path: { type: PathPrefix, value: /api } }]
      backendRefs: [{ name: api, port: 80 }]
    - matches: [{ path: { type: RegularExpression, value: "/items/[0-9]+" }, method: DELETE }]
      backendRefs: [{ name: api, port: 80 }]
    - matches: [{ path: { type: PathPrefix, value: /headers } }]
      filters:
        - type: RequestHeaderModifier
          requestHeaderModifier: { set: [{ name: x-set, value: "yes" }], add: [{ name: x-add, value: "1" }], remove: [x-drop] }
        - type: ResponseHeaderModifier
          responseHeaderModifier: { add: [{ name: x-resp, value: gateway }] }
      backendRefs: [{ name: web, port: 80 }]
    - matches: [{ path: { type: PathPrefix, value: /old } }]
      filters:
        - type: RequestRedirect
          requestRedirect: { scheme: https, hostname: new.test, path: { type: ReplacePrefixMatch, replacePrefixMatch: /new }, statusCode: 301 }
    - matches: [{ path: { type: PathPrefix, value: /rewrite } }]
      filters:
        - type: URLRewrite
          urlRewrite: { hostname: rewritten.test, path: { type: ReplacePrefixMatch, replacePrefixMatch: /v2 } }
      backendRefs: [{ name: web, port: 80 }]
    - matches: [{ path: { type: PathPrefix, value: /split } }]
      backendRefs: [{ name: web, port: 80, weight: 1 }, { name: api, port: 80, weight: 1 }]
    - matches: [{ path: { type: PathPrefix, value: /mirror } }]
      filters:
        - type: RequestMirror
          requestMirror: { backendRef: { name: mirror, port: 80 } }
      backendRefs: [{ name: web, port: 80 }]
    - matches: [{ path: { type: PathPrefix, value: /slow } }]
      timeouts: { request: 300ms }
      backendRefs: [{ name: web, port: 80 }]
    - matches: [{ path: { type: PathPrefix, value: /shared } }]
      backendRefs: [{ name: docs, namespace: shared, port: 80 }]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: refused, namespace: app }
spec:
  parentRefs: [{ name: gw, namespace: infra }]
  hostnames: [refused.test]
  rules:
    - backendRefs: [{ name: secret-svc, namespace: other, port: 80 }]
---
apiVersion: gateway.networking.k8s.io/v1beta1
kind: ReferenceGrant
metadata: { name: app-routes, namespace: shared }
spec:
  from: [{ group: gateway.networking.k8s.io, kind: HTTPRoute, namespace: app }]
  to: [{ group: "", kind: Service }]
`;

function curl(url: string, extra: string[] = []) {
  const u = new URL(url);
  return run("curl", [
    "-sS",
    "--max-time",
    "5",
    "--resolve",
    `${u.hostname}:${u.port}:${VIP}`,
    ...extra,
    url,
  ]);
}

async function body(path: string, extra: string[] = []): Promise<string> {
  return (await curl(`http://app.test:${PORT}${path}`, extra)).stdout;
}

before(async () => {
  dir = tempDir();
  state = tempDir();
  [web, api, canary, mirror, shared, other] = await Promise.all([
    httpBackend("web"),
    httpBackend("api"),
    httpBackend("canary"),
    httpBackend("mirror"),
    httpBackend("shared"),
    httpBackend("other"),
  ]);
  writeManifest(dir, "pool.yaml", pool("gw-http", [`${VIP}-${VIP}`]));
  writeManifest(dir, "gateway.yaml", gateway);
  writeManifest(dir, "routes.yaml", routes);
  writeManifest(
    dir,
    "backends.yaml",
    [
      backendService("app", "web", web.port),
      backendService("app", "api", api.port),
      backendService("app", "canary", canary.port),
      backendService("app", "mirror", mirror.port),
      backendService("shared", "docs", shared.port),
      backendService("other", "secret-svc", other.port),
    ].join("---\n"),
  );
  p = await startPortico([dir], ["--state-dir", state]);
  await waitFor("the HTTP listener to route", async () => (await body("/exact")) === "web GET /exact\n");
});

after(async () => {
  await p?.stop();
  for (const b of [web, api, canary, mirror, shared, other]) b?.close();
  for (const d of [dir, state]) if (d) removeDir(d);
});

test("Gateway status: Accepted, Programmed, the pool's address, attached routes", async () => {
  const gw = await statusOf(p, "Gateway", "gw");
  assert.equal(cond(gw.conditions, "Accepted"), "True");
  assert.equal(cond(gw.conditions, "Programmed"), "True");
  assert.deepEqual(gw.addresses, [{ type: "IPAddress", value: VIP }]);
  const l = gw.listeners.find((x) => x.name === "http")!;
  assert.equal(l.attachedRoutes, 2);
  assert.equal(cond(l.conditions, "Programmed"), "True");
  const parent = (await statusOf(p, "HTTPRoute", "main")).parents[0]!;
  assert.equal(parent.controllerName, "portico.dev/gateway-controller");
  assert.equal(cond(parent.conditions, "Accepted"), "True");
  assert.equal(
    cond(parent.conditions, "ResolvedRefs"),
    "True",
    "shared/docs is allowed by the ReferenceGrant",
  );
  const features = (await statusOf(p, "GatewayClass", "portico")).supportedFeatures.map((f) => f.name);
  for (const f of ["HTTPRoute", "HTTPRouteRequestMirror", "TLSRoute", "GRPCRoute", "BackendTLSPolicy"])
    assert.ok(features.includes(f), `GatewayClass claims ${f}`);
});

test("matches: exact path, header, query parameter, method + regular expression, fallthrough", async () => {
  assert.equal(await body("/exact"), "web GET /exact\n");
  assert.equal(await body("/exact/more", ["-o", "/dev/null", "-w", "%{http_code}"]), "404");
  assert.equal(await body("/api/x", ["-H", "x-env: canary"]), "canary GET /api/x\n");
  assert.equal(await body("/api/x?v=2"), "canary GET /api/x?v=2\n");
  assert.equal(await body("/api/x?v=3"), "api GET /api/x?v=3\n");
  assert.equal(await body("/api/x"), "api GET /api/x\n");
  assert.equal(await body("/items/42", ["-X", "DELETE"]), "api DELETE /items/42\n");
  assert.equal(
    await body("/items/42", ["-o", "/dev/null", "-w", "%{http_code}"]),
    "404",
    "GET is not DELETE",
  );
  assert.equal(await body("/items/x", ["-X", "DELETE", "-o", "/dev/null", "-w", "%{http_code}"]), "404");
  const other = await curl(`http://nope.test:${PORT}/exact`, ["-o", "/dev/null", "-w", "%{http_code}"]);
  assert.equal(other.stdout, "404", "a hostname no route claims");
});

test("filters: request and response header modifiers", async () => {
  const r = await curl(`http://app.test:${PORT}/headers`, ["-i", "-H", "x-drop: 1", "-H", "x-set: client"]);
  assert.match(r.stdout, /^x-resp: gateway\r$/m);
  const seen = web.seen.findLast((s) => s.url === "/headers")!;
  assert.equal(seen.headers["x-set"], "yes");
  assert.equal(seen.headers["x-add"], "1");
  assert.equal(seen.headers["x-drop"], undefined);
});

test("filters: redirect and URL rewrite", async () => {
  const r = await curl(`http://app.test:${PORT}/old/page?q=1`, [
    "-o",
    "/dev/null",
    "-w",
    "%{http_code} %{redirect_url}",
  ]);
  assert.equal(r.stdout, "301 https://new.test/new/page?q=1");
  assert.equal(await body("/rewrite/a"), "web GET /v2/a\n");
  assert.equal(web.seen.findLast((s) => s.url === "/v2/a")!.headers.host, "rewritten.test");
});

test("weighted backendRefs split the traffic", async () => {
  const got = new Set<string>();
  for (let i = 0; i < 40 && got.size < 2; i++) got.add((await body(`/split/${i}`)).split(" ")[0]!);
  assert.deepEqual([...got].sort(), ["api", "web"]);
});

test("RequestMirror: the mirror backend gets a copy, the client the main answer", async () => {
  assert.equal(await body("/mirror/m1", ["--data-binary", "payload"]), "web POST /mirror/m1\n");
  await waitFor("the mirror to see the request", () => mirror.seen.some((s) => s.url === "/mirror/m1"));
  mirror.close();
  assert.equal(await body("/mirror/m2"), "web GET /mirror/m2\n", "a dead mirror changes nothing");
});

test("ReferenceGrant: an allowed cross-namespace backend serves, a refused one answers 500 with status", async () => {
  assert.equal(await body("/shared/doc"), "shared GET /shared/doc\n");
  const r = await curl(`http://refused.test:${PORT}/`, ["-o", "/dev/null", "-w", "%{http_code}"]);
  assert.equal(r.stdout, "500");
  assert.equal(other.seen.length, 0);
  const refused = (await statusOf(p, "HTTPRoute", "refused")).parents[0]!;
  assert.equal(cond(refused.conditions, "ResolvedRefs"), "False");
  assert.equal(reason(refused.conditions, "ResolvedRefs"), "RefNotPermitted");
});

test("timeouts.request: a backend slower than the route's timeout gets 504", async () => {
  assert.equal(await body("/slow?ms=10"), "web GET /slow?ms=10\n");
  const r = await curl(`http://app.test:${PORT}/slow?ms=1000`, ["-o", "/dev/null", "-w", "%{http_code}"]);
  assert.equal(r.stdout, "504");
});
