import assert from "node:assert/strict";
import { writeFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { request } from "node:http";
import { startAdmin, type AdminView } from "./admin.ts";
import { adminToken, isLoopback, parseAdminTokens, type AdminTokenError } from "./admin-auth.ts";

const view: AdminView = {
  readiness: () => [{ name: "snapshot", ok: true, detail: "applied" }],
  statuses: () => [{ kind: "Service", namespace: "default", name: "web", status: {} }],
  errors: () => ({ input: [] }),
  metrics: () => "portico_up 1\n",
  inspect: () => undefined,
};

const TOKEN = "0123456789abcdef0123456789abcdef";

test("isLoopback: 127/8, ::1, localhost and v4-mapped loopback; everything else is not", () => {
  for (const h of ["127.0.0.1", "127.8.9.10", "::1", "localhost", "::ffff:127.0.0.1"])
    assert.ok(isLoopback(h), h);
  for (const h of ["0.0.0.0", "::", "10.0.0.1", "192.0.2.1", "2001:db8::1", "example.test", "128.0.0.1"])
    assert.ok(!isLoopback(h), h);
});

test("adminToken: fails closed off loopback without a file, saying what to pass; reads and checks the file", () => {
  assert.equal(adminToken("127.0.0.1", undefined), undefined);
  assert.throws(
    () => adminToken("0.0.0.0", undefined),
    (e: AdminTokenError) =>
      e.code === "ADMIN_TOKEN_REQUIRED" &&
      /--admin-token-file FILE/.test(e.message) &&
      /PORTICO_ADMIN_TOKEN_FILE/.test(e.message),
  );
  const dir = mkdtempSync(join(tmpdir(), "portico-token-"));
  try {
    const file = join(dir, "token");
    writeFileSync(file, `${TOKEN}\n`);
    assert.deepEqual(adminToken("0.0.0.0", file), [{ token: TOKEN }]);
    // A token on loopback is honoured too: whoever asked for one gets it checked.
    assert.deepEqual(adminToken("127.0.0.1", file), [{ token: TOKEN }]);
    writeFileSync(file, "short\n");
    assert.throws(
      () => adminToken("0.0.0.0", file),
      (e: AdminTokenError) => e.code === "ADMIN_TOKEN_SHORT",
    );
    assert.throws(
      () => adminToken("0.0.0.0", join(dir, "none")),
      (e: AdminTokenError) => e.code === "ADMIN_TOKEN_UNREADABLE" && /ENOENT/.test(e.message),
    );
  } finally {
    rmSync(dir, { recursive: true });
  }
});

test("with a token: /api/v1 needs the bearer token (401 otherwise), probes, metrics and the console's files stay open", async () => {
  const { server, url } = await startAdmin(view, "127.0.0.1", 0, { console: true, token: TOKEN });
  try {
    const get = (path: string, auth?: string) =>
      fetch(`${url}${path}`, { headers: auth ? { authorization: auth } : {} });
    for (const path of [
      "/api/v1/status",
      "/api/v1/errors",
      "/api/v1/tables/services",
      "/api/v1/analytics/services",
      "/nope",
    ]) {
      const none = await get(path);
      assert.equal(none.status, 401, path);
      assert.equal(none.headers.get("www-authenticate"), 'Bearer realm="portico"');
      assert.match(await none.text(), /Authorization: Bearer/);
      const wrong = await get(path, `Bearer ${TOKEN.replace(/0/g, "1")}`);
      assert.equal(wrong.status, 401, path);
      assert.match(await wrong.text(), /wrong token/);
      assert.equal((await get(path, `Basic ${TOKEN}`)).status, 401, path);
    }
    const ok = await get("/api/v1/status", `Bearer ${TOKEN}`);
    assert.equal(ok.status, 200);
    assert.equal(((await ok.json()) as { name: string }[])[0]?.name, "web");
    const post = await fetch(`${url}/api/v1/certificates/renew?secret=a`, { method: "POST" });
    assert.equal(post.status, 401, "the renew order needs the token too");
    for (const path of ["/healthz", "/readyz", "/metrics", "/", "/ui/app.js"])
      assert.equal((await get(path)).status, 200, path);
  } finally {
    server.close();
  }
});

test("without a token (loopback): /api/v1 answers as before; without console: / is not served", async () => {
  const { server, url } = await startAdmin(view, "127.0.0.1", 0);
  try {
    assert.equal((await fetch(`${url}/api/v1/status`)).status, 200);
    assert.equal((await fetch(`${url}/`)).status, 404);
  } finally {
    server.close();
  }
});

test("loopback without a token refuses what a web page sends: a cross-site POST, a rebound Host name", async () => {
  const { server, url } = await startAdmin(view, "127.0.0.1", 0, {});
  const port = new URL(url).port;
  // node:http sets Host from the URL; raw requests set it as a browser after DNS rebinding would.
  const ask = (method: string, path: string, headers: Record<string, string>) =>
    new Promise<number>((resolve, reject) => {
      const req = request({ host: "127.0.0.1", port, method, path, headers }, (res) => {
        res.resume();
        resolve(res.statusCode!);
      });
      req.on("error", reject);
      req.end();
    });
  try {
    assert.equal(await ask("GET", "/api/v1/status", { host: `127.0.0.1:${port}` }), 200);
    assert.equal(await ask("GET", "/api/v1/status", { host: `localhost:${port}` }), 200);
    assert.equal(await ask("GET", "/api/v1/status", { host: `[::1]:${port}` }), 200);
    assert.equal(await ask("GET", "/api/v1/status", { host: `evil.example:${port}` }), 403);
    // Probes and scrapes carry whatever Host their configuration gives: never refused.
    assert.equal(await ask("GET", "/metrics", { host: `portico.monitoring.svc:${port}` }), 200);
    assert.equal(
      await ask("POST", "/api/v1/analytics/full-logs?vs=x&minutes=5", {
        host: `127.0.0.1:${port}`,
        origin: "https://evil.example",
      }),
      403,
    );
  } finally {
    server.close();
  }
});

const SCOPED_A = "a".repeat(32);
const SCOPED_B = "b".repeat(32);

test("parseAdminTokens: full and tenant-scoped lines, comments; errors name file:line and never the token", () => {
  const text = `# the operators\n${TOKEN}   # full admin\n\n${SCOPED_A} tenant=payments\n  ${SCOPED_B}\ttenant=shop.eu # team shop\n`;
  assert.deepEqual(parseAdminTokens("/etc/t", text), [
    { token: TOKEN },
    { token: SCOPED_A, tenant: "payments" },
    { token: SCOPED_B, tenant: "shop.eu" },
  ]);
  const bad: [string, string, RegExp][] = [
    [
      `${TOKEN}\nshort tenant=a\n`,
      "ADMIN_TOKEN_SHORT",
      /^--admin-token-file \/etc\/t:2: the token has 5 characters/,
    ],
    [
      `${TOKEN} team=a\n`,
      "ADMIN_TOKEN_SYNTAX",
      /:1: unknown field "team="; a line is TOKEN or TOKEN tenant=NAME/,
    ],
    [
      `${TOKEN} ${SCOPED_A}\n`,
      "ADMIN_TOKEN_SYNTAX",
      /:1: an extra field \(\d+ characters\) after the token; a line is TOKEN or TOKEN tenant=NAME$/,
    ],
    [`${TOKEN} tenant=Pay_ments\n`, "ADMIN_TOKEN_SYNTAX", /:1: tenant="Pay_ments" is not a Tenant name/],
    [`${TOKEN} tenant=a tenant=b\n`, "ADMIN_TOKEN_SYNTAX", /:1: tenant= given twice/],
    [`${TOKEN}\n# x\n${TOKEN} tenant=a\n`, "ADMIN_TOKEN_SYNTAX", /:3: the same token as line 1/],
    ["# nothing but comments\n\n", "ADMIN_TOKEN_EMPTY", /^--admin-token-file \/etc\/t: no token in it/],
  ];
  for (const [t, code, re] of bad)
    assert.throws(
      () => parseAdminTokens("/etc/t", t),
      (e: AdminTokenError) =>
        e.code === code && re.test(e.message) && !e.message.includes(TOKEN) && !e.message.includes(SCOPED_A),
      t,
    );
});

test("scoped tokens: each request is who its token says; on loopback a file of scoped tokens only leaves token-less requests open", async () => {
  const tokens = [{ token: TOKEN }, { token: SCOPED_A, tenant: "a" }];
  const whoView: AdminView = { ...view, inspect: () => undefined };
  const warned: string[] = [];
  const log = (level: string, msg: string) => void (level === "warn" && warned.push(msg));
  const { server, url } = await startAdmin(whoView, "127.0.0.1", 0, { token: tokens, log });
  const who = async (auth?: string) => {
    const r = await fetch(`${url}/api/v1/whoami`, { headers: auth ? { authorization: auth } : {} });
    return r.status === 200 ? ((await r.json()) as { tenant?: string; scoped: boolean }) : r.status;
  };
  try {
    assert.deepEqual(warned, [], "a full token in the file: nothing is open, nothing to warn about");
    assert.equal(await who(), 401, "a full token in the file: every request needs one");
    assert.deepEqual(await who(`Bearer ${TOKEN}`), { scoped: false, tenants: [] });
    assert.deepEqual(await who(`Bearer ${SCOPED_A}`), {
      scoped: true,
      tenant: "a",
      exists: false,
      tenants: ["a"],
    });
    assert.equal(await who(`Bearer ${SCOPED_B}`), 401);
  } finally {
    server.close();
  }
  const open = await startAdmin(whoView, "127.0.0.1", 0, { token: [{ token: SCOPED_A, tenant: "a" }], log });
  try {
    assert.match(
      warned.join("\n"),
      /only tenant-scoped tokens .* without a token still sees every tenant.*Add a full-admin line/,
    );
    const r = await fetch(`${open.url}/api/v1/whoami`);
    assert.equal(r.status, 200, "loopback, only scoped tokens: a request without one is the host's user");
    assert.equal(((await r.json()) as { scoped: boolean }).scoped, false);
    const s = await fetch(`${open.url}/api/v1/whoami`, { headers: { authorization: `Bearer ${SCOPED_A}` } });
    assert.equal(((await s.json()) as { tenant: string }).tenant, "a");
    const wrong = await fetch(`${open.url}/api/v1/whoami`, {
      headers: { authorization: `Bearer ${SCOPED_B}` },
    });
    assert.equal(wrong.status, 401, "a token that is sent must be right");
    // A scoped token asking for another tenant's view gets the answer for a tenant that does not exist.
    const other = await fetch(`${open.url}/api/v1/status?tenant=b`, {
      headers: { authorization: `Bearer ${SCOPED_A}` },
    });
    assert.equal(other.status, 404);
    assert.match(await other.text(), /no Tenant "b"/);
    // Not on loopback: the same file makes every request need a token.
    assert.equal((await startAdminCheck([{ token: SCOPED_A, tenant: "a" }])).status, 401);
  } finally {
    open.server.close();
  }
});

/** startAdminCheck asks a token-less /api/v1/status of an admin address that is not loopback (the unspecified address). */
async function startAdminCheck(token: { token: string; tenant?: string }[]) {
  const { server, url } = await startAdmin(view, "0.0.0.0", 0, { token });
  try {
    return await fetch(url.replace("0.0.0.0", "127.0.0.1") + "/api/v1/status");
  } finally {
    server.close();
  }
}
