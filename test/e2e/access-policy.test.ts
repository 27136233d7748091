// access-policy.test.ts: AccessPolicy from manifest to traffic in `portico run` — the translate side
// (attachment, IR) and the engine side (403, 429) together, as a user runs them: a deny list on a
// route rule, a rate limit on the Gateway, and an edit that lifts the deny without a restart.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { request } from "node:http";
import { tempDir, writeManifest, startPortico, removeDir, waitFor } from "./harness.ts";
import { backendService, httpBackend, pool } from "./fixtures.ts";

const cleanups: (() => void | Promise<void>)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

const gateway = `
apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: portico}
spec: {controllerName: portico.dev/gateway-controller}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw, namespace: default}
spec:
  gatewayClassName: portico
  listeners: [{name: web, port: 18461, protocol: HTTP}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: app, namespace: default}
spec:
  parentRefs: [{name: gw}]
  rules:
    - name: admin
      matches: [{path: {type: PathPrefix, value: /admin}}]
      backendRefs: [{name: web, port: 80}]
    - backendRefs: [{name: web, port: 80}]
`;

const deny = (cidrs: string[]) => `apiVersion: portico.dev/v1alpha1
kind: AccessPolicy
metadata: {name: admins, namespace: default}
spec:
  targetRefs: [{group: gateway.networking.k8s.io, kind: HTTPRoute, name: app, sectionName: admin}]
  clientAddresses: {deny: [${cidrs.join(", ")}]}
`;

const limit = `apiVersion: portico.dev/v1alpha1
kind: AccessPolicy
metadata: {name: edge, namespace: default}
spec:
  targetRefs: [{group: gateway.networking.k8s.io, kind: Gateway, name: gw}]
  rateLimit: {requests: 3, per: Minute, key: {type: Header, name: x-api-key}}
`;

/** get sends one request from the client address from and resolves with status and Retry-After. */
function get(vip: string, path: string, from: string, key?: string) {
  return new Promise<{ status: number; retryAfter?: string }>((resolve, reject) => {
    const req = request(
      {
        host: vip,
        port: 18461,
        path,
        localAddress: from,
        agent: false,
        headers: key === undefined ? {} : { "x-api-key": key },
      },
      (res) => {
        res.resume();
        res.on("end", () =>
          resolve({ status: res.statusCode!, retryAfter: res.headers["retry-after"] as string | undefined }),
        );
      },
    );
    req.on("error", reject);
    req.end();
  });
}

test("AccessPolicy: a deny list on one rule answers 403 to that client only, a rate limit by header 429, an edit lifts the deny", async () => {
  const dir = tempDir();
  const backend = await httpBackend("app");
  cleanups.push(() => removeDir(dir), backend.close);
  writeManifest(dir, "pool.yaml", pool("p", ["127.0.167.1-127.0.167.4"]));
  writeManifest(dir, "gw.yaml", gateway + "---\n" + backendService("default", "web", backend.port));
  writeManifest(dir, "deny.yaml", deny(["127.0.0.3/32"]));
  writeManifest(dir, "limit.yaml", limit);
  const p = await startPortico([dir]);
  cleanups.push(() => p.stop());
  const vip = await waitFor("the Gateway's address", async () => {
    const gw = (await p.status()).find((x) => x.kind === "Gateway" && x.name === "gw");
    return (gw?.status as { addresses?: { value: string }[] } | undefined)?.addresses?.[0]?.value;
  });
  await waitFor(
    "the route served",
    async () => (await get(vip, "/", "127.0.0.2", "a").catch(() => undefined))?.status === 200,
  );

  // The deny list is on the admin rule only: .3 is refused there, served elsewhere; .2 everywhere.
  assert.equal((await get(vip, "/admin/x", "127.0.0.3", "b")).status, 403);
  assert.equal((await get(vip, "/admin/x", "127.0.0.2", "c")).status, 200);
  assert.equal((await get(vip, "/other", "127.0.0.3", "d")).status, 200);

  // The Gateway's rate limit counts per x-api-key: key "e" gets 3, then 429; key "f" is untouched.
  const e = [];
  for (let i = 0; i < 4; i++) e.push(await get(vip, "/other", "127.0.0.2", "e"));
  assert.deepEqual(
    e.map((r) => r.status),
    [200, 200, 200, 429],
  );
  assert.ok(
    Number(e[3]!.retryAfter) >= 1 && Number(e[3]!.retryAfter) <= 60,
    `Retry-After ${e[3]!.retryAfter}`,
  );
  assert.equal((await get(vip, "/other", "127.0.0.2", "f")).status, 200);

  // Lifting the deny applies without a restart (rule-level policy replaced by an empty deny list on
  // another address).
  writeManifest(dir, "deny.yaml", deny(["127.0.0.9/32"]));
  await waitFor("the deny lifted", async () => (await get(vip, "/admin/x", "127.0.0.3", "g")).status === 200);
  // The edit kept the Gateway policy's buckets: key "e" is still over its limit.
  assert.equal((await get(vip, "/other", "127.0.0.2", "e")).status, 429);
});
