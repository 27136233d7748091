// admin-renew.test.ts: POST /api/v1/certificates/renew and `portico certificates renew`, the
// standalone trigger that orders a built-in ACME certificate now.
import assert from "node:assert/strict";
import { test } from "node:test";
import { startAdmin, type AdminView } from "./admin.ts";
import { main } from "../cli/certificates.ts";
import type { CliError } from "../cli/args.ts";

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
