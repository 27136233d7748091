// tenant-isolation.test.ts: stories of tenant isolation (docs/tenants.md): VIPs only from the
// tenant's pools, only its engine groups, and no references into another tenant's namespaces
// unless both Tenants allow them — a ReferenceGrant alone does not cross the boundary.
import { test } from "node:test";
import { ingress, runStory, service } from "./tenant-story.ts";

const POOLS = `
apiVersion: portico.dev/v1alpha1
kind: VipPool
metadata: { name: pa }
spec: { addresses: [192.0.2.0/29], priority: 5 }
---
apiVersion: portico.dev/v1alpha1
kind: VipPool
metadata: { name: pb }
spec: { addresses: [198.51.100.0/29], priority: 0 }
---
apiVersion: portico.dev/v1alpha1
kind: Tenant
metadata: { name: t }
spec: { namespaces: [t], vipPools: [pa], engineGroups: [default] }
---
apiVersion: portico.dev/v1alpha1
kind: Tenant
metadata: { name: u }
spec: { namespaces: [u] }
`;

test("story: a tenant's VIPs come only from its pools; asking for another pool is refused with a condition", () => {
  runStory([
    {
      name: "pools and tenants; t's Service draws from pa although pb comes first",
      apply: `${POOLS}---${service("t", "web")}${service("u", "free")}`,
      vips: { "Service/t/web": ["192.0.2.0"], "Service/u/free": ["198.51.100.0"] },
    },
    {
      name: "t's Service names pool pb",
      apply: service("t", "pinned", `"portico.dev/address-pool": pb`),
      want: [
        {
          obj: "Service/t/pinned",
          type: "portico.dev/VIPAllocated",
          status: "False",
          reason: "PoolNotAllowed",
          message: /pb.*not among tenant t's vipPools \(pa\)/,
        },
        { obj: "Service/t/web", type: "portico.dev/VIPAllocated", status: "True", reason: "Allocated" },
      ],
      vips: { "Service/t/pinned": [], "Service/t/web": ["192.0.2.0"] },
    },
    {
      name: "t's Service asks for an EngineGroup outside its list",
      apply: service("t", "batch", `"portico.dev/engine-group": batch`),
      want: [
        {
          obj: "Service/t/batch",
          status: "False",
          reason: "EngineGroupNotAllowed",
          message: /EngineGroup batch is not among tenant t's engineGroups \(default\)/,
        },
      ],
      vips: { "Service/t/batch": [] },
    },
    {
      name: "t's Gateway whose class runs on EngineGroup batch is refused too",
      apply: `
apiVersion: portico.dev/v1alpha1
kind: EngineGroup
metadata: { name: batch }
---
apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: { name: batch }
spec:
  controllerName: portico.dev/gateway-controller
  parametersRef: { group: portico.dev, kind: EngineGroup, name: batch }
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: { name: g, namespace: t }
spec:
  gatewayClassName: batch
  listeners: [{ name: http, port: 80, protocol: HTTP }]
`,
      want: [{ obj: "Gateway/t/g", type: "Accepted", status: "False", reason: "EngineGroupNotAllowed" }],
      vips: { "Gateway/t/g": [] },
    },
  ]);
});

const GATEWAY = `
apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: { name: portico }
spec: { controllerName: portico.dev/gateway-controller }
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: { name: gw, namespace: t }
spec:
  gatewayClassName: portico
  listeners: [{ name: http, port: 80, protocol: HTTP }]
---
apiVersion: v1
kind: Service
metadata: { name: db, namespace: u }
spec: { ports: [{ port: 80 }] }
---
apiVersion: gateway.networking.k8s.io/v1
kind: ReferenceGrant
metadata: { name: let-t-in, namespace: u }
spec:
  from: [{ group: gateway.networking.k8s.io, kind: HTTPRoute, namespace: t }]
  to: [{ group: "", kind: Service }]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: r, namespace: t }
spec:
  parentRefs: [{ name: gw }]
  hostnames: [app.example.com]
  rules: [{ backendRefs: [{ name: db, namespace: u, port: 80 }] }]
`;

test("story: a ReferenceGrant does not cross a tenant boundary until both Tenants allow it", () => {
  runStory([
    {
      name: "t's route names u's Service; u grants it, but the tenants do not allow it",
      apply: `${POOLS}---${GATEWAY}`,
      want: [{ obj: "HTTPRoute/t/r", type: "ResolvedRefs", status: "False", reason: "RefNotPermitted" }],
      check: (out) => {
        if (
          !out.translate.notices.some((n) =>
            /ReferenceGrant\/u\/let-t-in: from namespace t \(t\) is not honoured/.test(n),
          )
        )
          throw new Error(`no notice about the grant: ${out.translate.notices.join("\n")}`);
      },
    },
    {
      name: "only t allows it (allowReferencesTo): still refused",
      apply: POOLS.replace("engineGroups: [default] }", "engineGroups: [default], allowReferencesTo: [u] }"),
      want: [{ obj: "HTTPRoute/t/r", type: "ResolvedRefs", status: "False", reason: "RefNotPermitted" }],
    },
    {
      name: "u allows it too (allowReferencesFrom): the grant counts",
      apply: POOLS.replace(
        "engineGroups: [default] }",
        "engineGroups: [default], allowReferencesTo: [u] }",
      ).replace("spec: { namespaces: [u] }", "spec: { namespaces: [u], allowReferencesFrom: [t] }"),
      want: [{ obj: "HTTPRoute/t/r", type: "ResolvedRefs", status: "True", reason: "ResolvedRefs" }],
    },
  ]);
});

test("story: a tenant publishes names only in its DNS zones", () => {
  const zones = `
apiVersion: portico.dev/v1alpha1
kind: DnsZone
metadata: { name: shared }
spec: { zone: example.com, listen: { address: 192.0.2.7, port: 5353 } }
---
apiVersion: networking.k8s.io/v1
kind: IngressClass
metadata: { name: portico }
spec: { controller: portico.dev/ingress-controller }
---
`;
  runStory([
    {
      name: "t lists no zone of example.com; u lists none at all (any zone)",
      apply: `${POOLS.replace("vipPools: [pa]", "vipPools: [pa], dnsZones: [other]")}---${zones}${ingress("t", "web", "web.example.com")}${ingress("u", "web", "u.example.com")}`,
      want: [
        {
          obj: "Ingress/t/web",
          type: "portico.dev/DNSRecordFailed",
          status: "True",
          reason: "ZoneNotAllowed",
          message: /web\.example\.com: zone shared is not among tenant t's dnsZones \(other\)/,
        },
        { obj: "Ingress/u/web", type: "portico.dev/DNSRecordReady", status: "True", reason: "Published" },
      ],
    },
  ]);
});

test("story: an object without an engine-group annotation runs on the default group, which the tenant must list too", () => {
  const onlyBatch = `
apiVersion: portico.dev/v1alpha1
kind: VipPool
metadata: { name: pa }
spec: { addresses: [192.0.2.0/29] }
---
apiVersion: portico.dev/v1alpha1
kind: EngineGroup
metadata: { name: batch }
---
apiVersion: portico.dev/v1alpha1
kind: Tenant
metadata: { name: t }
spec: { namespaces: [t], engineGroups: [batch] }
`;
  runStory([
    {
      name: "t may use batch only; its Service without the annotation would run on default: refused",
      apply: `${onlyBatch}---${service("t", "plain")}${service("t", "batched", `"portico.dev/engine-group": batch`)}`,
      want: [
        {
          obj: "Service/t/plain",
          status: "False",
          reason: "EngineGroupNotAllowed",
          message: /EngineGroup default is not among tenant t's engineGroups \(batch\)/,
        },
        { obj: "Service/t/batched", status: "True", reason: "Accepted" },
      ],
      vips: { "Service/t/plain": [], "Service/t/batched": ["192.0.2.0"] },
    },
  ]);
});

test("story: a pool a Tenant lists is reserved: namespaces of no tenant, or of a tenant without vipPools, cannot draw from it", () => {
  runStory([
    {
      name: "t reserves pa; u (no vipPools) and free (no tenant) ask for pa by name: refused",
      apply: `${POOLS}---${service("u", "pinned", `"portico.dev/address-pool": pa`)}${service("free", "pinned", `"portico.dev/address-pool": pa`)}${service("t", "web")}`,
      want: [
        {
          obj: "Service/u/pinned",
          type: "portico.dev/VIPAllocated",
          status: "False",
          reason: "PoolNotAllowed",
          message: /pa.*reserved for tenant t \(spec\.vipPools\); the request is of tenant u/,
        },
        {
          obj: "Service/free/pinned",
          type: "portico.dev/VIPAllocated",
          status: "False",
          reason: "PoolNotAllowed",
          message: /reserved for tenant t \(spec\.vipPools\); the request is of no tenant/,
        },
      ],
      vips: { "Service/u/pinned": [], "Service/free/pinned": [], "Service/t/web": ["192.0.2.0"] },
    },
    {
      name: "without the pin they draw from the unreserved pool",
      apply: `${service("u", "pinned")}${service("free", "pinned")}`,
      vips: { "Service/free/pinned": ["198.51.100.0"], "Service/u/pinned": ["198.51.100.1"] },
    },
  ]);
});
