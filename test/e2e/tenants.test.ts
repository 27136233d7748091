// tenants.test.ts: two tenants under `portico run`. Tenant b adds an Ingress for a hostname of
// tenant a's domain while a concurrent client keeps requesting a's hostname: not one of a's
// requests fails, b's Ingress reports the refusal (HostnameOwned, naming tenant a), and a's
// hostname still reaches a's backend only. Then b's Ingress for a hostname a already holds outside
// any domain, spelled in another case, is refused naming the holder.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { Agent } from "node:http";
import { tempDir, writeManifest, startPortico, waitFor, removeDir, type Portico } from "./harness.ts";
import { httpBackend, pool, backendService, ingressClass } from "./fixtures.ts";
import { acceptedOf, get, ingress, tenants } from "./tenant-helpers.ts";

const PORT = 18919;
const cleanups: (() => void | Promise<void>)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

const TENANTS = tenants(', domains: ["*.a.test"]');

test("a newcomer of another tenant claiming a's hostname fails not one of a's requests and is told why", async () => {
  const dir = tempDir();
  const a = await httpBackend("a");
  const b = await httpBackend("b");
  cleanups.push(() => removeDir(dir), a.close, b.close);
  writeManifest(
    dir,
    "base.yaml",
    [
      pool("tenants", ["127.0.191.1-127.0.191.2"]),
      ingressClass,
      TENANTS,
      backendService("a", "app", a.port),
      backendService("b", "app", b.port),
      ingress("a", "shop", "shop.a.test"),
      ingress("a", "www", "www.example.test"),
    ].join("---\n"),
  );
  const p: Portico = await startPortico([dir], ["--http-port", String(PORT), "--https-port", "18920"]);
  cleanups.push(() => p.stop());
  const vip = (await p.vip("Ingress", "a", "shop"))!;
  assert.ok(vip, "a's Ingress has a VIP");

  // The concurrent client: one request after another on 4 keep-alive connections until told to stop.
  const agent = new Agent({ keepAlive: true, maxSockets: 4 });
  cleanups.push(() => agent.destroy());
  let stop = false;
  const results: { status: number; body: string; host: string }[] = [];
  const failures: string[] = [];
  const loop = async (host: string) => {
    while (!stop) {
      // A connection error comes back as status 0: a failure like any other answer but a's.
      const r = await get(vip, PORT, host, agent);
      results.push({ ...r, host });
      if (r.status !== 200 || r.body !== "a GET /\n") failures.push(`${host}: ${r.status} ${r.body.trim()}`);
    }
  };
  const clients = [
    loop("shop.a.test"),
    loop("shop.a.test"),
    loop("www.example.test"),
    loop("www.example.test"),
  ];
  await waitFor("requests flowing", () => results.length >= 50, 20_000);

  writeManifest(
    dir,
    "b.yaml",
    [ingress("b", "steal", "shop.a.test"), ingress("b", "www", "WWW.Example.TEST")].join("---\n"),
  );
  const refused = await waitFor(
    "b's Ingresses report the refusal",
    async () => {
      const all = await p.status();
      const steal = acceptedOf(all, "b", "steal");
      const www = acceptedOf(all, "b", "www");
      return steal?.status === "False" && www?.status === "False" ? { steal, www, all } : undefined;
    },
    20_000,
  );
  const before = results.length;
  // Keep the load on past the new configuration: at least 100 more of a's requests.
  await waitFor("100 more requests", () => results.length >= before + 100, 20_000);
  stop = true;
  await Promise.all(clients);

  assert.deepEqual(failures, [], "none of a's requests failed");
  assert.equal(refused.steal.reason, "HostnameOwned");
  assert.match(
    refused.steal.message ?? "",
    /hostname shop\.a\.test belongs to tenant a \(spec\.domains \*\.a\.test\)/,
  );
  assert.equal(refused.www.reason, "HostnameHeld");
  assert.match(
    refused.www.message ?? "",
    /hostname www\.example\.test is held by Ingress\/a\/www \(tenant a/,
  );
  assert.equal(b.seen.length, 0, "b's backend got none of a's traffic");
  const tenantA = refused.all.find((x) => x.kind === "Tenant" && x.name === "a");
  assert.deepEqual(tenantA?.status.usage, { vips: 0, listeners: 0, routes: 2, hostnames: 2, backends: 1 });
  console.log(`tenants e2e: ${results.length} requests, ${before} before the refusal was reported`);
});

/** lbService is a LoadBalancer Service of Portico's class on port to a loopback backend, with its EndpointSlice. */
function lbService(ns: string, name: string, port: number, backend: number): string {
  return `apiVersion: v1
kind: Service
metadata: { name: ${name}, namespace: ${ns} }
spec: { type: LoadBalancer, loadBalancerClass: portico.dev/lb, ports: [{ name: http, port: ${port}, targetPort: ${backend} }] }
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: { name: ${name}-1, namespace: ${ns}, labels: { kubernetes.io/service-name: ${name} } }
addressType: IPv4
ports: [{ name: http, port: ${backend}, protocol: TCP }]
endpoints: [{ addresses: [127.0.0.1], conditions: { ready: true } }]
`;
}

test("a Service over the tenant's vips quota is refused while the tenant's first Service keeps serving", async () => {
  const dir = tempDir();
  const app = await httpBackend("q");
  cleanups.push(() => removeDir(dir), app.close);
  writeManifest(
    dir,
    "base.yaml",
    [
      pool("quota", ["127.0.191.5-127.0.191.6"]),
      `apiVersion: portico.dev/v1alpha1
kind: Tenant
metadata: { name: q }
spec: { namespaces: [q], quotas: { vips: 1 } }
`,
      lbService("q", "first", 18921, app.port),
    ].join("---\n"),
  );
  const p: Portico = await startPortico([dir], ["--http-port", "18923", "--https-port", "18924"]);
  cleanups.push(() => p.stop());
  const vip = (await p.vip("Service", "q", "first"))!;
  assert.ok(vip, "the first Service has a VIP");

  const agent = new Agent({ keepAlive: true, maxSockets: 4 });
  cleanups.push(() => agent.destroy());
  let stop = false;
  let done = 0;
  const failures: string[] = [];
  const loop = async () => {
    while (!stop) {
      const r = await get(vip, 18921, undefined, agent);
      done++;
      if (r.status !== 200 || r.body !== "q GET /\n") failures.push(`${r.status} ${r.body.trim()}`);
    }
  };
  const clients = [loop(), loop(), loop(), loop()];
  await waitFor("requests flowing", () => done >= 50, 20_000);

  writeManifest(dir, "second.yaml", lbService("q", "second", 18922, app.port));
  const second = await waitFor(
    "the second Service refused",
    async () => {
      const s = (await p.status()).find(
        (x) => x.kind === "Service" && x.namespace === "q" && x.name === "second",
      );
      const c = s?.status.conditions?.find((x) => x.type === "portico.dev/Accepted");
      return c?.status === "False" ? { c, s: s! } : undefined;
    },
    20_000,
  );
  const before = done;
  await waitFor("100 more requests", () => done >= before + 100, 20_000);
  stop = true;
  await Promise.all(clients);

  assert.deepEqual(failures, [], "none of the first Service's requests failed");
  assert.equal(second.c.reason, "QuotaExceeded");
  assert.match(
    second.c.message ?? "",
    /tenant q quota vips: 2 of 1 used \(this Service needs 1, older objects hold 1\)/,
  );
  assert.deepEqual(second.s.status.loadBalancer?.ingress ?? [], []);
  assert.equal(await p.vip("Service", "q", "first"), vip, "the first keeps its address");
  console.log(`tenants quota e2e: ${done} requests, ${before} before the refusal was reported`);
});
