import assert from "node:assert/strict";
import { test } from "node:test";
import { startAdmin, type AdminView } from "./admin.ts";

function view(checks: { name: string; ok: boolean; detail: string }[]): AdminView {
  return {
    readiness: () => checks,
    statuses: () => [],
    errors: () => ({}),
    metrics: () => "",
    inspect: () => undefined,
  };
}

test("/readyz: 200 when every check passes, 503 naming the failing one; both list every check", async () => {
  const checks = [
    { name: "snapshot", ok: true, detail: "version 2 applied" },
    { name: "listeners", ok: true, detail: "2 bound" },
  ];
  const { server, url } = await startAdmin(view(checks), "127.0.0.1", 0);
  try {
    let r = await fetch(`${url}/readyz`);
    assert.equal(r.status, 200);
    assert.equal(await r.text(), "ready\n[+] snapshot: version 2 applied\n[+] listeners: 2 bound\n");
    checks[1] = { name: "listeners", ok: false, detail: "cannot bind TCP/127.0.0.1:80: EADDRINUSE" };
    r = await fetch(`${url}/readyz`);
    assert.equal(r.status, 503);
    assert.equal(
      await r.text(),
      "not ready\n[+] snapshot: version 2 applied\n[-] listeners: cannot bind TCP/127.0.0.1:80: EADDRINUSE\n",
    );
    // Not ready is not dead: liveness does not read the checks.
    assert.equal((await fetch(`${url}/healthz`)).status, 200);
  } finally {
    server.close();
  }
});

test("/healthz: 503 after the event loop stalled past the limit, with the stall in the body", async () => {
  const { server, url } = await startAdmin(view([]), "127.0.0.1", 0, { stallLimitMs: 300 });
  try {
    // Block the loop well past the limit (the watch ticks every 250 ms, so it sees >= 450 ms late).
    const until = performance.now() + 700;
    while (performance.now() < until);
    const r = await fetch(`${url}/healthz`);
    const body = await r.text();
    assert.equal(r.status, 503, body);
    const stall = Number(/longest stall (\d+) ms/.exec(body)?.[1]);
    assert.ok(stall >= 300, body);
    assert.match(body, /^event loop unresponsive\n/);
  } finally {
    server.close();
  }
});

test("a bad request never escapes the handler: bad percent-encoding is 400, a throwing view 500", async () => {
  const logged: string[] = [];
  const v: AdminView = {
    ...view([]),
    // A snapshot serves, so the explain route reaches decodeURIComponent.
    inspect: () => ({}) as ReturnType<AdminView["inspect"]>,
    statuses: () => {
      throw new Error("boom");
    },
  };
  const { server, url } = await startAdmin(v, "127.0.0.1", 0, { log: (_l, msg) => logged.push(msg) });
  try {
    let r = await fetch(`${url}/api/v1/explain/service/%zz/x`);
    assert.equal(r.status, 400);
    assert.match(await r.text(), /bad percent-encoding/);
    r = await fetch(`${url}/api/v1/status`);
    assert.equal(r.status, 500);
    assert.equal(await r.text(), "internal error: boom\n");
    assert.deepEqual(logged, ["admin request failed"]);
    // Still serving.
    assert.equal((await fetch(`${url}/readyz`)).status, 200);
  } finally {
    server.close();
  }
});

test("/healthz with the engine on another thread: the engine's report decides, this thread's stall is detail", async () => {
  let engine = { ageMs: 200, stallMs: 10 };
  const v: AdminView = { ...view([]), engineLiveness: () => engine };
  const { server, url } = await startAdmin(v, "127.0.0.1", 0, { stallLimitMs: 300 });
  try {
    // A long translation on the controller thread: the data plane is fine, so 200.
    const until = performance.now() + 700;
    while (performance.now() < until);
    let r = await fetch(`${url}/healthz`);
    let body = await r.text();
    assert.equal(r.status, 200, body);
    assert.match(body, /^ok\nengine event loop: longest stall 10 ms .*last heard 200 ms ago\n/);
    assert.match(body, /controller event loop: longest stall \d+ ms .*\(not a liveness failure\)/);
    // The engine thread went quiet (wedged): 503.
    engine = { ageMs: 5_000, stallMs: 10 };
    r = await fetch(`${url}/healthz`);
    body = await r.text();
    assert.equal(r.status, 503, body);
    // Or it reports a stall over the limit.
    engine = { ageMs: 100, stallMs: 400 };
    assert.equal((await fetch(`${url}/healthz`)).status, 503);
  } finally {
    server.close();
  }
});

test("/api/v1/engines: the fleet view with an engine port, 404 saying how to get one without", async () => {
  const fleet = { epoch: 2, seq: 5, engines: [] };
  const withFleet = await startAdmin({ ...view([]), engines: () => fleet }, "127.0.0.1", 0);
  const without = await startAdmin(view([]), "127.0.0.1", 0);
  try {
    const r = await fetch(`${withFleet.url}/api/v1/engines`);
    assert.equal(r.status, 200);
    assert.deepEqual(await r.json(), fleet);
    const n = await fetch(`${without.url}/api/v1/engines`);
    assert.equal(n.status, 404);
    assert.match(await n.text(), /no engine port: .*--engine-listen HOST:PORT/);
  } finally {
    withFleet.server.close();
    without.server.close();
  }
});
