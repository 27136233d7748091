// decide.test.ts: the admission verdict as a table — the cluster as the controller sees it, one
// incoming object and operation, and the answer (allowed, or refused with the condition message
// the controller writes). The last test checks the words against the translator's own condition.
import { test } from "node:test";
import assert from "node:assert/strict";
import { parseAllDocuments } from "yaml";
import { buildResourceSet, type ResourceSet } from "../../k8s/resource-set.ts";
import type { AnyObject } from "../../k8s/types.ts";
import { translate } from "../../translate/translate.ts";
import type { TranslateOptions } from "../../translate/types.ts";
import { decide, withObject, type Operation } from "./decide.ts";
import { ADMISSION_KINDS } from "./view.ts";

const OPTS: TranslateOptions = { serveClasslessServices: false, ingressHttpPort: 80, ingressHttpsPort: 443 };
const NOW = new Date("2026-12-07T09:00:00Z");

const CLUSTER = `
apiVersion: networking.k8s.io/v1
kind: IngressClass
metadata: { name: portico, creationTimestamp: "2026-01-01T00:00:00Z" }
spec: { controller: portico.dev/ingress-controller }
---
apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: { name: portico, creationTimestamp: "2026-01-01T00:00:00Z" }
spec: { controllerName: portico.dev/gateway-controller }
---
apiVersion: portico.dev/v1alpha1
kind: Tenant
metadata: { name: pay, creationTimestamp: "2026-01-01T00:00:00Z" }
spec: { namespaces: [pay], domains: ["*.pay.example.com"], quotas: { vips: 1, routes: 3 } }
---
apiVersion: portico.dev/v1alpha1
kind: Tenant
metadata: { name: shop, creationTimestamp: "2026-01-01T00:00:00Z" }
spec: { namespaces: [shop], engineGroups: [shop-engines] }
---
apiVersion: v1
kind: Service
metadata: { name: first, namespace: pay, creationTimestamp: "2026-01-02T00:00:00Z" }
spec: { type: LoadBalancer, loadBalancerClass: portico.dev/lb, ports: [{ port: 80 }] }
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: { name: held, namespace: pay, creationTimestamp: "2026-01-02T00:00:00Z" }
spec:
  ingressClassName: portico
  rules:
    - host: free.example.com
      http: { paths: [{ path: /, pathType: Prefix, backend: { service: { name: app, port: { number: 80 } } } }] }
`;

function docs(text: string): AnyObject[] {
  return parseAllDocuments(text)
    .map((d) => d.toJSON() as AnyObject | null)
    .filter((o): o is AnyObject => o !== null);
}

const view: ResourceSet = buildResourceSet(docs(CLUSTER), new Map(), []);

function lb(ns: string, name: string, extra = ""): string {
  return `apiVersion: v1
kind: Service
metadata: { name: ${name}, namespace: ${ns}${extra} }
spec: { type: LoadBalancer, loadBalancerClass: portico.dev/lb, ports: [{ port: 80 }] }`;
}

function ing(ns: string, name: string, hosts: string[]): string {
  const rules = hosts
    .map(
      (h) => `
    - host: ${h}
      http: { paths: [{ path: /, pathType: Prefix, backend: { service: { name: app, port: { number: 80 } } } }] }`,
    )
    .join("");
  return `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: { name: ${name}, namespace: ${ns} }
spec:
  ingressClassName: portico
  rules:${rules}`;
}

interface Row {
  name: string;
  op: Operation;
  obj: string;
  old?: string;
  allowed: boolean;
  message?: RegExp;
  warnings?: RegExp[];
}

const ROWS: Row[] = [
  {
    name: "a second LoadBalancer Service over the vips quota is refused, naming quota and usage",
    op: "CREATE",
    obj: lb("pay", "second"),
    allowed: false,
    message:
      /^tenant pay quota vips: 2 of 1 used \(this Service needs 1, older objects hold 1\) \(not served\)$/,
  },
  {
    name: "a ClusterIP Service asks nothing of the tenant",
    op: "CREATE",
    obj: lb("pay", "second").replace("type: LoadBalancer, loadBalancerClass: portico.dev/lb, ", ""),
    allowed: true,
  },
  {
    name: "a Service of another load balancer's class is not Portico's",
    op: "CREATE",
    obj: lb("pay", "second").replace("portico.dev/lb", "example.com/other"),
    allowed: true,
  },
  {
    name: "the incumbent itself, edited (a label), stays within the quota",
    op: "UPDATE",
    obj: lb("pay", "first", `, creationTimestamp: "2026-01-02T00:00:00Z", labels: { a: b }`),
    old: lb("pay", "first", `, creationTimestamp: "2026-01-02T00:00:00Z"`),
    allowed: true,
  },
  {
    name: "a Service of a namespace of no quota-bound tenant is allowed",
    op: "CREATE",
    obj: lb("free", "svc"),
    allowed: true,
  },
  {
    name: "a hostname inside another tenant's domains is refused",
    op: "CREATE",
    obj: ing("free", "steal", ["api.pay.example.com"]),
    allowed: false,
    message:
      /^hostname api\.pay\.example\.com belongs to tenant pay \(spec\.domains \*\.pay\.example\.com\); namespace free is in no tenant \(not served\)$/,
  },
  {
    name: "names compare case-insensitively",
    op: "CREATE",
    obj: ing("free", "steal", ["API.Pay.Example.com."]),
    allowed: false,
    message: /^hostname api\.pay\.example\.com belongs to tenant pay/,
  },
  {
    name: "a hostname held by an older claim of another tenant is refused, naming the holder",
    op: "CREATE",
    obj: ing("shop", "late", ["free.example.com"]),
    allowed: false,
    message: /^hostname free\.example\.com is held by Ingress\/pay\/held \(tenant pay, an earlier claim\)/,
  },
  {
    name: "an Ingress keeping one of its hosts is allowed with the refused host as a warning",
    op: "CREATE",
    obj: ing("shop", "mixed", ["ok.shop.example.org", "free.example.com"]),
    allowed: true,
    warnings: [/^hostname free\.example\.com is held by .* \(its rules for this hostname are not served\)$/],
  },
  {
    name: "an object over the routes quota is refused",
    op: "CREATE",
    obj: ing("pay", "many", ["a.pay.example.com", "b.pay.example.com", "c.pay.example.com"]),
    allowed: false,
    message: /^tenant pay quota routes: 4 of 3 used \(this Ingress needs 3, older objects hold 1\)/,
  },
  {
    name: "a compliant Ingress in its own domain is allowed",
    op: "CREATE",
    obj: ing("pay", "mine", ["www.pay.example.com"]),
    allowed: true,
  },
  {
    name: "a VIP owner outside the tenant's engine groups is refused",
    op: "CREATE",
    obj: lb("shop", "svc"),
    allowed: false,
    message: /^EngineGroup default is not among tenant shop's engineGroups \(shop-engines\)/,
  },
  {
    name: "DELETE is always allowed",
    op: "DELETE",
    obj: lb("pay", "second"),
    allowed: true,
  },
  {
    name: "a write to an object being deleted (its finalizer removed) is allowed",
    op: "UPDATE",
    obj: lb("pay", "second", `, deletionTimestamp: "2026-12-07T09:00:00Z"`),
    old: lb("pay", "second"),
    allowed: true,
  },
  {
    name: "an over-quota object edited without asking for more is allowed, the refusal a warning",
    op: "UPDATE",
    obj: lb("pay", "second", `, creationTimestamp: "2026-02-01T00:00:00Z", labels: { x: y }`),
    old: lb("pay", "second", `, creationTimestamp: "2026-02-01T00:00:00Z"`),
    allowed: true,
    warnings: [/^tenant pay quota vips: 2 of 1 used/],
  },
  {
    name: "an edit that asks for more than the quota leaves is refused",
    op: "UPDATE",
    obj: ing("pay", "held", [
      "free.example.com",
      "a.pay.example.com",
      "b.pay.example.com",
      "c.pay.example.com",
    ]),
    old: ing("pay", "held", ["free.example.com"]),
    allowed: false,
    message: /^tenant pay quota routes: 4 of 3 used \(this Ingress needs 4, older objects hold 0\)/,
  },
];

for (const row of ROWS)
  test(`decide: ${row.name}`, () => {
    const obj = docs(row.obj)[0]!;
    const old = row.old ? docs(row.old)[0] : undefined;
    const frozen = JSON.stringify(view);
    const v = decide(view, OPTS, row.op, obj, old, NOW);
    assert.equal(v.allowed, row.allowed, `${row.name}: ${v.message ?? ""} ${v.warnings.join(" | ")}`);
    if (row.message) assert.match(v.message ?? "", row.message);
    else assert.equal(v.message, undefined);
    assert.equal(v.warnings.length, (row.warnings ?? []).length, v.warnings.join(" | "));
    (row.warnings ?? []).forEach((w, i) => assert.match(v.warnings[i]!, w));
    assert.equal(JSON.stringify(view), frozen, "the view is not changed");
  });

test("decide: without any Tenant everything is allowed", () => {
  const none = buildResourceSet(
    docs(CLUSTER).filter((o) => o.kind !== "Tenant"),
    new Map(),
    [],
  );
  assert.equal(decide(none, OPTS, "CREATE", docs(lb("pay", "second"))[0], undefined, NOW).allowed, true);
});

test("decide: the refusal's message is the condition the controller writes once the object exists", () => {
  const obj = docs(lb("pay", "second", `, creationTimestamp: "2026-12-07T09:00:00Z"`))[0]!;
  const v = decide(view, OPTS, "CREATE", obj, undefined, NOW);
  const statuses = translate(withObject(view, obj), OPTS).statuses;
  const s = statuses.find((x) => x.kind === "Service" && x.name === "second");
  const cond = (s?.status.conditions as { type: string; reason: string; message: string }[]).find(
    (c) => c.type === "portico.dev/Accepted",
  );
  assert.equal(cond?.reason, "QuotaExceeded");
  assert.deepEqual(v.reasons, ["QuotaExceeded"]);
  assert.equal(v.message, cond?.message);
});

// The webhook's view holds only ADMISSION_KINDS (view.ts): a kind the tenant rules read but the
// view lacks makes the webhook refuse what the controller accepts. Built from a cluster holding
// every kind the rules read, filtered as the informers filter it, the verdict must match the full set's.
const POOLED = `${CLUSTER}
---
apiVersion: portico.dev/v1alpha1
kind: EngineGroup
metadata: { name: shop-engines, creationTimestamp: "2026-01-01T00:00:00Z" }
---
apiVersion: portico.dev/v1alpha1
kind: VipPool
metadata: { name: shop-pool, creationTimestamp: "2026-01-01T00:00:00Z" }
spec: { addresses: [192.0.2.0/29], engineGroup: shop-engines }
---
apiVersion: v1
kind: Namespace
metadata: { name: shop, creationTimestamp: "2026-01-01T00:00:00Z" }
---
apiVersion: gateway.networking.k8s.io/v1
kind: ReferenceGrant
metadata: { name: g, namespace: pay, creationTimestamp: "2026-01-01T00:00:00Z" }
spec: { from: [{ group: "", kind: Service, namespace: shop }], to: [{ group: "", kind: Service }] }
`.replace("engineGroups: [shop-engines] }", "engineGroups: [shop-engines], vipPools: [shop-pool] }");

test("decide: the webhook's view (ADMISSION_KINDS only) judges as the controller does", () => {
  const all = docs(POOLED);
  const full = buildResourceSet(all, new Map(), []);
  const watched = buildResourceSet(
    all.filter((o) => ADMISSION_KINDS.has(o.kind)),
    new Map(),
    [],
  );
  const obj = docs(lb("shop", "svc"))[0]!;
  const v = decide(watched, OPTS, "CREATE", obj, undefined, NOW);
  assert.deepEqual(v, decide(full, OPTS, "CREATE", obj, undefined, NOW));
  assert.equal(v.allowed, true, v.message);
  for (const row of ROWS) {
    const o = docs(row.obj)[0]!;
    const old = row.old ? docs(row.old)[0] : undefined;
    assert.deepEqual(
      decide(watched, OPTS, row.op, o, old, NOW),
      decide(full, OPTS, row.op, o, old, NOW),
      row.name,
    );
  }
});
