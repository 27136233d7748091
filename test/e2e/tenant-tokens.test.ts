// tenant-tokens.test.ts: tenant-scoped admin tokens against `portico run` with two tenants serving
// traffic (issue 19 item 4). The token file holds a full admin token and one token per tenant.
// Tenant a's token lists only a's objects, a's virtual services and a's kept requests, and gets
// 404 — the answer for a name that does not exist — for b's Ingress, b's virtual service and b's
// log, and for switching on b's full logs; the full token sees both, and `?tenant=b` narrows it
// to b. In Chromium (as console.test.ts), a's token signs in to a console whose overview lists
// only a's services and whose header names tenant a.
import assert from "node:assert/strict";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import type { LogRecord, ServiceSummary } from "../../src/analytics/types.ts";
import { backendService, httpBackend, ingressClass, pool, type HttpBackend } from "./fixtures.ts";
import { removeDir, run, startPortico, tempDir, waitFor, writeManifest, type Portico } from "./harness.ts";

const CHROMIUM = process.env.PORTICO_CHROMIUM ?? "/usr/bin/chromium";
const VIP = "127.0.196.1";
const HTTP = 18961;
const FULL = "f".repeat(40);
const TOKEN_A = "a1".repeat(20);
const TOKEN_B = "b2".repeat(20);

let dir: string, p: Portico;
const backends: HttpBackend[] = [];

function ingress(ns: string): string {
  return `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: { name: web, namespace: ${ns} }
spec:
  rules:
    - host: web.${ns}.test
      http:
        paths:
          - { path: /, pathType: Prefix, backend: { service: { name: app, port: { number: 80 } } } }
          - { path: /broken, pathType: Prefix, backend: { service: { name: gone, port: { number: 80 } } } }
`;
}

const TENANTS = ["a", "b"]
  .map(
    (t) => `apiVersion: portico.dev/v1alpha1
kind: Tenant
metadata: { name: ${t} }
spec: { namespaces: [${t}], domains: ["*.${t}.test"] }
`,
  )
  .join("---\n");

before(async () => {
  dir = tempDir();
  const docs = [pool("tokens", [`${VIP}/32`]), ingressClass, TENANTS];
  for (const ns of ["a", "b"]) {
    const app = await httpBackend(ns);
    backends.push(app);
    // gone's endpoint is a port nothing listens on: /broken answers 5xx, a kept request.
    docs.push(backendService(ns, "app", app.port), backendService(ns, "gone", 1), ingress(ns));
  }
  writeManifest(dir, "all.yaml", docs.join("---\n"));
  const tokens = join(dir, "..", `${dir.split("/").at(-1)}-tokens`);
  writeFileSync(tokens, `# operators\n${FULL}\n${TOKEN_A} tenant=a   # team a\n${TOKEN_B} tenant=b\n`, {
    mode: 0o600,
  });
  p = await startPortico(
    [dir],
    ["--http-port", String(HTTP), "--https-port", "18962", "--admin-token-file", tokens],
  );
  after(() => removeDir(tokens));
  for (const ns of ["a", "b"]) {
    await waitFor(
      `web.${ns}.test to serve`,
      async () => (await curl(ns, "/")).includes(`${ns} GET /`),
      30_000,
    );
    for (let i = 0; i < 10; i++) await curl(ns, `/item/${i}`);
    for (let i = 0; i < 3; i++) await curl(ns, "/broken/x");
  }
});

after(async () => {
  await p?.stop();
  for (const b of backends) b.close();
  if (dir) removeDir(dir);
});

function curl(ns: string, path: string): Promise<string> {
  const host = `web.${ns}.test`;
  return run("curl", [
    "-sS",
    "--max-time",
    "5",
    "--resolve",
    `${host}:${HTTP}:${VIP}`,
    `http://${host}:${HTTP}${path}`,
  ]).then((r) => r.stdout);
}

/** api asks the admin API with a token; body is JSON when the answer is. */
async function api(token: string, path: string, method = "GET"): Promise<{ status: number; body: unknown }> {
  const r = await fetch(`${p.adminUrl}${path}`, { method, headers: { authorization: `Bearer ${token}` } });
  const text = await r.text();
  return {
    status: r.status,
    body: r.headers.get("content-type")?.startsWith("application/json") ? JSON.parse(text) : text,
  };
}

const vsOf = (ns: string) => `IngressClass/portico:${HTTP} web.${ns}.test`;

/** services waits until the token's services list shows traffic on every key of want. */
async function services(token: string, want: string[], query = ""): Promise<ServiceSummary[]> {
  return waitFor(
    `analytics of ${want.join(", ")}`,
    async () => {
      const r = await api(token, `/api/v1/analytics/services?window=5m${query}`);
      const rows = r.body as ServiceSummary[];
      return want.every((vs) => rows.some((s) => s.vs === vs && s.requests > 0)) ? rows : undefined;
    },
    30_000,
  );
}

test("a tenant's token sees only its own objects, traffic and logs; another's answer 404; the full token sees both", async () => {
  // Objects.
  const status = (await api(TOKEN_A, "/api/v1/status")).body as {
    kind: string;
    namespace?: string;
    name: string;
  }[];
  assert.ok(
    status.some((o) => o.kind === "Ingress" && o.namespace === "a"),
    JSON.stringify(status),
  );
  for (const o of status)
    assert.ok(
      o.namespace === "a" ||
        (o.kind === "Tenant" && o.name === "a") ||
        o.kind === "VipPool" ||
        o.kind === "EngineGroup",
      `tenant a sees ${o.kind} ${o.namespace ?? ""}/${o.name}`,
    );
  const ingresses = (await api(TOKEN_A, "/api/v1/tables/ingresses")).body as {
    NAMESPACE: string;
    NAME: string;
  }[];
  assert.deepEqual(
    ingresses.map((r) => `${r.NAMESPACE}/${r.NAME}`),
    ["a/web"],
  );
  assert.deepEqual(
    ((await api(TOKEN_A, "/api/v1/tables/tenants")).body as { NAME: string }[]).map((r) => r.NAME),
    ["a"],
  );
  assert.equal((await api(TOKEN_A, "/api/v1/explain/ingress/a/web")).status, 200);
  const foreign = await api(TOKEN_A, "/api/v1/explain/ingress/b/web");
  assert.equal(foreign.status, 404);
  assert.equal((foreign.body as { found: boolean }).found, false);
  assert.equal((await api(TOKEN_A, "/api/v1/translate")).status, 403);
  assert.deepEqual((await api(TOKEN_A, "/api/v1/whoami")).body, {
    scoped: true,
    tenant: "a",
    exists: true,
    tenants: ["a"],
  });

  // Traffic: the full token sees both services; each tenant its own.
  await services(FULL, [vsOf("a"), vsOf("b")]);
  const mine = await services(TOKEN_A, [vsOf("a")]);
  assert.deepEqual(
    mine.map((s) => s.vs),
    [vsOf("a")],
  );
  assert.deepEqual(
    (await services(TOKEN_B, [vsOf("b")])).map((s) => s.vs),
    [vsOf("b")],
  );
  const vsB = encodeURIComponent(vsOf("b"));
  assert.equal(
    (await api(TOKEN_A, `/api/v1/analytics/series?vs=${encodeURIComponent(vsOf("a"))}&window=5m`)).status,
    200,
  );
  // Another's service answers exactly as a key nobody serves: nothing confirms it exists.
  const made = encodeURIComponent(vsOf("zz"));
  for (const path of [
    `/api/v1/analytics/series?vs=${vsB}&window=5m`,
    `/api/v1/analytics/top?vs=${vsB}&window=5m`,
    `/api/v1/analytics/logs?vs=${vsB}`,
  ]) {
    const r = await api(TOKEN_A, path);
    const none = await api(TOKEN_A, path.replace(vsB, made));
    assert.equal(r.status, 404, path);
    assert.equal(
      String(r.body).replaceAll("web.b.test", "X"),
      String(none.body).replaceAll("web.zz.test", "X"),
    );
  }
  const health = (await api(TOKEN_A, "/api/v1/analytics/health?window=5m")).body as {
    services: { vs: string }[];
  };
  assert.deepEqual(
    health.services.map((s) => s.vs),
    [vsOf("a")],
  );

  // Logs: the kept 5xx of both reach the full token; a's token gets a's only.
  const allLogs = await waitFor(
    "both tenants' kept requests",
    async () => {
      const rows = (await api(FULL, "/api/v1/analytics/logs?status=5xx")).body as LogRecord[];
      return [vsOf("a"), vsOf("b")].every((vs) => rows.some((r) => r.vs === vs)) ? rows : undefined;
    },
    30_000,
  );
  assert.ok(allLogs.length >= 6);
  const logsA = (await api(TOKEN_A, "/api/v1/analytics/logs")).body as LogRecord[];
  assert.ok(logsA.length >= 3, JSON.stringify(logsA));
  assert.deepEqual([...new Set(logsA.map((r) => r.vs))], [vsOf("a")]);
  const viaFilter = (await api(FULL, "/api/v1/analytics/logs?tenant=b")).body as LogRecord[];
  assert.deepEqual([...new Set(viaFilter.map((r) => r.vs))], [vsOf("b")]);
  assert.equal((await api(TOKEN_A, "/api/v1/analytics/logs/stats")).status, 403);

  // Writes: a's own full-log switch only; b's answers as an unknown key, with no suggestion of it.
  const on = await api(
    TOKEN_A,
    `/api/v1/analytics/full-logs?vs=${encodeURIComponent(vsOf("a"))}&minutes=1`,
    "POST",
  );
  assert.equal(on.status, 202);
  const other = await api(TOKEN_A, `/api/v1/analytics/full-logs?vs=${vsB}&minutes=1`, "POST");
  assert.equal(other.status, 404);
  assert.doesNotMatch(String(other.body), /did you mean/);
  const near = await api(TOKEN_A, `/api/v1/analytics/full-logs?vs=web&minutes=1`, "POST");
  assert.doesNotMatch(String(near.body), /web\.b\.test/, "a suggestion never names another tenant's key");
  assert.equal((await api(TOKEN_A, `/api/v1/analytics/full-logs?vs=${vsB}&minutes=0`, "POST")).status, 404);
  const switches = (await api(FULL, "/api/v1/analytics/full-logs")).body as { vs: string }[];
  assert.deepEqual(
    switches.map((s) => s.vs),
    [vsOf("a")],
  );
  assert.deepEqual((await api(TOKEN_B, "/api/v1/analytics/full-logs")).body, []);

  // The full token: both tenants' objects; ?tenant= narrows; an unknown tenant is 404; a scoped
  // token cannot widen its view with ?tenant=.
  const all = (await api(FULL, "/api/v1/tables/ingresses")).body as { NAMESPACE: string }[];
  assert.deepEqual(all.map((r) => r.NAMESPACE).sort(), ["a", "b"]);
  const onlyB = (await api(FULL, "/api/v1/tables/ingresses?tenant=b")).body as { NAMESPACE: string }[];
  assert.deepEqual(
    onlyB.map((r) => r.NAMESPACE),
    ["b"],
  );
  assert.equal((await api(FULL, "/api/v1/tables/ingresses?tenant=nope")).status, 404);
  assert.equal((await api(TOKEN_A, "/api/v1/tables/ingresses?tenant=b")).status, 404);
  assert.deepEqual((await api(FULL, "/api/v1/whoami")).body, { scoped: false, tenants: ["a", "b"] });
  // /metrics stays open and whole, as documented.
  assert.equal((await fetch(`${p.adminUrl}/metrics`)).status, 200);
  // No token is ever logged.
  for (const t of [FULL, TOKEN_A, TOKEN_B]) assert.ok(!p.logs.join("\n").includes(t), "a token in the log");
});

const skip = existsSync(CHROMIUM) ? false : `Chromium is not installed at ${CHROMIUM}`;

test(
  "the console signed in with tenant a's token names the tenant and lists only a's services",
  { skip },
  async () => {
    await services(FULL, [vsOf("a"), vsOf("b")]);
    const { chromium } = await import("playwright-core");
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ["--no-sandbox"],
    });
    try {
      const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
      const problems: string[] = [];
      page.on("pageerror", (e) => problems.push(e.message));
      await page.goto(`${p.adminUrl}/#/overview?window=5m`);
      await page.waitForSelector("form.login");
      await page.fill("form.login input", TOKEN_A);
      await page.click("form.login button");
      await waitFor(
        "a's service on the overview",
        async () => (await page.innerText("main")).includes("web.a.test"),
        20_000,
      );
      assert.equal(await page.innerText("header .tenant"), "tenant a");
      const text = await page.innerText("main");
      assert.doesNotMatch(text, /web\.b\.test/, text);
      assert.doesNotMatch(text, /Ingress b\//, text);

      // The full token: both, then the header's choice narrows to b.
      await page.click("header a.signin");
      await page.fill("form.login input", FULL);
      await page.click("form.login button");
      await waitFor(
        "both services",
        async () =>
          /web\.a\.test[\s\S]*web\.b\.test|web\.b\.test[\s\S]*web\.a\.test/.test(
            await page.innerText("main"),
          ),
        20_000,
      );
      await page.selectOption("header select[name=tenant]", "b");
      await waitFor(
        "only b's service",
        async () => {
          const t = await page.innerText("main");
          return t.includes("web.b.test") && !t.includes("web.a.test");
        },
        20_000,
      );
      assert.deepEqual(problems, []);
      await page.close();
    } finally {
      await browser.close();
    }
  },
);
