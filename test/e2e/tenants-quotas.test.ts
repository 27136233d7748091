// tenants-quotas.test.ts: tenant rules under `portico run` that outlive one process or count
// requests. The incumbent of a hostname keeps it across a restart even when the newcomer's manifest
// carries an older creationTimestamp (the admissions are in the state database); and a tenant with
// a requestsPerSecond quota gets 429s past it while another tenant's traffic is unaffected.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { request, Agent } from "node:http";
import { tempDir, writeManifest, startPortico, waitFor, removeDir, type StatusEntry } from "./harness.ts";
import { httpBackend, pool, backendService, ingressClass } from "./fixtures.ts";

const cleanups: (() => void | Promise<void>)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

/** ingress serves host from ns/app; meta adds fields to its metadata (", creationTimestamp: ..."). */
function ingress(ns: string, name: string, host: string, meta = ""): string {
  return `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: { name: ${name}, namespace: ${ns}${meta} }
spec:
  rules:
    - host: ${host}
      http: { paths: [{ path: /, pathType: Prefix, backend: { service: { name: app, port: { number: 80 } } } }] }
`;
}

/** tenants are a (namespace a) and b (namespace b); extra is added to both specs. */
function tenants(extraA = "", extraB = ""): string {
  return `apiVersion: portico.dev/v1alpha1
kind: Tenant
metadata: { name: a }
spec: { namespaces: [a]${extraA} }
---
apiVersion: portico.dev/v1alpha1
kind: Tenant
metadata: { name: b }
spec: { namespaces: [b]${extraB} }
`;
}

/** get sends GET / for host to vip:port; a connection error is status 0. */
function get(
  vip: string,
  port: number,
  host: string,
  agent: Agent,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve) => {
    const req = request({ host: vip, port, path: "/", agent, headers: { host } }, (res) => {
      let body = "";
      res.on("data", (d) => (body += d));
      res.on("end", () => resolve({ status: res.statusCode!, body }));
      res.on("error", (e) => resolve({ status: 0, body: String(e) }));
    });
    req.on("error", (e) => resolve({ status: 0, body: String(e) }));
    req.end();
  });
}

/** acceptedOf finds an Ingress's Accepted condition. */
function acceptedOf(all: StatusEntry[], ns: string, name: string) {
  const s = all.find((x) => x.kind === "Ingress" && x.namespace === ns && x.name === name);
  return s?.status.conditions?.find((c) => c.type === "portico.dev/Accepted");
}

test("after a restart the incumbent keeps its hostname against a newcomer whose manifest says it is older", async () => {
  const dir = tempDir();
  const state = tempDir("portico-state-");
  const a = await httpBackend("a");
  const b = await httpBackend("b");
  cleanups.push(
    () => removeDir(dir),
    () => removeDir(state),
    a.close,
    b.close,
  );
  writeManifest(
    dir,
    "base.yaml",
    [
      pool("restart", ["127.0.191.9-127.0.191.10"]),
      ingressClass,
      tenants(),
      backendService("a", "app", a.port),
      backendService("b", "app", b.port),
      ingress("a", "shop", "shop.example.test"),
    ].join("---\n"),
  );
  const args = ["--http-port", "18925", "--https-port", "18926", "--state-dir", state];
  const first = await startPortico([dir], args);
  cleanups.push(() => first.stop());
  const vip = (await first.vip("Ingress", "a", "shop"))!;
  assert.ok(vip, "a's Ingress has a VIP");
  const agent = new Agent({ keepAlive: false });
  assert.equal((await get(vip, 18925, "shop.example.test", agent)).body, "a GET /\n");

  // The newcomer's manifest says it was created in 2020: on creation order alone it would win.
  writeManifest(
    dir,
    "b.yaml",
    ingress("b", "steal", "shop.example.test", `, creationTimestamp: "2020-01-01T00:00:00Z"`),
  );
  const held = await waitFor(
    "b's Ingress refused while a serves",
    async () => {
      const c = acceptedOf(await first.status(), "b", "steal");
      return c?.status === "False" ? c : undefined;
    },
    20_000,
  );
  assert.equal(held.reason, "HostnameHeld");
  await first.stop();

  const second = await startPortico([dir], args);
  cleanups.push(() => second.stop());
  const all = await second.status();
  const steal = acceptedOf(all, "b", "steal");
  assert.equal(`${steal?.status} ${steal?.reason}`, "False HostnameHeld", steal?.message);
  assert.match(steal?.message ?? "", /held by Ingress\/a\/shop \(tenant a/);
  const shop = acceptedOf(all, "a", "shop");
  assert.equal(`${shop?.status} ${shop?.reason}`, "True Accepted");
  const again = (await second.vip("Ingress", "a", "shop"))!;
  for (let i = 0; i < 20; i++)
    assert.equal((await get(again, 18925, "shop.example.test", agent)).body, "a GET /\n", `request ${i}`);
  assert.equal(b.seen.length, 0, "b's backend got none of a's traffic");
});
