// h2-snapshot.test.ts: hitless snapshots for HTTP/2. An open h2 session is left alone by a
// snapshot that changes another VIP or only the endpoints behind its routes (same session, no
// GOAWAY, next streams see the new endpoints); a snapshot that changes its own listener sends
// GOAWAY and lets the stream in flight finish (graceful drain), through the real Engine.
import assert from "node:assert/strict";
import http from "node:http";
import http2 from "node:http2";
import { once } from "node:events";
import type { AddressInfo } from "node:net";
import { after, test } from "node:test";
import { Engine } from "../../src/engine/engine.ts";
import type { EngineSnapshot, HttpListener, Route } from "../../src/model/ir.ts";
import { endpoint, freePort, pool, until } from "./l4-helpers.ts";

const VIP_A = "127.0.0.71";
const VIP_B = "127.0.0.72";

// slowSeen counts slow requests the backends received (the in-flight request reached them).
let slowSeen = 0;

async function namedBackend(name: string): Promise<{ server: http.Server; port: number }> {
  const server = http.createServer((req, res) => {
    req.resume();
    const slow = /[?&]ms=(\d+)/.exec(req.url ?? "");
    if (slow) slowSeen++;
    req.on("end", () => setTimeout(() => res.end(name), slow ? Number(slow[1]) : 0));
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return { server, port: (server.address() as AddressInfo).port };
}
const one = await namedBackend("one");
const two = await namedBackend("two");
after(() => {
  for (const b of [one, two]) {
    b.server.close();
    b.server.closeAllConnections();
  }
});

function forward(name: string, poolName: string): Route {
  return {
    name,
    match: { path: { type: "Prefix", value: "/" } },
    action: { type: "Forward", backends: [{ pool: poolName, weight: 1 }] },
  };
}

function listener(name: string, address: string, port: number, routes: Route[]): HttpListener {
  return {
    name,
    address,
    port,
    virtualHosts: [{ hostname: "*", routes }],
    requestTimeoutMs: 5000,
    idleTimeoutMs: 30_000,
  };
}

function get(client: http2.ClientHttp2Session, path = "/"): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = client.request({ ":path": path, ":authority": "app.test" });
    let body = "";
    req.setEncoding("utf8");
    req.on("data", (d: string) => (body += d));
    req.on("end", () => resolve(body));
    req.on("error", reject);
  });
}

test("a snapshot for another VIP, or new endpoints, leaves an h2 session alone; a change of its listener drains it", async () => {
  const engine = new Engine();
  const portA = await freePort(VIP_A);
  const portB = await freePort(VIP_B);
  const snap = (version: number, poolA: number, routesA: Route[], bodyB: string): EngineSnapshot => ({
    version,
    l4: [],
    http: [
      listener("a", VIP_A, portA, routesA),
      listener("b", VIP_B, portB, [
        {
          name: "b",
          match: { path: { type: "Prefix", value: "/" } },
          action: { type: "DirectResponse", status: 200, body: bodyB },
        },
      ]),
    ],
    pools: { pa: pool("pa", [endpoint("127.0.0.1", poolA)]) },
    certificates: {},
  });
  try {
    assert.deepEqual(engine.apply(snap(1, one.port, [forward("a", "pa")], "b1")), { ok: true });
    await engine.settled();
    const client = http2.connect(`http://${VIP_A}:${portA}`);
    client.on("error", () => {});
    const goaways: number[] = [];
    client.on("goaway", (code) => goaways.push(code));
    assert.equal(await get(client), "one");

    // Another VIP changes: this session is not disturbed.
    assert.deepEqual(engine.apply(snap(2, one.port, [forward("a", "pa")], "b2")), { ok: true });
    assert.equal(await get(client), "one");
    // Only the endpoints behind its route change: same session, the next stream goes to the new one.
    assert.deepEqual(engine.apply(snap(3, two.port, [forward("a", "pa")], "b2")), { ok: true });
    assert.equal(await get(client), "two");
    assert.deepEqual(goaways, []);
    assert.equal(client.closed, false);

    // Its own listener changes while a request is in flight: GOAWAY (NO_ERROR), the request
    // finishes, the session closes, and a new connection sees the new routes.
    const inFlight = get(client, "/slow?ms=300");
    await until(() => slowSeen === 1, "the slow request to reach the backend");
    const changed: Route[] = [
      {
        name: "new",
        match: { path: { type: "Exact", value: "/new" } },
        action: { type: "DirectResponse", status: 200, body: "new route" },
      },
      forward("a", "pa"),
    ];
    assert.deepEqual(engine.apply(snap(4, two.port, changed, "b2")), { ok: true });
    assert.equal(await inFlight, "two");
    await until(() => goaways.length > 0, "GOAWAY after the listener changed");
    assert.deepEqual(goaways, [http2.constants.NGHTTP2_NO_ERROR]);
    await until(() => client.closed || client.destroyed, "the drained session to close");
    const fresh = http2.connect(`http://${VIP_A}:${portA}`);
    assert.equal(await get(fresh, "/new"), "new route\n");
    fresh.close();
  } finally {
    await engine.close();
  }
});
