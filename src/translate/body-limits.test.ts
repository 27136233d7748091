// body-limits.test.ts: the request-body annotations of an Ingress reach its routes; a value Portico
// cannot use is a condition on the Ingress, and the engine default applies.
import { test } from "node:test";
import assert from "node:assert/strict";
import { buildResourceSet } from "../k8s/resource-set.ts";
import type { AnyObject } from "../k8s/types.ts";
import { bodyTimeoutMs, parseByteSize } from "./body-limits.ts";
import { translate } from "./translate.ts";

const opts = { serveClasslessServices: true, ingressHttpPort: 80, ingressHttpsPort: 443 };

function ingress(name: string, annotations: Record<string, string>): AnyObject {
  return {
    apiVersion: "networking.k8s.io/v1",
    kind: "Ingress",
    metadata: { name, namespace: "d", annotations },
    spec: {
      ingressClassName: "c",
      rules: [{ host: `${name}.example`, http: { paths: [{ path: "/", pathType: "Prefix", backend: {} }] } }],
    },
  };
}

test("parseByteSize reads Kubernetes quantities; bodyTimeoutMs durations from 1s to 1h", () => {
  assert.equal(parseByteSize("65536"), 65536);
  assert.equal(parseByteSize("64Ki"), 65536);
  assert.equal(parseByteSize("1Mi"), 1048576);
  assert.equal(parseByteSize("500k"), 500_000);
  assert.equal(parseByteSize("0"), 0);
  for (const bad of ["-1", "1.5Mi", "64kb", "lots", ""]) assert.equal(parseByteSize(bad), undefined, bad);
  assert.equal(bodyTimeoutMs("30s"), 30_000);
  assert.equal(bodyTimeoutMs("1m30s"), 90_000);
  for (const bad of ["500ms", "2h", "soon"]) assert.equal(bodyTimeoutMs(bad), undefined, bad);
});

test("Ingress request-body annotations set the routes' fields; bad values are reported, never ignored", () => {
  const objects: AnyObject[] = [
    {
      apiVersion: "networking.k8s.io/v1",
      kind: "IngressClass",
      metadata: { name: "c" },
      spec: { controller: "portico.dev/ingress-controller" },
    },
    ingress("set", { "portico.dev/request-body-buffer": "1Mi", "portico.dev/request-body-timeout": "2m" }),
    ingress("stream", { "nginx.ingress.kubernetes.io/proxy-request-buffering": "off" }),
    ingress("bad", {
      "portico.dev/request-body-buffer": "1Gi",
      "portico.dev/request-body-timeout": "forever",
    }),
    ingress("plain", {}),
  ];
  const out = translate(buildResourceSet(objects, new Map(), []), opts);
  const routeOf = (host: string) =>
    out.http[0]!.virtualHosts.find((v) => v.hostname === `${host}.example`)!.routes[0]!;
  assert.equal(routeOf("set").requestBodyBufferBytes, 1048576);
  assert.equal(routeOf("set").requestBodyTimeoutMs, 120_000);
  assert.equal(routeOf("stream").requestBodyBufferBytes, 0);
  assert.equal(routeOf("bad").requestBodyBufferBytes, undefined, "the engine default");
  assert.equal(routeOf("bad").requestBodyTimeoutMs, undefined);
  assert.equal("requestBodyBufferBytes" in routeOf("plain"), false, "nothing added without annotations");
  const bad = out.statuses.find((s) => s.kind === "Ingress" && s.name === "bad")!;
  const accepted = bad.status.conditions!.find((c) => c.type === "portico.dev/Accepted")!;
  assert.equal(accepted.reason, "InvalidAnnotation");
  assert.match(accepted.message, /portico\.dev\/request-body-buffer: "1Gi" must be a size from 0 to 16Mi/);
  assert.match(accepted.message, /portico\.dev\/request-body-timeout: "forever" must be a duration/);
  assert.ok(out.notices.some((n) => n.startsWith('Ingress/d/bad: portico.dev/request-body-buffer: "1Gi"')));
});
