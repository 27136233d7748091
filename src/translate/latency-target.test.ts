import { test } from "node:test";
import assert from "node:assert/strict";
import { buildResourceSet } from "../k8s/resource-set.ts";
import type { AnyObject, Condition } from "../k8s/types.ts";
import { translate } from "./translate.ts";
import { parseLatencyTarget, servedTargets } from "./latency-target.ts";
import { ANNOTATIONS_HONOURED } from "./nginx/never-silent.ts";

const opts = { serveClasslessServices: true, ingressHttpPort: 80, ingressHttpsPort: 443 };
const ANN = "portico.dev/latency-target";

test("parseLatencyTarget: ms and s, decimals, 1 ms to 60 s; anything else is refused", () => {
  const ok: [string, number][] = [
    ["250ms", 250],
    ["1s", 1000],
    ["1.5s", 1500],
    [" 60s ", 60_000],
    ["1ms", 1],
    ["0.25s", 250],
  ];
  for (const [text, ms] of ok) assert.equal(parseLatencyTarget(text), ms, text);
  for (const bad of [
    "",
    "0ms",
    "0.5ms",
    "61s",
    "2m",
    "1h",
    "fast",
    "250",
    "-1s",
    "1.5 s",
    "1e3ms",
    "1.0001s",
  ])
    assert.equal(parseLatencyTarget(bad), undefined, bad);
});

test("servedTargets keeps only the virtual services a listener with an address serves", () => {
  const targets = {
    "Service/d/a:53/UDP": 50,
    "Gateway/d/g:80 x.example": 1000,
    "Service/d/pending:80/TCP": 9,
  };
  const out = servedTargets(
    targets,
    [{ name: "Service/d/a:53/UDP" }],
    [{ name: "Gateway/d/g:80", virtualHosts: [{ hostname: "x.example" }] }],
  );
  assert.deepEqual(out, { "Service/d/a:53/UDP": 50, "Gateway/d/g:80 x.example": 1000 });
});

// A Gateway with an unhonoured annotation of a known prefix already has AnnotationsHonoured=False
// (never-silent.ts); a bad latency target joins that condition instead of adding a second one.
test("a Gateway's invalid target joins its AnnotationsHonoured condition", () => {
  const objects: AnyObject[] = [
    {
      apiVersion: "gateway.networking.k8s.io/v1",
      kind: "GatewayClass",
      metadata: { name: "portico" },
      spec: { controllerName: "portico.dev/gateway-controller" },
    },
    {
      apiVersion: "gateway.networking.k8s.io/v1",
      kind: "Gateway",
      metadata: {
        name: "g",
        namespace: "d",
        annotations: { [ANN]: "soon", "traefik.ingress.kubernetes.io/router.priority": "1" },
      },
      spec: { gatewayClassName: "portico", listeners: [{ name: "http", port: 80, protocol: "HTTP" }] },
    },
  ];
  const out = translate(buildResourceSet(objects, new Map(), []), opts);
  const conds = (out.statuses.find((s) => s.kind === "Gateway")?.status.conditions ?? []) as Condition[];
  const honoured = conds.filter((c) => c.type === ANNOTATIONS_HONOURED);
  assert.equal(honoured.length, 1);
  assert.match(honoured[0]!.message, /router\.priority/);
  assert.match(
    honoured[0]!.message,
    /portico\.dev\/latency-target: "soon" is not a duration from 1ms to 60s/,
  );
  assert.deepEqual(out.targetsMs, {});
});

test("a Service that is not a LoadBalancer is not a virtual service: its annotation is not read", () => {
  const svc: AnyObject = {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: "web", namespace: "d", annotations: { [ANN]: "bogus" } },
    spec: { ports: [{ port: 80, protocol: "TCP" }] },
  };
  const out = translate(buildResourceSet([svc], new Map(), []), opts);
  assert.deepEqual(out.targetsMs, {});
  assert.deepEqual(out.notices, []);
});

test("a Gateway's TLS passthrough listener is one virtual service keyed by the listener", () => {
  const objects: AnyObject[] = [
    {
      apiVersion: "gateway.networking.k8s.io/v1",
      kind: "GatewayClass",
      metadata: { name: "portico" },
      spec: { controllerName: "portico.dev/gateway-controller" },
    },
    {
      apiVersion: "gateway.networking.k8s.io/v1",
      kind: "Gateway",
      metadata: { name: "edge", namespace: "d", annotations: { [ANN]: "20ms" } },
      spec: {
        gatewayClassName: "portico",
        listeners: [{ name: "tls", port: 8443, protocol: "TLS", tls: { mode: "Passthrough" } }],
      },
    },
    {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "db", namespace: "d" },
      spec: { ports: [{ port: 5432, protocol: "TCP" }] },
    },
    {
      apiVersion: "gateway.networking.k8s.io/v1alpha2",
      kind: "TLSRoute",
      metadata: { name: "db", namespace: "d" },
      spec: {
        parentRefs: [{ name: "edge" }],
        hostnames: ["db.example"],
        rules: [{ backendRefs: [{ name: "db", port: 5432 }] }],
      },
    },
  ];
  const out = translate(buildResourceSet(objects, new Map(), []), opts);
  const l = out.http.find((x) => (x.sniRoutes?.length ?? 0) > 0);
  assert.ok(l, JSON.stringify(out.statuses));
  assert.deepEqual(out.targetsMs, { [l.name]: 20 });
  assert.deepEqual(servedTargets(out.targetsMs, [], [{ ...l, virtualHosts: [] }]), { [l.name]: 20 });
});
