// analytics-logs-routes.test.ts: the request log and full-log switches over a real admin server
// (startAdmin on 127.0.0.1), and `portico logs` reading it.
import assert from "node:assert/strict";
import { test } from "node:test";
import { startAdmin, type AdminView } from "./admin.ts";
import type { IncomingMessage } from "node:http";
import { serveLogRoutes, serviceKeys, type LogsView } from "./analytics-logs-routes.ts";
import type { TenantScope } from "./tenant-scope.ts";
import { FullLogs } from "../analytics/full-logs.ts";
import { LogStore } from "../analytics/log-store.ts";
import { logRecord } from "../analytics/log-testing.ts";
import { main, minutesOf } from "../cli/logs.ts";
import type { CliError } from "../cli/args.ts";
import type { LogRecord } from "../analytics/types.ts";

const NOW = Date.UTC(2026, 11, 7, 6, 30, 0);
const SHOP = "IngressClass/portico:80 shop.example.com";
const API = "IngressClass/portico:80 api.example.com";
const L4 = "Service/default/dns:53/UDP";

/** serve starts an admin server over a LogStore holding a few records; stop closes it. */
async function serve(t: { after(fn: () => void): void }) {
  const logs = new LogStore({ clock: () => NOW });
  logs.add(
    [
      logRecord(NOW - 120_000, SHOP, { status: 503, path: "/cart", reasons: ["5xx"] }),
      logRecord(NOW - 90_000, API, {
        status: 200,
        path: "/v1/slow",
        reasons: ["slow"],
        timings: { total: 2400 },
      }),
      logRecord(NOW - 60_000, SHOP, {
        status: 0,
        path: "/pay",
        reasons: ["reset"],
        error: "backend reset the connection",
      }),
      logRecord(NOW - 30_000, SHOP, {
        status: 200,
        path: "/",
        reasons: ["full"],
        userAgent:
          "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
      }),
    ],
    "local",
  );
  const fullLogs = new FullLogs(() => NOW);
  const snapshot = {
    l4: [{ name: L4 }],
    http: [
      {
        name: "IngressClass/portico:80",
        virtualHosts: [{ hostname: "shop.example.com" }, { hostname: "api.example.com" }],
      },
    ],
  };
  const view: LogsView = { logs, fullLogs, services: () => serviceKeys(snapshot), clock: () => NOW };
  const { server, url } = await startAdmin({} as AdminView, "127.0.0.1", 0, {
    log: () => undefined,
    logs: view,
  });
  t.after(() => server.close());
  return { url, admin: url.replace("http://", ""), fullLogs };
}

const get = async (url: string) => {
  const res = await fetch(url);
  return {
    status: res.status,
    body: res.headers.get("content-type")?.startsWith("application/json")
      ? await res.json()
      : await res.text(),
  };
};

test("GET /api/v1/analytics/logs filters newest first and refuses bad parameters saying what to send", async (t) => {
  const { url } = await serve(t);
  const paths = async (q: string) =>
    ((await get(`${url}/api/v1/analytics/logs${q}`)).body as LogRecord[]).map((r) => r.path);
  assert.deepEqual(await paths(""), ["/", "/pay", "/v1/slow", "/cart"]);
  assert.deepEqual(await paths("?status=5xx"), ["/cart"]);
  assert.deepEqual(await paths("?status=0xx"), ["/pay"]);
  assert.deepEqual(await paths(`?vs=${encodeURIComponent(SHOP)}&reason=5xx,reset`), ["/pay", "/cart"]);
  assert.deepEqual(await paths("?q=RESET"), ["/pay"]);
  assert.deepEqual(await paths("?since=100s"), ["/", "/pay", "/v1/slow"]);
  assert.deepEqual(await paths("?limit=2"), ["/", "/pay"]);
  assert.deepEqual(await paths(`?limit=2&before=${NOW - 60_000}`), ["/v1/slow", "/cart"]);
  const [first] = (await get(`${url}/api/v1/analytics/logs?limit=1`)).body as LogRecord[];
  assert.deepEqual([first!.browser, first!.os], ["Safari", "iOS"]);

  for (const [q, want] of [
    ["limit=5000", /limit="5000": give a whole number from 1 to 1000/],
    ["status=teapot", /give a code \(503\) or a class/],
    ["reason=oops", /give one or more of 5xx, reset, timeout, slow, policy, waf, full/],
    ["since=last-week", /give a duration before now/],
    ["nope=1", /unknown parameter "nope"/],
  ] as const) {
    const res = await get(`${url}/api/v1/analytics/logs?${q}`);
    assert.equal(res.status, 400, q);
    assert.match(String(res.body), want, q);
  }
  const post = await fetch(`${url}/api/v1/analytics/logs`, { method: "POST" });
  assert.equal(post.status, 405);
  const stats = (await get(`${url}/api/v1/analytics/logs/stats`)).body as Record<string, unknown>;
  assert.deepEqual(
    {
      records: stats.records,
      services: stats.services,
      dropped: stats.dropped,
      persistent: stats.persistent,
    },
    { records: 4, services: 2, dropped: 0, persistent: false },
  );
});

test("POST /api/v1/analytics/full-logs sets, lists and clears a switch; 400 and 404 say why", async (t) => {
  const { url, fullLogs } = await serve(t);
  let pushes = 0;
  fullLogs.onChange(() => pushes++);
  const post = async (q: string) => {
    const res = await fetch(`${url}/api/v1/analytics/full-logs?${q}`, { method: "POST" });
    return { status: res.status, text: await res.text() };
  };
  const on = await post(`vs=${encodeURIComponent(SHOP)}&minutes=10`);
  assert.equal(on.status, 202);
  assert.deepEqual(JSON.parse(on.text), {
    vs: SHOP,
    until: NOW + 600_000,
    untilTime: new Date(NOW + 600_000).toISOString(),
  });
  assert.equal(
    (await post(`vs=${encodeURIComponent(L4)}&minutes=60`)).status,
    202,
    "an L4 service's key is its listener",
  );
  assert.deepEqual((await get(`${url}/api/v1/analytics/full-logs`)).body, [
    { vs: SHOP, until: NOW + 600_000 },
    { vs: L4, until: NOW + 3_600_000 },
  ]);
  assert.equal(pushes, 2, "each change asks for a push");

  for (const [q, status, want] of [
    [
      `vs=${encodeURIComponent(SHOP)}&minutes=61`,
      400,
      /minutes="61": give a whole number from 1 to 60 \(0 turns full logs off\)/,
    ],
    [`vs=${encodeURIComponent(SHOP)}&minutes=-1`, 400, /from 1 to 60/],
    [`vs=${encodeURIComponent(SHOP)}`, 400, /minutes="": give a whole number/],
    ["minutes=5", 400, /vs= is missing: give the virtual service's key/],
    [
      "vs=shop.example.com&minutes=5",
      404,
      /no virtual service "shop.example.com" serves now; did you mean "IngressClass\/portico:80 shop.example.com"\?/,
    ],
  ] as const) {
    const res = await post(q);
    assert.equal(res.status, status, q);
    assert.match(res.text, want, q);
  }
  assert.equal(pushes, 2, "a refused request changes nothing");

  const off = await post(`vs=${encodeURIComponent(SHOP)}&minutes=0`);
  assert.equal(off.status, 202);
  assert.deepEqual(JSON.parse(off.text), { vs: SHOP, off: true });
  assert.deepEqual((await get(`${url}/api/v1/analytics/full-logs`)).body, [
    { vs: L4, until: NOW + 3_600_000 },
  ]);
  assert.equal((await fetch(`${url}/api/v1/analytics/full-logs`, { method: "DELETE" })).status, 405);
});

test("without a request log (an engine's admin API) the routes say where it is", async (t) => {
  const { server, url } = await startAdmin({} as AdminView, "127.0.0.1", 0, { log: () => undefined });
  t.after(() => server.close());
  const res = await fetch(`${url}/api/v1/analytics/logs`);
  assert.equal(res.status, 404);
  assert.match(await res.text(), /the controller keeps it/);
});

test("portico logs prints the table, json, and turns full logs on and off", async (t) => {
  const { admin } = await serve(t);
  const out: string[] = [];
  const print = (s: string) => void out.push(s);
  assert.equal(await main(["--status", "5xx", "--admin", admin], print), 0);
  assert.equal(await main(["--reason", "reset", "-o", "json", "--admin", admin], print), 0);
  assert.equal(await main(["full", SHOP, "--for", "10m", "--admin", admin], print), 0);
  assert.equal(await main(["full", "--admin", admin], print), 0);
  assert.equal(await main(["full", SHOP, "--off", "--admin", admin], print), 0);
  const [table, json, on, list, off] = out;
  assert.match(table!, /^TIME +STATUS +REASONS +METHOD +HOST +PATH +CLIENT +MS +BROWSER\n/);
  assert.match(
    table!,
    /2026-12-07T06:28:00\.000Z +503 +5xx +GET +shop\.example\.com +\/cart +192\.0\.2\.10 +12\.5 +curl\/Other\n$/,
  );
  assert.deepEqual(
    (JSON.parse(json!) as LogRecord[]).map((r) => r.path),
    ["/pay"],
  );
  assert.equal(on, `every request of ${SHOP} is logged until 2026-12-07T06:40:00.000Z\n`);
  assert.match(
    list!,
    /^VS +UNTIL\nIngressClass\/portico:80 shop\.example\.com +2026-12-07T06:40:00\.000Z\n$/,
  );
  assert.equal(off, `full logs off for ${SHOP}; significant requests are still kept\n`);

  await assert.rejects(
    main(["full", "shop.example.com", "--for", "10m", "--admin", admin]),
    (e: CliError) => {
      assert.match(e.message, /no virtual service "shop.example.com" serves now; did you mean/);
      assert.equal(e.exitCode, 1);
      return true;
    },
  );
  await assert.rejects(main(["--status", "9xx", "--admin", admin]), /answered 400: status="9xx"/);
  await assert.rejects(main(["full", SHOP, "--admin", admin]), /give --for DURATION or --off/);
  await assert.rejects(main(["--for", "10m"]), /--for and --off go with 'portico logs full VS'/);
  assert.equal(minutesOf("1h"), 60);
  assert.throws(() => minutesOf("90m"), /--for must be whole minutes from 1m to 60m/);
  assert.throws(() => minutesOf("30s"), /--for must be whole minutes/);
});

test("a tenant's view of the request log: its services only; another's key is unknown, also to full-log switches", () => {
  const logs = new LogStore({ clock: () => NOW });
  logs.add(
    [
      logRecord(NOW - 60_000, SHOP, { status: 503, reasons: ["5xx"] }),
      logRecord(NOW - 30_000, API, { status: 502, reasons: ["5xx"] }),
    ],
    "local",
  );
  const fullLogs = new FullLogs(() => NOW);
  fullLogs.set(API, 5);
  const snapshot = {
    l4: [],
    http: [
      {
        name: "IngressClass/portico:80",
        virtualHosts: [{ hostname: "shop.example.com" }, { hostname: "api.example.com" }],
      },
    ],
  };
  const view: LogsView = { logs, fullLogs, services: () => serviceKeys(snapshot), clock: () => NOW };
  const shop: TenantScope = {
    tenant: "shop",
    exists: true,
    namespaces: new Set(["shop"]),
    services: new Set([SHOP]),
    addresses: new Set<string>(),
    ownPool: () => false,
    pool: () => false,
    group: () => false,
    zone: () => false,
  };
  const ask = (method: string, url: string) => {
    let sent = { status: 0, body: "" };
    const path = url.split("?")[0]!;
    serveLogRoutes(
      { method, url } as IncomingMessage,
      path,
      (status, _t, body) => (sent = { status, body }),
      view,
      shop,
    );
    return sent;
  };
  const mine = JSON.parse(ask("GET", "/api/v1/analytics/logs").body) as LogRecord[];
  assert.deepEqual(
    mine.map((r) => r.vs),
    [SHOP],
  );
  const foreign = ask("GET", `/api/v1/analytics/logs?vs=${encodeURIComponent(API)}`);
  assert.equal(foreign.status, 404);
  assert.equal(ask("GET", "/api/v1/analytics/logs/stats").status, 403);
  assert.deepEqual(
    JSON.parse(ask("GET", "/api/v1/analytics/full-logs").body),
    [],
    "api's switch is not shop's",
  );
  for (const minutes of [5, 0]) {
    const r = ask("POST", `/api/v1/analytics/full-logs?vs=${encodeURIComponent(API)}&minutes=${minutes}`);
    assert.equal(r.status, 404, `minutes=${minutes}`);
  }
  assert.ok(
    fullLogs.active().some((f) => f.vs === API),
    "another's switch is untouched",
  );
  const hint = ask("POST", "/api/v1/analytics/full-logs?vs=example.com&minutes=5");
  assert.match(hint.body, /did you mean "IngressClass\/portico:80 shop\.example\.com"\?/);
  assert.doesNotMatch(hint.body, /api\.example\.com/, "the hint names the tenant's keys only");
  assert.equal(
    ask("POST", `/api/v1/analytics/full-logs?vs=${encodeURIComponent(SHOP)}&minutes=5`).status,
    202,
  );
});
