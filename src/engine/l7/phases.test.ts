import { test } from "node:test";
import assert from "node:assert/strict";
import type { Route, RouteFilter } from "../../model/ir.ts";
import { compilePhases, responseEdits, type Answer, type PhaseRequest, type Phases } from "./phases.ts";
import type { ListenerRuntime } from "./runtime.ts";

function route(filters?: RouteFilter[]): Route {
  return {
    name: "r",
    match: { path: { type: "Prefix", value: "/api" } },
    filters,
    action: { type: "Forward", backends: [{ pool: "p", weight: 1 }] },
  };
}

// request is a PhaseRequest for GET-like tests: /api/v1?q=1 on host h:8080 over http.
function request(method = "GET", headers: Record<string, string> = {}): PhaseRequest {
  return {
    rt: { proto: "http" } as ListenerRuntime,
    method,
    path: "/api/v1",
    query: "q=1",
    host: "h:8080",
    prefixLength: 4,
    edits: undefined,
    header: (n) => headers[n],
    clientIp: () => "10.0.0.1",
  };
}

// run runs a requestHeaders phase as the decision step does: the first answer stops it.
function run(p: Phases | undefined, req: PhaseRequest): Answer | undefined {
  for (const step of p?.requestHeaders ?? []) {
    const a = step(req);
    assert.ok(!(a instanceof Promise), "these filters never wait");
    if (a !== undefined) return a;
  }
  return undefined;
}

const cors: RouteFilter = { type: "CORS", allowOrigins: ["https://a.example"], allowMethods: ["GET"] };
const redirect: RouteFilter = { type: "RequestRedirect", scheme: "https", statusCode: 301 };
const requestMod: RouteFilter = { type: "RequestHeaderModifier", set: [{ name: "X-A", value: "1" }] };
const responseMod: RouteFilter = { type: "ResponseHeaderModifier", add: [{ name: "X-B", value: "2" }] };
const rewrite: RouteFilter = {
  type: "URLRewrite",
  hostname: "inner",
  path: { type: "ReplacePrefixMatch", value: "/v2" },
};
const mirror: RouteFilter = { type: "RequestMirror", pool: "m", percent: 100 };

test("a route without filters has no phases", () => {
  assert.equal(compilePhases(route()), undefined);
  assert.equal(compilePhases(route([])), undefined);
});

test("each filter lands in its phase, and phases a route does not use are absent", () => {
  const onlyResponse = compilePhases(route([responseMod]))!;
  assert.deepEqual(Object.keys(onlyResponse), ["responseHeaders"]);
  const onlyRequest = compilePhases(route([requestMod]))!;
  assert.deepEqual(Object.keys(onlyRequest), ["requestHeaders"]);
  // CORS answers preflights (request side) and adds headers to responses (response side).
  const both = compilePhases(route([cors]))!;
  assert.deepEqual(Object.keys(both).sort(), ["requestHeaders", "responseHeaders"]);
  const all = compilePhases(route([cors, redirect, requestMod, responseMod, rewrite, mirror]))!;
  assert.equal(all.requestHeaders?.length, 5);
  assert.equal(all.responseHeaders?.length, 2);
  // Nothing of today's filters reads bodies or the log: those phases stay absent.
  for (const p of [onlyResponse, onlyRequest, both, all]) {
    assert.equal(p.requestBody, undefined);
    assert.equal(p.responseBody, undefined);
    assert.equal(p.log, undefined);
  }
});

test("requestHeaders edits the upstream request: rewrite, header modifier, mirrors", () => {
  const req = request();
  assert.equal(run(compilePhases(route([rewrite, requestMod, mirror])), req), undefined);
  assert.deepEqual(req.edits, { host: "inner", path: "/v2/v1", headers: requestMod, mirrors: [mirror] });
});

test("a redirect answers before any rewrite, whatever the filters' order", () => {
  const req = request();
  const a = run(compilePhases(route([rewrite, redirect])), req);
  assert.deepEqual(a, {
    status: 301,
    body: "redirecting to https://h/api/v1?q=1",
    headers: [{ name: "Location", value: "https://h/api/v1?q=1" }],
  });
  assert.equal(req.edits, undefined);
});

test("a CORS preflight is answered before a redirect; other requests go on to it", () => {
  const p = compilePhases(route([redirect, cors]));
  const pre = run(
    p,
    request("OPTIONS", { origin: "https://a.example", "access-control-request-method": "GET" }),
  );
  assert.equal(pre?.status, 200);
  assert.ok(pre?.headers?.some((h) => h.name === "Access-Control-Allow-Origin"));
  assert.equal(run(p, request("GET", { origin: "https://a.example" }))?.status, 301);
});

test("responseHeaders applies the modifier, then CORS's headers over it", () => {
  const p = compilePhases(route([cors, responseMod]))!;
  const edits = responseEdits(p.responseHeaders!, request("GET", { origin: "https://a.example" }));
  assert.deepEqual(edits, {
    set: [{ name: "Access-Control-Allow-Origin", value: "https://a.example" }],
    add: [
      { name: "X-B", value: "2" },
      { name: "Vary", value: "Origin" },
    ],
  });
});

test("compilePhases (issue 20): fixed redirects before the HTTPS redirect, app-root's only for its path; rewrite with groups; body limit by Content-Length", () => {
  const appRoot: RouteFilter = { type: "StaticRedirect", statusCode: 302, location: "/app", onlyPath: "/" };
  const moved: RouteFilter = { type: "StaticRedirect", statusCode: 308, location: "https://n.example/x" };
  const p = compilePhases(route([redirect, appRoot, moved]));
  const a = run(p, request());
  assert.deepEqual([a?.status, a?.headers], [308, [{ name: "Location", value: "https://n.example/x" }]]);
  const root = { ...request(), path: "/" };
  assert.deepEqual(run(p, root)?.headers, [{ name: "Location", value: "http://h:8080/app" }]);
  const rw = compilePhases(
    route([{ type: "RegexRewrite", pattern: "/API/(v\\d)", ignoreCase: true, replacement: "/$1/x" }]),
  );
  const req = request();
  assert.equal(run(rw, req), undefined);
  assert.equal(req.edits?.path, "/v1/x");
  const limited = compilePhases({ ...route(), maxRequestBodyBytes: 10 });
  assert.equal(run(limited, request("POST", { "content-length": "11" }))?.status, 413);
  assert.equal(run(limited, request("POST", { "content-length": "10" })), undefined);
  assert.equal(run(limited, request("POST")), undefined, "no length: the fronts count the body");
});
