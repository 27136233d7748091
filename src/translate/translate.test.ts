// translate.test.ts: input the file source's shape checks would stop but a cluster can still serve
// (fields missing, empty lists) must become conditions, never exceptions; and translate is pure.
import { test } from "node:test";
import assert from "node:assert/strict";
import { buildResourceSet } from "../k8s/resource-set.ts";
import type { AnyObject } from "../k8s/types.ts";
import { translate } from "./translate.ts";

const opts = { serveClasslessServices: true, ingressHttpPort: 80, ingressHttpsPort: 443 };
const meta = (name: string, namespace?: string) => (namespace ? { name, namespace } : { name });

test("translate: sparse objects do not throw and say what is wrong", () => {
  const objects: AnyObject[] = [
    { apiVersion: "v1", kind: "Service", metadata: meta("noports", "d"), spec: { type: "LoadBalancer" } },
    { apiVersion: "v1", kind: "Service", metadata: meta("nospec", "d") },
    {
      apiVersion: "discovery.k8s.io/v1",
      kind: "EndpointSlice",
      metadata: { ...meta("s", "d"), labels: { "kubernetes.io/service-name": "noports" } },
    },
    {
      apiVersion: "networking.k8s.io/v1",
      kind: "IngressClass",
      metadata: meta("c"),
      spec: { controller: "portico.dev/ingress-controller" },
    },
    { apiVersion: "networking.k8s.io/v1", kind: "IngressClass", metadata: meta("empty") },
    { apiVersion: "networking.k8s.io/v1", kind: "Ingress", metadata: meta("nospec", "d") },
    {
      apiVersion: "networking.k8s.io/v1",
      kind: "Ingress",
      metadata: meta("odd", "d"),
      spec: {
        ingressClassName: "c",
        rules: [
          {},
          { host: "a.example" },
          { host: "b.example", http: { paths: [{ pathType: "Prefix", backend: {} }] } },
        ],
        tls: [{}, { hosts: ["a.example"], secretName: "nodata" }],
      },
    },
    { apiVersion: "v1", kind: "Secret", metadata: meta("nodata", "d"), type: "kubernetes.io/tls" },
  ];
  const set = buildResourceSet(objects, new Map(), []);
  const out = translate(set, opts);
  const svc = out.statuses.find((s) => s.kind === "Service" && s.name === "noports");
  assert.equal(svc?.status.conditions?.find((c) => c.type === "portico.dev/Accepted")?.reason, "NoPorts");
  assert.equal(out.vipRequests.filter((r) => r.key.startsWith("Service/")).length, 0);
  const odd = out.statuses.find((s) => s.kind === "Ingress" && s.name === "odd");
  const refs = odd?.status.conditions?.find((c) => c.type === "portico.dev/ResolvedRefs");
  assert.equal(refs?.status, "False");
  assert.match(refs!.message, /no secretName/);
  assert.match(refs!.message, /Secret d\/nodata: tls.crt and tls.key missing/);
  assert.match(refs!.message, /resource backends are not supported/);
  // The path with an empty backend still exists and answers 503; the hosts whose certificate is
  // unusable are on HTTPS with the default certificate (no SNI entry), never a broken one.
  const http = out.http.find((l) => l.port === 80);
  const route = http?.virtualHosts.find((v) => v.hostname === "b.example")?.routes[0];
  assert.deepEqual(route?.action, { type: "DirectResponse", status: 503, body: "Service Unavailable\n" });
  assert.deepEqual(out.http.find((l) => l.port === 443)?.tls, { sni: [] });
  assert.ok(out.notices.some((n) => n.includes("Ingress/d/nospec")));
});

test("translate: same set, same result; the set stays frozen and unchanged", () => {
  const objects: AnyObject[] = [
    {
      apiVersion: "v1",
      kind: "Service",
      metadata: {
        ...meta("a", "d"),
        creationTimestamp: "2026-01-01T00:00:00Z",
        annotations: { "portico.dev/load-balancer-ips": " 192.0.2.1 , ,2001:db8::1" },
      },
      spec: {
        type: "LoadBalancer",
        ports: [{ port: 53, protocol: "UDP" }],
        ipFamilyPolicy: "PreferDualStack",
      },
    },
  ];
  const set = buildResourceSet(objects, new Map(), []);
  const before = JSON.stringify(set.services);
  const one = translate(set, opts);
  assert.deepEqual(translate(set, opts), one);
  assert.equal(JSON.stringify(set.services), before);
  const req = one.vipRequests[0]!;
  assert.deepEqual(req.requested, ["192.0.2.1", "2001:db8::1"]);
  assert.deepEqual(req.families, ["IPv4", "IPv6"], "a dual-stack policy naming no family gets both");
  assert.equal(req.order, "2026-01-01T00:00:00Z/Service/d/a");
  assert.deepEqual(one.vipOf, { "Service/d/a": "Service/d/a" });
});
