// gateway-conformance-more.test.ts: Gateway API expectations found by re-checking Portico as an
// outside reviewer would, beyond the ported suite of gateway-conformance.test.ts: manifests that
// the API server's schema would refuse in a cluster but a file may hold (a bad regular
// expression, a path without "/", a redirect status or port out of range) must drop only their
// rule, never the whole snapshot; and the TCPRoute/UDPRoute multiple-routes-attachment tests.
/* eslint-disable no-restricted-imports -- like golden.test.ts this runs the whole pipeline from text;
   the rule keeps the translator itself independent of the file source and controller. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { assemble, nextState } from "../sources/file/assemble.ts";
import { parseManifests } from "../sources/file/parse.ts";
import { buildSnapshot, type PipelineOutput } from "../controller/pipeline.ts";
import { validateSnapshot } from "../model/validate.ts";
import type { Condition } from "../k8s/types.ts";

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

/** httpRoute is an HTTPRoute on gw with one hostname and the given rules (YAML flow list items). */
const httpRoute = (name: string, rules: string[]) => `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: ${name}, namespace: ns }
spec:
  parentRefs: [{ name: gw }]
  hostnames: [${name}.test]
  rules:
${rules.map((r) => `    - ${r}`).join("\n")}
---
`;

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
      `apiVersion: gateway.networking.k8s.io/v1
kind: GRPCRoute
metadata: { name: grpc, namespace: ns }
spec:
  parentRefs: [{ name: gw }]
  hostnames: [grpc.test]
  rules:
    - matches: [{ method: { type: RegularExpression, service: "svc(", method: "M" } }]
      ${backend}
    - matches: [{ method: { service: svc, method: M } }]
      ${backend}
`,
  );
  assert.deepEqual(validateSnapshot(o.snapshot), []);
  assert.ok(hosts(o).includes("grpc.test GRPCRoute/ns/grpc#1.0"), JSON.stringify(hosts(o)));
  assert.equal(cond(parentConds(o, "GRPCRoute", "grpc"), "PartiallyInvalid"), "True/UnsupportedValue");
});
