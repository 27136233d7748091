// admin-renew.test.ts: POST /api/v1/certificates/renew and `portico certificates renew`, the
// standalone trigger that orders a built-in ACME certificate now.
import assert from "node:assert/strict";
import { test } from "node:test";
import { startAdmin, type AdminView } from "./admin.ts";
import { main } from "../cli/certificates.ts";
import type { CliError } from "../cli/args.ts";
import { buildSnapshot } from "../controller/pipeline.ts";
import { buildResourceSet } from "../k8s/resource-set.ts";
import type { AnyObject } from "../k8s/types.ts";

test("renew: 202 for a requested Secret (NAME alone means default/NAME), 404 otherwise, POST only; the CLI says so", async () => {
  const asked: string[] = [];
  const { server, url } = await startAdmin({} as AdminView, "127.0.0.1", 0, {
    log: () => undefined,
    renew: (s) => (asked.push(s), s === "shop/shop-tls" || s === "default/site-tls"),
  });
  try {
    const post = (q: string) => fetch(`${url}/api/v1/certificates/renew?secret=${q}`, { method: "POST" });
    assert.equal((await post("shop/shop-tls")).status, 202);
    assert.equal((await post("site-tls")).status, 202);
    const missing = await post("shop/other");
    assert.equal(missing.status, 404);
    assert.match(await missing.text(), /no certificate is requested .* under Secret shop\/other/);
    assert.equal((await post("..%2F..%2Fx%3Fy")).status, 400);
    assert.equal((await fetch(`${url}/api/v1/certificates/renew?secret=a`)).status, 405);
    assert.deepEqual(asked, ["shop/shop-tls", "default/site-tls", "shop/other"]);
    const admin = url.replace("http://", "");
    assert.equal(await main(["renew", "shop/shop-tls", "--admin", admin]), 0);
    await assert.rejects(main(["renew", "shop/none", "--admin", admin]), (e: CliError) => {
      assert.match(e.message, /no certificate is requested/);
      assert.equal(e.exitCode, 1);
      return true;
    });
    await assert.rejects(main(["renew"]), /usage: portico certificates renew/);
  } finally {
    server.close();
  }
});

test("renew: a tenant-scoped token orders one Secret's renewal once per 10 minutes; then 429 with Retry-After", async () => {
  const tenant = { apiVersion: "portico.dev/v1alpha1", kind: "Tenant", metadata: { name: "shop" } };
  const spec = { namespaces: ["shop"] };
  const set = buildResourceSet([{ ...tenant, spec } as unknown as AnyObject], new Map(), []);
  const opts = { serveClasslessServices: false, ingressHttpPort: 80, ingressHttpsPort: 443 };
  const inspection = { set, out: buildSnapshot(set, opts, {}, 1), ports: { http: 80, https: 443 } };
  const asked: string[] = [];
  const scoped = "s".repeat(32);
  const full = "f".repeat(32);
  const { server, url } = await startAdmin(
    { inspect: () => inspection } as unknown as AdminView,
    "127.0.0.1",
    0,
    {
      log: () => undefined,
      token: [{ token: full }, { token: scoped, tenant: "shop" }],
      renew: (s) => (asked.push(s), s.startsWith("shop/")),
    },
  );
  const post = (q: string, token: string) =>
    fetch(`${url}/api/v1/certificates/renew?secret=${q}`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}` },
    });
  try {
    assert.equal((await post("shop/a-tls", scoped)).status, 202);
    const again = await post("shop/a-tls", scoped);
    assert.equal(again.status, 429);
    const wait = Number(again.headers.get("retry-after"));
    assert.ok(wait > 0 && wait <= 600, `Retry-After ${wait}`);
    assert.match(
      await again.text(),
      /renewal of shop\/a-tls was ordered less than 10 minutes ago .* try again in \d+ s/,
    );
    assert.equal((await post("shop/b-tls", scoped)).status, 202, "another Secret has its own allowance");
    assert.equal((await post("shop/a-tls", full)).status, 202, "a full admin is not limited");
    assert.deepEqual(asked, ["shop/a-tls", "shop/b-tls", "shop/a-tls"]);
  } finally {
    server.close();
  }
});
