// tenant-gaps.test.ts: stories of the tenant rules closed after the first part (docs/tenants.md):
// a wildcard broader than another tenant's domain does not catch that domain's names, a VipPool's
// engineGroup is checked against the Tenant's engineGroups, and ListenerSet listeners count
// towards the listeners and hostnames quotas.
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  BASE,
  GATEWAY,
  POOL_AND_CLASS,
  ingress,
  route,
  runStory,
  service,
  type Row,
} from "./tenant-story.ts";

type PipelineOutput = Parameters<NonNullable<Row["check"]>>[0];

/** vhostsOf lists each virtual host of the listeners serving owner: hostname → route owners (sorted). */
function vhostsOf(out: PipelineOutput, owner: string): Record<string, string[]> {
  const res: Record<string, string[]> = {};
  for (const l of out.snapshot.http) {
    if (!l.virtualHosts.some((vh) => vh.routes.some((r) => r.name.startsWith(owner)))) continue;
    for (const vh of l.virtualHosts)
      res[vh.hostname] = [...new Set(vh.routes.map((r) => r.name.split("#")[0]!.replace(/:.*$/, "")))].sort();
  }
  return res;
}

test("story: b's *.example.com serves the rest of example.com, never the names of a's *.a.example.com", () => {
  runStory([
    { name: "tenants a (*.a.example.com) and b, a shared Gateway", apply: `${BASE}---${GATEWAY}` },
    {
      name: "b's HTTPRoute for *.example.com is accepted; a's domain gets a virtual host without routes on its listener",
      apply: route("b", "wild", "*.example.com"),
      want: [{ obj: "HTTPRoute/b/wild", type: "Accepted", status: "True", reason: "Accepted" }],
      check: (out) =>
        assert.deepEqual(vhostsOf(out, "HTTPRoute/b/wild"), {
          "*.example.com": ["HTTPRoute/b/wild"],
          "*.a.example.com": [],
        }),
    },
    {
      name: "a serves x.a.example.com on the same listener: its exact name wins; the rest of a's domain stays fenced",
      apply: route("a", "x", "x.a.example.com"),
      check: (out) =>
        assert.deepEqual(vhostsOf(out, "HTTPRoute/b/wild"), {
          "*.example.com": ["HTTPRoute/b/wild"],
          "x.a.example.com": ["HTTPRoute/a/x"],
          "*.a.example.com": [],
        }),
    },
    {
      name: "a serves its whole wildcard there: no fence is needed, a's routes answer",
      apply: route("a", "all", "*.a.example.com"),
      check: (out) =>
        assert.deepEqual(vhostsOf(out, "HTTPRoute/b/wild"), {
          "*.example.com": ["HTTPRoute/b/wild"],
          "x.a.example.com": ["HTTPRoute/a/x"],
          "*.a.example.com": ["HTTPRoute/a/all"],
        }),
    },
  ]);
});

test("story: an Ingress wildcard (one label) and a hostless rule of b are fenced from a's exact domain", () => {
  // a owns an exact name and a deeper wildcard.
  const tenants = `${POOL_AND_CLASS}---
apiVersion: portico.dev/v1alpha1
kind: Tenant
metadata: { name: a }
spec: { namespaces: [a], domains: ["pay.example.com", "*.deep.example.com"] }
---
apiVersion: portico.dev/v1alpha1
kind: Tenant
metadata: { name: b }
spec: { namespaces: [b] }
`;
  runStory([
    { name: "tenants", apply: tenants },
    {
      name: "b's Ingress *.example.com: a's pay.example.com fenced; *.deep.example.com is out of a one-label wildcard's reach",
      apply: ingress("b", "wild", "*.example.com"),
      want: [{ obj: "Ingress/b/wild", status: "True", reason: "Accepted" }],
      check: (out) =>
        assert.deepEqual(vhostsOf(out, "Ingress/b/wild"), {
          "*.example.com": ["Ingress/b/wild"],
          "pay.example.com": [],
        }),
    },
    {
      name: "b adds a hostless Ingress: every domain of a is fenced on the shared listener",
      apply: ingress("b", "any", "*"),
      check: (out) => {
        const v = vhostsOf(out, "Ingress/b/any");
        assert.deepEqual(v["pay.example.com"], []);
        assert.deepEqual(v["*.deep.example.com"], []);
      },
    },
  ]);
});

const GROUP_POOLS = `
apiVersion: portico.dev/v1alpha1
kind: EngineGroup
metadata: { name: batch }
---
apiVersion: portico.dev/v1alpha1
kind: VipPool
metadata: { name: pdefault }
spec: { addresses: [198.51.100.0/29] }
---
apiVersion: portico.dev/v1alpha1
kind: VipPool
metadata: { name: pbatch }
spec: { addresses: [192.0.2.0/29], engineGroup: batch, priority: 9 }
---
apiVersion: portico.dev/v1alpha1
kind: Tenant
metadata: { name: t }
spec: { namespaces: [t], engineGroups: [batch] }
`;

test("story: a VipPool's engineGroup is checked against the Tenant's engineGroups", () => {
  runStory([
    {
      name: "t may use batch only; its Service without a group draws from pbatch (engine group batch), not pdefault",
      apply: `${GROUP_POOLS}---${service("t", "plain")}${service("free", "plain")}`,
      want: [
        { obj: "Service/t/plain", status: "True", reason: "Accepted" },
        { obj: "Service/t/plain", type: "portico.dev/VIPAllocated", status: "True", reason: "Allocated" },
      ],
      vips: { "Service/t/plain": ["192.0.2.0"], "Service/free/plain": ["198.51.100.0"] },
    },
    {
      name: "t's Service pinned to pdefault would run on the default engines: refused with the pool's group",
      apply: service("t", "pinned", `"portico.dev/address-pool": pdefault`),
      want: [
        {
          obj: "Service/t/pinned",
          type: "portico.dev/VIPAllocated",
          status: "False",
          reason: "PoolNotAllowed",
          message:
            /pdefault.*serves EngineGroup default \(spec\.engineGroup\), not among tenant t's engineGroups \(batch\)/,
        },
        { obj: "Service/t/plain", type: "portico.dev/VIPAllocated", status: "True", reason: "Allocated" },
      ],
      vips: { "Service/t/pinned": [], "Service/t/plain": ["192.0.2.0"] },
    },
    {
      name: "an annotation naming batch decides the group itself: any pool serves it",
      apply: service("t", "named", `"portico.dev/engine-group": batch, "portico.dev/address-pool": pdefault`),
      want: [
        { obj: "Service/t/named", type: "portico.dev/VIPAllocated", status: "True", reason: "Allocated" },
      ],
      vips: { "Service/t/named": ["198.51.100.1"] },
    },
  ]);
});

test("story: a pool another Tenant reserves, or one with autoAssign false, does not let a groupless owner in", () => {
  const refused = {
    obj: "Service/t/plain",
    status: "False" as const,
    reason: "EngineGroupNotAllowed",
    message: /^EngineGroup default is not among tenant t's engineGroups \(batch\); no VipPool it may use/,
  };
  runStory([
    {
      name: "pbatch is tenant u's: t's Service without a group cannot draw from it, so it is refused",
      apply: `${GROUP_POOLS}---
apiVersion: portico.dev/v1alpha1
kind: Tenant
metadata: { name: u }
spec: { namespaces: [u], vipPools: [pbatch] }
---${service("t", "plain")}`,
      want: [refused],
      vips: { "Service/t/plain": [] },
    },
  ]);
  runStory([
    {
      name: "pbatch is autoAssign false: only a Service naming it draws from it",
      apply: `${GROUP_POOLS.replace("priority: 9 }", "priority: 9, autoAssign: false }")}---${service("t", "plain")}`,
      want: [refused],
      vips: { "Service/t/plain": [] },
    },
  ]);
});

/** listenerSet is a ListenerSet in ns on Gateway t/gw with one HTTP listener for hostname at port. */
function listenerSet(ns: string, name: string, hostname: string, port: number): string {
  return `
apiVersion: gateway.networking.k8s.io/v1
kind: ListenerSet
metadata: { name: ${name}, namespace: ${ns} }
spec:
  parentRef: { group: gateway.networking.k8s.io, kind: Gateway, name: gw, namespace: t }
  listeners: [{ name: l, port: ${port}, protocol: HTTP, hostname: ${hostname} }]
---
`;
}

test("story: ListenerSet listeners count towards the listeners and hostnames quotas of the ListenerSet's tenant", () => {
  const setup = `
apiVersion: portico.dev/v1alpha1
kind: VipPool
metadata: { name: pool }
spec: { addresses: [192.0.2.0/28] }
---
apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: { name: portico }
spec: { controllerName: portico.dev/gateway-controller }
---
apiVersion: portico.dev/v1alpha1
kind: Tenant
metadata: { name: t }
spec: { namespaces: [t], quotas: { listeners: 3, hostnames: 2 } }
---
apiVersion: portico.dev/v1alpha1
kind: Tenant
metadata: { name: u }
spec: { namespaces: [u] }
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: { name: gw, namespace: t }
spec:
  gatewayClassName: portico
  allowedListeners: { namespaces: { from: Same } }
  listeners: [{ name: http, port: 80, protocol: HTTP, hostname: a.t.example }]
`;
  runStory([
    {
      name: "t's Gateway: one listener, one hostname",
      apply: setup,
      tenants: { t: { usage: { listeners: 1, hostnames: 1 } } },
    },
    {
      name: "a ListenerSet of t adds a listener and a hostname",
      apply: listenerSet("t", "one", "b.t.example", 8080),
      want: [{ obj: "ListenerSet/t/one", type: "Accepted", status: "True", reason: "Accepted" }],
      tenants: { t: { usage: { listeners: 2, hostnames: 2 } } },
    },
    {
      name: "a second ListenerSet would take a third hostname: refused whole, naming the quota; the first keeps serving",
      apply: listenerSet("t", "two", "c.t.example", 8081),
      want: [
        {
          obj: "ListenerSet/t/two",
          type: "Accepted",
          status: "False",
          reason: "QuotaExceeded",
          message: /tenant t quota hostnames: 3 of 2 used \(this ListenerSet needs 1, older objects hold 2\)/,
        },
        { obj: "ListenerSet/t/one", type: "Accepted", status: "True", reason: "Accepted" },
      ],
      tenants: { t: { usage: { listeners: 2, hostnames: 2 } } },
    },
    {
      name: "a ListenerSet of u the Gateway does not take (allowedListeners Same) counts for nobody",
      apply: listenerSet("u", "other", "d.t.example", 8082),
      want: [{ obj: "ListenerSet/u/other", type: "Accepted", status: "False", reason: "NotAllowed" }],
      tenants: { t: { usage: { listeners: 2, hostnames: 2 } }, u: { usage: { listeners: 0, hostnames: 0 } } },
    },
  ]);
});
