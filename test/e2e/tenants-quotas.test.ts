// tenants-quotas.test.ts: tenant rules under `portico run` that outlive one process or count
// requests. The incumbent of a hostname keeps it across a restart even when the newcomer's manifest
// carries an older creationTimestamp (the admissions are in the state database); and a tenant with
// a requestsPerSecond quota gets 429s past it while another tenant's traffic is unaffected.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { Agent } from "node:http";
import { tempDir, writeManifest, startPortico, waitFor, removeDir } from "./harness.ts";
import { httpBackend, pool, backendService, ingressClass } from "./fixtures.ts";
import { acceptedOf, get, ingress, tenants } from "./tenant-helpers.ts";

const cleanups: (() => void | Promise<void>)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

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

test("a tenant past its requestsPerSecond quota gets 429s; another tenant's traffic on the same listener is unaffected", async () => {
  const dir = tempDir();
  const a = await httpBackend("a");
  const b = await httpBackend("b");
  cleanups.push(() => removeDir(dir), a.close, b.close);
  writeManifest(
    dir,
    "base.yaml",
    [
      pool("rps", ["127.0.191.11-127.0.191.12"]),
      ingressClass,
      tenants(", quotas: { requestsPerSecond: 5 }"),
      backendService("a", "app", a.port),
      backendService("b", "app", b.port),
      ingress("a", "limited", "limited.a.test"),
      ingress("b", "free", "free.b.test"),
    ].join("---\n"),
  );
  const p = await startPortico([dir], ["--http-port", "18927", "--https-port", "18928"]);
  cleanups.push(() => p.stop());
  const vip = (await p.vip("Ingress", "a", "limited"))!;
  assert.ok(vip, "a's Ingress has a VIP");
  const tenantA = (await p.status()).find((x) => x.kind === "Tenant" && x.name === "a");
  const how = tenantA?.status.conditions?.find((c) => c.type === "portico.dev/LimitsEnforced");
  assert.equal(`${how?.status} ${how?.reason}`, "True PerEngine", JSON.stringify(tenantA?.status));

  // 60 requests per tenant, alternating, on keep-alive connections: far faster than 5 per second.
  const agent = new Agent({ keepAlive: true, maxSockets: 2 });
  cleanups.push(() => agent.destroy());
  const counts = { a: new Map<number, number>(), b: new Map<number, number>() };
  const bump = (m: Map<number, number>, s: number) => m.set(s, (m.get(s) ?? 0) + 1);
  const started = performance.now();
  for (let i = 0; i < 60; i++) {
    const [ra, rb] = await Promise.all([
      get(vip, 18927, "limited.a.test", agent),
      get(vip, 18927, "free.b.test", agent),
    ]);
    bump(counts.a, ra.status);
    bump(counts.b, rb.status);
  }
  const seconds = (performance.now() - started) / 1000;
  const okA = counts.a.get(200) ?? 0;
  const limitedA = counts.a.get(429) ?? 0;
  console.log(
    `tenant rps e2e: 60 requests each in ${seconds.toFixed(2)} s; a: ${okA}×200 ${limitedA}×429; b: ${JSON.stringify([...counts.b])}`,
  );
  assert.deepEqual([...counts.b], [[200, 60]], "every one of b's requests served");
  assert.equal(okA + limitedA, 60, `a's answers are 200 or 429: ${JSON.stringify([...counts.a])}`);
  // The bucket holds 5 and refills 5 per second: what passes is bounded by the time the loop took
  // (measured, with a margin of 3), so a slow machine loosens the bound instead of failing it.
  assert.ok(okA >= 5, `the first 5 of a's requests pass (got ${okA})`);
  assert.ok(okA <= 5 + 5 * seconds + 3, `a got ${okA} through in ${seconds.toFixed(2)} s`);
  assert.ok(limitedA > 0, "a was limited");
  const metrics = await waitFor(
    "the denials in the metrics",
    async () => {
      const text = await (await fetch(`${p.adminUrl}/metrics`)).text();
      const m =
        /portico_access_denied_total\{[^}]*policy="Tenant\/a \(requestsPerSecond\)"[^}]*\} (\d+)/.exec(text);
      return m && Number(m[1]) === limitedA ? text : undefined;
    },
    10_000,
  );
  assert.doesNotMatch(metrics, /policy="Tenant\/b/, "b is never limited");
});
