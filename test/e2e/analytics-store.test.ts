// analytics-store.test.ts: traffic through a real `portico run` reaches the analytics store and its
// admin API with exact counts, and the history survives a restart on the same state directory.
// Real backend on 127.0.0.0/8, real HTTP client, engine → controller pipe (ana-pipe) → store.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { request } from "node:http";
import { tempDir, writeManifest, startPortico, removeDir, waitFor } from "./harness.ts";
import { httpBackend, ingressAppManifest } from "./fixtures.ts";
import type { Series, ServiceSummary, TopLists } from "../../src/analytics/types.ts";

const cleanups: (() => void | Promise<void>)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

const VIP = "127.0.54.1";
const N = 25;

function get(port: number, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: VIP, port, path, headers: { host: "shop.test" }, agent: false }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode ?? 0));
    });
    req.on("error", reject);
    req.end();
  });
}

async function services(url: string, window: string): Promise<ServiceSummary[]> {
  const r = await fetch(`${url}/api/v1/analytics/services?window=${window}`);
  assert.equal(r.status, 200);
  return (await r.json()) as ServiceSummary[];
}

test("requests sent through portico run are counted exactly, and kept across a restart", async () => {
  const dir = tempDir();
  const state = tempDir();
  const app = await httpBackend("app");
  cleanups.push(
    () => removeDir(dir),
    () => removeDir(state),
    app.close,
  );
  writeManifest(dir, "app.yaml", ingressAppManifest("ana", VIP, app.port, "shop.test"));
  const httpPort = 18500 + (process.pid % 100);
  let p = await startPortico([dir], ["--state-dir", state, "--http-port", String(httpPort)]);
  cleanups.push(() => p.stop());
  for (let i = 0; i < N; i++) assert.equal(await get(httpPort, `/item/${i % 3}`), 200);

  // Batches are cut every 5 s of the wall clock and pushed with the engine's load report.
  const row = await waitFor(
    "the store to count every request",
    async () => (await services(p.adminUrl, "5m")).find((s) => s.vhost === "shop.test" && s.requests === N),
    30_000,
  );
  assert.equal(row.errorRate, 0);
  assert.ok(row.engines.length >= 1, JSON.stringify(row.engines));
  assert.ok(row.latency.total && row.latency.total.max > 0, JSON.stringify(row.latency));
  const vs = encodeURIComponent(row.vs);
  const series = (await (
    await fetch(`${p.adminUrl}/api/v1/analytics/series?vs=${vs}&window=5m`)
  ).json()) as Series;
  assert.equal(
    series.points.reduce((n, pt) => n + pt.requests, 0),
    N,
  );
  assert.equal(
    series.points.reduce((n, pt) => n + (pt.classes["2xx"] ?? 0), 0),
    N,
  );
  const top = (await (
    await fetch(`${p.adminUrl}/api/v1/analytics/top?vs=${vs}&window=5m`)
  ).json()) as TopLists;
  assert.equal(
    Object.values(top.urls ?? {}).reduce((a, b) => a + b, 0),
    N,
    JSON.stringify(top),
  );

  // Stop (history written at close) and start again on the same state directory: no new traffic.
  await p.stop();
  p = await startPortico([dir], ["--state-dir", state, "--http-port", String(httpPort)]);
  const again = (await services(p.adminUrl, "1h")).find((s) => s.vs === row.vs);
  assert.equal(again?.requests, N, JSON.stringify(again));
  const s24 = (await (
    await fetch(`${p.adminUrl}/api/v1/analytics/series?vs=${vs}&window=24h`)
  ).json()) as Series;
  assert.equal(
    s24.points.reduce((n, pt) => n + pt.requests, 0),
    N,
  );
});
