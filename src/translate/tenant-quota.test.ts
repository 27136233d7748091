// tenant-quota.test.ts: stories of tenant quotas (docs/tenants.md): the object that would overrun a
// quota is refused with the quota and its usage named; older objects keep their share and their
// status; when room is made, the refused object is served at the next translation.
import { test } from "node:test";
import { BASE, ingress, runStory, service } from "./tenant-story.ts";

const QUOTA_TENANT = `
apiVersion: portico.dev/v1alpha1
kind: Tenant
metadata: { name: q }
spec:
  namespaces: [q]
  quotas: { routes: 2, vips: 1, hostnames: 2 }
`;

test("story: a newcomer over the routes quota is refused with the usage; the incumbent keeps serving and its status", () => {
  const twoPaths = `
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: { name: old, namespace: q }
spec:
  ingressClassName: portico
  rules:
    - host: old.example.com
      http:
        paths:
          - { path: /, pathType: Prefix, backend: { service: { name: app, port: { number: 80 } } } }
          - { path: /api, pathType: Prefix, backend: { service: { name: api, port: { number: 80 } } } }
`;
  const incumbent = { obj: "Ingress/q/old", status: "True" as const, reason: "Accepted" };
  runStory([
    { name: "tenant with quotas", apply: `${BASE}---${QUOTA_TENANT}` },
    {
      name: "old uses both routes",
      apply: twoPaths,
      want: [incumbent],
      tenants: { q: { usage: { routes: 2, hostnames: 1, backends: 2 } } },
    },
    {
      name: "new needs one more route: refused, naming the quota",
      apply: ingress("q", "new", "new.example.com"),
      want: [
        incumbent,
        {
          obj: "Ingress/q/new",
          status: "False",
          reason: "QuotaExceeded",
          message:
            /^tenant q quota routes: 3 of 2 used \(this Ingress needs 1, older objects hold 2\) \(not served\)$/,
        },
      ],
      hosts: { "old.example.com": ["Ingress/q/old"], "new.example.com": [] },
      tenants: { q: { usage: { routes: 2, hostnames: 1 } } },
    },
    {
      name: "the quota is raised: new is served",
      apply: QUOTA_TENANT.replace("routes: 2", "routes: 3"),
      want: [incumbent, { obj: "Ingress/q/new", status: "True", reason: "Accepted" }],
      hosts: { "new.example.com": ["Ingress/q/new"] },
      tenants: { q: { usage: { routes: 3, hostnames: 2 } } },
    },
  ]);
});

test("story: a second LoadBalancer Service over the vips quota is refused; the first keeps its address", () => {
  runStory([
    { name: "tenant with quotas", apply: `${BASE}---${QUOTA_TENANT}` },
    { name: "first Service", apply: service("q", "first"), vips: { "Service/q/first": ["192.0.2.0"] } },
    {
      name: "second Service: refused, no VIP; the first is untouched",
      apply: service("q", "second"),
      want: [
        { obj: "Service/q/first", status: "True", reason: "Accepted" },
        { obj: "Service/q/first", type: "portico.dev/VIPAllocated", status: "True", reason: "Allocated" },
        {
          obj: "Service/q/second",
          status: "False",
          reason: "QuotaExceeded",
          message: /quota vips: 2 of 1 used/,
        },
      ],
      vips: { "Service/q/first": ["192.0.2.0"], "Service/q/second": [] },
      tenants: { q: { usage: { vips: 1, listeners: 1, backends: 1 } } },
    },
    {
      name: "the first is deleted: the second is served",
      remove: ["Service/q/first"],
      want: [{ obj: "Service/q/second", status: "True", reason: "Accepted" }],
      vips: { "Service/q/second": ["192.0.2.0"] },
    },
  ]);
});

test("story: an incumbent edited to need more is the one refused; the newer object that serves keeps its share", () => {
  const LISTENERS = `
apiVersion: portico.dev/v1alpha1
kind: Tenant
metadata: { name: q }
spec: { namespaces: [q], quotas: { listeners: 2 } }
`;
  const twoPorts = service("q", "old").replace(
    "ports: [{ port: 80 }]",
    "ports: [{ port: 80 }, { port: 81, name: b }]",
  );
  runStory([
    { name: "tenant with a listeners quota", apply: `${BASE}---${LISTENERS}` },
    { name: "old Service", apply: service("q", "old"), vips: { "Service/q/old": ["192.0.2.0"] } },
    {
      name: "new Service: both serve",
      apply: service("q", "new"),
      want: [{ obj: "Service/q/new", status: "True", reason: "Accepted" }],
      vips: { "Service/q/old": ["192.0.2.0"], "Service/q/new": ["192.0.2.1"] },
      tenants: { q: { usage: { listeners: 2 } } },
    },
    {
      name: "old is edited to two ports: old is refused, new keeps serving and its address",
      apply: twoPorts,
      want: [
        { obj: "Service/q/new", status: "True", reason: "Accepted" },
        {
          obj: "Service/q/old",
          status: "False",
          reason: "QuotaExceeded",
          message: /quota listeners: 3 of 2 used/,
        },
      ],
      vips: { "Service/q/new": ["192.0.2.1"], "Service/q/old": [] },
      tenants: { q: { usage: { listeners: 1 } } },
    },
    {
      name: "the next translation keeps it so (the refused edit does not become the incumbent)",
      apply: twoPorts,
      want: [
        { obj: "Service/q/new", status: "True", reason: "Accepted" },
        { obj: "Service/q/old", status: "False", reason: "QuotaExceeded" },
      ],
      vips: { "Service/q/new": ["192.0.2.1"] },
    },
  ]);
});
