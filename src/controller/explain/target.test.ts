// target.test.ts: the ways a kubectl user names the object `portico explain` explains.
import { test } from "node:test";
import assert from "node:assert/strict";
import { parseTarget, targetKey, targetPath } from "./target.ts";

test("parseTarget: KIND/NS/NAME, KIND/NAME, KIND NAME, KIND NS/NAME, for every kind", () => {
  const rows: [string[], unknown][] = [
    [["service/shop/web", "dir"], { kind: "Service", namespace: "shop", name: "web", dirs: ["dir"] }],
    [["svc/web", "a", "b"], { kind: "Service", namespace: "default", name: "web", dirs: ["a", "b"] }],
    [["service", "web", "dir"], { kind: "Service", namespace: "default", name: "web", dirs: ["dir"] }],
    [["ing", "shop/site", "dir"], { kind: "Ingress", namespace: "shop", name: "site", dirs: ["dir"] }],
    [["Ingress/shop/site"], { kind: "Ingress", namespace: "shop", name: "site", dirs: [] }],
    [["gateway/infra/demo"], { kind: "Gateway", namespace: "infra", name: "demo", dirs: [] }],
    [["HTTPRoute/demo/shop"], { kind: "HTTPRoute", namespace: "demo", name: "shop", dirs: [] }],
    [["grpcroutes/demo/echo"], { kind: "GRPCRoute", namespace: "demo", name: "echo", dirs: [] }],
    [["tlsroute/demo/db"], { kind: "TLSRoute", namespace: "demo", name: "db", dirs: [] }],
    [["tcproute", "demo/echo"], { kind: "TCPRoute", namespace: "demo", name: "echo", dirs: [] }],
    [["udproute/dns", "d"], { kind: "UDPRoute", namespace: "default", name: "dns", dirs: ["d"] }],
    [["vippool/gateways", "d"], { kind: "VipPool", namespace: "", name: "gateways", dirs: ["d"] }],
    [["pool", "gateways"], { kind: "VipPool", namespace: "", name: "gateways", dirs: [] }],
    [["ingressclass/portico"], { kind: "IngressClass", namespace: "", name: "portico", dirs: [] }],
    // A cluster-scoped kind has no namespace: three words name nothing.
    [["vippool/a/b"], undefined],
    [["pod/web", "dir"], undefined],
    [["service//web", "dir"], undefined],
    [["service/a/b/c", "dir"], undefined],
    [["service"], undefined],
    [[], undefined],
  ];
  for (const [argv, want] of rows) assert.deepEqual(parseTarget(argv), want, argv.join(" "));
});

test("targetPath and targetKey: how the admin API and the object index spell a target", () => {
  const t = { kind: "HTTPRoute" as const, namespace: "demo", name: "a b" };
  assert.equal(targetPath(t), "httproute/demo/a%20b");
  assert.equal(targetKey(t), "HTTPRoute/demo/a b");
  const p = { kind: "VipPool" as const, namespace: "", name: "gateways" };
  assert.equal(targetPath(p), "vippool/gateways");
  assert.equal(targetKey(p), "VipPool/gateways");
});
