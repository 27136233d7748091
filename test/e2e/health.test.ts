// health.test.ts: balancing and health checks chosen by Service annotations, end to end — an
// endpoint whose /healthz fails (while still accepting connections) is taken out by the active
// check, and comes back when it recovers.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tempDir, writeManifest, startPortico, waitFor, removeDir, run, logLines } from "./harness.ts";
import { pool } from "./fixtures.ts";

const cleanups: (() => void | Promise<void>)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

/** app answers its name, and /healthz with 200 or 503 as `healthy` says. */
async function app(name: string) {
  const state = { healthy: true };
  const server = createServer((req, res) => {
    if (req.url === "/healthz") res.statusCode = state.healthy ? 200 : 503;
    res.end(name);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  cleanups.push(() => void server.close());
  return { state, port: (server.address() as AddressInfo).port };
}

test("an active HTTP check takes a failing endpoint out of an L4 pool and brings it back", async () => {
  const dir = tempDir();
  const state = tempDir();
  cleanups.push(
    () => removeDir(dir),
    () => removeDir(state),
  );
  const a = await app("a");
  const b = await app("b");
  writeManifest(
    dir,
    "svc.yaml",
    `${pool("hc", ["127.0.25.1/32"])}---
apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: default
  annotations:
    portico.dev/load-balancing: least-request
    portico.dev/health-check: http:/healthz
    portico.dev/health-check-interval: 1s
spec:
  type: LoadBalancer
  ports: [{ name: http, port: 8080, protocol: TCP }]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: { name: web-a, namespace: default, labels: { kubernetes.io/service-name: web } }
addressType: IPv4
ports: [{ name: http, port: ${a.port}, protocol: TCP }]
endpoints: [{ addresses: [127.0.0.1] }]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: { name: web-b, namespace: default, labels: { kubernetes.io/service-name: web } }
addressType: IPv4
ports: [{ name: http, port: ${b.port}, protocol: TCP }]
endpoints: [{ addresses: [127.0.0.1] }]
`,
  );
  const p = await startPortico([dir], ["--state-dir", state]);
  cleanups.push(() => p.stop());
  const hit = async () => (await run("curl", ["-s", "--max-time", "2", "http://127.0.25.1:8080/"])).stdout;
  const seen = async (n: number) => {
    const names = new Set<string>();
    for (let i = 0; i < n; i++) names.add(await hit());
    return [...names].sort().join(",");
  };
  await waitFor("both endpoints serve", async () => (await seen(8)) === "a,b");

  a.state.healthy = false;
  const started = Date.now();
  await waitFor("a taken out", async () => (await seen(12)) === "b", 15_000);
  // fall=3 checks at 1s intervals (plus jitter): out within a few seconds, not at the next restart.
  assert.ok(Date.now() - started < 8000, `took ${Date.now() - started} ms`);

  a.state.healthy = true;
  await waitFor("a back", async () => (await seen(12)) === "a,b", 15_000);
  // Logged once when it went out and once when it came back, not per failed check or request.
  const about = (msg: string) => logLines(p, msg).filter((l) => l.backend === `127.0.0.1:${a.port}`);
  await waitFor("back-in-service line", () => about("backend back in service").length === 1);
  assert.equal(about("backend taken out of service").length, 1);
  assert.equal(about("backend taken out of service")[0]!.by, "active");
});
