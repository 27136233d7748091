// gateway-conformance-more.test.ts: Gateway API expectations found by re-checking Portico as an
// outside reviewer would, beyond the ported suite of gateway-conformance.test.ts: manifests that
// the API server's schema would refuse in a cluster but a file may hold (a bad regular
// expression, a path without "/", a redirect status or port out of range) must drop only their
// rule, never the whole snapshot; and the TCPRoute/UDPRoute multiple-routes-attachment tests.
// Also the two extended features whose suite tests need pods: backendRef filters on several
// backends (HTTPRoute and GRPCRoute) and a Gateway's backend client certificate.
/* eslint-disable no-restricted-imports -- like golden.test.ts this runs the whole pipeline from text;
   the rule keeps the translator itself independent of the file source and controller. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { assemble, nextState } from "../sources/file/assemble.ts";
import { parseManifests } from "../sources/file/parse.ts";
import { buildSnapshot, type PipelineOutput } from "../controller/pipeline.ts";
import { validateSnapshot } from "../model/validate.ts";
import type { Condition } from "../k8s/types.ts";
import type { Route } from "../model/ir.ts";
import { selfSigned } from "../../test/support/certs.ts";

/** run translates manifests given as text through the file source and the pipeline. */
function run(text: string): PipelineOutput {
  const set = assemble(new Map([["t.yaml", nextState(undefined, "t", parseManifests("t.yaml", text))]]), []);
  return buildSnapshot(
    set,
    { serveClasslessServices: false, ingressHttpPort: 80, ingressHttpsPort: 443 },
    {},
    1,
  );
}

/** parentConds returns the conditions of a route's first parent. */
function parentConds(o: PipelineOutput, kind: string, name: string): Condition[] {
  const s = o.statuses.find((x) => x.kind === kind && x.name === name);
  assert.ok(s, `${kind} ${name} has no status`);
  return (s.status.parents as { conditions: Condition[] }[])[0]!.conditions;
}

/** cond finds one condition as "Status/Reason". */
function cond(conds: readonly Condition[], type: string): string {
  const c = conds.find((x) => x.type === type);
  return c ? `${c.status}/${c.reason}` : "(none)";
}

/** hosts lists "hostname route" of every HTTP route of the snapshot. */
function hosts(o: PipelineOutput): string[] {
  return o.snapshot.http.flatMap((l) =>
    l.virtualHosts.flatMap((v) => v.routes.map((r) => `${v.hostname} ${r.name}`)),
  );
}

const base = `apiVersion: portico.dev/v1alpha1
kind: VipPool
metadata: { name: p }
spec: { addresses: [192.0.2.10/32] }
---
apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: { name: portico }
spec: { controllerName: portico.dev/gateway-controller }
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: { name: gw, namespace: ns }
spec:
  gatewayClassName: portico
  listeners: [{ name: http, port: 80, protocol: HTTP }]
---
apiVersion: v1
kind: Service
metadata: { name: a, namespace: ns }
spec: { ports: [{ port: 80, targetPort: 3000 }] }
---
`;

/** kindRoute is a route of kind on gw with one hostname and the given rules (YAML flow list items). */
const kindRoute = (kind: string, name: string, rules: string[]) => `apiVersion: gateway.networking.k8s.io/v1
kind: ${kind}
metadata: { name: ${name}, namespace: ns }
spec:
  parentRefs: [{ name: gw }]
  hostnames: [${name}.test]
  rules:
${rules.map((r) => `    - ${r}`).join("\n")}
---
`;
const httpRoute = (name: string, rules: string[]) => kindRoute("HTTPRoute", name, rules);
const grpcRoute = (name: string, rules: string[]) => kindRoute("GRPCRoute", name, rules);

const backend = "backendRefs: [{ name: a, port: 80 }]";

test("an invalid regular expression drops its rule (UnsupportedValue), not the whole snapshot", () => {
  const o = run(
    base +
      httpRoute("good", [backend]) +
      httpRoute("partly", [
        `{ matches: [{ path: { type: RegularExpression, value: "/(unclosed" } }], ${backend} }`,
        `{ matches: [{ path: { type: PathPrefix, value: /ok } }], ${backend} }`,
      ]) +
      httpRoute("header", [
        `{ matches: [{ headers: [{ name: x, type: RegularExpression, value: "[" }] }], ${backend} }`,
      ]) +
      httpRoute("query", [
        `{ matches: [{ queryParams: [{ name: q, type: RegularExpression, value: "a{2,1}" }] }], ${backend} }`,
      ]),
  );
  assert.deepEqual(validateSnapshot(o.snapshot), [], "the snapshot the engine gets is valid");
  assert.deepEqual(hosts(o).sort(), [
    "good.test HTTPRoute/ns/good#0.0",
    "partly.test HTTPRoute/ns/partly#1.0",
  ]);
  const partly = parentConds(o, "HTTPRoute", "partly");
  assert.equal(cond(partly, "Accepted"), "True/Accepted");
  assert.equal(cond(partly, "PartiallyInvalid"), "True/UnsupportedValue");
  assert.equal(cond(parentConds(o, "HTTPRoute", "header"), "Accepted"), "False/UnsupportedValue");
  assert.equal(cond(parentConds(o, "HTTPRoute", "query"), "Accepted"), "False/UnsupportedValue");
  assert.equal(cond(parentConds(o, "HTTPRoute", "good"), "Accepted"), "True/Accepted");
});

test("a path without '/', an unknown redirect status or scheme, a redirect port out of range: UnsupportedValue", () => {
  const o = run(
    base +
      httpRoute("good", [backend]) +
      httpRoute("path", [`{ matches: [{ path: { type: PathPrefix, value: nope } }], ${backend} }`]) +
      httpRoute("status", [
        `{ filters: [{ type: RequestRedirect, requestRedirect: { statusCode: 305 } }] }`,
      ]) +
      httpRoute("scheme", [`{ filters: [{ type: RequestRedirect, requestRedirect: { scheme: ftp } }] }`]) +
      httpRoute("port", [`{ filters: [{ type: RequestRedirect, requestRedirect: { port: 70000 } }] }`]) +
      httpRoute("fine", [
        `{ filters: [{ type: RequestRedirect, requestRedirect: { statusCode: 308, port: 8443 } }] }`,
      ]),
  );
  assert.deepEqual(validateSnapshot(o.snapshot), []);
  assert.deepEqual(hosts(o).sort(), ["fine.test HTTPRoute/ns/fine#0.0", "good.test HTTPRoute/ns/good#0.0"]);
  for (const name of ["path", "status", "scheme", "port"])
    assert.equal(cond(parentConds(o, "HTTPRoute", name), "Accepted"), "False/UnsupportedValue", name);
});

test("a GRPCRoute whose RegularExpression method match does not compile drops its rule", () => {
  const o = run(
    base +
      httpRoute("good", [backend]) +
      grpcRoute("grpc", [
        `{ matches: [{ method: { type: RegularExpression, service: "svc(", method: "M" } }], ${backend} }`,
        `{ matches: [{ method: { service: svc, method: M } }], ${backend} }`,
      ]),
  );
  assert.deepEqual(validateSnapshot(o.snapshot), []);
  assert.ok(hosts(o).includes("grpc.test GRPCRoute/ns/grpc#1.0"), JSON.stringify(hosts(o)));
  assert.equal(cond(parentConds(o, "GRPCRoute", "grpc"), "PartiallyInvalid"), "True/UnsupportedValue");
});

/** routeOf finds the IR route of a virtual host by name. */
function routeOf(o: PipelineOutput, name: string, listener?: string): Route {
  const r = o.snapshot.http
    .filter((l) => listener === undefined || l.name === listener)
    .flatMap((l) => l.virtualHosts.flatMap((v) => v.routes))
    .find((x) => x.name === name);
  assert.ok(r, `no route ${name} in ${JSON.stringify(hosts(o))}`);
  return r;
}

const twoServices = `${base}apiVersion: v1
kind: Service
metadata: { name: b, namespace: ns }
spec: { ports: [{ port: 80, targetPort: 3000 }] }
---
`;
const setHeader = (v: string) =>
  `filters: [{ type: RequestHeaderModifier, requestHeaderModifier: { set: [{ name: Backend, value: ${v} }] } }]`;

test("backendRef RequestHeaderModifiers of several backendRefs ride on their backends; other kinds drop the rule", () => {
  const o = run(
    twoServices +
      httpRoute("split", [
        `{ backendRefs: [{ name: a, port: 80, weight: 1, ${setHeader("a")} }, { name: b, port: 80, weight: 3 }] }`,
      ]) +
      httpRoute("other", [
        `{ matches: [{ path: { type: PathPrefix, value: /x } }], backendRefs: [{ name: a, port: 80, filters: [{ type: ResponseHeaderModifier, responseHeaderModifier: { set: [{ name: X, value: "1" }] } }] }, { name: b, port: 80 }] }`,
        `{ ${backend} }`,
      ]) +
      grpcRoute("grpc", [
        `{ matches: [{ method: { service: svc, method: Two } }], backendRefs: [{ name: a, port: 80, ${setHeader("a")} }, { name: b, port: 80, ${setHeader("b")} }] }`,
        `{ matches: [{ method: { service: svc, method: One } }], backendRefs: [{ name: a, port: 80, ${setHeader("a")} }] }`,
      ]),
  );
  assert.deepEqual(validateSnapshot(o.snapshot), []);
  const split = routeOf(o, "HTTPRoute/ns/split#0.0");
  assert.equal(split.filters, undefined, "the backend's filter is not the rule's");
  assert.deepEqual(split.action.type === "Forward" && split.action.backends, [
    {
      pool: "ns/a:80",
      weight: 1,
      filters: [{ type: "RequestHeaderModifier", set: [{ name: "Backend", value: "a" }] }],
    },
    { pool: "ns/b:80", weight: 3 },
  ]);
  assert.equal(cond(parentConds(o, "HTTPRoute", "split"), "ResolvedRefs"), "True/ResolvedRefs");
  // A ResponseHeaderModifier on one of two backends cannot apply to that backend alone here.
  assert.ok(!hosts(o).includes("other.test HTTPRoute/ns/other#0.0"));
  assert.ok(hosts(o).includes("other.test HTTPRoute/ns/other#1.0"));
  const other = o.statuses.find((x) => x.name === "other")!;
  const partial = (other.status.parents as { conditions: Condition[] }[])[0]!.conditions.find(
    (c) => c.type === "PartiallyInvalid",
  );
  assert.match(partial?.message ?? "", /ResponseHeaderModifier filter on one of several backendRefs/);
  // GRPCRoute: the same per backend; a single backendRef's filters join the rule's.
  const two = routeOf(o, "GRPCRoute/ns/grpc#0.0");
  assert.deepEqual(
    two.action.type === "Forward" && two.action.backends.map((b) => b.filters?.[0]?.set?.[0]?.value),
    ["a", "b"],
  );
  const one = routeOf(o, "GRPCRoute/ns/grpc#1.0");
  assert.deepEqual(one.filters, [{ type: "RequestHeaderModifier", set: [{ name: "Backend", value: "a" }] }]);
});

test("a Gateway's backend client certificate goes only to its own routes' TLS pools", () => {
  const client = selfSigned(["gateway.client.test"]);
  const ca = selfSigned(["backend.test"]);
  const b64 = (t: string) => Buffer.from(t).toString("base64");
  const o = run(
    base +
      `apiVersion: portico.dev/v1alpha1
kind: VipPool
metadata: { name: p2 }
spec: { addresses: [192.0.2.11/32] }
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: { name: gw2, namespace: ns }
spec:
  gatewayClassName: portico
  listeners: [{ name: http, port: 8080, protocol: HTTP }]
  tls: { backend: { clientCertificateRef: { name: client } } }
---
apiVersion: v1
kind: Secret
metadata: { name: client, namespace: ns }
type: kubernetes.io/tls
data: { tls.crt: ${b64(client.certPem)}, tls.key: ${b64(client.keyPem)} }
---
apiVersion: v1
kind: ConfigMap
metadata: { name: ca, namespace: ns }
data: { ca.crt: ${JSON.stringify(ca.certPem)} }
---
apiVersion: gateway.networking.k8s.io/v1
kind: BackendTLSPolicy
metadata: { name: tls, namespace: ns }
spec:
  targetRefs: [{ group: "", kind: Service, name: a }]
  validation: { caCertificateRefs: [{ group: "", kind: ConfigMap, name: ca }], hostname: backend.test }
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: both, namespace: ns }
spec:
  parentRefs: [{ name: gw }, { name: gw2 }]
  rules: [{ backendRefs: [{ name: a, port: 80 }], filters: [{ type: RequestMirror, requestMirror: { backendRef: { name: a, port: 80 } } }] }]
`,
  );
  assert.deepEqual(validateSnapshot(o.snapshot), []);
  const pools = (listener: string) => {
    const r = routeOf(o, "HTTPRoute/ns/both#0.0", listener);
    const mirror = r.filters?.find((f) => f.type === "RequestMirror");
    return [
      ...(r.action.type === "Forward" ? r.action.backends.map((b) => b.pool) : []),
      mirror?.type === "RequestMirror" ? mirror.pool : "",
    ];
  };
  assert.deepEqual(pools("Gateway/ns/gw:80"), ["ns/a:80#tls", "ns/a:80#tls"]);
  const withCert = "ns/a:80#tls#client=ns/client";
  assert.deepEqual(pools("Gateway/ns/gw2:8080"), [withCert, withCert]);
  assert.equal(o.snapshot.pools["ns/a:80#tls"]!.tls!.clientCertificate, undefined);
  assert.equal(o.snapshot.pools[withCert]!.tls!.clientCertificate, "ns/client");
  assert.equal(o.snapshot.certificates["ns/client"]?.certPem, client.certPem);
  const gw2 = o.statuses.find((x) => x.kind === "Gateway" && x.name === "gw2")!;
  assert.equal(cond(gw2.status.conditions as Condition[], "ResolvedRefs"), "True/ResolvedRefs");
  const gw1 = o.statuses.find((x) => x.kind === "Gateway" && x.name === "gw")!;
  assert.equal(
    cond(gw1.status.conditions as Condition[], "ResolvedRefs"),
    "(none)",
    "no backend TLS, no Gateway-level ResolvedRefs",
  );
});
