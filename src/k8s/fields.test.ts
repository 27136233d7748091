import { test } from "node:test";
import assert from "node:assert/strict";
import { checkedKind, fieldPath, unknownFields } from "./fields.ts";

/** paths runs the validator and writes each unknown field's path as kubectl does. */
const paths = (obj: Record<string, unknown>) =>
  unknownFields(String(obj.kind), obj).map((u) => fieldPath(u.path));

const meta = { name: "web", namespace: "shop", labels: { app: "web" }, annotations: { "a/b": "c" } };

test("a clean Service has no unknown fields; a typo under spec is found", () => {
  const svc = {
    apiVersion: "v1",
    kind: "Service",
    metadata: meta,
    spec: { selector: { app: "web" }, ports: [{ name: "http", port: 80, targetPort: "http" }] },
    status: { loadBalancer: { anything: ["goes"] } },
  };
  assert.deepEqual(paths(svc), []);
  assert.deepEqual(paths({ ...svc, spec: { ...svc.spec, portz: [] } }), ["spec.portz"]);
});

test("typos at several depths, inside lists, and at the top and in metadata", () => {
  const route = {
    apiVersion: "gateway.networking.k8s.io/v1",
    kind: "HTTPRoute",
    metadata: { ...meta, lables: {} },
    spex: {},
    spec: {
      parentRefs: [{ name: "gw" }],
      rule: [],
      rules: [
        { matches: [{ path: { type: "PathPrefix", value: "/" } }], backendRefs: [{ name: "web", port: 80 }] },
        {
          matchs: [],
          filters: [
            { type: "RequestHeaderModifier", requestHeaderModifier: { set: [{ name: "a", valu: "b" }] } },
          ],
          backendRefs: [{ name: "web", port: 80, wieght: 1 }],
        },
      ],
    },
  };
  assert.deepEqual(paths(route), [
    "metadata.lables",
    "spex",
    "spec.rule",
    "spec.rules[1].matchs",
    "spec.rules[1].filters[0].requestHeaderModifier.set[0].valu",
    "spec.rules[1].backendRefs[0].wieght",
  ]);
});

test("maps take any key; IntOrString and scalars are not walked into", () => {
  const ing = {
    apiVersion: "networking.k8s.io/v1",
    kind: "Ingress",
    metadata: { name: "i", annotations: { "nginx.ingress.kubernetes.io/anything": "x" } },
    spec: {
      rules: [
        {
          host: "a.example",
          http: {
            paths: [
              { path: "/", pathType: "Prefix", backend: { service: { name: "s", port: { number: 80 } } } },
            ],
          },
        },
      ],
    },
  };
  assert.deepEqual(paths(ing), []);
  const svc = {
    apiVersion: "v1",
    kind: "Service",
    metadata: meta,
    spec: { ports: [{ port: 80, targetPort: 8080 }] },
  };
  assert.deepEqual(paths(svc), []);
  const cm = {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: meta,
    data: { "ca.crt": "x", any: "y" },
    bogus: 1,
  };
  assert.deepEqual(paths(cm), ["bogus"]);
  // Gateway infrastructure.labels is additionalProperties in the CRD: any key.
  const gw = {
    apiVersion: "gateway.networking.k8s.io/v1",
    kind: "Gateway",
    metadata: meta,
    spec: {
      gatewayClassName: "p",
      infrastructure: { labels: { x: "y" } },
      listeners: [{ name: "h", port: 80, protocol: "HTTP", tls: { options: { "vendor/k": "v" } } }],
    },
  };
  assert.deepEqual(paths(gw), []);
});

test("metadata's own nested objects are checked; status and unread kinds are not", () => {
  const ns = {
    apiVersion: "v1",
    kind: "Namespace",
    metadata: {
      name: "n",
      ownerReferences: [{ apiVersion: "v1", kind: "X", name: "o", uid: "u", controler: true }],
    },
    status: { phase: "Active", made: "up" },
  };
  assert.deepEqual(paths(ns), ["metadata.ownerReferences[0].controler"]);
  assert.equal(checkedKind("Deployment"), false);
  assert.deepEqual(
    paths({ apiVersion: "apps/v1", kind: "Deployment", metadata: meta, spec: { whatever: 1 } }),
    [],
  );
});

test("every version of a Gateway API kind is accepted (fields merged across versions)", () => {
  const tls = {
    apiVersion: "gateway.networking.k8s.io/v1alpha2",
    kind: "TLSRoute",
    metadata: meta,
    spec: {
      parentRefs: [{ name: "gw", sectionName: "tls" }],
      hostnames: ["a.example"],
      rules: [{ backendRefs: [{ name: "s", port: 443 }] }],
    },
  };
  assert.deepEqual(paths(tls), []);
  const pool = {
    apiVersion: "portico.dev/v1alpha1",
    kind: "VipPool",
    metadata: { name: "p" },
    spec: { addresses: ["192.0.2.0/28"], autoassign: true },
  };
  assert.deepEqual(paths(pool), ["spec.autoassign"]);
});
