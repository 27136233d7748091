// tenant-ownership.test.ts: stories of hostname ownership across tenants (docs/tenants.md): a
// tenant's domains are its own, an unowned hostname stays with its oldest claimant's tenant, names
// compare case-insensitively, and the holder keeps serving whatever a newcomer does.
import { test } from "node:test";
import { BASE, ingress, runStory, GATEWAY, route } from "./tenant-story.ts";

test("story: a hostname in another tenant's domain is refused, naming the owner; the owner's claim serves", () => {
  runStory([
    { name: "tenants", apply: BASE, tenants: { a: { namespaces: ["a"] }, b: { namespaces: ["b"] } } },
    {
      name: "b claims a name in a's domain first",
      apply: ingress("b", "steal", "pay.a.example.com"),
      want: [
        {
          obj: "Ingress/b/steal",
          status: "False",
          reason: "HostnameOwned",
          message:
            /pay\.a\.example\.com belongs to tenant a \(spec\.domains \*\.a\.example\.com\); namespace b is in tenant b/,
        },
      ],
      hosts: { "pay.a.example.com": [] },
    },
    {
      name: "a claims it later and still gets it: the domain decides, not age",
      apply: ingress("a", "pay", "pay.a.example.com"),
      want: [
        { obj: "Ingress/a/pay", status: "True", reason: "Accepted" },
        { obj: "Ingress/b/steal", status: "False", reason: "HostnameOwned" },
      ],
      hosts: { "pay.a.example.com": ["Ingress/a/pay"] },
      tenants: {
        a: { usage: { hostnames: 1, routes: 1, backends: 1 } },
        b: { usage: { hostnames: 0, routes: 0 } },
      },
    },
  ]);
});

test("story: an unowned hostname stays with the oldest claim's tenant, whatever the case of a newcomer's spelling", () => {
  runStory([
    { name: "tenants", apply: BASE },
    {
      name: "a serves shop.example.com",
      apply: ingress("a", "shop", "shop.example.com"),
      hosts: { "shop.example.com": ["Ingress/a/shop"] },
    },
    {
      name: "b claims SHOP.Example.com: refused, naming the holder; a keeps serving",
      apply: ingress("b", "shop", "SHOP.Example.com", "/b"),
      want: [
        { obj: "Ingress/a/shop", status: "True", reason: "Accepted" },
        {
          obj: "Ingress/b/shop",
          status: "False",
          reason: "HostnameHeld",
          message: /hostname shop\.example\.com is held by Ingress\/a\/shop \(tenant a, an earlier claim\)/,
        },
      ],
      hosts: { "shop.example.com": ["Ingress/a/shop"] },
    },
    {
      name: "another Ingress of tenant a shares the host on another path (one team, one route table)",
      apply: ingress("a", "shop-api", "shop.example.com", "/api"),
      want: [{ obj: "Ingress/a/shop-api", status: "True", reason: "Accepted" }],
      hosts: { "shop.example.com": ["Ingress/a/shop", "Ingress/a/shop-api"] },
    },
    {
      name: "a gives the host up: b's claim is now the oldest and serves",
      remove: ["Ingress/a/shop", "Ingress/a/shop-api"],
      want: [{ obj: "Ingress/b/shop", status: "True", reason: "Accepted" }],
      hosts: { "shop.example.com": ["Ingress/b/shop"] },
    },
  ]);
});

test("story: an Ingress loses only the rules of a refused host; its other hosts serve", () => {
  runStory([
    { name: "tenants", apply: BASE },
    {
      name: "b's Ingress names its own host and one of a's",
      apply: `
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: { name: two, namespace: b }
spec:
  ingressClassName: portico
  rules:
    - host: b.example.org
      http: { paths: [{ path: /, pathType: Prefix, backend: { service: { name: app, port: { number: 80 } } } }] }
    - host: Www.A.Example.Com
      http: { paths: [{ path: /, pathType: Prefix, backend: { service: { name: app, port: { number: 80 } } } }] }
`,
      want: [
        {
          obj: "Ingress/b/two",
          status: "True",
          reason: "HostnameOwned",
          message: /www\.a\.example\.com belongs to tenant a.*not served/,
        },
      ],
      hosts: { "b.example.org": ["Ingress/b/two"], "www.a.example.com": [] },
      tenants: { b: { usage: { hostnames: 1, routes: 1 } } },
    },
  ]);
});

test("story: a namespace moving between tenants takes its hostnames' rights with it, at the next translation", () => {
  runStory([
    {
      name: "tenants by label; namespace x labelled team=b",
      apply: `${BASE.replace("spec: { namespaces: [a], domains", "spec: { namespaceSelector: { matchLabels: { team: a } }, domains")}
---
apiVersion: v1
kind: Namespace
metadata: { name: x, labels: { team: b } }
`,
      tenants: { a: { namespaces: [] } },
    },
    {
      name: "x's Ingress for a name of a's domain is refused while x is not a's",
      apply: ingress("x", "web", "web.a.example.com"),
      want: [
        {
          obj: "Ingress/x/web",
          status: "False",
          reason: "HostnameOwned",
          message: /namespace x is in no tenant/,
        },
      ],
      hosts: { "web.a.example.com": [] },
    },
    {
      name: "x relabelled team=a: served, and a's status lists x",
      apply: `
apiVersion: v1
kind: Namespace
metadata: { name: x, labels: { team: a } }
`,
      want: [{ obj: "Ingress/x/web", status: "True", reason: "Accepted" }],
      hosts: { "web.a.example.com": ["Ingress/x/web"] },
      tenants: { a: { namespaces: ["x"], usage: { hostnames: 1 } } },
    },
  ]);
});

test("story: a namespace claimed by two tenants is a conflict on both; it stays with the tenant that held it", () => {
  runStory([
    { name: "tenants", apply: BASE },
    {
      name: "a serves from namespace a",
      apply: ingress("a", "web", "web.a.example.com"),
      hosts: { "web.a.example.com": ["Ingress/a/web"] },
    },
    {
      name: "tenant c (newer) claims namespace a too",
      apply: `
apiVersion: portico.dev/v1alpha1
kind: Tenant
metadata: { name: c }
spec: { namespaces: [a] }
`,
      want: [
        {
          obj: "Tenant/a",
          type: "portico.dev/Conflicted",
          status: "True",
          reason: "NamespaceConflict",
          message: /namespace a is claimed by tenants a, c; it stays with a/,
        },
        { obj: "Tenant/c", type: "portico.dev/Conflicted", status: "True", reason: "NamespaceConflict" },
        { obj: "Tenant/b", type: "portico.dev/Conflicted", status: "False", reason: "NoConflicts" },
        { obj: "Ingress/a/web", status: "True", reason: "Accepted" },
      ],
      hosts: { "web.a.example.com": ["Ingress/a/web"] },
      tenants: { a: { namespaces: ["a"] }, c: { namespaces: [] } },
    },
  ]);
});

test("story: HTTPRoutes and Gateway listeners follow the same ownership as Ingresses, across kinds", () => {
  runStory([
    { name: "tenants and a shared Gateway", apply: `${BASE}---${GATEWAY}` },
    {
      name: "a's Ingress holds shop.example.com",
      apply: ingress("a", "shop", "shop.example.com"),
      hosts: { "shop.example.com": ["Ingress/a/shop"] },
    },
    {
      name: "b's HTTPRoute for Shop.Example.com is refused on every parent, naming the holder",
      apply: route("b", "shop", "Shop.Example.com"),
      want: [
        {
          obj: "HTTPRoute/b/shop",
          type: "Accepted",
          status: "False",
          reason: "HostnameHeld",
          message: /held by Ingress\/a\/shop \(tenant a/,
        },
      ],
      hosts: { "shop.example.com": ["Ingress/a/shop"] },
    },
    {
      name: "b's HTTPRoute inside a's domain is refused naming tenant a; a's own route serves",
      apply: `${route("b", "pay", "pay.a.example.com")}${route("a", "pay", "pay.a.example.com")}`,
      want: [
        {
          obj: "HTTPRoute/b/pay",
          type: "Accepted",
          status: "False",
          reason: "HostnameOwned",
          message: /tenant a/,
        },
        { obj: "HTTPRoute/a/pay", type: "Accepted", status: "True", reason: "Accepted" },
      ],
      hosts: { "pay.a.example.com": ["HTTPRoute/a/pay"] },
    },
    {
      name: "a shared Gateway's listener hostname does not refuse the tenant route attached to it",
      apply: `
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: { name: named, namespace: infra }
spec:
  gatewayClassName: portico
  listeners:
    - name: http
      port: 8081
      protocol: HTTP
      hostname: api.example.com
      allowedRoutes: { namespaces: { from: All } }
---
${route("a", "api", "api.example.com").replace("name: gw, namespace: infra", "name: named, namespace: infra")}`,
      want: [{ obj: "HTTPRoute/a/api", type: "Accepted", status: "True", reason: "Accepted" }],
      hosts: { "api.example.com": ["HTTPRoute/a/api"] },
    },
    {
      name: "b's route without hostnames on a listener of a's domain claims the listener's name: refused",
      apply: `
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: { name: pay, namespace: a }
spec:
  gatewayClassName: portico
  listeners:
    - name: http
      port: 8082
      protocol: HTTP
      hostname: "*.a.example.com"
      allowedRoutes: { namespaces: { from: All } }
---
${route("b", "sneak", "x").replace('hostnames: ["x"]', "hostnames: []").replace("name: gw, namespace: infra", "name: pay, namespace: a")}`,
      want: [
        {
          obj: "HTTPRoute/b/sneak",
          type: "Accepted",
          status: "False",
          reason: "HostnameOwned",
          message: /hostname \*\.a\.example\.com belongs to tenant a/,
        },
      ],
    },
    {
      name: "a Gateway of tenant b with a listener hostname in a's domain is refused",
      apply: `
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: { name: gw, namespace: b }
spec:
  gatewayClassName: portico
  listeners: [{ name: http, port: 8080, protocol: HTTP, hostname: "*.a.example.com" }]
`,
      want: [{ obj: "Gateway/b/gw", type: "Accepted", status: "False", reason: "HostnameOwned" }],
      vips: { "Gateway/b/gw": [] },
    },
  ]);
});

test("story: a Route refused whole holds none of its other hostnames", () => {
  runStory([
    { name: "tenants and a shared Gateway", apply: `${BASE}---${GATEWAY}` },
    {
      name: "a's Ingress holds one.example.com",
      apply: ingress("a", "x", "one.example.com"),
      hosts: { "one.example.com": ["Ingress/a/x"] },
    },
    {
      name: "b's HTTPRoute for one and two is refused whole (one is held)",
      apply: route("b", "r", "one.example.com").replace(
        'hostnames: ["one.example.com"]',
        'hostnames: ["one.example.com", "two.example.com"]',
      ),
      want: [{ obj: "HTTPRoute/b/r", type: "Accepted", status: "False", reason: "HostnameHeld" }],
      hosts: { "one.example.com": ["Ingress/a/x"], "two.example.com": [] },
    },
    {
      name: "an Ingress of another namespace for two.example.com serves: the refused route holds nothing",
      apply: ingress("c", "y", "two.example.com"),
      want: [{ obj: "Ingress/c/y", status: "True", reason: "Accepted" }],
      hosts: { "two.example.com": ["Ingress/c/y"] },
    },
  ]);
});

test("story: an older object edited to add a hostname another tenant's newer object serves does not take it", () => {
  runStory([
    { name: "tenants", apply: BASE },
    {
      name: "a's old Ingress serves one.example.com",
      apply: ingress("a", "old", "one.example.com"),
      hosts: { "one.example.com": ["Ingress/a/old"] },
    },
    {
      name: "b's newer Ingress serves two.example.com",
      apply: ingress("b", "new", "two.example.com"),
      hosts: { "two.example.com": ["Ingress/b/new"] },
    },
    {
      name: "a's old Ingress is edited to add two.example.com: b keeps serving it, a's rule for it is refused",
      apply: ingress("a", "old", ["one.example.com", "two.example.com"]),
      want: [
        { obj: "Ingress/b/new", status: "True", reason: "Accepted" },
        {
          obj: "Ingress/a/old",
          status: "True",
          reason: "HostnameHeld",
          message: /hostname two\.example\.com is held by Ingress\/b\/new \(tenant b/,
        },
      ],
      hosts: { "one.example.com": ["Ingress/a/old"], "two.example.com": ["Ingress/b/new"] },
    },
    {
      name: "b deletes its Ingress: the name goes to a",
      remove: ["Ingress/b/new"],
      hosts: { "two.example.com": ["Ingress/a/old"] },
    },
  ]);
});

test("story: an older Tenant that starts claiming a serving namespace does not take it (standalone: no status)", () => {
  const pools = `
apiVersion: portico.dev/v1alpha1
kind: VipPool
metadata: { name: p1 }
spec: { addresses: [198.51.100.0/29] }
---
apiVersion: portico.dev/v1alpha1
kind: VipPool
metadata: { name: p2 }
spec: { addresses: [203.0.113.0/29] }
---
apiVersion: portico.dev/v1alpha1
kind: Tenant
metadata: { name: t1 }
spec: { namespaces: [one], vipPools: [p1] }
`;
  const t2 = `
apiVersion: portico.dev/v1alpha1
kind: Tenant
metadata: { name: t2 }
spec: { namespaces: [x], vipPools: [p2] }
---
apiVersion: v1
kind: Service
metadata: { name: web, namespace: x }
spec: { type: LoadBalancer, loadBalancerClass: portico.dev/lb, ports: [{ port: 80 }] }
`;
  runStory([
    { name: "t1 (older)", apply: pools },
    {
      name: "t2 holds namespace x; its Service draws from p2",
      apply: t2,
      vips: { "Service/x/web": ["203.0.113.0"] },
      tenants: { t2: { namespaces: ["x"] } },
    },
    {
      name: "t1 is edited to claim x too: a conflict on both, x stays with t2 and its Service keeps its address",
      apply: pools.replace("namespaces: [one]", "namespaces: [one, x]"),
      want: [
        {
          obj: "Tenant/t1",
          type: "portico.dev/Conflicted",
          status: "True",
          reason: "NamespaceConflict",
          message: /it stays with t2/,
        },
        { obj: "Service/x/web", type: "portico.dev/VIPAllocated", status: "True", reason: "Allocated" },
      ],
      vips: { "Service/x/web": ["203.0.113.0"] },
      tenants: { t1: { namespaces: ["one"] }, t2: { namespaces: ["x"] } },
    },
  ]);
});

test("story: a holder refused for its engine group holds its hostname no more", () => {
  const tenant = `
apiVersion: portico.dev/v1alpha1
kind: Tenant
metadata: { name: e }
spec: { namespaces: [e], engineGroups: [default] }
`;
  const dedicated = (group: string) =>
    ingress("e", "x", "h.example.com", "/", `, annotations: { "portico.dev/dedicated-vip": "true"${group} }`);
  runStory([
    { name: "tenants", apply: `${BASE}---${tenant}` },
    {
      name: "e's dedicated Ingress holds h.example.com",
      apply: dedicated(""),
      hosts: { "h.example.com": ["Ingress/e/x"] },
    },
    {
      name: "it moves to an engine group e may not use, and b claims the name: b serves it",
      apply: `${dedicated(`, "portico.dev/engine-group": batch`)}${ingress("b", "y", "h.example.com")}`,
      want: [
        { obj: "Ingress/e/x", status: "False", reason: "EngineGroupNotAllowed" },
        { obj: "Ingress/b/y", status: "True", reason: "Accepted" },
      ],
      hosts: { "h.example.com": ["Ingress/b/y"] },
    },
  ]);
});
