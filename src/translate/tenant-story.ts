// tenant-story.ts: story tests for tenants (STYLE.md §7). A story is a list of rows; each row
// applies manifests (and deletes objects) on top of what the rows before left, runs the whole
// pipeline with the allocations the previous row kept, and checks conditions, the hosts served
// and Tenant status. New objects get a creationTimestamp one minute after the previous row's, so
// "older" means "applied in an earlier row" unless a manifest says otherwise. Used by tests only.
/* eslint-disable no-restricted-imports -- a story runs the whole pipeline from files, as golden.test.ts does. */
import assert from "node:assert/strict";
import { parseAllDocuments, stringify } from "yaml";
import { assemble, nextState } from "../sources/file/assemble.ts";
import { parseManifests } from "../sources/file/parse.ts";
import { buildSnapshot, type PipelineOutput } from "../controller/pipeline.ts";
import type { AllocationState } from "../ipam/types.ts";
import type { Condition } from "../k8s/types.ts";
import type { ResourceSet } from "../k8s/resource-set.ts";
import type { TenantMemory } from "./types.ts";

/** Want is one expected condition: on object key, of type, with status, reason and words in its message. */
export interface Want {
  obj: string;
  type?: string;
  status: "True" | "False";
  reason: string;
  message?: RegExp;
}

/** Row is one step of a story. */
export interface Row {
  name: string;
  apply?: string;
  remove?: string[];
  want?: Want[];
  /** hosts maps a hostname to the objects whose routes serve it (all listeners, sorted); [] = not served. */
  hosts?: Record<string, string[]>;
  /** tenants maps a Tenant's name to expected status fields (namespaces, usage). */
  tenants?: Record<string, { namespaces?: string[]; usage?: Record<string, number> }>;
  /** vips maps an object key to its VIP addresses ([] = none). */
  vips?: Record<string, string[]>;
  check?: (out: PipelineOutput) => void;
}

/** keyOfDoc names a manifest "Kind/ns/name" ("Kind/name" when it has no namespace). */
function keyOfDoc(d: { kind: string; metadata: { name: string; namespace?: string } }): string {
  return d.metadata.namespace
    ? `${d.kind}/${d.metadata.namespace}/${d.metadata.name}`
    : `${d.kind}/${d.metadata.name}`;
}

/** pipelineOf reads manifests as the file source does and runs the whole pipeline on them. */
export function pipelineOf(
  text: string,
  previous: AllocationState = {},
  version = 1,
  tenantsBefore?: TenantMemory,
): { set: ResourceSet; out: PipelineOutput } {
  const file = "story.yaml";
  const set = assemble(new Map([[file, nextState(undefined, "story", parseManifests(file, text))]]), []);
  assert.deepEqual(set.errors, [], "source errors");
  const opts = {
    serveClasslessServices: false,
    ingressHttpPort: 80,
    ingressHttpsPort: 443,
    ...(tenantsBefore ? { tenantsBefore } : {}),
  };
  return { set, out: buildSnapshot(set, opts, previous, version) };
}

/** runStory plays the rows in order; every row runs twice to check determinism. */
export function runStory(rows: readonly Row[]): void {
  const objects = new Map<string, Record<string, unknown>>();
  const born = new Map<string, string>();
  let previous: AllocationState = {};
  // What the previous row admitted, as the controllers carry it from one served build to the next.
  let tenantsBefore: TenantMemory | undefined;
  rows.forEach((row, i) => {
    for (const k of row.remove ?? [])
      assert.ok(objects.delete(k), `${row.name}: ${k} to remove is not there`);
    for (const doc of parseAllDocuments(row.apply ?? "")) {
      const d = doc.toJSON() as {
        kind: string;
        metadata: { name: string; namespace?: string; creationTimestamp?: string };
      };
      if (!d) continue;
      const key = keyOfDoc(d);
      if (!d.metadata.creationTimestamp) {
        if (!born.has(key)) born.set(key, `2026-01-01T00:${String(i).padStart(2, "0")}:00Z`);
        d.metadata.creationTimestamp = born.get(key)!;
      }
      objects.set(key, d as unknown as Record<string, unknown>);
    }
    const text = [...objects.values()].map((o) => stringify(o)).join("---\n");
    const run = () => pipelineOf(text, previous, i + 1, tenantsBefore).out;
    const out = run();
    assert.deepEqual(run().statuses, out.statuses, `${row.name}: not deterministic`);
    check(row, out);
    previous = out.allocations.state;
    tenantsBefore = out.translate.tenants;
  });
}

/** check compares one row's expectations with the pipeline's output. */
function check(row: Row, out: PipelineOutput): void {
  const statusOf = (key: string) =>
    out.statuses.find(
      (s) => (s.namespace ? `${s.kind}/${s.namespace}/${s.name}` : `${s.kind}/${s.name}`) === key,
    );
  for (const w of row.want ?? []) {
    const s = statusOf(w.obj);
    assert.ok(s, `${row.name}: no status for ${w.obj}`);
    const type = w.type ?? "portico.dev/Accepted";
    const conds = (s.status.conditions ?? []) as Condition[];
    // Gateway API routes carry their conditions per parent.
    const parents = (s.status.parents ?? []) as { conditions: Condition[] }[];
    const c = [...conds, ...parents.flatMap((p) => p.conditions)].find((x) => x.type === type);
    assert.ok(c, `${row.name}: ${w.obj} has no ${type} (${JSON.stringify(s.status)})`);
    assert.equal(
      `${c.status} ${c.reason}`,
      `${w.status} ${w.reason}`,
      `${row.name}: ${w.obj} ${type}: ${c.message}`,
    );
    if (w.message) assert.match(c.message ?? "", w.message, `${row.name}: ${w.obj} ${type}`);
  }
  for (const [host, owners] of Object.entries(row.hosts ?? {})) {
    const served = new Set<string>();
    for (const l of out.snapshot.http)
      for (const vh of l.virtualHosts)
        if (vh.hostname === host)
          for (const r of vh.routes) served.add(r.name.split("#")[0]!.replace(/:.*$/, ""));
    assert.deepEqual([...served].sort(), [...owners].sort(), `${row.name}: who serves ${host}`);
  }
  for (const [name, want] of Object.entries(row.tenants ?? {})) {
    const s = statusOf(`Tenant/${name}`);
    assert.ok(s, `${row.name}: no status for Tenant/${name}`);
    if (want.namespaces)
      assert.deepEqual(s.status.namespaces, want.namespaces, `${row.name}: Tenant/${name} namespaces`);
    if (want.usage)
      for (const [q, n] of Object.entries(want.usage))
        assert.equal(
          (s.status.usage as Record<string, number>)[q],
          n,
          `${row.name}: Tenant/${name} usage ${q}`,
        );
  }
  for (const [key, addrs] of Object.entries(row.vips ?? {})) {
    const r = out.allocations.results[key];
    assert.deepEqual(
      r?.ok ? r.addresses : [],
      addrs,
      `${row.name}: VIP of ${key} (${r && !r.ok ? r.message : ""})`,
    );
  }
  row.check?.(out);
}

/** POOL_AND_CLASS are a VipPool and Portico's IngressClass, what every tenant story starts from. */
export const POOL_AND_CLASS = `
apiVersion: portico.dev/v1alpha1
kind: VipPool
metadata: { name: pool }
spec: { addresses: [192.0.2.0/28] }
---
apiVersion: networking.k8s.io/v1
kind: IngressClass
metadata: { name: portico }
spec: { controller: portico.dev/ingress-controller }
`;

/** BASE is a pool, Portico's IngressClass and two tenants: a owns *.a.example.com, b owns nothing. */
export const BASE = `${POOL_AND_CLASS}---
apiVersion: portico.dev/v1alpha1
kind: Tenant
metadata: { name: a }
spec: { namespaces: [a], domains: ["*.a.example.com"] }
---
apiVersion: portico.dev/v1alpha1
kind: Tenant
metadata: { name: b }
spec: { namespaces: [b] }
`;

/** ingress is an Ingress of class portico in ns serving host (or each of hosts) at path. */
export function ingress(ns: string, name: string, host: string | string[], path = "/", extra = ""): string {
  const rules = (Array.isArray(host) ? host : [host]).map(
    (h) => `
    - host: ${JSON.stringify(h)}
      http:
        paths:
          - { path: ${path}, pathType: Prefix, backend: { service: { name: app, port: { number: 80 } } } }`,
  );
  return `
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: { name: ${name}, namespace: ${ns}${extra} }
spec:
  ingressClassName: portico
  rules:${rules.join("")}
---
`;
}

/** service is a LoadBalancer Service of Portico's class with one TCP port. */
export function service(ns: string, name: string, annotations = "", created = ""): string {
  const meta = [`name: ${name}`, `namespace: ${ns}`];
  if (annotations) meta.push(`annotations: { ${annotations} }`);
  if (created) meta.push(`creationTimestamp: "${created}"`);
  return `
apiVersion: v1
kind: Service
metadata: { ${meta.join(", ")} }
spec: { type: LoadBalancer, loadBalancerClass: portico.dev/lb, ports: [{ port: 80 }] }
---
`;
}

/** GATEWAY is Portico's GatewayClass and a Gateway infra/gw whose HTTP listener takes routes from every namespace. */
export const GATEWAY = `
apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: { name: portico }
spec: { controllerName: portico.dev/gateway-controller }
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: { name: gw, namespace: infra }
spec:
  gatewayClassName: portico
  listeners:
    - name: http
      port: 80
      protocol: HTTP
      allowedRoutes: { namespaces: { from: All } }
---
`;

/** route is an HTTPRoute on infra/gw for hostname. */
export function route(ns: string, name: string, hostname: string): string {
  return `
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: ${name}, namespace: ${ns} }
spec:
  parentRefs: [{ name: gw, namespace: infra }]
  hostnames: [${JSON.stringify(hostname)}]
  rules: [{ backendRefs: [{ name: app, port: 80 }] }]
---
`;
}
