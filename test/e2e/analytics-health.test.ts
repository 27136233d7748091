// analytics-health.test.ts: through `portico run` — a pool of one address that an Ingress class
// takes, so a LoadBalancer Service waits: GET /api/v1/analytics/health scores the pool 0 naming
// the Service; portico.dev/latency-target reaches the snapshot the engine serves; a request through
// the Ingress is counted per virtual service on /metrics, and each of its phases timed.
import { test, after, before } from "node:test";
import assert from "node:assert/strict";
import { tempDir, writeManifest, startPortico, removeDir, run, type Portico } from "./harness.ts";
import { backendService, httpBackend, ingressClass, pool } from "./fixtures.ts";

const VIP = "127.0.53.1";
const cleanups: (() => void | Promise<void>)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

let p: Portico;
let httpPort: number;

before(async () => {
  const dir = tempDir();
  const app = await httpBackend("app");
  cleanups.push(() => removeDir(dir), app.close);
  const ingress = `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: app
  namespace: default
  annotations: { portico.dev/latency-target: 250ms }
spec:
  rules:
    - host: a.test
      http: { paths: [{ path: /, pathType: Prefix, backend: { service: { name: app, port: { number: 80 } } } }] }
`;
  // Created after the class's VIP request (and named after it): it finds the pool's one address taken.
  const waiting = `apiVersion: v1
kind: Service
metadata: { name: waiting, namespace: default, creationTimestamp: "2030-01-01T00:00:00Z" }
spec:
  type: LoadBalancer
  loadBalancerClass: portico.dev/lb
  ports: [{ port: 9000, protocol: TCP }]
`;
  writeManifest(
    dir,
    "all.yaml",
    [
      pool("ah", [`${VIP}/32`]),
      ingressClass,
      backendService("default", "app", app.port),
      ingress,
      waiting,
    ].join("---\n"),
  );
  httpPort = 18500 + (process.pid % 100);
  p = await startPortico([dir], ["--http-port", String(httpPort)]);
  cleanups.push(() => p.stop());
});

test("health: the full pool scores 0 and names the waiting Service; the group scores 100", async () => {
  const r = await fetch(`${p.adminUrl}/api/v1/analytics/health?window=1h`);
  assert.equal(r.status, 200);
  const a = (await r.json()) as {
    window: string;
    services: unknown[];
    groups: { group: string; score: number }[];
    pools: {
      pool: string;
      used: number;
      free: number;
      pending: number;
      score: number;
      reasons: { message: string }[];
    }[];
  };
  assert.equal(a.window, "1h");
  const ah = a.pools.find((x) => x.pool === "ah")!;
  assert.deepEqual([ah.used, ah.free, ah.pending, ah.score], [1, 0, 1, 0]);
  assert.match(ah.reasons[0]!.message, /1 VIP request could not get an address: Service\/default\/waiting/);
  assert.deepEqual(
    a.groups.map((g) => [g.group, g.score]),
    [["default", 100]],
  );
  assert.equal((await fetch(`${p.adminUrl}/api/v1/analytics/health?window=9y`)).status, 400);
});

test("latency target: the Ingress's 250ms is in the snapshot, keyed by listener and host", async () => {
  const doc = (await (await fetch(`${p.adminUrl}/api/v1/translate`)).json()) as {
    snapshot: { analytics?: { targetsMs?: Record<string, number> } };
  };
  assert.deepEqual(doc.snapshot.analytics?.targetsMs, { [`IngressClass/portico:${httpPort} a.test`]: 250 });
});

test("/metrics counts the request under its virtual service and times its phases", async () => {
  const r = await run("curl", [
    "-s",
    "-o",
    "/dev/null",
    "-w",
    "%{http_code}",
    "-H",
    "host: a.test",
    `http://${VIP}:${httpPort}/`,
  ]);
  assert.equal(r.stdout, "200");
  const text = await (await fetch(`${p.adminUrl}/metrics`)).text();
  const listener = `IngressClass/portico:${httpPort}`;
  const lines = text.split("\n");
  const value = (series: string) => lines.find((l) => l.startsWith(series + " "))?.slice(series.length + 1);
  const vs = `portico_http_vhost_requests_total{listener="${listener}",vhost="a.test",class="2xx"}`;
  assert.equal(value(vs), "1", lines.filter((l) => l.startsWith("portico_http_vhost")).join("\n"));
  // Each phase of the one exchange observed once (the engine's timings, ana-timings).
  for (const phase of ["request", "connect", "ttfb", "transfer"])
    assert.equal(
      value(`portico_http_phase_duration_seconds_count{listener="${listener}",phase="${phase}"}`),
      "1",
      `${phase}: ${lines.filter((l) => l.startsWith("portico_http_phase_duration_seconds_count")).join("\n")}`,
    );
});
