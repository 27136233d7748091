// analytics-routes.test.ts: the analytics admin routes over a real HTTP server (startAdmin), with a
// store fed synthetic batches on a fake clock, a snapshot giving targets and backends, and a fleet
// view giving load; and every bad parameter's 400 and unknown name's 404.
import assert from "node:assert/strict";
import { test } from "node:test";
import { startAdmin, type AdminView } from "./admin.ts";
import { AnalyticsStore } from "../analytics/store.ts";
import { batch, measures, service, VS } from "../analytics/testing.ts";
import type { EngineSnapshot } from "../model/ir.ts";
import type { Series, ServiceSummary, TopLists } from "../analytics/types.ts";
import type { FleetView } from "../controller/fleet/view.ts";
import { openRequestLog } from "../controller/request-log.ts";

const T0 = Date.UTC(2026, 11, 7, 6, 0, 0);

function snapshot(): EngineSnapshot {
  return {
    version: 1,
    l4: [],
    http: [
      {
        name: "IngressClass/portico:80",
        address: "127.0.0.1",
        port: 80,
        virtualHosts: [
          {
            hostname: "shop.example",
            routes: [
              {
                name: "r1",
                match: { path: { type: "PathPrefix", value: "/" } },
                action: { type: "Forward", backends: [{ pool: "default/web:80", weight: 1 }] },
              },
            ],
          },
        ],
        requestTimeoutMs: 1000,
        idleTimeoutMs: 1000,
      },
    ],
    pools: {
      "default/web:80": {
        name: "default/web:80",
        algorithm: { type: "RoundRobin" },
        endpoints: [
          { address: "127.0.0.2", port: 8080, weight: 1, ready: true, serving: true, terminating: false },
          { address: "127.0.0.3", port: 8080, weight: 1, ready: false, serving: false, terminating: false },
          { address: "127.0.0.4", port: 8080, weight: 1, ready: true, serving: true, terminating: false },
        ],
      },
    },
    certificates: {},
    analytics: { targetsMs: { [VS]: 50 } },
  } as unknown as EngineSnapshot;
}

function view(store: AnalyticsStore | undefined): AdminView {
  const fleet = {
    epoch: 1,
    seq: 1,
    engines: [{ identity: { name: "e1" }, local: false, load: { eventLoopUtilization: 0.42 } }],
  } as unknown as FleetView;
  return {
    readiness: () => [],
    statuses: () => [],
    errors: () => ({}),
    metrics: () => "",
    inspect: () => undefined,
    engines: () => fleet,
    ...(store
      ? {
          analytics: {
            store,
            snapshot,
            // The engine says 127.0.0.4 fails its health checks; 127.0.0.3 is not ready in the snapshot.
            endpoints: () => [{ pool: "default/web:80", backend: "127.0.0.4:8080", healthy: false }],
          },
        }
      : {}),
  };
}

test("services, series and top over a real admin server", async () => {
  const clock = { t: T0 + 4_000 };
  const store = new AnalyticsStore({ now: () => clock.t });
  const routes = {
    r1: measures({ "200": 8, "503": 2 }, { total: [10, 20, 30, 40, 60, 80, 100, 150, 250, 900] }),
  };
  const backends = { "default/web:80 127.0.0.2:8080": measures({ "200": 8, "503": 2 }) };
  const top = { urls: { "/cart": 7, "/": 3 } };
  store.ingest(
    batch("e1", T0 + 3_000, {
      [VS]: service(
        measures(
          { "200": 8, "503": 2 },
          { total: [10, 20, 30, 40, 60, 80, 100, 150, 250, 900] },
          { connOpen: 3 },
        ),
        routes,
        backends,
        top,
      ),
    }),
  );
  const { server, url } = await startAdmin(view(store), "127.0.0.1", 0);
  try {
    let r = await fetch(`${url}/api/v1/analytics/services?window=5m`);
    assert.equal(r.status, 200);
    const rows = (await r.json()) as ServiceSummary[];
    assert.equal(rows.length, 1);
    const row = rows[0]!;
    assert.equal(row.vs, VS);
    assert.equal(row.requests, 10);
    assert.equal(row.requestsPerSecond, 10 / 300);
    assert.equal(row.errorRate, 0.2);
    assert.equal(row.connOpen, 3);
    assert.deepEqual(row.engines, ["e1"]);
    // Target 50 ms from the snapshot: 4 satisfied (≤ 50), 4 tolerating (≤ 200), 2 frustrated.
    assert.equal(row.targetMs, 50);
    assert.equal(row.apdex, (4 + 4 / 2) / 10);
    assert.equal(row.spark.length, 60);
    assert.equal(row.latency.total!.max, 900);

    r = await fetch(`${url}/api/v1/analytics/series?vs=${encodeURIComponent(VS)}&window=1h`);
    assert.equal(r.status, 200);
    const s = (await r.json()) as Series;
    assert.equal(s.resolutionMs, 5_000);
    assert.equal(s.points.length, 720);
    assert.equal(s.points.at(-1)!.requests, 10);
    assert.deepEqual(s.points.at(-1)!.classes, { "2xx": 8, "5xx": 2 });

    r = await fetch(`${url}/api/v1/analytics/series?vs=${encodeURIComponent(VS)}&window=6h&route=r1`);
    const rs = (await r.json()) as Series;
    assert.equal(rs.resolutionMs, 3_600_000);
    assert.equal(rs.points.at(-1)!.requests, 10);
    r = await fetch(
      `${url}/api/v1/analytics/series?vs=${encodeURIComponent(VS)}&backend=${encodeURIComponent("default/web:80 127.0.0.2:8080")}`,
    );
    assert.equal(((await r.json()) as Series).points.at(-1)!.requests, 10);

    r = await fetch(`${url}/api/v1/analytics/top?vs=${encodeURIComponent(VS)}&window=5m`);
    assert.deepEqual((await r.json()) as TopLists, top);
  } finally {
    server.close();
  }
});

test("health gets the backends down (engine report, else the snapshot) and the engines' saturation", async () => {
  const { contextOf } = await import("./analytics-routes.ts");
  const store = new AnalyticsStore({ now: () => T0 });
  const v = view(store);
  const ctx = contextOf(v.analytics!, v.engines!());
  assert.deepEqual(ctx.backends(VS), { down: 2, total: 3 });
  assert.equal(ctx.backends("IngressClass/portico:80 other.example"), undefined);
  assert.equal(ctx.saturation(["e1"]), 0.42);
  assert.equal(ctx.saturation(["e9"]), undefined);
  assert.equal(ctx.targetMs(VS), 50);
});

test("bad parameters are 400 saying what to send; unknown names 404 naming them; no store 404", async () => {
  const clock = { t: T0 + 4_000 };
  const store = new AnalyticsStore({ now: () => clock.t });
  store.ingest(
    batch("e1", T0 + 3_000, { [VS]: service(measures({ "200": 1 }), { r1: measures({ "200": 1 }) }) }),
  );
  const a = await startAdmin(view(store), "127.0.0.1", 0);
  const off = await startAdmin(view(undefined), "127.0.0.1", 0);
  const vs = encodeURIComponent(VS);
  const cases: [string, number, RegExp][] = [
    ["/api/v1/analytics/services?window=2h", 400, /window="2h": send one of 5m, 1h, 6h, 24h, 7d, 30d/],
    ["/api/v1/analytics/series?window=1h", 400, /series needs vs=KEY/],
    ["/api/v1/analytics/top", 400, /top needs vs=KEY/],
    [`/api/v1/analytics/series?vs=${vs}&route=r1&backend=b`, 400, /route=NAME or backend=KEY, not both/],
    ["/api/v1/analytics/series?vs=nope", 404, /no analytics for virtual service "nope"/],
    ["/api/v1/analytics/top?vs=nope&window=7d", 404, /no analytics for virtual service "nope"/],
    [`/api/v1/analytics/series?vs=${vs}&route=r9`, 404, /has no route "r9"/],
    [`/api/v1/analytics/series?vs=${vs}&backend=x`, 404, /has no backend "x"/],
    ["/api/v1/analytics/whatever", 404, /try \/api\/v1\/analytics\/services/],
  ];
  try {
    for (const [path, status, body] of cases) {
      const r = await fetch(`${a.url}${path}`);
      assert.equal(r.status, status, path);
      assert.match(await r.text(), body, path);
    }
    // The default window is 1h.
    const ok = await fetch(`${a.url}/api/v1/analytics/series?vs=${vs}`);
    assert.equal(((await ok.json()) as Series).window, "1h");
    const r = await fetch(`${off.url}/api/v1/analytics/services`);
    assert.equal(r.status, 404);
    assert.match(await r.text(), /analytics is off/);
  } finally {
    a.server.close();
    off.server.close();
  }
});

test("a replica whose analytics are elsewhere (a standby) answers every analytics route 503 with why; leading, as before", async () => {
  const clock = { t: T0 + 4_000 };
  const store = new AnalyticsStore({ now: () => clock.t });
  store.ingest(
    batch("e1", T0 + 3_000, { [VS]: service(measures({ "200": 1 }), { r1: measures({ "200": 1 }) }) }),
  );
  let elsewhere: string | undefined = "standby: ask the replica holding the Lease (identity ctl-a)";
  const v = { ...view(store), analyticsElsewhere: () => elsewhere };
  const logs = openRequestLog(undefined, () => undefined);
  const a = await startAdmin(v, "127.0.0.1", 0, { logs: logs.view(() => snapshot()), console: true });
  const vs = encodeURIComponent(VS);
  const paths = [
    "/api/v1/analytics/services",
    `/api/v1/analytics/series?vs=${vs}`,
    `/api/v1/analytics/top?vs=${vs}`,
    "/api/v1/analytics/health",
    `/api/v1/analytics/logs?vs=${vs}`,
    "/api/v1/analytics/full-logs",
  ];
  try {
    for (const path of paths) {
      const r = await fetch(`${a.url}${path}`);
      assert.equal(r.status, 503, path);
      assert.equal(await r.text(), "standby: ask the replica holding the Lease (identity ctl-a)\n", path);
    }
    // A full-log switch set here would reach no engine: refused, not kept.
    const post = await fetch(`${a.url}/api/v1/analytics/full-logs?vs=${vs}&minutes=5`, { method: "POST" });
    assert.equal(post.status, 503);
    assert.deepEqual(logs.fullLogs.active(), []);
    assert.equal((await fetch(`${a.url}/`)).status, 200, "the console itself still loads");
    elsewhere = undefined;
    // Leading: each route answers as it would without the check (health: no snapshot in this view).
    for (const path of paths) {
      const r = await fetch(`${a.url}${path}`);
      assert.equal(r.status, path === "/api/v1/analytics/health" ? 503 : 200, path);
      assert.doesNotMatch(await r.text(), /standby/, path);
    }
  } finally {
    a.server.close();
    logs.close();
  }
});
