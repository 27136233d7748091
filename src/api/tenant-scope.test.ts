// tenant-scope.test.ts: what a tenant-scoped admin request sees, on a configuration of two tenants
// (a: pool pa and domain *.a.test; b: no pools listed) and a namespace of no tenant: objects,
// tables, explain, virtual services, and the 404 for anything outside — as a missing one answers.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadDirs } from "../sources/file/source.ts";
import { buildSnapshot } from "../controller/pipeline.ts";
import type { Inspection } from "../controller/views.ts";
import { serveCliRoute } from "./cli-routes.ts";
import type { FleetView } from "../controller/fleet/view.ts";
import { engineView } from "../controller/fleet/testing.ts";
import {
  objectVisible,
  parseObjectKey,
  scopeFleet,
  serviceTenant,
  tenantScope,
  type TenantScope,
} from "./tenant-scope.ts";

function ingress(ns: string, name: string, host: string): string {
  return `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: { name: ${name}, namespace: ${ns} }
spec:
  ingressClassName: portico
  rules:
    - host: ${host}
      http: { paths: [{ path: /, pathType: Prefix, backend: { service: { name: app, port: { number: 80 } } } }] }
`;
}

const MANIFESTS = [
  `apiVersion: portico.dev/v1alpha1
kind: VipPool
metadata: { name: pa }
spec: { addresses: ["127.0.192.1/32"] }`,
  `apiVersion: portico.dev/v1alpha1
kind: VipPool
metadata: { name: shared }
spec: { addresses: ["127.0.192.2-127.0.192.9"] }`,
  `apiVersion: portico.dev/v1alpha1
kind: VipPool
metadata: { name: open }
spec: { addresses: ["127.0.192.10-127.0.192.19"] }`,
  `apiVersion: networking.k8s.io/v1
kind: IngressClass
metadata: { name: portico }
spec: { controller: portico.dev/ingress-controller }`,
  `apiVersion: portico.dev/v1alpha1
kind: Tenant
metadata: { name: a }
spec: { namespaces: [a], domains: ["*.a.test"], vipPools: [pa, shared] }`,
  `apiVersion: portico.dev/v1alpha1
kind: Tenant
metadata: { name: b }
spec: { namespaces: [b], engineGroups: [default] }`,
  ...["a", "b", "c"].map(
    (ns) => `apiVersion: v1
kind: Service
metadata: { name: app, namespace: ${ns} }
spec: { ports: [{ port: 80, targetPort: 8080 }] }`,
  ),
  ingress("a", "web", "web.a.test"),
  ingress("b", "web", "web.b.test"),
  ingress("c", "web", "web.c.test"),
  `apiVersion: v1
kind: Service
metadata: { name: tcp, namespace: b }
spec: { type: LoadBalancer, ports: [{ name: t, port: 7000, targetPort: 7000 }] }`,
].join("\n---\n");

async function inspection(): Promise<Inspection> {
  const dir = mkdtempSync(join(tmpdir(), "portico-scope-"));
  try {
    writeFileSync(join(dir, "all.yaml"), MANIFESTS);
    const set = await loadDirs([dir]);
    const opts = { serveClasslessServices: true, ingressHttpPort: 80, ingressHttpsPort: 443 };
    return { set, out: buildSnapshot(set, opts, {}, 1), ports: { http: 80, https: 443 } };
  } finally {
    rmSync(dir, { recursive: true });
  }
}

function get(i: Inspection, path: string, scope: TenantScope) {
  let sent = { status: 0, body: "" };
  serveCliRoute({ inspect: () => i }, path, (status, _t, body) => (sent = { status, body }), scope);
  return sent;
}

test("parseObjectKey reads route, listener and cluster keys", () => {
  assert.deepEqual(parseObjectKey("Ingress/a/web#0.1"), { kind: "Ingress", namespace: "a", name: "web" });
  assert.deepEqual(parseObjectKey("Service/b/dns:53/UDP"), { kind: "Service", namespace: "b", name: "dns" });
  assert.deepEqual(parseObjectKey("IngressClass/portico:443"), {
    kind: "IngressClass",
    namespace: "",
    name: "portico",
  });
  assert.equal(parseObjectKey("local"), undefined);
  const of = (ns: string) => ({ a: "a", a2: "a", b: "b" })[ns] ?? "";
  assert.equal(serviceTenant(["Ingress/a/x#0", "HTTPRoute/a2/y#0.0"], of), "a");
  assert.equal(serviceTenant(["Ingress/a/x#0", "Ingress/b/y#0"], of), "", "two tenants: nobody's");
  assert.equal(serviceTenant(["Ingress/a/x#0", "Ingress/c/y#0"], of), "", "a tenant and none: nobody's");
  assert.equal(serviceTenant(["IngressClass/portico:80"], of), "");
});

test("a tenant's scope: its namespaces, its virtual services, the pools and groups it may use", async () => {
  const i = await inspection();
  const a = tenantScope("a", i);
  const b = tenantScope("b", i);
  assert.deepEqual([...a.namespaces], ["a"]);
  assert.deepEqual([...b.namespaces], ["b"]);
  const keys = (s: TenantScope) => [...s.services].sort();
  assert.ok(
    keys(a).some((k) => k.endsWith(" web.a.test")),
    keys(a).join(","),
  );
  assert.ok(
    keys(a).every((k) => !/web\.[bc]\.test|Service\/b/.test(k)),
    keys(a).join(","),
  );
  assert.ok(keys(b).some((k) => k.endsWith(" web.b.test")));
  assert.ok(
    keys(b).some((k) => k.startsWith("Service/b/tcp:7000")),
    keys(b).join(","),
  );
  // The shared IngressClass listener itself (no route of its own) belongs to nobody.
  assert.ok(
    keys(a).every((k) => k.includes(" ")),
    "no bare listener key",
  );

  assert.ok(objectVisible(a, "Tenant", "", "a"));
  assert.ok(!objectVisible(a, "Tenant", "", "b"));
  assert.ok(objectVisible(a, "VipPool", "", "pa") && objectVisible(a, "VipPool", "", "shared"));
  // Tenant a lists both pools, so they are reserved to it; b lists none and may use neither, only
  // the pool nobody lists — which a, listing its own, may not.
  assert.ok(!objectVisible(b, "VipPool", "", "pa") && !objectVisible(b, "VipPool", "", "shared"));
  assert.ok(objectVisible(b, "VipPool", "", "open") && !objectVisible(a, "VipPool", "", "open"));
  assert.ok(objectVisible(a, "EngineGroup", "", "default") && objectVisible(b, "EngineGroup", "", "default"));
  assert.ok(!objectVisible(b, "EngineGroup", "", "other"));
  assert.ok(!objectVisible(a, "IngressClass", "", "portico"));
  assert.ok(objectVisible(a, "Ingress", "a", "web") && !objectVisible(a, "Ingress", "c", "web"));

  const none = tenantScope("nobody", i);
  assert.equal(none.exists, false);
  assert.equal(none.services.size + none.namespaces.size, 0);
  assert.ok(!objectVisible(none, "VipPool", "", "shared"), "a tenant that does not exist may use nothing");
});

test("a scoped view of the CLI routes: own rows, 404 for another's object as for a missing one, 403 for the whole configuration", async () => {
  const i = await inspection();
  const a = tenantScope("a", i);
  const rows = (kind: string) =>
    JSON.parse(get(i, `/api/v1/tables/${kind}`, a).body) as Record<string, string>[];
  assert.deepEqual(
    rows("ingresses").map((r) => `${r.NAMESPACE}/${r.NAME}`),
    ["a/web"],
  );
  assert.deepEqual(rows("services"), [], "b's LoadBalancer Service is not a's");
  assert.deepEqual(
    rows("tenants").map((r) => r.NAME),
    ["a"],
  );
  assert.deepEqual(
    rows("pools")
      .map((r) => r.NAME)
      .sort(),
    ["pa", "shared"],
  );
  assert.deepEqual(rows("pools").length, 2);
  assert.deepEqual(
    JSON.parse(get(i, "/api/v1/tables/tenants", tenantScope("b", i)).body).map(
      (r: { NAME: string }) => r.NAME,
    ),
    ["b"],
  );

  const own = get(i, "/api/v1/explain/ingress/a/web", a);
  assert.equal(own.status, 200);
  const foreign = get(i, "/api/v1/explain/ingress/b/web", a);
  const missing = get(i, "/api/v1/explain/ingress/b/nope", a);
  assert.equal(foreign.status, 404);
  // Byte for byte the answer of a missing object: nothing says b/web exists.
  assert.equal(foreign.body.replaceAll("web", "X"), missing.body.replaceAll("nope", "X"));
  assert.equal(get(i, "/api/v1/explain/tenant/b", a).status, 404);
  assert.equal(get(i, "/api/v1/explain/tenant/a", a).status, 200);
  assert.equal(get(i, "/api/v1/explain/vippool/pa", tenantScope("b", i)).status, 404);
  assert.equal(
    get(i, "/api/v1/explain/vippool/pa", a).status,
    403,
    "a shared kind's explanation names every tenant",
  );
  assert.equal(get(i, "/api/v1/translate", a).status, 403);
  assert.equal(get(i, "/api/v1/validate", a).status, 403);
});

test("a scoped view of a shared pool and the fleet: no other tenant's counts, VIPs, load or history", async () => {
  const i = await inspection();
  const a = tenantScope("a", i);
  const b = tenantScope("b", i);
  // b's LoadBalancer Service draws from "open", which every tenant without pools shares.
  const vip = [...b.addresses][0]!;
  assert.ok(vip && vip !== "127.0.192.19", `b has a VIP (${vip})`);
  assert.equal(a.addresses.has(vip), false);
  assert.ok(a.ownPool("pa") && !b.ownPool("open"));
  const rows = (s: TenantScope) =>
    JSON.parse(get(i, "/api/v1/tables/pools", s).body) as Record<string, string>[];
  const open = rows(b).find((r) => r.NAME === "open")!;
  assert.deepEqual([open["IPV4 USED"], open["IPV4 PENDING"], open["IPV6 USED"]], ["-", "-", "-"]);
  assert.notEqual(open["IPV4 FREE"], "-", "what is free is the tenant's to know");
  assert.match(rows(a).find((r) => r.NAME === "pa")!["IPV4 USED"]!, /^\d+$/, "its own pool: counts shown");

  const other = {
    address: "127.0.192.19",
    group: "default",
    pool: "open",
    mode: "L2" as const,
    announcers: [],
  };
  const fleet: FleetView = {
    epoch: 1,
    seq: 1,
    engines: [engineView("e1", true, 0.5)],
    announcements: [{ ...other, address: vip }, other],
  };
  const seen = scopeFleet(fleet, b);
  assert.deepEqual(
    seen.announcements?.map((x) => x.address),
    [vip],
  );
  assert.equal(seen.engines[0]!.load, undefined, "an engine's load is every tenant's traffic");
  assert.deepEqual(seen.engines[0]!.history, []);
});
