// kube-leftovers.test.ts: what Portico removes from objects it no longer serves, and what it leaves
// (other controllers' addresses and parents, objects it still serves, objects with nothing of its).
import assert from "node:assert/strict";
import { test } from "node:test";
import { buildResourceSet } from "../k8s/resource-set.ts";
import type { AnyObject } from "../k8s/types.ts";
import type { ObjectStatus } from "../translate/types.ts";
import { leftovers, serviceLeftoverEdit, writtenAddresses } from "./kube-leftovers.ts";

const pool = {
  apiVersion: "portico.dev/v1alpha1",
  kind: "VipPool",
  metadata: { name: "p" },
  spec: { addresses: ["192.0.2.0/28"] },
} as AnyObject;
const ing = (name: string, ips: string[]): AnyObject =>
  ({
    apiVersion: "networking.k8s.io/v1",
    kind: "Ingress",
    metadata: { name, namespace: "ns" },
    spec: {},
    status: { loadBalancer: ips.length > 0 ? { ingress: ips.map((ip) => ({ ip })) } : {} },
  }) as AnyObject;

test("an Ingress Portico left loses only Portico's addresses; a served one and a foreign one are untouched", () => {
  const set = buildResourceSet(
    [
      pool,
      ing("left", ["192.0.2.3", "203.0.113.9"]),
      ing("served", ["192.0.2.1"]),
      ing("foreign", ["203.0.113.7"]),
      ing("old", ["198.51.100.5"]),
    ],
    new Map(),
    [],
  );
  const statuses: ObjectStatus[] = [{ kind: "Ingress", namespace: "ns", name: "served", status: {} }];
  // 198.51.100.5 came from a pool since deleted: this process wrote it, so it is Portico's too.
  const l = leftovers(set, statuses, new Set(["198.51.100.5"]));
  assert.deepEqual(
    l.map((x) => x.name),
    ["left", "old"],
  );
  assert.deepEqual(
    l[0]!.edit(set.ingresses.find((i) => i.metadata.name === "left")!.status as Record<string, unknown>),
    {
      loadBalancer: { ingress: [{ ip: "203.0.113.9" }] },
    },
  );
  assert.deepEqual(l[1]!.edit({ loadBalancer: { ingress: [{ ip: "198.51.100.5" }] } }), { loadBalancer: {} });
});

test("a Gateway loses Portico's addresses and portico.dev conditions; a route its Portico parents", () => {
  const gw = {
    apiVersion: "gateway.networking.k8s.io/v1",
    kind: "Gateway",
    metadata: { name: "gw", namespace: "ns" },
    spec: {},
    status: {
      addresses: [{ type: "IPAddress", value: "192.0.2.2" }],
      conditions: [
        { type: "Accepted", status: "True" },
        { type: "portico.dev/DNSRecordReady", status: "True" },
      ],
    },
  } as unknown as AnyObject;
  const route = {
    apiVersion: "gateway.networking.k8s.io/v1",
    kind: "HTTPRoute",
    metadata: { name: "r", namespace: "ns" },
    spec: {},
    status: {
      parents: [
        { controllerName: "portico.dev/gateway-controller", parentRef: { name: "gw" } },
        { controllerName: "example.com/other", parentRef: { name: "x" } },
      ],
    },
  } as unknown as AnyObject;
  const set = buildResourceSet([pool, gw, route], new Map(), []);
  const l = leftovers(set, []);
  assert.deepEqual(
    l.map((x) => x.kind),
    ["Gateway", "HTTPRoute"],
  );
  assert.deepEqual(l[0]!.edit(gw.status as Record<string, unknown>), {
    addresses: [],
    conditions: [{ type: "Accepted", status: "True" }],
  });
  assert.deepEqual(l[1]!.edit(route.status as Record<string, unknown>), {
    parents: [{ controllerName: "example.com/other", parentRef: { name: "x" } }],
  });
  // Once cleared, nothing is left to do.
  const clean = buildResourceSet(
    [pool, { ...gw, status: l[0]!.edit(gw.status as Record<string, unknown>) }],
    new Map(),
    [],
  );
  assert.deepEqual(leftovers(clean, []), []);
});

test("writtenAddresses reads load-balancer and Gateway addresses", () => {
  assert.deepEqual(
    writtenAddresses([
      { kind: "Service", name: "a", status: { loadBalancer: { ingress: [{ ip: "192.0.2.1" }] } } },
      { kind: "Gateway", name: "g", status: { addresses: [{ value: "192.0.2.2" }] } },
    ]),
    ["192.0.2.1", "192.0.2.2"],
  );
});

test("a Service Portico left loses its addresses and portico.dev conditions; another load balancer's stay", () => {
  const set = buildResourceSet([pool], new Map(), []);
  const edit = serviceLeftoverEdit(set, new Set(["198.51.100.5"]));
  assert.deepEqual(
    edit({
      loadBalancer: { ingress: [{ ip: "192.0.2.3" }, { ip: "203.0.113.9" }, { ip: "198.51.100.5" }] },
      conditions: [
        { type: "portico.dev/Announced", status: "True" },
        { type: "example.com/Ready", status: "True" },
      ],
    }),
    {
      loadBalancer: { ingress: [{ ip: "203.0.113.9" }] },
      conditions: [{ type: "example.com/Ready", status: "True" }],
    },
  );
  assert.deepEqual(
    edit({
      loadBalancer: { ingress: [{ ip: "192.0.2.3" }] },
      conditions: [{ type: "portico.dev/DNSRecordReady" }],
    }),
    { loadBalancer: {} },
  );
});
