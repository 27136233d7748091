// analytics-health-routes.test.ts: GET /api/v1/analytics/health over the real admin server — pools
// scored from the IPAM outcome (a full pool with a Service waiting), groups from the fleet's
// engines, services from the analytics reader when there is one; 400 for a bad window, 503 before
// a snapshot serves.
import { test } from "node:test";
import assert from "node:assert/strict";
import { buildResourceSet } from "../k8s/resource-set.ts";
import type { AnyObject } from "../k8s/types.ts";
import { buildSnapshot } from "../controller/pipeline.ts";
import type { Inspection } from "../controller/views.ts";
import type { FleetView } from "../controller/fleet/view.ts";
import { engineView } from "../controller/fleet/testing.ts";
import { serviceHealth } from "../analytics/health.ts";
import { startAdmin, type AdminView } from "./admin.ts";
import {
  HEALTH_PATH,
  serveAnalyticsHealth,
  type HealthAnswer,
  type HealthRouteView,
} from "./analytics-health-routes.ts";
import { tenantScope, type TenantScope } from "./tenant-scope.ts";

const lb = (name: string, created: string): AnyObject => ({
  apiVersion: "v1",
  kind: "Service",
  metadata: { name, namespace: "d", creationTimestamp: created },
  spec: { type: "LoadBalancer", ports: [{ port: 80, protocol: "TCP" }] },
});

// Two addresses, three Services: the newest waits for an address.
const objects: AnyObject[] = [
  {
    apiVersion: "portico.dev/v1alpha1",
    kind: "VipPool",
    metadata: { name: "tiny" },
    spec: { addresses: ["192.0.2.0/31"] },
  },
  lb("a", "2026-01-01T00:00:00Z"),
  lb("b", "2026-01-02T00:00:00Z"),
  lb("c", "2026-01-03T00:00:00Z"),
];

function inspection(): Inspection {
  const set = buildResourceSet(objects, new Map(), []);
  const opts = { serveClasslessServices: true, ingressHttpPort: 80, ingressHttpsPort: 443 };
  return { set, out: buildSnapshot(set, opts, {}, 1), ports: { http: 80, https: 443 } };
}

function adminView(extra: Partial<HealthRouteView>): AdminView {
  return {
    readiness: () => [],
    statuses: () => [],
    errors: () => ({}),
    metrics: () => "",
    inspect: () => undefined,
    ...extra,
  };
}

async function get(view: AdminView, path: string): Promise<{ status: number; body: string }> {
  const { server, url } = await startAdmin(view, "127.0.0.1", 0);
  try {
    const r = await fetch(url + path);
    return { status: r.status, body: await r.text() };
  } finally {
    server.close();
  }
}

test("health: pools from IPAM, groups from the fleet, services from the reader", async () => {
  const now = inspection();
  const fleet: FleetView = {
    epoch: 1,
    seq: 1,
    engines: [engineView("e1", true, 0.9), engineView("e2", false, 0.1)],
  };
  const broken = serviceHealth({
    requests: 100,
    errors: 100,
    apdex: 1,
    targetMs: 500,
    backendsDown: 0,
    backendsTotal: 0,
    attacks: 0,
  });
  const view = adminView({
    inspect: () => now,
    engines: () => fleet,
    analyticsHealth: {
      services: (w) => {
        assert.equal(w, "1h");
        return [{ vs: "Service/d/a:80/TCP", kind: "l4", listener: "Service/d/a:80/TCP", health: broken }];
      },
    },
  } as Partial<HealthRouteView>);
  const r = await get(view, "/api/v1/analytics/health?window=1h");
  assert.equal(r.status, 200, r.body);
  const a = JSON.parse(r.body) as HealthAnswer;
  assert.equal(a.window, "1h");

  assert.equal(a.pools.length, 1);
  const pool = a.pools[0]!;
  assert.deepEqual([pool.pool, pool.used, pool.free, pool.pending, pool.score], ["tiny", 2, 0, 1, 0]);
  assert.match(pool.reasons[0]!.message, /1 VIP request could not get an address: Service\/d\/c/);
  assert.ok(pool.reasons.some((x) => x.message === "IPv4: 0 of 2 addresses free (100% used)"));

  assert.deepEqual(
    a.services.map((s) => [s.vs, s.group, s.health.score]),
    [["Service/d/a:80/TCP", "default", 0]],
  );

  const g = a.groups.find((x) => x.group === "default")!;
  assert.deepEqual([g.vips, g.engines, g.ready], [2, 2, 1]);
  assert.deepEqual(
    g.reasons.map((x) => x.kind),
    ["errors", "engines", "saturation"],
  );
  assert.equal(g.score, 100 - 50 - 30 - 15);
});

test("health: groups and pools work without the analytics store or a fleet; 400 and 503", async () => {
  const now = inspection();
  const a = JSON.parse(
    (await get(adminView({ inspect: () => now }), "/api/v1/analytics/health")).body,
  ) as HealthAnswer;
  assert.equal(a.window, "5m");
  assert.deepEqual(a.services, []);
  assert.deepEqual(a.groups, [{ group: "default", vips: 2, score: 100, reasons: [] }]);
  assert.equal(a.pools[0]!.score, 0);

  const bad = await get(adminView({ inspect: () => now }), "/api/v1/analytics/health?window=2d");
  assert.equal(bad.status, 400);
  assert.match(bad.body, /use one of 5m, 1h, 6h, 24h, 7d, 30d/);
  assert.equal((await get(adminView({}), "/api/v1/analytics/health")).status, 503);
});

test("health, tenant-scoped: a shared pool's reasons and a group's VIP count tell only the tenant's own", () => {
  const tenant = (name: string): AnyObject =>
    ({
      apiVersion: "portico.dev/v1alpha1",
      kind: "Tenant",
      metadata: { name },
      spec: { namespaces: [name] },
    }) as unknown as AnyObject;
  const inNs = (o: AnyObject, ns: string) => ({ ...o, metadata: { ...o.metadata, namespace: ns } });
  const mixed = [objects[0]!, tenant("t"), tenant("u"), inNs(objects[1]!, "t"), inNs(objects[2]!, "u")];
  const set = buildResourceSet([...mixed, inNs(objects[3]!, "u")], new Map(), []);
  const opts = { serveClasslessServices: true, ingressHttpPort: 80, ingressHttpsPort: 443 };
  const now: Inspection = { set, out: buildSnapshot(set, opts, {}, 1), ports: { http: 80, https: 443 } };
  const answer = (scope?: TenantScope) => {
    let body = "";
    serveAnalyticsHealth(
      adminView({ inspect: () => now }),
      undefined,
      HEALTH_PATH,
      (_s, _t, b) => (body = b),
      scope,
    );
    return JSON.parse(body) as HealthAnswer;
  };
  const full = answer();
  assert.deepEqual([full.pools[0]!.pending, full.groups[0]!.vips], [1, 2]);
  assert.match(JSON.stringify(full.pools[0]!.reasons), /Service\/u\/c/);
  const t = answer(tenantScope("t", now));
  assert.deepEqual([t.pools[0]!.pool, t.pools[0]!.pending, t.groups[0]!.vips], ["tiny", 0, 1]);
  assert.doesNotMatch(JSON.stringify(t), /Service\/u\//, "nothing of tenant u");
});
